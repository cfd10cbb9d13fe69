// Server start to healthy with an empty data dir: spawn `berth server`, poll /_berth/health, stop.
// Median of 10. Baseline in the same run: a bare `node -e` that listens and answers (Node's own
// start-up cost).   node --import tsx bench/server-start.ts
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const root = join(import.meta.dirname ?? new URL(".", import.meta.url).pathname, "..");

async function timeToHealthy(args: string[], healthPath: string): Promise<number> {
  const started = performance.now();
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  const endpoint = await new Promise<string>((resolve) =>
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) resolve(match[1]!);
    }),
  );
  for (;;) {
    try {
      if ((await fetch(endpoint + healthPath)).ok) break;
    } catch {
      // not yet
    }
  }
  const elapsed = performance.now() - started;
  child.kill("SIGTERM");
  await new Promise((resolve) => child.once("exit", resolve));
  return elapsed;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const berth: number[] = [];
const bare: number[] = [];
for (let i = 0; i < 10; i++) {
  const dataDir = mkdtempSync(join(tmpdir(), "berth-start-"));
  berth.push(await timeToHealthy([join(root, "bin", "berth"), "server", "--listen", "127.0.0.1:0", "--data-dir", dataDir], "/_berth/health"));
  rmSync(dataDir, { recursive: true, force: true });
  bare.push(
    await timeToHealthy(
      [
        "-e",
        "const s=require('http').createServer((q,r)=>r.end('{}')).listen(0,'127.0.0.1',()=>process.stderr.write('listening on http://127.0.0.1:'+s.address().port+'\\n'));process.on('SIGTERM',()=>process.exit(0))",
      ],
      "/",
    ),
  );
}
console.log(`bare node start → answering   median ${median(bare).toFixed(0)} ms`);
console.log(`berth server start → healthy  median ${median(berth).toFixed(0)} ms (target < 1000 ms, empty data dir)`);
