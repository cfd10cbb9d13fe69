// Whether a TCP listener is up inside a network namespace: what a test waits for after starting a
// server there (nc -l in a task's namespace) before it connects.
import { execFile } from "node:child_process";

export function isListeningInNetns(netns: string, port: number): Promise<boolean> {
  return new Promise((resolve) =>
    execFile("ip", ["netns", "exec", netns, "ss", "-Hltn", `sport = :${port}`], { timeout: 5_000 }, (error, stdout) => resolve(!error && stdout.trim() !== "")),
  );
}
