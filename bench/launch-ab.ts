// Launch of two builds in the same session, alternated (ABAB): `bench/run-task.ts launch` (RunTask
// through a real `berth server` and its embedded agent to RUNNING, with the hand-made netns + veth
// + overlay + conmon + runc baseline and `podman run -d` interleaved per launch) run from each
// build's own checkout (its own dist/ and src/), old then new, PAIRS times. Each checkout needs
// bench/run-task.ts (copy this tree's) and a built dist/ (npm run build there).
// Root only, under the shared lock, held for the whole session so the pairs run back to back:
//   flock /tmp/berth-privileged.lock node --import tsx bench/launch-ab.ts OLD_DIR NEW_DIR [PAIRS] [LAUNCHES]
// e.g. OLD_DIR from `git worktree add --detach /tmp/berth-old <commit>`. Addresses: those of
// bench/run-task.ts (its own bridge, the servers' own namespaces); nothing is routed anywhere.
import { execFile as execFileCb } from "node:child_process";
import { loadavg } from "node:os";
import { promisify } from "node:util";

const execFile = promisify(execFileCb);
const [oldDir, newDir, pairsArg, launchesArg] = process.argv.slice(2);
if (!oldDir || !newDir) throw new Error("usage: launch-ab.ts OLD_DIR NEW_DIR [PAIRS] [LAUNCHES]");
const PAIRS = Number(pairsArg ?? 6);
const LAUNCHES = Number(launchesArg ?? 15);

interface LaunchFigures {
  berthRunTaskToRunningMedianMs: number;
  handMadeMedianMs: number;
  podmanRunMedianMs: number;
  berthOverHandMade: number;
  berthP90Ms: number;
  machineCpuMsPerLaunch: { berth: number; handMade: number; podman: number };
  berthPhaseMediansMs: Record<string, number>;
}
interface Run {
  build: "old" | "new";
  pair: number;
  load: number;
  launch: LaunchFigures;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const range = (values: number[]) => `${Math.min(...values).toFixed(2)}–${Math.max(...values).toFixed(2)}`;

async function launchRun(dir: string): Promise<LaunchFigures> {
  const { stdout } = await execFile(process.execPath, ["--import", "tsx", "bench/run-task.ts", "launch"], {
    cwd: dir,
    env: { ...process.env, BENCH_LAUNCHES: String(LAUNCHES) },
    maxBuffer: 16 * 1024 * 1024,
  });
  const line = stdout.split("\n").find((text) => text.startsWith('{"launch"'));
  if (!line) throw new Error(`no launch figures from ${dir}:\n${stdout}`);
  return (JSON.parse(line) as { launch: LaunchFigures }).launch;
}

const runs: Run[] = [];
for (let pair = 1; pair <= PAIRS; pair++) {
  for (const [build, dir] of [
    ["old", oldDir],
    ["new", newDir],
  ] as const) {
    const load = loadavg()[0]!;
    const launch = await launchRun(dir);
    runs.push({ build, pair, load, launch });
    console.log(JSON.stringify({ build, pair, load1: Math.round(load * 100) / 100, launch }));
  }
}

const of = (build: "old" | "new") => runs.filter((run) => run.build === build);
const pairRatios = Array.from({ length: PAIRS }, (_, i) => {
  const [old, fresh] = [of("old")[i]!, of("new")[i]!];
  return fresh.launch.berthRunTaskToRunningMedianMs / old.launch.berthRunTaskToRunningMedianMs;
});
const summary = (build: "old" | "new") => ({
  berthMedianOfRunMediansMs: median(of(build).map((run) => run.launch.berthRunTaskToRunningMedianMs)),
  handMadeMedianMs: median(of(build).map((run) => run.launch.handMadeMedianMs)),
  podmanMedianMs: median(of(build).map((run) => run.launch.podmanRunMedianMs)),
  berthOverHandMadeMedian: median(of(build).map((run) => run.launch.berthOverHandMade)),
  runTaskAnsweredMedianMs: median(of(build).map((run) => run.launch.berthPhaseMediansMs.answered!)),
  machineCpuMsPerBerthLaunch: median(of(build).map((run) => run.launch.machineCpuMsPerLaunch.berth)),
});
const [oldSummary, newSummary] = [summary("old"), summary("new")];
console.log(
  JSON.stringify({
    date: new Date().toISOString(),
    pairs: PAIRS,
    launchesPerRun: LAUNCHES,
    old: oldSummary,
    new: newSummary,
    newOverOld: Math.round((newSummary.berthMedianOfRunMediansMs / oldSummary.berthMedianOfRunMediansMs) * 1000) / 1000,
    pairRatios: pairRatios.map((ratio) => Math.round(ratio * 1000) / 1000),
    medianPairRatio: Math.round(median(pairRatios) * 1000) / 1000,
    pairRatioRange: range(pairRatios),
  }),
);
