// The unpacker's disk bounds with small limits: a gzip bomb stops while streaming with nothing left
// on disk, a blob longer than its descriptor is refused, and a digest that only starts like one
// is refused before any directory is made.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { gzipSync } from "node:zlib";
import { unpackLayer } from "./layer-unpack.js";

const work = mkdtempSync(join(tmpdir(), "berth-unpack-limits-"));
after(() => rmSync(work, { recursive: true, force: true }));

/** A ustar archive holding one file `name` of `size` zero bytes. */
function tarOfZeros(name: string, size: number): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, "utf8");
  header.write("0000644\0", 100, "ascii");
  header.write("0000000\0", 108, "ascii");
  header.write("0000000\0", 116, "ascii");
  header.write(size.toString(8).padStart(11, "0") + "\0", 124, "ascii");
  header.write("14524525400\0", 136, "ascii");
  header.write("        ", 148, "ascii");
  header.write("0", 156, "ascii");
  header.write("ustar\x0000", 257, "binary");
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, "0") + "\0 ", 148, "ascii");
  return Buffer.concat([header, Buffer.alloc(size + ((512 - (size % 512)) % 512)), Buffer.alloc(1024)]);
}

const sha256 = (bytes: Buffer) => `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
const MiB = 1024 * 1024;
const limits = {
  maxLayerBytes: 64 * MiB,
  maxImageBytes: 64 * MiB,
  maxUncompressedLayerBytes: 64 * MiB,
  maxUncompressedImageBytes: 64 * MiB,
  maxRatio: 10,
  ratioFloorBytes: MiB,
};

test("a gzip bomb is stopped by the ratio limit while it streams, and leaves nothing on disk", async () => {
  const blob = gzipSync(tarOfZeros("zeros", 48 * MiB));
  assert.ok(blob.length < 100 * 1024, "the bomb compresses > 400:1");
  const targetDir = join(work, "bomb");
  await assert.rejects(
    unpackLayer(Readable.from([blob]), {
      digest: sha256(blob),
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      targetDir,
      declaredBytes: blob.length,
      limits,
    }),
    /more than 10 times its compressed size.*decompression bomb/,
  );
  assert.deepEqual(
    readdirSync(work).filter((name) => name.startsWith("bomb")),
    [],
  );
});

test("the same layer unpacks when the ratio allows it (the limit, not the data, refused it)", async () => {
  const blob = gzipSync(tarOfZeros("zeros", 8 * MiB));
  const targetDir = join(work, "allowed");
  await unpackLayer(Readable.from([blob]), {
    digest: sha256(blob),
    mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
    targetDir,
    declaredBytes: blob.length,
    limits: { ...limits, maxRatio: 100_000 },
  });
  assert.ok(existsSync(join(targetDir, "zeros")));
});

test("an uncompressed layer over the absolute limit is refused", async () => {
  const blob = tarOfZeros("big", 2 * MiB);
  await assert.rejects(
    unpackLayer(Readable.from([blob]), {
      digest: sha256(blob),
      mediaType: "application/vnd.oci.image.layer.v1.tar",
      targetDir: join(work, "big"),
      limits: { ...limits, maxLayerBytes: MiB },
    }),
    /exceeds the host's limit of 1 MiB/,
  );
});

test("a blob longer than its descriptor's size is refused", async () => {
  const blob = gzipSync(tarOfZeros("a", 1000));
  await assert.rejects(
    unpackLayer(Readable.from([blob]), {
      digest: sha256(blob),
      mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
      targetDir: join(work, "long"),
      declaredBytes: blob.length - 1,
      limits,
    }),
    /longer than the \d+ bytes its manifest declares/,
  );
});

test("a digest with a path after a valid hex is refused before anything is made", async () => {
  const blob = gzipSync(tarOfZeros("a", 10));
  const digest = `${sha256(blob)}:../../escape`;
  await assert.rejects(
    unpackLayer(Readable.from([blob]), { digest, mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", targetDir: join(work, "d", "x") }),
    /invalid layer digest/,
  );
  assert.equal(existsSync(join(work, "d")), false);
});

test("a zstd bomb is stopped the same way, and its decoder process does not outlive the refusal", async () => {
  const { execFileSync } = await import("node:child_process");
  const blob = execFileSync("zstd", ["-19", "-c", "-q"], { input: tarOfZeros("zeros", 48 * MiB), maxBuffer: 64 * MiB });
  const targetDir = join(work, "zstd-bomb");
  await assert.rejects(
    unpackLayer(Readable.from([blob]), {
      digest: sha256(blob),
      mediaType: "application/vnd.oci.image.layer.v1.tar+zstd",
      targetDir,
      declaredBytes: blob.length,
      limits,
    }),
    /more than 10 times its compressed size.*decompression bomb/,
  );
  assert.deepEqual(
    readdirSync(work).filter((name) => name.startsWith("zstd-bomb")),
    [],
  );
  const decoders = execFileSync("ps", ["-eo", "ppid=,comm="], { encoding: "utf8" })
    .split("\n")
    .filter((line) => line.trim().startsWith(`${process.pid} `) && line.includes("zstd"));
  assert.deepEqual(decoders, []);
});
