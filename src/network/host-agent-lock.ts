// One agent per host network namespace. The host firewall (nftables tables named `berth`), the
// bridges and ip_forward belong to the network namespace, not to an agent's data dir: a second
// agent started on the same host would replace the first's firewall with its own (cutting the
// first's tasks off, or, once it stopped, removing every table and leaving the first's tasks open
// to every host port). So an agent holds this lock for its whole life, and a second is refused.
//
// The lock is a file naming the holder's pid, per network namespace (its inode), under /run (gone
// with a reboot, like everything it guards). A holder that died without releasing it is detected
// by its pid and replaced.
import { readFileSync, renameSync, rmSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";

interface Holder {
  readonly pid: number;
  readonly dataDir: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readHolder(path: string): Holder | undefined {
  try {
    const holder = JSON.parse(readFileSync(path, "utf8")) as Partial<Holder>;
    return typeof holder.pid === "number" && typeof holder.dataDir === "string" ? { pid: holder.pid, dataDir: holder.dataDir } : undefined;
  } catch {
    return undefined;
  }
}

export class HostAgentLock {
  private constructor(private readonly path: string) {}

  /** Takes the host's agent lock for `dataDir`; an Error saying who holds it when another live agent does. */
  static acquire(dataDir: string, dir = "/run/berth"): HostAgentLock {
    mkdirSync(dir, { recursive: true });
    const path = join(dir, `agent-netns-${statSync("/proc/self/ns/net").ino}.lock`);
    const mine = JSON.stringify({ pid: process.pid, dataDir } satisfies Holder);
    try {
      writeFileSync(path, mine, { flag: "wx", mode: 0o600 });
      return new HostAgentLock(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = readHolder(path);
    if (holder && holder.pid !== process.pid && alive(holder.pid)) {
      throw new Error(
        `another berth agent (pid ${holder.pid}, data dir ${holder.dataDir}) already runs on this host: one agent per host, since the host firewall and task bridges are the host's (remove ${path} if that process is not a berth agent)`,
      );
    }
    // Left by an agent that is gone (or by this process): take it over.
    const aside = `${path}.${process.pid}`;
    writeFileSync(aside, mine, { mode: 0o600 });
    renameSync(aside, path);
    return new HostAgentLock(path);
  }

  release(): void {
    if (readHolder(this.path)?.pid === process.pid) rmSync(this.path, { force: true });
  }
}
