// Reads conmon's k8s-file logs: one record per line, `<RFC 3339 nano time> <stdout|stderr> <F|P> <text>`,
// where P marks a partial line that continues in the next record of the same stream. Reading is
// by byte offset so the agent can persist "shipped up to here" and resume exactly after an
// agent restart: nothing lost, nothing sent twice.
import { open } from "node:fs/promises";

export interface ContainerLogLine {
  readonly timestamp: number;
  readonly stream: "stdout" | "stderr";
  readonly message: string;
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

export async function readContainerLog(path: string, offset: number, maxBytes = MAX_READ_BYTES): Promise<ContainerLogChunk> {
  let handle;
  try {
    handle = await open(path, "r");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return { lines: [], nextOffset: offset };
    throw error;
  }
  try {
    const buffer = Buffer.allocUnsafe(maxBytes);
    const { bytesRead } = await handle.read(buffer, 0, maxBytes, offset);
    const data = buffer.subarray(0, bytesRead);
    const lines: ContainerLogLine[] = [];
    const partial: Record<string, string[]> = { stdout: [], stderr: [] };
    let position = 0;
    let committed = 0;
    for (;;) {
      const newline = data.indexOf(10, position);
      if (newline < 0) break;
      const record = RECORD.exec(data.toString("utf8", position, newline));
      position = newline + 1;
      if (!record) {
        committed = position;
        continue;
      }
      const [, time, stream, tag, text] = record as unknown as [string, string, "stdout" | "stderr", string, string];
      if (tag === "P") {
        partial[stream]!.push(text);
        continue;
      }
      lines.push({ timestamp: parseLogTime(time), stream, message: partial[stream]!.join("") + text });
      partial[stream] = [];
      // Only safe to resume here when no partial line of the other stream is pending.
      if (partial.stdout!.length === 0 && partial.stderr!.length === 0) committed = position;
    }
    // Lines after the last safe point are returned again next time; drop them now.
    if (committed < position) {
      const kept = countLinesUpTo(data, committed);
      lines.length = Math.min(lines.length, kept);
    }
    return { lines, nextOffset: offset + committed };
  } finally {
    await handle.close();
  }
}

/** How many complete (F) records end at or before `limit`. */
function countLinesUpTo(data: Buffer, limit: number): number {
  let count = 0;
  let position = 0;
  while (position < limit) {
    const newline = data.indexOf(10, position);
    if (newline < 0 || newline >= limit) break;
    const record = RECORD.exec(data.toString("utf8", position, newline));
    if (record && record[3] === "F") count++;
    position = newline + 1;
  }
  return count;
}
