// Garbage collection of blobs. A blob file is deleted when no repository links it any more;
// links go when the last image referencing the blob goes (BatchDeleteImage, DeleteRepository,
// manifest DELETE, lifecycle expiry: the store returns those digests and `release` runs at once),
// and, in the periodic pass, when a pushed blob was never referenced by any manifest for
// `abandonedLinkMs` (an abandoned push). The periodic pass also removes files that no link
// names (a crash between rename and link) and stale upload sessions.
import type { EcrRepository } from "../store/ecr-repository.js";
import type { BlobStore } from "./blob-store.js";

export interface GarbageCollectorOptions {
  readonly repositories: EcrRepository;
  readonly blobs: BlobStore;
  readonly now: () => number;
  readonly abandonedLinkMs: number;
  readonly uploadMaxAgeMs: number;
}

export interface GarbageReport {
  readonly blobsRemoved: number;
  readonly linksRemoved: number;
  readonly uploadsRemoved: number;
}

export class GarbageCollector {
  constructor(private readonly options: GarbageCollectorOptions) {}

  /** Deletes the files of these blobs that no repository links. Returns how many went. */
  async release(digests: readonly string[]): Promise<number> {
    let removed = 0;
    for (const digest of new Set(digests)) {
      if (await this.options.blobs.removeIfUnlinked(digest, () => this.options.repositories.isBlobLinkedAnywhere(digest))) removed++;
    }
    return removed;
  }

  async collect(): Promise<GarbageReport> {
    const { repositories, blobs, now, abandonedLinkMs, uploadMaxAgeMs } = this.options;
    const abandoned = await repositories.unreferencedBlobLinks(now() - abandonedLinkMs);
    await repositories.removeBlobLinks(abandoned);
    const released = await this.release(abandoned.map((link) => link.digest));
    const orphans = await this.release(await blobs.listDigests());
    const uploadsRemoved = await blobs.sweepUploads(uploadMaxAgeMs);
    return { blobsRemoved: released + orphans, linksRemoved: abandoned.length, uploadsRemoved };
  }
}
