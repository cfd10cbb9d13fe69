// What the load balancer tests and benches share: the web image their tasks run (busybox httpd:
// /health answers "ok", /who and /b/who the task's hostname, so a client can tell tasks apart),
// a load balancer's address (its node's interface, found by the interface's description as on
// AWS), and the count of HAProxy processes on the machine (a node's, since nothing else runs one).
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { DescribeNetworkInterfacesCommand } from "@aws-sdk/client-ec2";
import type { EC2Client } from "@aws-sdk/client-ec2";
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  ModifyTargetGroupAttributesCommand,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { TestRegistry } from "./registry.js";
import { waitFor } from "./wait-for.js";
import { nodeDescription } from "../../src/control/load-balancer-nodes.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");

/** The web image's command: its files made at start (the hostname is the task's own). */
export const WEB_COMMAND =
  '["sh","-c","mkdir -p /www/b && cp /srv/health /www/health && hostname > /www/who && hostname > /www/b/who && exec httpd -f -p 80 -h /www"]';

/** Builds the web image with `berth image build` and pushes it to `registry` as `<name>:v1`; its reference. */
export async function pushWebImage(registry: TestRegistry, name: string): Promise<string> {
  const site = mkdtempSync(join(tmpdir(), "berth-web-site-"));
  const image = `${registry.address}/${name}:v1`;
  try {
    writeFileSync(join(site, "health"), "ok\n");
    await new Promise<void>((resolve, reject) =>
      execFile(process.execPath, [berth, "image", "build", "--tag", image, "--dir", `${site}:/srv`, "--cmd", WEB_COMMAND, "--push"], (error, _out, stderr) =>
        error ? reject(new Error(`berth image build ${image}: ${stderr}`)) : resolve(),
      ),
    );
    return image;
  } finally {
    rmSync(site, { recursive: true, force: true });
  }
}

type LoadBalancerNode = { eniId: string; subnetId: string; address: string };

/** The load balancer's nodes placed so far: their interfaces, found by their description ("ELB app/<name>/<id>"). */
async function placedNodes(ec2: EC2Client, loadBalancerArn: string): Promise<LoadBalancerNode[]> {
  const found = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: "description", Values: [nodeDescription(loadBalancerArn)] }] }));
  return (found.NetworkInterfaces ?? []).map((eni) => ({ eniId: eni.NetworkInterfaceId!, subnetId: eni.SubnetId!, address: eni.PrivateIpAddress! }));
}

/** An address of the load balancer: its first node's, once one is placed. */
export async function loadBalancerAddress(ec2: EC2Client, loadBalancerArn: string, timeoutMs = 20_000): Promise<string> {
  let address = "";
  await waitFor(
    async () => {
      address = (await placedNodes(ec2, loadBalancerArn))[0]?.address ?? "";
      return address !== "";
    },
    { what: "the load balancer's interface", timeoutMs },
  );
  return address;
}

/** Every node of the load balancer (one per subnet): interface id, subnet and address, once `count` are placed. */
export async function loadBalancerNodes(ec2: EC2Client, loadBalancerArn: string, count: number, timeoutMs = 20_000): Promise<LoadBalancerNode[]> {
  let nodes: LoadBalancerNode[] = [];
  await waitFor(
    async () => {
      nodes = await placedNodes(ec2, loadBalancerArn);
      return nodes.length === count;
    },
    { what: `the load balancer's ${count} interfaces`, timeoutMs },
  );
  return nodes;
}

/** HAProxy processes running on the machine (zombies left out). */
export function haproxyProcesses(): number {
  return execFileSync("ps", ["-eo", "stat=,comm="], { encoding: "utf8" })
    .split("\n")
    .filter((line) => / haproxy$/.test(line.trimEnd()) && !/^\s*Z/.test(line)).length;
}

export interface WebLoadBalancer {
  readonly loadBalancerArn: string;
  readonly vpcId: string;
  readonly targetGroupArn: string;
  readonly listenerArn: string;
}

/**
 * An application load balancer in `subnets` (two zones) with `securityGroups`, a target group of
 * type ip checking /health every 5 s (healthy after 2 passes), and an HTTP listener on port 80
 * forwarding to it; the group gets `targets` and a deregistration delay when given.
 */
export async function createWebLoadBalancer(
  elb: ElasticLoadBalancingV2Client,
  options: {
    readonly name: string;
    readonly subnets: readonly string[];
    readonly securityGroups: readonly string[];
    readonly targets?: readonly string[];
    readonly deregistrationDelaySeconds?: number;
  },
): Promise<WebLoadBalancer> {
  const loadBalancer = (
    await elb.send(
      new CreateLoadBalancerCommand({ Name: options.name, Type: "application", Subnets: [...options.subnets], SecurityGroups: [...options.securityGroups] }),
    )
  ).LoadBalancers![0]!;
  const targetGroupArn = (
    await elb.send(
      new CreateTargetGroupCommand({
        Name: options.name,
        Protocol: "HTTP",
        Port: 80,
        TargetType: "ip",
        VpcId: loadBalancer.VpcId!,
        HealthCheckPath: "/health",
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 2,
        HealthyThresholdCount: 2,
      }),
    )
  ).TargetGroups![0]!.TargetGroupArn!;
  if (options.deregistrationDelaySeconds !== undefined) {
    await elb.send(
      new ModifyTargetGroupAttributesCommand({
        TargetGroupArn: targetGroupArn,
        Attributes: [{ Key: "deregistration_delay.timeout_seconds", Value: String(options.deregistrationDelaySeconds) }],
      }),
    );
  }
  if (options.targets?.length) await elb.send(new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: options.targets.map((Id) => ({ Id })) }));
  const listenerArn = (
    await elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: loadBalancer.LoadBalancerArn!,
        Protocol: "HTTP",
        Port: 80,
        DefaultActions: [{ Type: "forward", TargetGroupArn: targetGroupArn }],
      }),
    )
  ).Listeners![0]!.ListenerArn!;
  return { loadBalancerArn: loadBalancer.LoadBalancerArn!, vpcId: loadBalancer.VpcId!, targetGroupArn, listenerArn };
}
