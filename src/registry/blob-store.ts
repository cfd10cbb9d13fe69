// Blob bytes on disk, content-addressed and shared by every repository, in a blob dir that the
// replicas of a store share (--blob-dir, on NFS or similar; default <data-dir>/registry):
//   <root>/blobs/<algorithm>/<first two hex>/<hex>   a verified blob, never modified
//   <root>/uploads/<uuid>/…                          upload sessions (upload-sessions.ts)
//   <root>/trash/<algorithm>-<hex>.<random>          a blob garbage collection is removing
//
// Upload lifecycle (state on disk, so any replica continues a session):
//   start ──► append* (PATCH: a part per request, hashed as it streams) ──► finish(digest)
//     │            │ client gone / server killed: the bytes written so far stay; GET tells the
//     │            │ client where to resume
//     └────────────┴──► cancel (DELETE, digest mismatch, or swept after uploadMaxAgeMs)
// finish verifies the digest over a candidate nobody else writes (upload-sessions.ts), fsyncs it
// and hard-links it under its final name: link() never replaces a file, so when two replicas
// finish the same digest at once the first link wins and the second finds an identical blob
// there; a blob path only ever holds complete, verified bytes, whatever crashes when.
//
// Visibility in a repository is a store link made after the file is in place. Garbage collection
// deletes a blob only when no repository links it; another replica may link it between that check
// and the deletion (a push of the same bytes finishing there), so a deletion first moves the file
// to trash/, checks the links again and puts it back if one appeared; and the finishing replica,
// which keeps its candidate until it has linked the blob, puts the file back itself if it is gone
// after linking. Either way a linked blob keeps its file.
import { randomUUID } from "node:crypto";
import { createReadStream, mkdirSync } from "node:fs";
import type { ReadStream } from "node:fs";
import { copyFile, link, mkdir, readdir, rename, rm, stat, utimes } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { digestInvalid } from "./distribution-errors.js";
import type { UploadInfo } from "./upload-sessions.js";
import { fsyncPath, UploadSessions } from "./upload-sessions.js";

export type { UploadInfo } from "./upload-sessions.js";

export const SUPPORTED_ALGORITHMS: Readonly<Record<string, number>> = { sha256: 64, sha512: 128 };

/** A trash entry older than this is one whose removal was interrupted (a crash): settled by the next pass. */
const TRASH_SETTLE_MS = 10 * 60_000;

/** Splits "sha256:<hex>" after checking the algorithm and the hex length. */
export function parseDigest(digest: string): { algorithm: string; hex: string } | undefined {
  const match = /^([a-z0-9]+):([a-f0-9]+)$/.exec(digest);
  if (!match) return undefined;
  const [, algorithm, hex] = match as unknown as [string, string, string];
  return SUPPORTED_ALGORITHMS[algorithm] === hex.length ? { algorithm, hex } : undefined;
}

const isCode = (error: unknown, code: string) => (error as NodeJS.ErrnoException).code === code;

export class BlobStore {
  private readonly blobsDir: string;
  private readonly uploadsDir: string;
  private readonly trashDir: string;
  private readonly uploads: UploadSessions;
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(
    root: string,
    private readonly now: () => number,
  ) {
    this.blobsDir = join(root, "blobs");
    this.uploadsDir = join(root, "uploads");
    this.trashDir = join(root, "trash");
    this.uploads = new UploadSessions(this.uploadsDir, now);
  }

