// The `berth` command: dispatches to src/cli/commands/<name>.ts, each exporting
// `run(argv): Promise<number>`. New commands are new files; nothing here changes.
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const commandsDir = join(dirname(fileURLToPath(import.meta.url)), "commands");

function commandNames(): string[] {
  return readdirSync(commandsDir)
    .filter((file) => /^[a-z-]+\.(js|ts)$/.test(file) && !file.endsWith(".d.ts") && !file.includes(".test."))
    .map((file) => file.replace(/\.(js|ts)$/, ""))
    .sort();
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`usage: berth <command> [options]\n\ncommands:\n${commandNames().map((c) => `  ${c}`).join("\n")}\n\nberth <command> --help for a command's options.\n`);
    return name ? 0 : 2;
  }
  const file = ["js", "ts"].map((ext) => join(commandsDir, `${name}.${ext}`)).find((path) => /^[a-z-]+$/.test(name) && existsSync(path));
  if (!file) {
    process.stderr.write(`berth: unknown command '${name}' (see berth --help)\n`);
    return 2;
  }
  const command = (await import(file)) as { run(argv: string[]): Promise<number> };
  return command.run(rest);
}
