// After every privileged test file: nothing Berth-named may be left on the host — network
// namespaces, links (bridges, veths), nft tables, mounts, task cgroups, loop devices, conmon and
// haproxy (load balancer node) processes.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";

export function findLeaks(prefix = "bth"): string[] {
  const leaks: string[] = [];
  const netns = execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.split(" ")[0]!)
    .filter((name) => name.startsWith(prefix));
  leaks.push(...netns.map((name) => `netns ${name}`));
  const links = execFileSync("ip", ["-o", "link", "show"], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.split(":")[1]?.trim().split("@")[0] ?? "")
    .filter((name) => name.startsWith(prefix));
  leaks.push(...links.map((name) => `link ${name}`));
  // The host firewall's tables ("berth" in each family; a "bth" prefix counts too).
  const tables = execFileSync("nft", ["list", "tables"], { encoding: "utf8" })
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .filter((words) => words[0] === "table" && (words[2]?.startsWith("berth") || words[2]?.startsWith(prefix)));
  leaks.push(...tables.map((words) => `nft ${words.join(" ")}`));
  const mounts = readFileSync("/proc/mounts", "utf8")
    .split("\n")
    .filter((line) => /berth/.test(line));
  leaks.push(...mounts.map((line) => `mount ${line.split(" ")[1]}`));
  // Task cgroups live under <hierarchy>/berth/<taskId>; the empty "berth" parent may stay.
  for (const hierarchy of existsSync("/sys/fs/cgroup") ? readdirSync("/sys/fs/cgroup") : []) {
    const berth = `/sys/fs/cgroup/${hierarchy}/berth`;
    if (!existsSync(berth)) continue;
    for (const entry of readdirSync(berth, { withFileTypes: true })) if (entry.isDirectory()) leaks.push(`cgroup ${berth}/${entry.name}`);
  }
  // Zombies are left out: they hold nothing but a pid until init reaps them (slowly on some hosts).
  const conmons = execFileSync("ps", ["-eo", "pid=,stat=,comm="], { encoding: "utf8" })
    .split("\n")
    .filter((line) => / (conmon|haproxy)$/.test(line.trimEnd()) && !/^\s*\d+\s+Z/.test(line));
  leaks.push(...conmons.map((line) => `process ${line.trim()}`));
  if (existsSync("/dev/loop-control")) {
    const loops = execFileSync("losetup", ["-a"], { encoding: "utf8" })
      .split("\n")
      .filter((line) => /berth|ephemeral\.img/.test(line));
    leaks.push(...loops.map((line) => `loop ${line}`));
  }
  return leaks;
}

export function assertNoLeaks(prefix = "bth"): void {
  const leaks = findLeaks(prefix);
  if (leaks.length > 0) throw new Error(`leaked host resources:\n${leaks.join("\n")}`);
}

/**
 * Fails when something Berth-named appeared since `before` (a `findLeaks()` taken at the start of
 * the file): on a machine shared with other runs, only what this file created is its leak.
 */
export function assertNoNewLeaks(before: ReadonlySet<string>, prefix = "bth"): void {
  const leaks = findLeaks(prefix).filter((leak) => !before.has(leak));
  if (leaks.length > 0) throw new Error(`leaked host resources:\n${leaks.join("\n")}`);
}
