// Garbage collection of blobs. A blob file is deleted when no repository links it any more;
// links go when the last image referencing the blob goes (BatchDeleteImage, DeleteRepository,
// manifest DELETE, lifecycle expiry: the store returns those digests and `release` runs at once),
// and, in the periodic pass, when a pushed blob was never referenced by any manifest for
// `abandonedLinkMs` (an abandoned push). The periodic pass also removes files that no link
// names (a crash between placing and linking), stale upload sessions, and settles the trash an
// interrupted deletion left.
//
// With replicas sharing one blob dir, another replica may be finishing a push of a blob this pass
// finds unlinked. Two things keep such a blob: a deletion re-checks the links after moving the
// file aside and puts it back if one appeared (blob-store.ts), and the periodic pass leaves
// unlinked files younger than `orphanGraceMs` alone (a finish gives its file a fresh mtime before
// it links it). Uploads in progress are never under blobs/: their sessions are swept by age only.
import type { EcrRepository } from "../store/ecr-repository.js";
import type { BlobStore } from "./blob-store.js";

export interface GarbageCollectorOptions {
  readonly repositories: EcrRepository;
  readonly blobs: BlobStore;
  readonly now: () => number;
  readonly abandonedLinkMs: number;
  readonly uploadMaxAgeMs: number;
  /** An unlinked blob file younger than this is left for a later pass. Default 1 h. */
  readonly orphanGraceMs?: number;
}

export interface GarbageReport {
  readonly blobsRemoved: number;
  readonly linksRemoved: number;
  readonly uploadsRemoved: number;
}

const DEFAULT_ORPHAN_GRACE_MS = 3_600_000;

export class GarbageCollector {
  constructor(private readonly options: GarbageCollectorOptions) {}

  /**
   * Deletes the files of these blobs that no repository links (with `notModifiedSince`: only files
   * older than that). Returns how many went.
   */
  async release(digests: readonly string[], notModifiedSince?: number): Promise<number> {
    let removed = 0;
    const isLinked = (digest: string) => () => this.options.repositories.isBlobLinkedAnywhere(digest);
    for (const digest of new Set(digests)) {
      if (await this.options.blobs.removeIfUnlinked(digest, isLinked(digest), notModifiedSince)) removed++;
    }
    return removed;
  }

  async collect(): Promise<GarbageReport> {
    const { repositories, blobs, now, abandonedLinkMs, uploadMaxAgeMs } = this.options;
    await blobs.settleTrash((digest) => repositories.isBlobLinkedAnywhere(digest));
    const linkedBefore = now() - abandonedLinkMs;
    // Removed only if still abandoned: a push or a manifest (on any replica) may have come since the listing.
    const abandoned = await repositories.removeBlobLinks(await repositories.unreferencedBlobLinks(linkedBefore), linkedBefore);
    const released = await this.release(abandoned.map((link) => link.digest));
    const orphans = await this.release(await blobs.listDigests(), now() - (this.options.orphanGraceMs ?? DEFAULT_ORPHAN_GRACE_MS));
    const uploadsRemoved = await blobs.sweepUploads(uploadMaxAgeMs);
    return { blobsRemoved: released + orphans, linksRemoved: abandoned.length, uploadsRemoved };
  }
}
