// Unpacks one layer blob, as it downloads, into a directory usable as an overlayfs lowerdir:
//   bytes ─▶ sha256 (checked against the layer digest at the end) ─▶ gunzip / zstd -d / as is ─▶ tar
// OCI whiteouts become overlay whiteouts (image-spec "Whiteouts"; kernel overlayfs docs): a
// `.wh.NAME` entry becomes a character device 0/0 named NAME, `.wh..wh..opq` marks its directory
// opaque with the xattr trusted.overlay.opaque=y. Node has neither mknod nor setxattr, so those
// (rare) entries are made by mknod(1) and python3's os.setxattr after extraction.
// Work happens in a temp dir renamed into place only when the digest matched: a crash or a bad
// blob never leaves a half layer where the store would find it.
import { execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { dirname, join, posix } from "node:path";
import { Transform } from "node:stream";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import { x as extractTar } from "tar";

export class DigestMismatchError extends Error {}

const run = (command: string, args: readonly string[]) =>
  new Promise<void>((resolve, reject) => execFile(command, [...args], (error, _stdout, stderr) => (error ? reject(new Error(`${command}: ${stderr.trim() || error.message}`)) : resolve())));

export type LayerCompression = "gzip" | "zstd" | "none";

export function compressionOf(mediaType: string): LayerCompression {
  if (mediaType.endsWith("+zstd") || mediaType.endsWith(".zstd")) return "zstd";
  if (mediaType.endsWith("gzip")) return "gzip";
  if (mediaType.endsWith(".tar") || mediaType.endsWith("tar")) return "none";
  throw new Error(`unsupported layer media type ${mediaType}`);
}

/** zstd has no decoder in Node 20: the zstd tool decodes between two pipes. */
async function pipeThroughZstd(source: Readable, sink: NodeJS.WritableStream): Promise<void> {
  const child = spawn("zstd", ["-d", "-c", "-q"], { stdio: ["pipe", "pipe", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve, reject) => child.once("close", (code) => (code === 0 ? resolve() : reject(new Error(`zstd: ${stderr.trim() || `exit ${code}`}`)))));
  await Promise.all([pipeline(source, child.stdin), pipeline(child.stdout, sink), exited]);
}

/** Streams `blob` into `targetDir` (which must not exist yet); returns the compressed size. */
export async function unpackLayer(blob: Readable, options: { digest: string; mediaType: string; targetDir: string }): Promise<number> {
  const [algorithm, expected] = options.digest.split(":") as [string, string];
  if (algorithm !== "sha256" && algorithm !== "sha512") throw new Error(`unsupported digest algorithm ${algorithm}`);
  const temp = `${options.targetDir}.partial-${process.pid}-${Date.now()}`;
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { recursive: true });
  const hash = createHash(algorithm);
  let size = 0;
  const tap = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  const whiteouts: string[] = [];
  const opaqueDirs: string[] = [];
  const absoluteLinks: { path: string; target: string }[] = [];
  try {
    const compression = compressionOf(options.mediaType);
    const extract = extractTar({
      cwd: temp,
      preserveOwner: true,
      // node-tar refuses absolute paths and `..` escapes, so a layer cannot write outside temp.
      filter: (path: string, entry: unknown) => {
        const { type, linkpath } = entry as { type?: string; linkpath?: string };
        // node-tar would make an absolute symlink target relative (it strips the leading "/"),
        // which breaks images (/bin/sh -> /bin/busybox, /etc/localtime -> /usr/share/…). Those
        // links are made after extraction, as they are: nothing on the host ever follows them.
        if (type === "SymbolicLink" && linkpath?.startsWith("/")) {
          absoluteLinks.push({ path, target: linkpath });
          return false;
        }
        const base = posix.basename(path);
        if (base === ".wh..wh..opq") {
          opaqueDirs.push(posix.dirname(path));
          return false;
        }
        if (base.startsWith(".wh.")) {
          whiteouts.push(posix.join(posix.dirname(path), base.slice(4)));
          return false;
        }
        return true;
      },
    }) as unknown as NodeJS.WritableStream;
    // Empty layers (a tar of only its end marker, common in real images) are valid, but node-tar
    // calls them an unrecognized archive: remember whether any non-zero byte went by.
    let sawContent = false;
    const sniff = new Transform({
      transform(chunk: Buffer, _encoding, callback) {
        if (!sawContent && chunk.some((byte) => byte !== 0)) sawContent = true;
        callback(null, chunk);
      },
    });
    const hashed = blob.pipe(tap);
    blob.once("error", (error) => tap.destroy(error));
    try {
      if (compression === "zstd") await Promise.all([pipeThroughZstd(hashed, sniff), pipeline(sniff, extract)]);
      else if (compression === "gzip") await pipeline(hashed, createGunzip(), sniff, extract);
      else await pipeline(hashed, sniff, extract);
    } catch (error) {
      if (!((error as { code?: string }).code === "TAR_BAD_ARCHIVE" && !sawContent)) throw error;
    }
    const actual = hash.digest("hex");
    if (actual !== expected) throw new DigestMismatchError(`digest mismatch: layer ${options.digest} has content ${algorithm}:${actual}`);
    for (const { path, target } of absoluteLinks) {
      const full = join(temp, path);
      if (!full.startsWith(`${temp}/`) || path.split("/").includes("..")) continue;
      rmSync(full, { recursive: true, force: true });
      mkdirSync(dirname(full), { recursive: true });
      symlinkSync(target, full);
    }
    for (const path of whiteouts) {
      const full = join(temp, path);
      rmSync(full, { recursive: true, force: true });
      mkdirSync(dirname(full), { recursive: true });
      await run("mknod", [full, "c", "0", "0"]);
    }
    for (const path of opaqueDirs) {
      const full = join(temp, path);
      mkdirSync(full, { recursive: true });
      await run("python3", ["-c", "import os,sys; os.setxattr(sys.argv[1], 'trusted.overlay.opaque', b'y')", full]);
    }
    if (existsSync(options.targetDir)) rmSync(temp, { recursive: true, force: true });
    else renameSync(temp, options.targetDir);
    return size;
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
}
