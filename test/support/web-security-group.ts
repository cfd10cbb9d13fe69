// A security group of the server's default VPC that lets a test's ports in from anywhere, made with
// /usr/bin/aws the way the README's "Networking" section and `berth demo` make one. Security groups
// are enforced on the routed data plane and a VPC's default group lets in only its own members, so
// a test that fetches a task's page from this machine (the host reaches the default VPC's tasks
// through their groups, from its router link's address) runs its tasks in this group:
// `awsvpcConfiguration={subnets=[…],securityGroups=[<id>]}`. Before it fetches, it checks that the
// host routes the task's address to a Berth router: otherwise the request would leave the machine
// by its default route (the network rule forbids it), as it did when a new router got its route
// only with the next view.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { awsCli } from "./server.js";
import type { TestServer } from "./server.js";

export interface WebSecurityGroupOptions {
  /** TCP ports let in from 0.0.0.0/0 (default: 80). */
  readonly ports?: readonly number[];
  /** The group's name (default bth-test-web). */
  readonly groupName?: string;
  /** The server's CA for an https:// endpoint (the CLI's --ca-bundle). */
  readonly caBundle?: string;
}

/**
 * The group's id. Idempotent, as `berth demo`'s: a group of that name already there (a restarted
 * server on the same store) is found again, and a rule already there (InvalidPermission.Duplicate)
 * is kept.
 */
export async function webSecurityGroup(server: TestServer, options: WebSecurityGroupOptions = {}): Promise<string> {
  const groupName = options.groupName ?? "bth-test-web";
  const aws = async (args: string[], tolerated?: string) => {
    const result = await awsCli(server, [...(options.caBundle ? ["--ca-bundle", options.caBundle] : []), "ec2", ...args]);
    if (result.code !== 0 && !(tolerated && result.stderr.includes(`(${tolerated})`))) throw new Error(`aws ec2 ${args[0]}: ${result.stderr}`);
    return result.code === 0 ? ((result.json ?? {}) as Record<string, unknown>) : undefined;
  };
  const created = await aws(["create-security-group", "--group-name", groupName, "--description", "berth test: ports from anywhere"], "InvalidGroup.Duplicate");
  const groupId = created
    ? (created.GroupId as string)
    : ((await aws(["describe-security-groups", "--group-names", groupName]))!.SecurityGroups as { GroupId: string }[])[0]!.GroupId;
  for (const port of options.ports ?? [80]) {
    await aws(
      ["authorize-security-group-ingress", "--group-id", groupId, "--protocol", "tcp", "--port", String(port), "--cidr", "0.0.0.0/0"],
      "InvalidPermission.Duplicate",
    );
  }
  return groupId;
}

/**
 * Fails unless the host (or the namespace `netns`) routes `ip` into a Berth router's host link
 * (bthh*), the only way to a default-VPC task: a test calls it before it sends anything to a task.
 */
export function assertRoutedToRouter(ip: string, netns?: string): void {
  let route: string;
  try {
    route = execFileSync("ip", [...(netns ? ["-n", netns] : []), "-4", "-o", "route", "get", ip], { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  } catch (error) {
    assert.fail(`no route to the task's address ${ip}${netns ? ` in ${netns}` : ""}: ${(error as Error).message}`);
  }
  const device = / dev (\S+)/.exec(route)?.[1];
  assert.ok(
    device?.startsWith("bthh"),
    `the task's address ${ip} is routed by ${device ?? "nothing"}, not into a Berth router (a fetch would leave the machine): ${route.trim()}`,
  );
}
