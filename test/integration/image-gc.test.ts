// The host image GC over a real store pulling from Debian's docker-registry on loopback: past the
// high-water mark the least recently used image no task holds goes (its layers with it, shared
// ones kept), an image in use or used within the idle window stays, a collected image pulls again,
// and the agent's image adapter starts a collection after each pull.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostImageAdapter } from "../../src/agent/image-adapter.js";
import { buildImage, ImageStore, pushImage } from "../../src/images/index.js";
import type { LocalImage } from "../../src/images/index.js";
import { startRegistry } from "../support/registry.js";
import type { TestRegistry } from "../support/registry.js";
import { waitUntil } from "../support/host-task-spec.js";

const amd64 = { os: "linux", architecture: "amd64" };
const work = mkdtempSync(join(tmpdir(), "berth-image-gc-"));
let registry: TestRegistry;
const references: Record<"old" | "held" | "fresh", string> = { old: "", held: "", fresh: "" };

before(async () => {
  registry = await startRegistry();
  for (const name of ["old", "held", "fresh"] as const) {
    const source = join(work, `src-${name}`);
    mkdirSync(source, { recursive: true });
    writeFileSync(join(source, `${name}.txt`), `${name}\n`.repeat(1000));
    const image = await buildImage({ busybox: false, directories: [{ source, destination: "/data" }], architecture: "amd64", cmd: ["true"] });
    references[name] = `${registry.address}/gc/${name}:v1`;
    await pushImage({ manifest: image.manifest, blobs: [image.config, ...image.layers] }, references[name], {});
  }
});

after(async () => {
  await registry.stop();
  rmSync(work, { recursive: true, force: true });
});

/** Marks an image as last used `minutesAgo` (the record's mtime is its last use). */
function lastUsed(store: ImageStore, root: string, image: LocalImage, minutesAgo: number): void {
  const [algorithm, hex] = image.manifestDigest.split(":") as [string, string];
  const when = new Date(Date.now() - minutesAgo * 60_000);
  utimesSync(join(root, "images", algorithm, `${hex}.json`), when, when);
  assert.ok(store.get(image.manifestDigest));
}

test("past the high-water mark the least recently used idle image no task holds is removed; held and fresh ones stay", async () => {
  const root = join(work, "store-1");
  const store = new ImageStore({ root });
  const old = await store.pull(references.old, { platform: amd64, policy: "always" });
  const held = await store.pull(references.held, { platform: amd64, policy: "always" });
  const fresh = await store.pull(references.fresh, { platform: amd64, policy: "always" });
  lastUsed(store, root, old, 60);
  lastUsed(store, root, held, 120);

  const under = await store.collectGarbage({ inUse: new Set(), highWaterBytes: 1024 ** 4 });
  assert.deepEqual(under?.images, []);
  assert.ok(store.get(old.manifestDigest));

  const plan = await store.collectGarbage({ inUse: new Set([held.manifestDigest]), highWaterBytes: 1, lowWaterBytes: 0 });
  assert.deepEqual(plan?.images, [old.manifestDigest]);
  assert.ok(plan!.bytesAfter < plan!.bytesBefore);
  assert.equal(store.get(old.manifestDigest), undefined);
  assert.equal(store.cached(references.old), undefined);
  for (const dir of old.layerDirs) assert.equal(existsSync(dir), false, dir);
  assert.ok(store.get(held.manifestDigest), "in use by a task");
  assert.ok(store.get(fresh.manifestDigest), "used within the idle window");

  const again = await store.pull(references.old, { platform: amd64, policy: "once" });
  assert.equal(again.manifestDigest, old.manifestDigest);
  assert.ok(again.layerDirs.every((dir) => existsSync(dir)));
});

test("the agent's image adapter starts a collection after each pull", async () => {
  const root = join(work, "store-2");
  const store = new ImageStore({ root });
  const errors: unknown[] = [];
  const adapter = new HostImageAdapter(store, {
    policy: "always",
    collection: { inUse: () => new Set(), highWaterBytes: 1, onError: (error) => errors.push(error) },
  });
  const pull = (image: string) => adapter.pull(image, { platform: amd64, credentials: {} });
  const old = await pull(references.old);
  // The first collection measured the layer (its size is cached beside it) and kept the image.
  const layerDir = store.get(old.digest)!.layerDirs[0]!;
  await waitUntil(() => existsSync(`${layerDir}.bytes`), "the collection after the first pull");
  await new Promise((resolve) => setTimeout(resolve, 100));
  assert.ok(store.get(old.digest), "a fresh image is never collected");
  lastUsed(store, root, store.get(old.digest)!, 60);
  await pull(references.fresh);
  await waitUntil(() => store.get(old.digest) === undefined, "the idle image collected after the next pull");
  assert.deepEqual(errors, []);
});
