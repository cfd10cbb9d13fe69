import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { openStore } from "../store/index.js";
import { BlobStore } from "./blob-store.js";
import { GarbageCollector } from "./garbage-collector.js";

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;

async function setup() {
  const dir = mkdtempSync(join(tmpdir(), "berth-gc-"));
  const store = await openStore({ path: join(dir, "berth.db") });
  let now = Date.now();
  const blobs = new BlobStore(join(dir, "registry"), () => now);
  blobs.init();
  await store.ecr.createRepository({
    name: "repo",
    registryId: "1",
    arn: "arn",
    createdAt: 0,
    tagMutability: "MUTABLE",
    scanOnPush: false,
    encryption: { encryptionType: "AES256" },
  });
  const upload = async (bytes: Buffer, link: boolean) => {
    const uuid = await blobs.startUpload("repo");
    const info = (await blobs.uploadInfo(uuid))!;
    await blobs.append(info, Readable.from([bytes]));
    await blobs.finish(info, sha256(bytes), async (size) => (link ? store.ecr.linkBlob("repo", sha256(bytes), size, now) : undefined));
    return sha256(bytes);
  };
  const collector = (abandonedLinkMs: number) =>
    new GarbageCollector({ repositories: store.ecr, blobs, now: () => now, abandonedLinkMs, uploadMaxAgeMs: 60_000 });
  return {
    dir,
    store,
    blobs,
    upload,
    collector,
    advance: (ms: number) => (now += ms),
    close: async () => (await store.close(), rmSync(dir, { recursive: true, force: true })),
  };
}

test("collect removes blob files no repository links (a crash between rename and link)", async () => {
  const t = await setup();
  try {
    const linked = await t.upload(randomBytes(1000), true);
    const orphan = await t.upload(randomBytes(1000), false);
    assert.ok(existsSync(t.blobs.blobPath(orphan)));
    assert.equal(
      (await t.collector(3_600_000).collect()).blobsRemoved,
      0,
      "a file placed within the grace period may be another replica's push about to link it",
    );
    t.advance(3_600_001);
    const report = await t.collector(3_600_000 * 24).collect();
    assert.equal(report.blobsRemoved, 1);
    assert.equal(existsSync(t.blobs.blobPath(orphan)), false);
    assert.ok(existsSync(t.blobs.blobPath(linked)), "a linked blob is kept while its push may still be in flight");
  } finally {
    await t.close();
  }
});

test("collect drops links no manifest referenced for the abandon period, then their files", async () => {
  const t = await setup();
  try {
    const referenced = await t.upload(randomBytes(500), true);
    const abandoned = await t.upload(randomBytes(500), true);
    await t.store.ecr.putImage(
      {
        repositoryName: "repo",
        digest: sha256(Buffer.from("m")),
        mediaType: "x",
        artifactType: null,
        manifest: Buffer.from("m"),
        sizeBytes: 1,
        pushedAt: 0,
        subjectDigest: null,
        annotations: null,
        references: [{ digest: referenced, kind: "blob" }],
      },
      "v1",
      false,
    );
    assert.equal((await t.collector(60_000).collect()).linksRemoved, 0, "younger than the abandon period");
    t.advance(120_000);
    const report = await t.collector(60_000).collect();
    assert.equal(report.linksRemoved, 1);
    assert.equal(existsSync(t.blobs.blobPath(abandoned)), false);
    assert.ok(existsSync(t.blobs.blobPath(referenced)));
  } finally {
    await t.close();
  }
});

test("collect removes uploads untouched for longer than the upload age, and only those", async () => {
  const t = await setup();
  try {
    const stale = await t.blobs.startUpload("repo");
    const fresh = await t.blobs.startUpload("repo");
    const twoMinutesAgo = new Date(Date.now() - 120_000);
    const staleDir = join(t.dir, "registry", "uploads", stale);
    for (const path of [staleDir, join(staleDir, "meta.json")]) utimesSync(path, twoMinutesAgo, twoMinutesAgo);
    // Files of the layout before sessions had directories: swept once they are as old.
    const legacy = join(t.dir, "registry", "uploads", "0b5e7c59-8c4f-4a53-9f0e-0d1c2b3a4f5e.data");
    writeFileSync(legacy, "x");
    utimesSync(legacy, twoMinutesAgo, twoMinutesAgo);
    const report = await t.collector(3_600_000).collect();
    assert.equal(report.uploadsRemoved, 2);
    assert.equal(await t.blobs.uploadInfo(stale), undefined);
    assert.ok(await t.blobs.uploadInfo(fresh));
    assert.deepEqual(readdirSync(join(t.dir, "registry", "uploads")), [fresh]);
  } finally {
    await t.close();
  }
});

test("a link listed as abandoned is kept when, before its removal, the blob is pushed again or a manifest references it (another replica)", async () => {
  const t = await setup();
  try {
    const repushed = await t.upload(randomBytes(300), true);
    const referenced = await t.upload(randomBytes(300), true);
    t.advance(120_000);
    // Between the collector's listing and its removal, another replica finishes a push of one blob
    // and stores a manifest that references the other (its push found the blob's link and skipped it).
    const racing = {
      ...t.store.ecr,
      unreferencedBlobLinks: async (linkedBefore: number) => {
        const listed = await t.store.ecr.unreferencedBlobLinks(linkedBefore);
        await t.store.ecr.linkBlob("repo", repushed, 300, Date.now() + 120_000);
        await t.store.ecr.putImage(
          {
            repositoryName: "repo",
            digest: sha256(Buffer.from("late manifest")),
            mediaType: "x",
            artifactType: null,
            manifest: Buffer.from("late manifest"),
            sizeBytes: 13,
            pushedAt: 0,
            subjectDigest: null,
            annotations: null,
            references: [{ digest: referenced, kind: "blob" }],
          },
          "v1",
          false,
        );
        return listed;
      },
    };
    const collector = new GarbageCollector({
      repositories: racing,
      blobs: t.blobs,
      now: () => Date.now() + 120_000,
      abandonedLinkMs: 60_000,
      uploadMaxAgeMs: 60_000,
    });
    assert.equal((await collector.collect()).linksRemoved, 0);
    for (const digest of [repushed, referenced]) {
      assert.ok(await t.store.ecr.blobLink("repo", digest), `${digest} keeps its link`);
      assert.ok(existsSync(t.blobs.blobPath(digest)), `${digest} keeps its file`);
    }
  } finally {
    await t.close();
  }
});
