// Blob bytes on disk, content-addressed and shared by every repository:
//   <root>/blobs/<algorithm>/<first two hex>/<hex>   a verified blob, never modified
//   <root>/uploads/<uuid>.data, <uuid>.json            an upload in progress (bytes, owner repo)
//
// Upload lifecycle (one session per uuid, one request at a time on it):
//   start ──► append* (PATCH; bytes appended to .data, hashed as they stream) ──► finish(digest)
//     │            │ client gone / server killed: the bytes written so far stay, GET tells the
//     │            │ client where to resume; the running hash is dropped and recomputed at finish
//     └────────────┴──► cancel (DELETE, digest mismatch, or swept after uploadMaxAgeMs)
// finish verifies the digest over the whole file, fsyncs it, renames it into blobs/ and fsyncs the
// directory, so a blob path only ever holds complete, verified bytes: a crash at any point leaves
// either nothing under blobs/ or the whole blob. Visibility in a repository is a store link made
// under the same per-digest lock that garbage collection takes before deleting a file.
import type { Hash } from "node:crypto";
import { createHash, randomUUID } from "node:crypto";
import { createReadStream, createWriteStream, mkdirSync } from "node:fs";
import type { ReadStream } from "node:fs";
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { blobUploadInvalid, blobUploadUnknown, digestInvalid } from "./distribution-errors.js";

export const SUPPORTED_ALGORITHMS: Readonly<Record<string, number>> = { sha256: 64, sha512: 128 };

export interface UploadInfo {
  readonly uuid: string;
  readonly repository: string;
  readonly startedAt: number;
  readonly sizeBytes: number;
}

interface Session {
  /** sha256 over exactly `hashedBytes` bytes of the data file, or undefined when not in step. */
  hash: Hash | undefined;
  hashedBytes: number;
  busy: boolean;
}

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Splits "sha256:<hex>" after checking the algorithm and the hex length. */
export function parseDigest(digest: string): { algorithm: string; hex: string } | undefined {
  const match = /^([a-z0-9]+):([a-f0-9]+)$/.exec(digest);
  if (!match) return undefined;
  const [, algorithm, hex] = match as unknown as [string, string, string];
  return SUPPORTED_ALGORITHMS[algorithm] === hex.length ? { algorithm, hex } : undefined;
}

