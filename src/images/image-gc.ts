// The host's image garbage collector: keeps the image store under a size by removing the least
// recently used images that no task on the host uses, down to a low-water mark, with the layers
// no remaining image shares. Layers no image record names (left by a pull that failed part way, or
// by a crash) go first. An image used within `minIdleMs` is never removed, so an image pulled a
// moment ago is safe while its task records the digest.
//
//   store size > high water ─▶ orphan layers ─▶ idle unused images, oldest use first ─▶ ≤ low water
//
// planImageCollection is pure; layerDiskBytes measures a layer once and caches it beside it.
import { statfsSync } from "node:fs";
import { lstat, opendir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";

export interface StoredImage {
  readonly manifestDigest: string;
  readonly layerDirs: readonly string[];
  /** When a pull last returned this image (its record's mtime). */
  readonly lastUsedMs: number;
}

export interface CollectionInput {
  readonly images: readonly StoredImage[];
  /** Every layer directory on disk, with its size. */
  readonly layerBytes: ReadonlyMap<string, number>;
  /** Manifest digests of images some task on the host uses. */
  readonly inUse: ReadonlySet<string>;
  readonly nowMs: number;
  readonly minIdleMs: number;
  readonly highWaterBytes: number;
  readonly lowWaterBytes: number;
}

export interface CollectionPlan {
  readonly images: readonly string[];
  readonly layerDirs: readonly string[];
  readonly bytesBefore: number;
  readonly bytesAfter: number;
}

export function planImageCollection(input: CollectionInput): CollectionPlan {
  const bytesBefore = [...input.layerBytes.values()].reduce((sum, bytes) => sum + bytes, 0);
  if (bytesBefore <= input.highWaterBytes) return { images: [], layerDirs: [], bytesBefore, bytesAfter: bytesBefore };
  const users = new Map<string, number>();
  for (const image of input.images) for (const dir of image.layerDirs) users.set(dir, (users.get(dir) ?? 0) + 1);
  const layerDirs: string[] = [];
  let bytes = bytesBefore;
  const drop = (dir: string) => {
    layerDirs.push(dir);
    bytes -= input.layerBytes.get(dir) ?? 0;
  };
  for (const dir of input.layerBytes.keys()) if (!users.has(dir)) drop(dir);
  const images: string[] = [];
  const candidates = input.images
    .filter((image) => !input.inUse.has(image.manifestDigest) && input.nowMs - image.lastUsedMs >= input.minIdleMs)
    .sort((a, b) => a.lastUsedMs - b.lastUsedMs);
  for (const image of candidates) {
    if (bytes <= input.lowWaterBytes) break;
    images.push(image.manifestDigest);
    for (const dir of new Set(image.layerDirs)) {
      const left = (users.get(dir) ?? 0) - 1;
      users.set(dir, left);
      if (left === 0 && input.layerBytes.has(dir)) drop(dir);
    }
  }
  return { images, layerDirs, bytesBefore, bytesAfter: bytes };
}

/** The blocks a directory tree uses on disk (sparse files count what they use), symlinks not followed. */
async function treeDiskBytes(dir: string): Promise<number> {
  let total = (await lstat(dir)).blocks * 512;
  for await (const entry of await opendir(dir)) {
    const path = join(dir, entry.name);
    total += entry.isDirectory() ? await treeDiskBytes(path) : (await lstat(path)).blocks * 512;
  }
  return total;
}

/** A layer's size on disk, measured once (layers never change) and kept in `<dir>.bytes`. */
export async function layerDiskBytes(dir: string): Promise<number> {
  const cache = `${dir}.bytes`;
  const cached = Number(await readFile(cache, "utf8").catch(() => ""));
  if (Number.isSafeInteger(cached) && cached > 0) return cached;
  const bytes = await treeDiskBytes(dir);
  await writeFile(cache, String(bytes));
  return bytes;
}

/**
 * The default high-water mark: a quarter of the filesystem the store is on, so images never take
 * the disk the tasks' ephemeral storage and logs need.
 */
export function defaultImageStoreHighWaterBytes(storeRoot: string): number {
  const disk = statfsSync(storeRoot);
  return Math.floor((disk.blocks * disk.bsize) / 4);
}
