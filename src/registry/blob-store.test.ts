// The blob store shared by replicas: two BlobStore objects on one directory stand for two replicas
// (two processes) on one --blob-dir. Sessions continue across them, simultaneous pushes of one
// digest end with one complete blob, a verified blob never changes under its name, garbage
// collection keeps what another replica links meanwhile, and upload ids and digests from outside
// cannot name anything outside the blob dir.
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough, Readable } from "node:stream";
import { after, test } from "node:test";
import { BlobStore } from "./blob-store.js";
import { MAX_UPLOAD_PARTS } from "./upload-sessions.js";
import { DistributionError } from "./distribution-errors.js";

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const sha512 = (bytes: Buffer) => `sha512:${createHash("sha512").update(bytes).digest("hex")}`;

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** Two replicas on one blob dir, and a clock they share. */
function replicas() {
  const root = mkdtempSync(join(tmpdir(), "berth-blobs-"));
  dirs.push(root);
  let now = Date.now();
  const open = () => {
    const store = new BlobStore(join(root, "registry"), () => now);
    store.init();
    return store;
  };
  return { root: join(root, "registry"), a: open(), b: open(), advance: (ms: number) => (now += ms), now: () => now };
}

async function info(store: BlobStore, uuid: string) {
  const found = await store.uploadInfo(uuid);
  assert.ok(found, `upload ${uuid} is known`);
  return found;
}

/** Every file under blobs/, as paths relative to it. */
function blobFiles(root: string): string[] {
  return (readdirSync(join(root, "blobs"), { recursive: true }) as string[]).filter((name) => name.split("/").length === 3);
}

const isCode = (code: string) => (error: unknown) => error instanceof DistributionError && error.code === code;

test("an upload begun on one replica is continued and finished on the other (chunks through a load balancer)", async () => {
  const { root, a, b } = replicas();
  const bytes = randomBytes(300_000);
  const uuid = await a.startUpload("repo");
  assert.equal(await a.append(await info(b, uuid), Readable.from([bytes.subarray(0, 100_000)]), 0), 100_000);
  assert.equal(await b.append(await info(b, uuid), Readable.from([bytes.subarray(100_000, 250_000)]), 100_000), 250_000);
  assert.equal((await info(a, uuid)).sizeBytes, 250_000, "A sees what B wrote");
  await assert.rejects(b.append(await info(b, uuid), Readable.from([Buffer.from("x")]), 100_000), isCode("BLOB_UPLOAD_INVALID"), "a stale start is 416");
  assert.equal(await a.append(await info(a, uuid), Readable.from([bytes.subarray(250_000)])), 300_000);
  const linked: number[] = [];
  assert.equal(await b.finish(await info(b, uuid), sha256(bytes), async (size) => void linked.push(size)), 300_000);
  assert.deepEqual(linked, [300_000]);
  assert.deepEqual(readFileSync(a.blobPath(sha256(bytes))), bytes);
  assert.equal(await a.uploadInfo(uuid), undefined, "the session is gone on both");
  assert.deepEqual(readdirSync(join(root, "uploads")), []);
  assert.equal(blobFiles(root).length, 1);
});

test("a one-part push finished where it was written is linked without a copy; sha512 and empty blobs verify too", async () => {
  const { a, b } = replicas();
  const bytes = randomBytes(50_000);
  const uuid = await a.startUpload("repo");
  await a.append(await info(a, uuid), Readable.from([bytes]));
  const part = join(a.blobPath(sha256(bytes)), "..", "..", "..", "..", "uploads", uuid, "0000000000000000.part");
  await a.finish(await info(a, uuid), sha256(bytes), async () =>
    assert.equal(statSync(part).ino, statSync(a.blobPath(sha256(bytes))).ino, "the part itself, linked"),
  );
  assert.deepEqual(readFileSync(a.blobPath(sha256(bytes))), bytes);

  const other = randomBytes(70_000);
  const long = await b.startUpload("repo");
  await b.append(await info(b, long), Readable.from([other]));
  await b.finish(await info(a, long), sha512(other), async () => undefined);
  assert.deepEqual(readFileSync(b.blobPath(sha512(other))), other);

  const empty = await a.startUpload("repo");
  await b.finish(await info(b, empty), sha256(Buffer.alloc(0)), async () => undefined);
  assert.equal(readFileSync(a.blobPath(sha256(Buffer.alloc(0)))).length, 0);
});

