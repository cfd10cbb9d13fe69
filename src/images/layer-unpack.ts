// Unpacks one layer blob, as it downloads, into a directory usable as an overlayfs lowerdir:
//   bytes ─▶ sha256 (checked against the layer digest at the end) ─▶ gunzip / zstd -d / as is ─▶ tar
// OCI whiteouts become overlay whiteouts (image-spec "Whiteouts"; kernel overlayfs docs): a
// `.wh.NAME` entry becomes a character device 0/0 named NAME, `.wh..wh..opq` marks its directory
// opaque with the xattr trusted.overlay.opaque=y. Node has neither mknod nor setxattr, so those
// (rare) entries are made by one python3 (os.mknod, os.setxattr) after extraction, at paths
// confined to the unpack dir by layer-paths.ts (no `..`, no absolute path, no symlink on the way).
// Work happens in a temp dir renamed into place only when the digest matched: a crash or a bad
// blob never leaves a half layer where the store would find it.
import { spawn } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { posix } from "node:path";
import { PassThrough } from "node:stream";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import type { ZlibOptions } from "node:zlib";
import { x as extractTar } from "tar";
import { runCommand } from "../core/command-runner.js";
import { WorkerHash } from "./worker-hash.js";
import { confinedDirectory, confinedEntryPath, layerPathComponents, lstatOrUndefined, UnsafeLayerEntryError } from "./layer-paths.js";
import { parseContentDigest } from "./content-digest.js";
import { DEFAULT_LAYER_LIMITS, LayerByteCounter } from "./layer-limits.js";
import type { ImageByteBudget, LayerLimits } from "./layer-limits.js";

export class DigestMismatchError extends Error {}

/**
 * zlib's default 16 KiB output chunks make gunzip ~7× slower through the stream pipeline
 * (measured here on a 50 MiB layer: 292 ms with 16 KiB chunks, 40 ms with 256 KiB). Each output
 * chunk also becomes one tar write: 1 MiB took a 100 MiB layer from ~300 to ~250 ms over
 * loopback (4 MiB blocks and chunks were slower again: less overlap between the stages).
 */
const INFLATE_CHUNK_BYTES = 1024 * 1024;
/** Buffering of the zstd output stage (the 16 KiB default pauses the decoder every few chunks). */
const STREAM_BUFFER_BYTES = 1024 * 1024;
/**
 * Socket reads arrive as 64 KiB chunks, and every chunk costs a round through each later stage
 * (a zlib job on the threadpool, a tar parse, an fs.write): the blob goes on in blocks this big.
 */
const BLOCK_BYTES = 1024 * 1024;

/**
 * Counts and hashes every byte of `blob` (the digest is checked on all of it, whatever the
 * later stages do) and regroups the bytes into BLOCK_BYTES blocks for the decoder.
 */
function hashedBlocks(hash: WorkerHash, counted: { size: number }, counter: LayerByteCounter) {
  return async function* (source: AsyncIterable<Buffer | string>) {
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    const block = () => {
      const bytes = pending.length === 1 ? pending[0]! : Buffer.concat(pending, pendingBytes);
      hash.update(bytes);
      pending = [];
      pendingBytes = 0;
      return bytes;
    };
    for await (const chunk of source) {
      const bytes = typeof chunk === "string" ? Buffer.from(chunk) : chunk;
      counted.size += bytes.length;
      // Throws past the declared size or the host's limit: the pipeline stops downloading.
      counter.compressed(bytes.length);
      pending.push(bytes);
      pendingBytes += bytes.length;
      if (pendingBytes >= BLOCK_BYTES) {
        yield block();
        // Backpressure: the download waits while the hash worker is far behind.
        await hash.room();
      }
    }
    if (pendingBytes > 0) yield block();
  };
}

export type LayerCompression = "gzip" | "zstd" | "none";

