// Layers crafted byte by byte (a hand-written ustar encoder, so nothing sanitises the malicious
// paths before they reach the unpacker): whiteouts, opaque markers and absolute symlinks that try
// to reach outside the unpack dir must leave the host untouched; modes must survive as written.
// Needs root (mknod of whiteouts, trusted.* xattrs), like the agent itself.
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable } from "node:stream";
import { unpackLayer } from "./layer-unpack.js";

interface TarEntry {
  readonly path: string;
  readonly type?: "file" | "dir" | "symlink";
  readonly linkpath?: string;
  readonly mode?: number;
  readonly content?: string;
}

function octal(value: number, width: number): string {
  return value.toString(8).padStart(width - 1, "0") + "\0";
}

/** A POSIX ustar archive of `entries`, paths written exactly as given. */
function tarOf(entries: readonly TarEntry[]): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const header = Buffer.alloc(512);
    const content = Buffer.from(entry.content ?? "");
    const type = entry.type ?? "file";
    header.write(entry.path, 0, 100, "utf8");
    header.write(octal(entry.mode ?? (type === "dir" ? 0o755 : 0o644), 8), 100, "ascii");
    header.write(octal(0, 8), 108, "ascii");
    header.write(octal(0, 8), 116, "ascii");
    header.write(octal(type === "file" ? content.length : 0, 12), 124, "ascii");
    header.write(octal(1_700_000_000, 12), 136, "ascii");
    header.write("        ", 148, "ascii");
    header.write(type === "dir" ? "5" : type === "symlink" ? "2" : "0", 156, "ascii");
    if (entry.linkpath) header.write(entry.linkpath, 157, 100, "utf8");
    header.write("ustar\x0000", 257, "binary");
    let sum = 0;
    for (const byte of header) sum += byte;
    header.write(octal(sum, 7) + " ", 148, "ascii");
    blocks.push(header);
    if (type === "file" && content.length > 0) blocks.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return Buffer.concat(blocks);
}

const work = mkdtempSync(join(tmpdir(), "berth-unpack-test-"));
after(() => rmSync(work, { recursive: true, force: true }));
let counter = 0;

/** A fresh layers dir with a victim dir beside it (what an escape would reach). */
function scene() {
  const base = join(work, `scene-${++counter}`);
  const layers = join(base, "layers");
  const outside = join(base, "outside");
  mkdirSync(layers, { recursive: true });
  mkdirSync(outside, { recursive: true });
  writeFileSync(join(outside, "shadow"), "secret");
  writeFileSync(join(base, "victim"), "secret");
  writeFileSync(join(layers, "victim"), "secret");
  return { base, layers, outside, target: join(layers, "layer") };
}

async function unpack(target: string, entries: readonly TarEntry[]): Promise<void> {
  const blob = tarOf(entries);
  const digest = `sha256:${createHash("sha256").update(blob).digest("hex")}`;
  await unpackLayer(Readable.from([blob]), { digest, mediaType: "application/vnd.oci.image.layer.v1.tar", targetDir: target });
}

/** Everything below `dir`, for "nothing changed" comparisons. */
function listing(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .map((entry) => `${join(entry.parentPath, entry.name)}:${entry.isDirectory() ? "d" : entry.isSymbolicLink() ? "l" : "f"}`)
    .sort();
}

function assertUntouched(s: ReturnType<typeof scene>, before: readonly string[]): void {
  assert.equal(readFileSync(join(s.outside, "shadow"), "utf8"), "secret");
  assert.equal(readFileSync(join(s.base, "victim"), "utf8"), "secret");
  assert.equal(readFileSync(join(s.layers, "victim"), "utf8"), "secret");
  assert.deepEqual(
    listing(s.base).filter((line) => !line.startsWith(s.target)),
    before,
  );
}

test("a whiteout with ../ in its path is refused and deletes nothing outside", async () => {
  for (const path of ["../.wh.victim", "../../.wh.victim", "a/../../.wh.victim", "./../.wh.victim"]) {
    const s = scene();
    const before = listing(s.base);
    await assert.rejects(unpack(s.target, [{ path: "a/", type: "dir" }, { path }]), /escapes the layer|\.\./, path);
    assertUntouched(s, before);
  }
});

test("a whiteout behind an absolute symlink earlier in the layer is refused (x -> /outside, x/.wh.shadow)", async () => {
  const s = scene();
  const before = listing(s.base);
  await assert.rejects(unpack(s.target, [{ path: "x", type: "symlink", linkpath: s.outside }, { path: "x/.wh.shadow" }]), /symlink/);
  assertUntouched(s, before);
});

