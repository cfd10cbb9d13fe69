// The Fargate task size table (../shared/REFERENCE.md "Task size") and the string forms of task
// cpu and memory that RegisterTaskDefinition accepts ("1 vCPU", "1024", "2 GB", "2048").
import { clientException } from "./errors.js";

interface SizeRow {
  readonly cpuUnits: number;
  readonly memoryMiB: readonly number[];
  /** 8 and 16 vCPU need platform version 1.4.0 (LATEST). */
  readonly needsPlatform14: boolean;
}

const range = (from: number, to: number, step: number) => Array.from({ length: (to - from) / step + 1 }, (_, i) => from + i * step);

export const FARGATE_SIZES: readonly SizeRow[] = [
  { cpuUnits: 256, memoryMiB: [512, 1024, 2048], needsPlatform14: false },
  { cpuUnits: 512, memoryMiB: range(1024, 4096, 1024), needsPlatform14: false },
  { cpuUnits: 1024, memoryMiB: range(2048, 8192, 1024), needsPlatform14: false },
  { cpuUnits: 2048, memoryMiB: range(4096, 16384, 1024), needsPlatform14: false },
  { cpuUnits: 4096, memoryMiB: range(8192, 30720, 1024), needsPlatform14: false },
  { cpuUnits: 8192, memoryMiB: range(16384, 61440, 4096), needsPlatform14: true },
  { cpuUnits: 16384, memoryMiB: range(32768, 122880, 8192), needsPlatform14: true },
];

const NO_CONFIGURATION = "No Fargate configuration exists for given values.";

/** "1 vCPU" → 1024, "0.25 vcpu" → 256, "512" → 512; undefined for text that is neither. */
export function parseCpuUnits(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const match = /^(\d+(?:\.\d+)?)\s*vcpu$/i.exec(trimmed);
  return match ? Math.round(Number(match[1]) * 1024) : undefined;
}

/** "2 GB" → 2048, "512" → 512 (MiB); undefined for text that is neither. */
export function parseMemoryMiB(text: string): number | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const match = /^(\d+(?:\.\d+)?)\s*gb$/i.exec(trimmed);
  return match ? Math.round(Number(match[1]) * 1024) : undefined;
}

/** Throws ClientException unless (cpu, memory) is a Fargate size for the OS family. */
export function assertFargateSize(cpuUnits: number, memoryMiB: number, options: { windows?: boolean } = {}): void {
  const row = FARGATE_SIZES.find((candidate) => candidate.cpuUnits === cpuUnits);
  if (!row || !row.memoryMiB.includes(memoryMiB)) throw clientException(NO_CONFIGURATION);
  // Windows containers on Fargate come in the 1, 2 and 4 vCPU rows only.
  if (options.windows && ![1024, 2048, 4096].includes(cpuUnits)) throw clientException(NO_CONFIGURATION);
}