async function fsyncPath(path: string): Promise<void> {
  const handle = await open(path, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class BlobStore {
  private readonly blobsDir: string;
  private readonly uploadsDir: string;
  private readonly sessions = new Map<string, Session>();
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    root: string,
    private readonly now: () => number,
  ) {
    this.blobsDir = join(root, "blobs");
    this.uploadsDir = join(root, "uploads");
  }

  /** Creates the directories (synchronously: the registry is built before the server listens). */
  init(): void {
    mkdirSync(this.blobsDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.uploadsDir, { recursive: true, mode: 0o700 });
  }

  blobPath(digest: string): string {
    const parsed = parseDigest(digest);
    if (!parsed) throw digestInvalid("invalid digest", { digest });
    return join(this.blobsDir, parsed.algorithm, parsed.hex.slice(0, 2), parsed.hex);
  }

  async size(digest: string): Promise<number | undefined> {
    try {
      return (await stat(this.blobPath(digest))).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw error;
    }
  }

  /** Bytes [start, end] (inclusive) of a blob. */
  read(digest: string, start: number, end: number): ReadStream {
    return createReadStream(this.blobPath(digest), { start, end, highWaterMark: 1024 * 1024 });
  }

  /** Runs `work` while no other holder of `digest`'s lock runs (finish vs. garbage collection). */
  async withLock<T>(digest: string, work: () => Promise<T>): Promise<T> {
    const previous = this.locks.get(digest) ?? Promise.resolve();
    const current = previous.then(work, work);
    const settled = current.catch(() => undefined);
    this.locks.set(digest, settled);
    try {
      return await current;
    } finally {
      if (this.locks.get(digest) === settled) this.locks.delete(digest);
    }
  }

  // ─── uploads ────────────────────────────────────────────────────────────────────────────────

  private dataPath(uuid: string): string {
    return join(this.uploadsDir, `${uuid}.data`);
  }

  private metaPath(uuid: string): string {
    return join(this.uploadsDir, `${uuid}.json`);
  }

  async startUpload(repository: string): Promise<string> {
    const uuid = randomUUID();
    await writeFile(this.dataPath(uuid), "", { mode: 0o600 });
    await writeFile(this.metaPath(uuid), JSON.stringify({ repository, startedAt: this.now() }), { mode: 0o600 });
    this.sessions.set(uuid, { hash: createHash("sha256"), hashedBytes: 0, busy: false });
    return uuid;
  }

  async uploadInfo(uuid: string): Promise<UploadInfo | undefined> {
    if (!UUID_PATTERN.test(uuid)) return undefined;
    try {
      const meta = JSON.parse(await readFile(this.metaPath(uuid), "utf8")) as { repository: string; startedAt: number };
      const { size } = await stat(this.dataPath(uuid));
      return { uuid, repository: meta.repository, startedAt: meta.startedAt, sizeBytes: size };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT" || error instanceof SyntaxError) return undefined;
      throw error;
    }
  }

  private claim(uuid: string, sizeBytes: number): Session {
    let session = this.sessions.get(uuid);
    if (!session) {
      // After a restart the running hash is gone; an empty upload can start a fresh one.
      session = { hash: sizeBytes === 0 ? createHash("sha256") : undefined, hashedBytes: 0, busy: false };
      this.sessions.set(uuid, session);
    }
    if (session.busy) throw blobUploadInvalid("another request is writing to this upload", {}, 409);
    if (session.hashedBytes !== sizeBytes) session.hash = undefined;
    session.busy = true;
    return session;
  }

  /**
   * Appends a request body to an upload. `expectedStart` (from Content-Range) must equal the
   * upload's current size. Returns the new size.
   */
  async append(upload: UploadInfo, source: Readable, expectedStart?: number): Promise<number> {
    const current = (await this.uploadInfo(upload.uuid))?.sizeBytes;
    if (current === undefined) throw blobUploadUnknown(upload.uuid);
    if (expectedStart !== undefined && expectedStart !== current) {
      throw blobUploadInvalid(
        `range start ${expectedStart} does not match the upload's size ${current}`,
        { range: current > 0 ? `0-${current - 1}` : "0-0" },
        416,
      );
    }
    const session = this.claim(upload.uuid, current);
    try {
      let written = current;
      const hash = session.hash;
      const hashing = new Transform({
        transform(chunk: Buffer, _encoding, done) {
          hash?.update(chunk);
          written += chunk.length;
          done(null, chunk);
        },
      });
      try {
        await pipeline(source, hashing, createWriteStream(this.dataPath(upload.uuid), { flags: "a", highWaterMark: 1024 * 1024 }));
      } catch (error) {
        // Some of the bytes may be on disk: the file stays as progress, the hash is re-derived.
        session.hash = undefined;
        throw error;
      }
      session.hashedBytes = written;
      return written;
    } finally {
      session.busy = false;
    }
  }

  /**
   * Verifies the upload against `digest` and makes it a blob; `commit` runs under the digest's
   * lock once the bytes are in place (the caller links the blob to its repository there).
   */
  async finish(upload: UploadInfo, digest: string, commit: (sizeBytes: number) => Promise<void>): Promise<number> {
    const parsed = parseDigest(digest);
    if (!parsed) throw digestInvalid("invalid digest", { digest });
    const sizeBytes = (await this.uploadInfo(upload.uuid))?.sizeBytes;
    if (sizeBytes === undefined) throw blobUploadUnknown(upload.uuid);
    const session = this.claim(upload.uuid, sizeBytes);
    let actual: string;
    try {
      actual =
        parsed.algorithm === "sha256" && session.hash && session.hashedBytes === sizeBytes
          ? `sha256:${session.hash.copy().digest("hex")}`
          : `${parsed.algorithm}:${await hashFile(this.dataPath(upload.uuid), parsed.algorithm)}`;
    } finally {
      session.busy = false;
    }
    if (actual !== digest) {
      await this.cancel(upload.uuid);
      throw digestInvalid("provided digest did not match uploaded content", { expected: digest, actual });
    }
    await this.withLock(digest, async () => {
      const target = this.blobPath(digest);
      if ((await this.size(digest)) === sizeBytes) {
        await rm(this.dataPath(upload.uuid), { force: true });
      } else {
        await fsyncPath(this.dataPath(upload.uuid));
        await mkdir(dirname(target), { recursive: true, mode: 0o700 });
        await rename(this.dataPath(upload.uuid), target);
        await fsyncPath(dirname(target));
      }
      await commit(sizeBytes);
    });
    await rm(this.metaPath(upload.uuid), { force: true });
    this.sessions.delete(upload.uuid);
    return sizeBytes;
  }

  async cancel(uuid: string): Promise<void> {
    this.sessions.delete(uuid);
    await rm(this.dataPath(uuid), { force: true });
    await rm(this.metaPath(uuid), { force: true });
  }

  // ─── garbage ────────────────────────────────────────────────────────────────────────────────

  /** Deletes the blob's file if, under its lock, `isLinked` says no repository links it. */
  async removeIfUnlinked(digest: string, isLinked: () => Promise<boolean>): Promise<boolean> {
    return this.withLock(digest, async () => {
      if (await isLinked()) return false;
      await rm(this.blobPath(digest), { force: true });
      return true;
    });
  }

  /** Every blob digest on disk. */
  async listDigests(): Promise<string[]> {
    const digests: string[] = [];
    for (const algorithm of Object.keys(SUPPORTED_ALGORITHMS)) {
      const algorithmDir = join(this.blobsDir, algorithm);
      for (const prefix of await readdir(algorithmDir).catch(() => [] as string[])) {
        for (const hex of await readdir(join(algorithmDir, prefix)).catch(() => [] as string[])) {
          if (parseDigest(`${algorithm}:${hex}`)) digests.push(`${algorithm}:${hex}`);
        }
      }
    }
    return digests;
  }

  /** Removes uploads untouched for `maxAgeMs` (abandoned pushes), and stray files of crashed ones. */
  async sweepUploads(maxAgeMs: number): Promise<number> {
    const cutoff = this.now() - maxAgeMs;
    const lastTouched = new Map<string, number>();
    for (const name of await readdir(this.uploadsDir).catch(() => [] as string[])) {
      const uuid = name.replace(/\.(data|json)$/, "");
      const modified = await stat(join(this.uploadsDir, name)).then(
        (s) => s.mtimeMs,
        () => 0,
      );
      lastTouched.set(uuid, Math.max(lastTouched.get(uuid) ?? 0, modified));
    }
    let removed = 0;
    for (const [uuid, modified] of lastTouched) {
      if (modified >= cutoff || this.sessions.get(uuid)?.busy) continue;
      await this.cancel(uuid);
      removed++;
    }
    return removed;
  }
}

async function hashFile(path: string, algorithm: string): Promise<string> {
  const hash = createHash(algorithm);
  await pipeline(createReadStream(path, { highWaterMark: 1024 * 1024 }), async (source: AsyncIterable<Buffer>) => {
    for await (const chunk of source) hash.update(chunk);
  });
  return hash.digest("hex");
}