test("a whiteout behind a relative symlink that climbs out touches nothing outside", async () => {
  const s = scene();
  const before = listing(s.base);
  // node-tar itself skips a symlink whose target climbs out with "..", so the whiteout lands in a
  // real directory of the layer; either way (refused or confined) the outside stays as it was.
  const outcome = await unpack(s.target, [{ path: "y", type: "symlink", linkpath: "../../outside" }, { path: "y/.wh.shadow" }]).then(
    () => "unpacked",
    (error: Error) => error.message,
  );
  assert.deepEqual(
    listing(s.base).filter((line) => !line.startsWith(s.target)),
    before,
  );
  assertUntouched(s, before);
  if (outcome === "unpacked") assert.ok(lstatSync(join(s.target, "y")).isDirectory());
  else assert.match(outcome, /symlink/);
});

test("an opaque marker behind a symlink is refused and sets no xattr outside", async () => {
  const s = scene();
  const before = listing(s.base);
  await assert.rejects(unpack(s.target, [{ path: "x", type: "symlink", linkpath: s.outside }, { path: "x/.wh..wh..opq" }]), /symlink/);
  assertUntouched(s, before);
  const xattrs = execFileSync("python3", ["-c", "import os,sys; print(os.listxattr(sys.argv[1]))", s.outside], { encoding: "utf8" });
  assert.doesNotMatch(xattrs, /overlay/);
});

test("an absolute symlink placed at ../ or through another symlink is refused", async () => {
  for (const make of [
    (_: ReturnType<typeof scene>): TarEntry[] => [{ path: "../evil", type: "symlink", linkpath: "/etc" }],
    (s: ReturnType<typeof scene>): TarEntry[] => [
      { path: "x", type: "symlink", linkpath: s.outside },
      { path: "x/evil", type: "symlink", linkpath: "/etc" },
    ],
  ]) {
    const s = scene();
    const before = listing(s.base);
    await assert.rejects(unpack(s.target, make(s)));
    assertUntouched(s, before);
    assert.equal(existsSync(join(s.outside, "evil")), false);
    assert.equal(existsSync(join(s.layers, "evil")), false);
  }
});

test("a whiteout with an absolute path is refused", async () => {
  const s = scene();
  const before = listing(s.base);
  await assert.rejects(unpack(s.target, [{ path: `${s.base}/.wh.victim` }]), /absolute/);
  assertUntouched(s, before);
});

test("legitimate whiteouts, opaque dirs and absolute symlinks still become overlay entries", async () => {
  const s = scene();
  await unpack(s.target, [
    { path: "etc/", type: "dir" },
    { path: "etc/.wh.motd" },
    { path: "var/lib/.wh..wh..opq" },
    { path: "bin/sh", type: "symlink", linkpath: "/bin/busybox" },
  ]);
  const whiteout = lstatSync(join(s.target, "etc/motd"));
  assert.ok(whiteout.isCharacterDevice());
  assert.equal(whiteout.rdev, 0);
  assert.equal(readlinkSync(join(s.target, "bin/sh")), "/bin/busybox");
  const opaque = execFileSync("python3", ["-c", "import os,sys; print(os.getxattr(sys.argv[1], 'trusted.overlay.opaque'))", join(s.target, "var/lib")], {
    encoding: "utf8",
  });
  assert.equal(opaque.trim(), "b'y'");
});

test("modes survive unpacking exactly: sticky /tmp 1777, setuid 4755, group-writable 0775", async () => {
  const s = scene();
  await unpack(s.target, [
    { path: "tmp/", type: "dir", mode: 0o1777 },
    { path: "bin/", type: "dir", mode: 0o755 },
    { path: "bin/su", mode: 0o4755, content: "#!/bin/sh\n" },
    { path: "bin/wall", mode: 0o2755, content: "#!/bin/sh\n" },
    { path: "srv/", type: "dir", mode: 0o775 },
    { path: "srv/shared", mode: 0o666, content: "x" },
  ]);
  const mode = (path: string) => lstatSync(join(s.target, path)).mode & 0o7777;
  assert.equal(mode("tmp").toString(8), "1777");
  assert.equal(mode("bin/su").toString(8), "4755");
  assert.equal(mode("bin/wall").toString(8), "2755");
  assert.equal(mode("srv").toString(8), "775");
  assert.equal(mode("srv/shared").toString(8), "666");
  assert.equal(mode("bin").toString(8), "755");
});

test("an empty layer (only the end-of-archive blocks) unpacks to an empty directory", async () => {
  const s = scene();
  await unpack(s.target, []);
  assert.deepEqual(readdirSync(s.target), []);
});