test("two replicas pushing the same digest at once end with one complete blob; every push is linked", async () => {
  const { root, a, b } = replicas();
  const bytes = randomBytes(2 * 1024 * 1024);
  const digest = sha256(bytes);
  const links: string[] = [];
  const push = async (store: BlobStore, name: string, chunked: boolean) => {
    const uuid = await store.startUpload("repo");
    if (chunked) {
      for (let offset = 0; offset < bytes.length; offset += 256 * 1024)
        await store.append(await info(store, uuid), Readable.from([bytes.subarray(offset, offset + 256 * 1024)]), offset);
    } else {
      await store.append(await info(store, uuid), Readable.from([bytes]));
    }
    await store.finish(await info(store, uuid), digest, async () => {
      links.push(name);
      assert.deepEqual(readFileSync(store.blobPath(digest)), bytes, "whoever placed it, the blob is whole when linked");
    });
  };
  await Promise.all(Array.from({ length: 8 }, (_, i) => push(i % 2 === 0 ? a : b, `push-${i}`, i % 3 === 0)));
  assert.equal(links.length, 8);
  assert.deepEqual(readFileSync(a.blobPath(digest)), bytes);
  assert.deepEqual(blobFiles(root), [join("sha256", digest.slice(7, 9), digest.slice(7))], "no temporary file left beside it");
  assert.deepEqual(readdirSync(join(root, "uploads")), []);
});