export function compressionOf(mediaType: string): LayerCompression {
  if (mediaType.endsWith("+zstd") || mediaType.endsWith(".zstd")) return "zstd";
  if (mediaType.endsWith("gzip")) return "gzip";
  if (mediaType.endsWith(".tar") || mediaType.endsWith("tar")) return "none";
  // The media type is the registry's text: shown bounded (it ends up in a stopped reason).
  throw new Error(`unsupported layer media type ${JSON.stringify(String(mediaType).slice(0, 100))}`);
}

/** zstd has no decoder in Node 20: the zstd tool decodes between two pipes. */
async function pipeThroughZstd(source: Readable, sink: NodeJS.WritableStream): Promise<void> {
  const child = spawn("zstd", ["-d", "-c", "-q"], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve, reject) =>
    child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`zstd: ${stderr.trim() || `exit ${code}`}`)))),
  );
  // A stage refused (a limit, a bad archive): the decoder goes at once, not when its pipes drain.
  await Promise.all([pipeline(source, child.stdin), pipeline(child.stdout, sink), exited]).catch(async (error: unknown) => {
    child.kill("SIGKILL");
    await exited.catch(() => undefined);
    throw error;
  });
}

/** Entries node-tar is not given, made by applySpecialEntries once the digest has matched. */
interface SpecialEntries {
  readonly absoluteLinks: { path: string; target: string }[];
  readonly whiteouts: string[];
  readonly opaqueDirs: string[];
  /** Exact modes (path → mode) of files and directories node-tar would not set as they are. */
  readonly modes: Map<string, number>;
}

/** A tar extractor into `dir` that sets aside in `special` every entry it must not make itself. */
function extractCollectingSpecialEntries(dir: string, special: SpecialEntries): NodeJS.WritableStream {
  // Modes node-tar cannot give exactly: the process umask filters open/mkdir modes (a 1777 /tmp
  // would become 1755) and chown clears setuid/setgid. They are set again after extraction.
  const umask = process.umask();
  return extractTar({
    cwd: dir,
    preserveOwner: true,
    // node-tar refuses absolute paths and `..` escapes, so a layer cannot write outside dir.
    filter: (path: string, entry: unknown) => {
      const { type, linkpath, mode } = entry as { type?: string; linkpath?: string; mode?: number };
      // node-tar would make an absolute symlink target relative (it strips the leading "/"),
      // which breaks images (/bin/sh -> /bin/busybox, /etc/localtime -> /usr/share/…). Those
      // links are made after extraction, as they are: nothing on the host ever follows them.
      if (type === "SymbolicLink" && linkpath?.startsWith("/")) {
        special.absoluteLinks.push({ path, target: linkpath });
        return false;
      }
      const base = posix.basename(path);
      if (base === ".wh..wh..opq") {
        special.opaqueDirs.push(posix.dirname(path));
        return false;
      }
      if (base.startsWith(".wh.")) {
        special.whiteouts.push(posix.join(posix.dirname(path), base.slice(4)));
        return false;
      }
      if (
        (type === "File" || type === "OldFile" || type === "ContiguousFile" || type === "Directory") &&
        mode !== undefined &&
        (mode & (0o7000 | umask)) !== 0
      ) {
        special.modes.set(path.replace(/^\/+/, ""), mode & 0o7777);
      }
      return true;
    },
  }) as unknown as NodeJS.WritableStream;
}

/**
 * Listens to decoded bytes beside the pipeline instead of being a Transform stage of it (every
 * stage costs a callback round per chunk): notes in `seen` whether any non-zero byte went by, and
 * counts the bytes against the limits. Attached in the same tick as the pipeline, so no chunk
 * goes by unseen.
 */
function watchDecodedBytes(stream: NodeJS.ReadableStream & { destroy(error?: Error): unknown }, counter: LayerByteCounter, seen: { content: boolean }): void {
  const onData = (chunk: Buffer) => {
    if (!chunk.some((byte) => byte !== 0)) return;
    seen.content = true;
    stream.removeListener("data", onData);
  };
  stream.on("data", onData);
  // Past a limit the stream is destroyed with the reason, which fails the pipeline before the
  // rest reaches the disk.
  stream.on("data", (chunk: Buffer) => {
    try {
      counter.uncompressed(chunk.length);
    } catch (error) {
      stream.destroy(error as Error);
    }
  });
}

