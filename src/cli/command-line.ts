// A subcommand's arguments, the way every `berth` command treats them: a parse error prints the
// error and the usage on stderr (exit 2), --help prints the usage on stdout (exit 0).
import { parseArgs } from "node:util";
import type { ParseArgsConfig } from "node:util";

/** The parsed arguments, or the exit code to return at once (help shown, or a usage error). */
export function parseCommandLine<T extends ParseArgsConfig>(command: string, usage: string, config: T): ReturnType<typeof parseArgs<T>> | number {
  let parsed: ReturnType<typeof parseArgs<T>>;
  try {
    parsed = parseArgs(config);
  } catch (error) {
    process.stderr.write(`berth ${command}: ${(error as Error).message}\n${usage}\n`);
    return 2;
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  return parsed;
}