test("bytes a request still writes on another replica never reach a finished blob", async () => {
  const { a, b } = replicas();
  const first = randomBytes(64 * 1024);
  const uuid = await a.startUpload("repo");
  // Replica B streams the session's first part and has not finished when the client (misusing the
  // session) asks replica A to finish with the digest of what is there so far.
  const slow = new PassThrough();
  const writing = b.append(await info(b, uuid), slow, 0);
  slow.write(first);
  for (let i = 0; (await info(a, uuid)).sizeBytes < first.length; i++) {
    assert.ok(i < 200, "B's first bytes never reached the disk");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  await a.finish(await info(a, uuid), sha256(first), async () => undefined);
  slow.end(randomBytes(64 * 1024));
  await writing.catch(() => undefined);
  assert.deepEqual(readFileSync(a.blobPath(sha256(first))), first, "the blob is the bytes that were verified, not what B wrote after");
});

test("a push whose digest does not match is refused and its session removed", async () => {
  const { root, a, b } = replicas();
  const uuid = await a.startUpload("repo");
  await a.append(await info(a, uuid), Readable.from([Buffer.from("hello")]));
  await assert.rejects(
    b.finish(await info(b, uuid), sha256(Buffer.from("other")), async () => assert.fail("not linked")),
    isCode("DIGEST_INVALID"),
  );
  assert.deepEqual(blobFiles(root), []);
  assert.equal(await a.uploadInfo(uuid), undefined);
});

test("garbage collection puts back a blob another replica linked between its check and the deletion", async () => {
  const { root, a, b } = replicas();
  const bytes = randomBytes(1000);
  const uuid = await b.startUpload("repo");
  await b.append(await info(b, uuid), Readable.from([bytes]));
  await b.finish(await info(b, uuid), sha256(bytes), async () => undefined);
  let checks = 0;
  // Unlinked at the first check, linked by the time of the second (after the file moved to trash).
  assert.equal(await a.removeIfUnlinked(sha256(bytes), async () => checks++ > 0), false);
  assert.equal(checks, 2);
  assert.deepEqual(readFileSync(a.blobPath(sha256(bytes))), bytes);
  assert.deepEqual(readdirSync(join(root, "trash")), []);
  assert.equal(await a.removeIfUnlinked(sha256(bytes), async () => false), true);
  assert.equal(existsSync(a.blobPath(sha256(bytes))), false);
  assert.deepEqual(readdirSync(join(root, "trash")), []);
});

test("a finish whose blob another replica's collection deleted before the link lands puts the file back", async () => {
  const { a, b } = replicas();
  const bytes = randomBytes(4000);
  const uuid = await a.startUpload("repo");
  await a.append(await info(a, uuid), Readable.from([bytes]));
  await a.finish(await info(a, uuid), sha256(bytes), async () => {
    // Replica B's collection found no link yet and deleted the freshly placed file.
    assert.equal(await b.removeIfUnlinked(sha256(bytes), async () => false), true);
  });
  assert.deepEqual(readFileSync(b.blobPath(sha256(bytes))), bytes);
});

test("a finish puts its blob back even when a stale stat (an NFS attribute cache) still shows the deleted file", async () => {
  const { a, b } = replicas();
  const bytes = randomBytes(3000);
  const uuid = await a.startUpload("repo");
  await a.append(await info(a, uuid), Readable.from([bytes]));
  // Replica A's view of blobs/ is seconds old: its stat() still finds what B has moved away.
  a.size = async () => bytes.length;
  await a.finish(await info(a, uuid), sha256(bytes), async () => {
    assert.equal(await b.removeIfUnlinked(sha256(bytes), async () => false), true);
  });
  assert.deepEqual(readFileSync(b.blobPath(sha256(bytes))), bytes, "the linked blob has its file");
});

test("unlinked files younger than the grace period are left; trash an interrupted deletion left is settled", async () => {
  const { root, a, advance, now } = replicas();
  const bytes = randomBytes(100);
  const uuid = await a.startUpload("repo");
  await a.append(await info(a, uuid), Readable.from([bytes]));
  await a.finish(await info(a, uuid), sha256(bytes), async () => undefined);
  assert.equal(await a.removeIfUnlinked(sha256(bytes), async () => false, now() - 60_000), false, "placed just now");
  advance(120_000);
  assert.equal(await a.removeIfUnlinked(sha256(bytes), async () => false, now() - 60_000), true);

  // A deletion interrupted (a crash) after moving two blobs aside: one of them is linked.
  const linked = randomBytes(10);
  const unlinked = randomBytes(11);
  const old = new Date(Date.now() - 3_600_000);
  for (const [content, name] of [
    [linked, `sha256-${sha256(linked).slice(7)}.0b5e7c59-8c4f-4a53-9f0e-0d1c2b3a4f5e`],
    [unlinked, `sha256-${sha256(unlinked).slice(7)}.1b5e7c59-8c4f-4a53-9f0e-0d1c2b3a4f5e`],
  ] as const) {
    writeFileSync(join(root, "trash", name), content);
    utimesSync(join(root, "trash", name), old, old);
  }
  advance(3_600_000); // ctime cannot be set back: the store's clock moves on instead
  assert.equal(await a.settleTrash(async (digest) => digest === sha256(linked)), 1);
  assert.deepEqual(readFileSync(a.blobPath(sha256(linked))), linked);
  assert.equal(existsSync(a.blobPath(sha256(unlinked))), false);
  assert.deepEqual(readdirSync(join(root, "trash")), []);
});

test("attack: an upload sent in one-byte chunks stops at the most parts an upload may have, the bytes so far kept", async () => {
  const { root, a, b } = replicas();
  const uuid = await a.startUpload("repo");
  // The parts as earlier requests (on either replica) would have left them.
  for (let start = 0; start < MAX_UPLOAD_PARTS; start++) writeFileSync(join(root, "uploads", uuid, `${String(start).padStart(16, "0")}.part`), "x");
  assert.equal((await info(b, uuid)).sizeBytes, MAX_UPLOAD_PARTS);
  for (const replica of [a, b]) {
    await assert.rejects(replica.append(await info(replica, uuid), Readable.from([Buffer.from("y")])), (error: unknown) => {
      assert.ok(isCode("BLOB_UPLOAD_INVALID")(error));
      assert.equal((error as DistributionError).status, 400);
      assert.match((error as Error).message, /4200 parts, the most one may have/);
      return true;
    });
  }
  assert.equal((await info(a, uuid)).sizeBytes, MAX_UPLOAD_PARTS, "nothing was added, nothing lost");
  const bytes = Buffer.from("x".repeat(MAX_UPLOAD_PARTS));
  await a.finish(await info(a, uuid), sha256(bytes), async () => undefined);
  assert.deepEqual(readFileSync(a.blobPath(sha256(bytes))), bytes, "the upload still finishes");
});

test("attack: upload ids and digests from a URL cannot name a file outside the blob dir", async () => {
  const { root, a } = replicas();
  const outside = join(root, "..", "outside");
  writeFileSync(outside, "keep me");
  const meta = join(root, "..", "meta.json");
  writeFileSync(meta, JSON.stringify({ repository: "repo", startedAt: 0 }));
  const hostileIds = [
    "..",
    "../..",
    "../outside",
    "%2e%2e",
    "",
    "0b5e7c59-8c4f-4a53-9f0e-0d1c2b3a4f5e/../../outside",
    "0B5E7C59-8C4F-4A53-9F0E-0D1C2B3A4F5E",
    "0b5e7c59-8c4f-4a53-9f0e-0d1c2b3a4f5e\0",
    "/etc/passwd",
  ];
  for (const uuid of hostileIds) {
    assert.equal(await a.uploadInfo(uuid), undefined, JSON.stringify(uuid));
    const forged = { uuid, repository: "repo", startedAt: 0, sizeBytes: 0 };
    await assert.rejects(a.append(forged, Readable.from([Buffer.from("x")])), isCode("BLOB_UPLOAD_UNKNOWN"));
    await assert.rejects(
      a.finish(forged, sha256(Buffer.from("")), async () => assert.fail("linked")),
      isCode("BLOB_UPLOAD_UNKNOWN"),
    );
    await a.cancel(uuid);
  }
  const hostileDigests = [
    "sha256:../../../outside",
    `sha256:${"a".repeat(64)}/../../x`,
    `sha256:${"A".repeat(64)}`,
    `sha256:${"a".repeat(63)}`,
    `sha512:${"a".repeat(64)}`,
    `md5:${"a".repeat(32)}`,
    `../sha256:${"a".repeat(64)}`,
    `sha256:${"a".repeat(64)}\n`,
  ];
  const uuid = await a.startUpload("repo");
  for (const digest of hostileDigests) {
    assert.throws(() => a.blobPath(digest), isCode("DIGEST_INVALID"), digest);
    await assert.rejects(
      a.finish(await info(a, uuid), digest, async () => assert.fail("linked")),
      isCode("DIGEST_INVALID"),
    );
    await assert.rejects(
      a.removeIfUnlinked(digest, async () => false),
      isCode("DIGEST_INVALID"),
    );
  }
  assert.equal(readFileSync(outside, "utf8"), "keep me");
  assert.ok(existsSync(meta));
  assert.ok(await a.uploadInfo(uuid), "the good session is untouched by the refusals");
});