/** Streams `blob` through `blocks` (hash and count), the decoder for `compression`, and `extract`. */
async function decodeInto(
  blob: Readable,
  compression: LayerCompression,
  blocks: ReturnType<typeof hashedBlocks>,
  extract: NodeJS.WritableStream,
  counter: LayerByteCounter,
): Promise<void> {
  // Empty layers (a tar of only its end marker, common in real images) are valid, but node-tar
  // calls them an unrecognized archive: remember whether any non-zero byte went by.
  const seen = { content: false };
  try {
    if (compression === "zstd") {
      const decoded = new PassThrough({ highWaterMark: STREAM_BUFFER_BYTES });
      watchDecodedBytes(decoded, counter, seen);
      // Both settled before going on: a refusal kills the decoder, and it must be gone (not
      // still writing) when the partial layer is removed. The first failure is the reason.
      let failure: { error: unknown } | undefined;
      const first = (stage: Promise<unknown>) => stage.catch((error: unknown) => void (failure ??= { error }));
      await Promise.all([first(pipeThroughZstd(Readable.from(blocks(blob), { objectMode: false }), decoded)), first(pipeline(decoded, extract))]);
      if (failure) throw failure.error;
    } else if (compression === "gzip") {
      // The buffer lets the next block be handed over while zlib inflates this one.
      // (zlib streams take the Transform options; @types/node does not list them.)
      const gunzip = createGunzip({ chunkSize: INFLATE_CHUNK_BYTES, highWaterMark: 2 * BLOCK_BYTES } as ZlibOptions);
      watchDecodedBytes(gunzip, counter, seen);
      await pipeline(blob, blocks, gunzip, extract);
    } else {
      const plain = new PassThrough({ highWaterMark: 2 * BLOCK_BYTES });
      watchDecodedBytes(plain, counter, seen);
      await pipeline(blob, blocks, plain, extract);
    }
  } catch (error) {
    if (!((error as { code?: string }).code === "TAR_BAD_ARCHIVE" && !seen.content)) throw error;
  }
}

/**
 * Streams `blob` into `targetDir` (which must not exist yet); returns the compressed size.
 * `declaredBytes` (the descriptor's size) and `limits` bound the bytes read and decompressed
 * (layer-limits.ts); a layer over them is refused while it streams, its partial files removed.
 */
export async function unpackLayer(
  blob: Readable,
  options: { digest: string; mediaType: string; targetDir: string; declaredBytes?: number; limits?: LayerLimits; image?: ImageByteBudget },
): Promise<number> {
  // Compared whole (content-digest.ts): `sha256:<hex>:../x` would otherwise verify as <hex>.
  const { algorithm, hex: expected } = parseContentDigest(options.digest, "layer");
  const counter = new LayerByteCounter(options.limits ?? DEFAULT_LAYER_LIMITS, options.declaredBytes, options.image);
  const temp = `${options.targetDir}.partial-${process.pid}-${Date.now()}`;
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { recursive: true });
  const hash = new WorkerHash(algorithm);
  const counted = { size: 0 };
  const special: SpecialEntries = { absoluteLinks: [], whiteouts: [], opaqueDirs: [], modes: new Map() };
  try {
    const compression = compressionOf(options.mediaType);
    const extract = extractCollectingSpecialEntries(temp, special);
    await decodeInto(blob, compression, hashedBlocks(hash, counted, counter), extract, counter);
    const actual = await hash.digest();
    if (actual !== expected) throw new DigestMismatchError(`digest mismatch: layer ${options.digest} has content ${algorithm}:${actual}`);
    await applySpecialEntries(temp, special);
    if (existsSync(options.targetDir)) rmSync(temp, { recursive: true, force: true });
    else renameSync(temp, options.targetDir);
    return counted.size;
  } catch (error) {
    hash.drop();
    await removeWhenQuiet(temp);
    throw error;
  }
}

