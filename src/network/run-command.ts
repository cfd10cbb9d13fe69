// How src/network runs host tools (ip, nft, sysctl) unless told otherwise: errors carry the command
// and its stderr, which names the failing line of a batch. The agent passes its own runner (a
// helper process, so a spawn does not fork the agent); tests wrap one in `ip netns exec`.
import { execFile } from "node:child_process";

export type CommandRunner = (command: string, args: readonly string[], input?: string) => Promise<string>;

export const runCommand: CommandRunner = (command, args, input) =>
  new Promise((resolve, reject) => {
    const child = execFile(command, [...args], (error, stdout, stderr) => (error ? reject(new Error(`${command} ${args.join(" ")}: ${stderr.trim() || error.message}`)) : resolve(stdout)));
    if (input !== undefined) child.stdin!.end(input);
  });