  /** Creates the directories (synchronously: the registry is built before the server listens). */
  init(): void {
    for (const dir of [this.blobsDir, this.uploadsDir, this.trashDir]) mkdirSync(dir, { recursive: true, mode: 0o700 });
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
      if (isCode(error, "ENOENT")) return undefined;
      throw error;
    }
  }

  /** Bytes [start, end] (inclusive) of a blob. */
  read(digest: string, start: number, end: number): ReadStream {
    return createReadStream(this.blobPath(digest), { start, end, highWaterMark: 1024 * 1024 });
  }

  /** Runs `work` while no other holder of `digest`'s lock in this process runs (finish vs. garbage collection). */
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

  startUpload(repository: string): Promise<string> {
    return this.uploads.start(repository);
  }

  uploadInfo(uuid: string): Promise<UploadInfo | undefined> {
    return this.uploads.info(uuid);
  }

  /** Appends a request body to an upload; `expectedStart` (Content-Range) must be its size. Returns the new size. */
  append(upload: UploadInfo, source: Readable, expectedStart?: number): Promise<number> {
    return this.uploads.append(upload, source, expectedStart);
  }

  /**
   * Verifies the upload against `digest` and makes it a blob; `commit` runs under the digest's
   * lock once the bytes are in place (the caller links the blob to its repository there).
   */
  async finish(upload: UploadInfo, digest: string, commit: (sizeBytes: number) => Promise<void>): Promise<number> {
    const parsed = parseDigest(digest);
    if (!parsed) throw digestInvalid("invalid digest", { digest });
    const candidate = await this.uploads.verifiedCandidate(upload, parsed);
    try {
      await this.withLock(digest, async () => {
        await this.place(candidate.path, digest, candidate.sizeBytes);
        await commit(candidate.sizeBytes);
        // Another replica's garbage collection may have taken the file away between placing and
        // linking (it had found no link yet): the candidate puts it back.
        await this.restoreIfGone(candidate.path, digest, candidate.sizeBytes);
      });
    } finally {
      await this.uploads.remove(upload.uuid);
    }
    return candidate.sizeBytes;
  }

  cancel(uuid: string): Promise<void> {
    return this.uploads.remove(uuid);
  }

  /** Removes uploads untouched for `maxAgeMs` (abandoned pushes) and stray files of crashed ones. */
  sweepUploads(maxAgeMs: number): Promise<number> {
    return this.uploads.sweep(maxAgeMs);
  }

  /**
   * Puts a verified candidate under the blob's name with a fresh mtime (garbage collection leaves
   * young files alone). link() does not replace: an identical blob already there wins. A file there
   * of another size (not a blob this code placed) is replaced.
   */
  private async place(candidate: string, digest: string, sizeBytes: number): Promise<void> {
    const target = this.blobPath(digest);
    const now = new Date(this.now());
    await utimes(candidate, now, now);
    await mkdir(dirname(target), { recursive: true, mode: 0o700 });
    try {
      await link(candidate, target);
    } catch (error) {
      if (!isCode(error, "EEXIST")) {
        await this.copyInto(candidate, target); // a filesystem without hard links
      } else if ((await this.size(digest)) === sizeBytes) {
        await utimes(target, now, now).catch(() => undefined);
      } else {
        const temporary = `${target}.${randomUUID()}.new`;
        await link(candidate, temporary);
        await rename(temporary, target);
      }
    }
    await fsyncPath(dirname(target));
  }

  /**
   * Puts the candidate back under the blob's name if the file is gone. Asked of the file server by
   * link() itself, which fails with EEXIST only when the name exists there: a stat() may answer
   * from the NFS client's attribute cache, where the file another replica just moved to trash
   * still looks present, and the linked blob would be left without its file.
   */
  private async restoreIfGone(candidate: string, digest: string, sizeBytes: number): Promise<void> {
    try {
      await link(candidate, this.blobPath(digest));
    } catch (error) {
      if (isCode(error, "EEXIST")) return;
      // A filesystem without hard links: place() copied the candidate; compare sizes instead.
      if ((await this.size(digest)) !== sizeBytes) await this.place(candidate, digest, sizeBytes);
      return;
    }
    await fsyncPath(dirname(this.blobPath(digest)));
  }

  private async copyInto(candidate: string, target: string): Promise<void> {
    const temporary = `${target}.${randomUUID()}.new`;
    await copyFile(candidate, temporary);
    await fsyncPath(temporary);
    await rename(temporary, target);
  }

  // ─── garbage ────────────────────────────────────────────────────────────────────────────────

  /**
   * Deletes the blob's file if `isLinked` says no repository links it, before and after the file
   * is moved to trash (see the header). With `notModifiedSince`, a file placed or confirmed after
   * that time is left alone. Returns whether the file went.
   */
  async removeIfUnlinked(digest: string, isLinked: () => Promise<boolean>, notModifiedSince?: number): Promise<boolean> {
    return this.withLock(digest, async () => {
      if (await isLinked()) return false;
      const target = this.blobPath(digest);
      if (notModifiedSince !== undefined) {
        const modified = await stat(target).then(
          (stats) => stats.mtimeMs,
          () => undefined,
        );
        if (modified === undefined || modified > notModifiedSince) return false;
      }
      const trash = join(this.trashDir, `${digest.replace(":", "-")}.${randomUUID()}`);
      try {
        await rename(target, trash);
      } catch (error) {
        if (isCode(error, "ENOENT")) return false;
        throw error;
      }
      let linked = true;
      try {
        linked = await isLinked();
      } finally {
        if (linked) await rename(trash, target);
      }
      await rm(trash, { force: true });
      return !linked;
    });
  }

  /**
   * Settles trash entries an interrupted removal left (older than TRASH_SETTLE_MS): put back when
   * the blob is linked, else deleted. Returns how many were put back.
   */
  async settleTrash(isLinked: (digest: string) => Promise<boolean>): Promise<number> {
    let restored = 0;
    const cutoff = this.now() - TRASH_SETTLE_MS;
    for (const name of await readdir(this.trashDir).catch(() => [] as string[])) {
      const path = join(this.trashDir, name);
      const match = /^([a-z0-9]+)-([a-f0-9]+)\.[0-9a-f-]{36}$/.exec(name);
      const modified = await stat(path).then(
        (stats) => stats.ctimeMs,
        () => undefined,
      );
      if (modified === undefined || modified > cutoff) continue;
      const digest = match ? `${match[1]}:${match[2]}` : undefined;
      if (digest && parseDigest(digest) && (await isLinked(digest)) && (await this.size(digest)) === undefined) {
        await mkdir(dirname(this.blobPath(digest)), { recursive: true, mode: 0o700 });
        await rename(path, this.blobPath(digest));
        restored++;
      } else {
        await rm(path, { force: true });
      }
    }
    return restored;
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
}
