// Push and pull of a 100 MB single-layer image through the built-in registry (a real `berth
// server`, ECR password as basic auth) vs Debian's docker-registry (no auth), both on loopback,
// both driven by skopeo. Each run makes a fresh random layer (so no registry or skopeo cache can
// skip the upload), pushes it to both, then pulls it from both into empty OCI layouts; the order
// of the two registries alternates between runs. Medians of RUNS (default 5).
// Then the host side: an agent's image store pulls one of those images twice from each registry
// through a counting proxy; the second pull (behaviour "always", as Fargate) must move 0 layer bytes.
//   npm run build && node --import tsx bench/registry.ts
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ImageStore } from "../src/images/index.js";
import { startCountingProxy } from "../test/support/counting-proxy.js";
import { startRegistry } from "../test/support/registry.js";
import { awsCli, startTestServer } from "../test/support/server.js";
import { buildImage, gzipLayer, loginPassword, registryHost, writeOciLayout } from "../test/integration/registry-fixtures.js";

const RUNS = Number(process.env.RUNS ?? 5);
const LAYER_BYTES = 100 * 1024 * 1024;

function skopeo(args: string[]): Promise<number> {
  const started = performance.now();
  return new Promise((resolve, reject) =>
    execFile("skopeo", args, { maxBuffer: 16 * 1024 * 1024 }, (error, _stdout, stderr) =>
      error ? reject(new Error(`skopeo ${args.join(" ")}: ${stderr}`)) : resolve(performance.now() - started),
    ),
  );
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const mbps = (ms: number) => (LAYER_BYTES / 1024 / 1024 / (ms / 1000)).toFixed(0);

const berth = await startTestServer();
const baseline = await startRegistry();
const work = mkdtempSync(join(tmpdir(), "berth-bench-registry-"));
const times = { berthPush: [] as number[], basePush: [] as number[], berthPull: [] as number[], basePull: [] as number[] };
try {
  const created = await awsCli(berth, ["ecr", "create-repository", "--repository-name", "bench/app"]);
  if (created.code !== 0) throw new Error(created.stderr);
  const password = await loginPassword(berth);
  const targets = [
    {
      name: "berth",
      host: registryHost(berth),
      creds: ["--dest-creds", `AWS:${password}`],
      srcCreds: ["--src-creds", `AWS:${password}`],
      push: times.berthPush,
      pull: times.berthPull,
    },
    { name: "docker-registry", host: baseline.address, creds: [], srcCreds: [], push: times.basePush, pull: times.basePull },
  ];
  for (let run = 0; run < RUNS; run++) {
    const layout = join(work, `layout-${run}`);
    // Level 1: the layer is random, so it stays ~100 MB compressed; only the time to make it drops.
    writeOciLayout(layout, "v1", [buildImage([gzipLayer({ "data.bin": randomBytes(LAYER_BYTES) }, 1)])]);
    const order = run % 2 === 0 ? targets : [...targets].reverse();
    for (const target of order) {
      target.push.push(
        await skopeo(["copy", "--quiet", ...target.creds, "--dest-tls-verify=false", `oci:${layout}:v1`, `docker://${target.host}/bench/app:run${run}`]),
      );
    }
    for (const target of order) {
      const into = join(work, `pull-${target.name}-${run}`);
      target.pull.push(
        await skopeo(["copy", "--quiet", ...target.srcCreds, "--src-tls-verify=false", `docker://${target.host}/bench/app:run${run}`, `oci:${into}:v1`]),
      );
      rmSync(into, { recursive: true, force: true });
    }
    rmSync(layout, { recursive: true, force: true });
    process.stderr.write(`run ${run + 1}/${RUNS} done\n`);
  }
  const rows = [
    ["push", median(times.berthPush), median(times.basePush)],
    ["pull", median(times.berthPull), median(times.basePull)],
  ] as const;
  console.log(`100 MB single-layer image, skopeo on loopback, median of ${RUNS} runs`);
  console.log("| path | berth | docker-registry (baseline) | berth throughput / baseline |");
  console.log("|---|---|---|---|");
  for (const [path, ours, theirs] of rows) {
    console.log(`| ${path} | ${ours.toFixed(0)} ms (${mbps(ours)} MB/s) | ${theirs.toFixed(0)} ms (${mbps(theirs)} MB/s) | ${(theirs / ours).toFixed(2)}× |`);
  }
  console.log(`raw: ${JSON.stringify(Object.fromEntries(Object.entries(times).map(([key, values]) => [key, values.map((v) => Math.round(v))])))}`);

  console.log("\nhost image store (agent) pulling bench/app:run0 twice through a counting proxy");
  console.log("| registry | first pull | layer bytes | second pull | layer bytes | all bytes |");
  console.log("|---|---|---|---|---|---|");
  for (const target of targets) {
    const [host, port] = target.host.split(":") as [string, string];
    const proxy = await startCountingProxy({ host, port: Number(port) });
    const store = new ImageStore({ root: join(work, `store-${target.name}`) });
    const credentials = target.name === "berth" ? { credentials: { username: "AWS", password } } : {};
    const pull = async () => {
      proxy.reset();
      const started = performance.now();
      await store.pull(`${proxy.address}/bench/app:run0`, { platform: { os: "linux", architecture: "amd64" }, policy: "always", ...credentials });
      const all = [...proxy.bytes.values()].reduce((sum, bytes) => sum + bytes, 0);
      // The layer is the only blob bigger than a few KiB.
      const layers = [...proxy.bytes]
        .filter(([key]) => key.startsWith("GET ") && key.includes("/blobs/") && (proxy.bytes.get(key) ?? 0) > 64 * 1024)
        .reduce((sum, [, bytes]) => sum + bytes, 0);
      return { ms: performance.now() - started, layers, all };
    };
    const first = await pull();
    const second = await pull();
    console.log(`| ${target.name} | ${first.ms.toFixed(0)} ms | ${first.layers} | ${second.ms.toFixed(0)} ms | ${second.layers} | ${second.all} |`);
    await proxy.close();
  }
} finally {
  await berth.stop();
  await berth.cleanup();
  await baseline.stop();
  rmSync(work, { recursive: true, force: true });
}
