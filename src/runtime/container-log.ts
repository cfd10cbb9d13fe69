// Reads conmon's k8s-file logs: one record per line, `<RFC 3339 nano time> <stdout|stderr> <F|P> <text>`,
// where P marks a partial line that continues in the next record of the same stream. Reading is
// by byte offset so the agent can persist "shipped up to here" and resume exactly after an
// agent restart: nothing lost, nothing sent twice.
//
// The file is capped (conmon's --log-size-max): conmon 2.1.6 "rotates" a k8s-file log by writing a
// new file and renaming it over the old one (a new inode; the old lines are gone). Offsets are
// therefore logical, not file positions: each generation of the file (one inode) starts at a base,
// the highest offset handed out before it, so offsets only grow across rotations and the sink's
// "drop what I already stored" stays right. Lines written to a generation after the last read of
// it are lost with it (the price of a bounded disk); none is read twice. The generation's inode
// and base are kept in `<log>.rotation` so a restarted agent resumes in the right generation.
import { readFile, rename, writeFile } from "node:fs/promises";
import { open } from "node:fs/promises";

export interface ContainerLogLine {
  readonly timestamp: number;
  readonly stream: "stdout" | "stderr";
  readonly message: string;
  /** Byte offset just after the line's last record: increasing, a stable id of the line. */
  readonly offset: number;
}

export interface ContainerLogChunk {
  readonly lines: readonly ContainerLogLine[];
  /** Byte offset just after the last complete line returned. */
  readonly nextOffset: number;
}

const MAX_READ_BYTES = 4 * 1024 * 1024;
const RECORD = /^(\S+) (stdout|stderr) ([FP]) (.*)$/;

/** RFC 3339 with nanoseconds → ms since epoch (Date.parse wants at most milliseconds). */
export function parseLogTime(text: string): number {
  return Date.parse(text.replace(/(\.\d{3})\d+/, "$1"));
}

/** The generation of the log file being read: its inode, its first logical offset, and the highest offset seen. */
interface LogGeneration {
  readonly ino: number;
  readonly base: number;
  readonly end: number;
}

/** Per log path, as last saved (so a poll of a file that did not change costs no read of it). */
const generations = new Map<string, LogGeneration>();

const rotationPath = (path: string) => `${path}.rotation`;

async function loadGeneration(path: string): Promise<LogGeneration | undefined> {
  const known = generations.get(path);
  if (known) return known;
  try {
    const saved = JSON.parse(await readFile(rotationPath(path), "utf8")) as LogGeneration;
    if ([saved.ino, saved.base, saved.end].every((n) => Number.isSafeInteger(n) && n >= 0)) return saved;
  } catch {
    // None yet (the first read), or unreadable: the file is taken as the first generation.
  }
  return undefined;
}

async function saveGeneration(path: string, generation: LogGeneration): Promise<void> {
  const temp = `${rotationPath(path)}.tmp`;
  await writeFile(temp, JSON.stringify(generation));
  await rename(temp, rotationPath(path));
  generations.set(path, generation);
}

/** Forgets a removed container's log (its file and `.rotation` go with its directory). */
export function forgetContainerLog(path: string): void {
  generations.delete(path);
}

/**
 * The complete lines after `offset`. Polled every few hundred ms per container, so a file that has
 * not grown costs one fstat and no buffer. `final`: the container has exited and conmon will
 * write nothing more, so a partial line left at the very end is a line (the process ended
 * without a newline).
 */
export async function readContainerLog(path: string, offset: number, options: { maxBytes?: number; final?: boolean } = {}): Promise<ContainerLogChunk> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { lines: [], nextOffset: offset };
    throw error;
  }
  try {
    const { size, ino } = await handle.stat();
    let generation = await loadGeneration(path);
    // A new inode is a rotation; a file shorter than the offset in it is one too (a rotation
    // before the first `.rotation` was saved). The new generation starts past every offset given.
    if (!generation || generation.ino !== ino || offset - generation.base > size) {
      const base = generation ? Math.max(generation.end, offset) : offset > size ? offset : 0;
      generation = { ino, base, end: base };
      await saveGeneration(path, generation);
    }
    // An offset in an earlier generation: the rest of that one is gone; read this one whole.
    const start = Math.max(offset - generation.base, 0);
    const logical = generation.base + start;
    if (size <= start) return { lines: [], nextOffset: Math.max(offset, logical) };
    const length = Math.min(size - start, options.maxBytes ?? MAX_READ_BYTES);
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await handle.read(buffer, 0, length, start);
    const data = buffer.subarray(0, bytesRead);
    const lines: ContainerLogLine[] = [];
    const partial: Record<"stdout" | "stderr", { texts: string[]; timestamp: number }> = {
      stdout: { texts: [], timestamp: 0 },
      stderr: { texts: [], timestamp: 0 },
    };
    let position = 0;
    let committed = 0;
    for (;;) {
      const newline = data.indexOf(10, position);
      if (newline < 0) break;
      const record = RECORD.exec(data.toString("utf8", position, newline));
      position = newline + 1;
      if (!record) {
        if (partial.stdout.texts.length === 0 && partial.stderr.texts.length === 0) committed = position;
        continue;
      }
      const [, time, stream, tag, text] = record as unknown as [string, string, "stdout" | "stderr", string, string];
      const pending = partial[stream];
      if (tag === "P") {
        pending.texts.push(text);
        pending.timestamp = parseLogTime(time);
        continue;
      }
      lines.push({ timestamp: parseLogTime(time), stream, message: pending.texts.join("") + text, offset: logical + position });
      pending.texts = [];
      // Only safe to resume here when no partial line of the other stream is pending.
      if (partial.stdout.texts.length === 0 && partial.stderr.texts.length === 0) committed = position;
    }
    if (options.final && start + position === size) {
      for (const stream of ["stdout", "stderr"] as const) {
        const pending = partial[stream];
        if (pending.texts.length > 0) lines.push({ timestamp: pending.timestamp, stream, message: pending.texts.join(""), offset: logical + position });
      }
      committed = position;
    }
    // Lines ending after the last safe point are returned again next time; drop them now.
    const nextOffset = logical + committed;
    // Saved before the offsets are handed out: a later generation starts past all of them.
    if (nextOffset > generation.end) await saveGeneration(path, { ...generation, end: nextOffset });
    return { lines: lines.filter((line) => line.offset <= nextOffset), nextOffset };
  } finally {
    await handle.close();
  }
}
