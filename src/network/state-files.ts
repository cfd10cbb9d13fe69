// The data plane's records under the agent's state dir, written atomically (temp file, rename).
// No fsync: what they describe (namespaces, veths, routers) lives in the kernel and is gone after
// a power loss anyway, while a crash of the agent keeps the renamed file (the page cache outlives
// the process); an fsync would only add ~1 ms per launch on the agent's event loop.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

export function writeFileAtomic(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temp, content, { mode: 0o600 });
  renameSync(temp, path);
}

/**
 * A record, or undefined when it is missing or unreadable: a power loss can leave one empty, and
 * what it described is gone with the power loss too; one bad record must not stop the others.
 */
export function readRecord<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

/** Every readable `*.json` record in `dir`. */
export function readRecords<T>(dir: string): T[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith(".json"))
    .flatMap((file) => readRecord<T>(join(dir, file)) ?? []);
}
