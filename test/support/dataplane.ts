// For the data plane's privileged tests (src/network): a "host" that is a network namespace the
// test creates (TaskNetworks and HostFirewall driven through a runner wrapped in nsenter, so
// nothing touches the real host's links), task interfaces as the control plane allocates them,
// views, and busybox probes from inside task namespaces. Traffic goes only to namespaces the
// tests create.
import { execFile, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { runCommand } from "../../src/core/command-runner.js";
import type { CommandRunner } from "../../src/core/command-runner.js";
import type { HostNetworkView, SecurityGroupRuleSpec, SecurityGroupSpec } from "../../src/protocol/network-view.js";
import type { TaskNetworkSpec } from "../../src/protocol/task-spec.js";
import { isListeningInNetns } from "./netns-listener.js";
import { waitFor } from "./wait-for.js";

export const exec: CommandRunner = (command, args, options) => runCommand(command, args, { timeoutMs: 20_000, ...options });

/** Exit status and output of a command expected to fail sometimes. */
export const attempt = (command: string, args: readonly string[], timeoutMs = 6_000) =>
  new Promise<{ ok: boolean; stdout: string }>((resolve) =>
    execFile(command, [...args], { timeout: timeoutMs }, (error, stdout) => resolve({ ok: !error, stdout: String(stdout) })),
  );

export const inNetns = (netns: string, args: readonly string[], timeoutMs?: number) => attempt("ip", ["netns", "exec", netns, ...args], timeoutMs);

export interface TestHost {
  readonly name: string;
  readonly path: string;
  /** Runs a command in the host namespace (nsenter --net: keeps the mount namespace, where /run/netns is). */
  readonly run: CommandRunner;
  sysctl(key: string): Promise<string>;
  remove(): Promise<void>;
}

export async function makeHost(name: string): Promise<TestHost> {
  await exec("ip", ["netns", "add", name]);
  const path = `/run/netns/${name}`;
  const run: CommandRunner = (command, args, options) => exec("nsenter", [`--net=${path}`, command, ...args], options);
  await run("ip", ["link", "set", "lo", "up"]);
  return {
    name,
    path,
    run,
    sysctl: async (key) => (await run("sysctl", ["-n", key])).trim(),
    remove: async () => void (await attempt("ip", ["netns", "del", name])),
  };
}

/** The interface the control plane would allocate: address n of the subnet, a MAC spelling it. */
export function taskInterface(options: {
  vpcId: string;
  vpcCidr: string;
  vni: number;
  subnetId: string;
  subnetCidr: string;
  host: number;
  groups?: readonly string[];
  publicIp?: boolean;
}): TaskNetworkSpec {
  const base = options.subnetCidr.split("/")[0]!.split(".").map(Number);
  const address = [base[0]!, base[1]!, base[2]!, base[3]! + options.host];
  return {
    vpcId: options.vpcId,
    vpcCidr: options.vpcCidr,
    vni: options.vni,
    subnetId: options.subnetId,
    subnetCidr: options.subnetCidr,
    eniId: `eni-${options.vni.toString(16)}${address.map((octet) => octet.toString(16).padStart(2, "0")).join("")}`,
    privateIpv4Address: address.join("."),
    macAddress: `02:42:${address.map((octet) => octet.toString(16).padStart(2, "0")).join(":")}`,
    securityGroups: options.groups ?? [],
    assignPublicIp: options.publicIp ? "ENABLED" : "DISABLED",
  };
}

export const ALL_OUT: SecurityGroupRuleSpec = { protocol: "all", fromPort: -1, toPort: -1, cidrs: ["0.0.0.0/0"], groupIds: [] };
export const rule = (protocol: SecurityGroupRuleSpec["protocol"], fromPort: number, toPort: number, from: { cidrs?: string[]; groupIds?: string[] }) =>
  ({ protocol, fromPort, toPort, cidrs: from.cidrs ?? [], groupIds: from.groupIds ?? [] }) as SecurityGroupRuleSpec;
export const group = (groupId: string, vpcId: string, ingress: SecurityGroupRuleSpec[], egress: SecurityGroupRuleSpec[] = [ALL_OUT]): SecurityGroupSpec => ({
  groupId,
  vpcId,
  ingress,
  egress,
});

/** A view naming `interfaces` (spec + task id) with `groups`; members of every group computed from the interfaces (and `extraMembers`). */
export function viewOf(
  interfaces: readonly { taskId: string; spec: TaskNetworkSpec }[],
  groups: readonly SecurityGroupSpec[],
  extra: { peers?: HostNetworkView["peers"]; remote?: readonly { spec: TaskNetworkSpec }[]; vpcs?: HostNetworkView["vpcs"] } = {},
): HostNetworkView {
  const everyone = [...interfaces, ...(extra.remote ?? [])];
  return {
    vpcs: extra.vpcs ?? [],
    interfaces: interfaces.map(({ taskId, spec }) => ({
      eniId: spec.eniId!,
      taskId,
      vpcId: spec.vpcId!,
      privateIpv4Address: spec.privateIpv4Address!,
      securityGroupIds: [...spec.securityGroups],
    })),
    securityGroups: [...groups],
    groupMembers: groups.map((g) => ({
      groupId: g.groupId,
      vpcId: g.vpcId,
      ipv4s: everyone.filter(({ spec }) => spec.vpcId === g.vpcId && spec.securityGroups.includes(g.groupId)).map(({ spec }) => spec.privateIpv4Address!),
    })),
    peers: extra.peers ?? [],
  };
}

/** A persistent TCP listener in a namespace answering "open-<name>". */
export async function listenIn(netns: string, port: number, name: string, bind?: string): Promise<ChildProcess> {
  // busybox nc cannot bind an address: a bound listener is a small Node server in the namespace.
  const server = `require("net").createServer((s) => s.end("open-${name}\\n")).listen(${port}, ${JSON.stringify(bind ?? "0.0.0.0")})`;
  const child = bind
    ? spawn("nsenter", [`--net=/run/netns/${netns}`, process.execPath, "-e", server], { stdio: "ignore" })
    : spawn("ip", ["netns", "exec", netns, "busybox", "nc", "-ll", "-p", String(port), "-e", "/bin/busybox", "echo", `open-${name}`], { stdio: "ignore" });
  await waitFor(() => isListeningInNetns(netns, port), { what: `a listener on ${port} in ${netns}` });
  return child;
}

/** What a TCP connect from a task namespace got: the listener's "open-<name>", or "closed". */
export async function probe(netns: string, address: string, port: number, timeoutSeconds = 2): Promise<string> {
  const result = await inNetns(netns, ["timeout", String(timeoutSeconds), "busybox", "nc", address, String(port)], (timeoutSeconds + 3) * 1000);
  return /open-\S+/.exec(result.stdout)?.[0] ?? "closed";
}

export async function pings(netns: string, target: string, source?: string): Promise<boolean> {
  return (await inNetns(netns, ["busybox", "ping", "-c", "1", "-W", "2", ...(source ? ["-I", source] : []), target])).ok;
}
