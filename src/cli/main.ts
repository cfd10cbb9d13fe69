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

/**
 * The AWS SDK prints, on Node.js before 22, that its releases after January 2027 will need Node.js
 * 22 (aws/aws-sdk-js-v3#7983), several lines before any command's output. Berth supports Node.js 20
 * and pins its SDK version, so the warning tells a user nothing to act on; the CLI turns it off with
 * the SDK's own switch (@aws-sdk/core's emitWarningIfUnsupportedVersion reads it when the first
 * client is built), unless the caller set that switch already.
 */
function silenceSdkNodeVersionWarning(): void {
  process.env["AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED"] ??= "true";
}

export async function main(argv: string[]): Promise<number> {
  silenceSdkNodeVersionWarning();
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(
      `usage: berth <command> [options]\n\ncommands:\n${commandNames()
        .map((c) => `  ${c}`)
        .join("\n")}\n\nberth <command> --help for a command's options.\n`,
    );
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