/**
 * Removes a refused layer's partial directory once the extract has stopped writing into it: after
 * a mid-stream error node-tar may still have file system calls in flight, which recreate what was
 * removed (a later entry's directory) or make the removal fail (ENOTEMPTY). Removed again until it
 * stays gone for three checks 25 ms apart (at most about a second); never in place of the layer's
 * own error. What is left even so is removed at the store's next start (*.partial-*).
 */
async function removeWhenQuiet(dir: string): Promise<void> {
  let quiet = 0;
  for (let attempt = 0; attempt < 40 && quiet < 3; attempt++) {
    try {
      rmSync(dir, { recursive: true, force: true, maxRetries: 3, retryDelay: 10 });
    } catch {
      // still being written: the next round
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
    quiet = existsSync(dir) ? 0 : quiet + 1;
  }
}

/**
 * Applies what node-tar was not given, every path confined to `root` (see layer-paths.ts): absolute
 * symlinks as they are, whiteouts as 0/0 character devices, opaque directories as the overlay
 * xattr, and exact modes. An entry that would reach outside `root` refuses the whole layer.
 */
async function applySpecialEntries(
  root: string,
  entries: {
    absoluteLinks: readonly { path: string; target: string }[];
    whiteouts: readonly string[];
    opaqueDirs: readonly string[];
    modes: ReadonlyMap<string, number>;
  },
): Promise<void> {
  for (const { path, target } of entries.absoluteLinks) {
    const full = confinedEntryPath(root, path, { create: true });
    if (!full) throw new UnsafeLayerEntryError(`layer entry ${JSON.stringify(path)} names the layer root`);
    // rmSync does not follow a symlink in the last component: it removes the link itself.
    rmSync(full, { recursive: true, force: true });
    symlinkSync(target, full);
  }
  const nodes: string[] = [];
  for (const path of entries.whiteouts) {
    const full = confinedEntryPath(root, path, { create: true });
    if (!full) throw new UnsafeLayerEntryError(`whiteout ${JSON.stringify(path)} names the layer root`);
    rmSync(full, { recursive: true, force: true });
    nodes.push(full);
  }
  const opaque: string[] = [];
  for (const path of entries.opaqueDirs) {
    const parts = layerPathComponents(path);
    // An opaque marker at the layer root hides nothing (there is nothing above the root).
    if (parts.length === 0) continue;
    opaque.push(confinedDirectory(root, parts, { create: true, entry: path })!);
  }
  for (const [path, mode] of entries.modes) {
    let full: string | undefined;
    try {
      full = confinedEntryPath(root, path, { create: false });
    } catch (error) {
      // node-tar skipped this entry (it refuses the same paths), or a later entry replaced a parent.
      if (error instanceof UnsafeLayerEntryError) continue;
      throw error;
    }
    const stats = full ? lstatOrUndefined(full) : undefined;
    // chmod follows symlinks: only the regular file or directory the entry made is changed.
    if (full && stats && (stats.isFile() || stats.isDirectory())) chmodSync(full, mode);
  }
  if (nodes.length === 0 && opaque.length === 0) return;
  // One python3 for all of them: Node has neither mknod nor setxattr. The paths were checked above
  // and the tree is not written to by anything else meanwhile.
  const script = [
    "import os, stat, sys, json",
    "ops = json.load(sys.stdin)",
    "for p in ops['nodes']: os.mknod(p, stat.S_IFCHR | 0o000, os.makedev(0, 0))",
    "for p in ops['opaque']: os.setxattr(p, 'trusted.overlay.opaque', b'y', follow_symlinks=False)",
  ].join("\n");
  await runCommand("python3", ["-c", script], { input: JSON.stringify({ nodes, opaque }) });
}
