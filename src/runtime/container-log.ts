// Reads conmon's k8s-file logs: one record per line, `<RFC 3339 nano time> <stdout|stderr> <F|P> <text>`,
// where P marks a partial line that continues in the next record of the same stream. Reading is
// by byte offset so the agent can persist "shipped up to here" and resume exactly after an
// agent restart: nothing lost, nothing sent twice.
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
    const { size } = await handle.stat();
    if (size <= offset) return { lines: [], nextOffset: offset };
    const length = Math.min(size - offset, options.maxBytes ?? MAX_READ_BYTES);
    const buffer = Buffer.allocUnsafe(length);
    const { bytesRead } = await handle.read(buffer, 0, length, offset);
    const data = buffer.subarray(0, bytesRead);
    const lines: ContainerLogLine[] = [];
    const partial: Record<"stdout" | "stderr", { texts: string[]; timestamp: number }> = { stdout: { texts: [], timestamp: 0 }, stderr: { texts: [], timestamp: 0 } };
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
      lines.push({ timestamp: parseLogTime(time), stream, message: pending.texts.join("") + text, offset: offset + position });
      pending.texts = [];
      // Only safe to resume here when no partial line of the other stream is pending.
      if (partial.stdout.texts.length === 0 && partial.stderr.texts.length === 0) committed = position;
    }
    if (options.final && offset + position === size) {
      for (const stream of ["stdout", "stderr"] as const) {
        const pending = partial[stream];
        if (pending.texts.length > 0) lines.push({ timestamp: pending.timestamp, stream, message: pending.texts.join(""), offset: offset + position });
      }
      committed = position;
    }
    // Lines ending after the last safe point are returned again next time; drop them now.
    const nextOffset = offset + committed;
    return { lines: lines.filter((line) => line.offset <= nextOffset), nextOffset };
  } finally {
    await handle.close();
  }
}
