// `berth demo --service`'s load balancer: an application load balancer "berth-demo" in two of the
// default subnets (distinct zones), a target group of type ip with quick health checks and a short
// deregistration delay (so --cleanup does not wait AWS's 300 s), an HTTP listener on port 80
// forwarding to it; found again on a second run. Its address is its node's interface's, found by
// the interface's description as on AWS. Every step prints the aws command that does the same.
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { EC2Client } from "@aws-sdk/client-ec2";
import { DescribeNetworkInterfacesCommand } from "@aws-sdk/client-ec2";
import { nodeDescription } from "../../control/load-balancer-nodes.js";

export const DEMO_LOAD_BALANCER = "berth-demo";
const DEREGISTRATION_DELAY_SECONDS = 5;

export interface DemoLoadBalancerSteps {
  readonly elb: ElasticLoadBalancingV2Client;
  readonly ec2: EC2Client;
  out(line?: string): void;
  step(title: string, commands: readonly string[]): void;
  aws(args: string): string;
}

export interface DemoLoadBalancer {
  readonly loadBalancerArn: string;
  readonly targetGroupArn: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const notFound = (error: unknown) => /NotFound/.test((error as Error).name ?? "");

/** The load balancer, its target group and listener (made, or found from an earlier run). */
export async function ensureDemoLoadBalancer(
  session: DemoLoadBalancerSteps,
  subnets: readonly { readonly subnetId: string; readonly availabilityZone: string }[],
  groupId: string,
  vpcId: string,
): Promise<DemoLoadBalancer> {
  const zones = new Map<string, string>();
  for (const subnet of subnets) if (!zones.has(subnet.availabilityZone)) zones.set(subnet.availabilityZone, subnet.subnetId);
  const subnetIds = [...zones.values()].slice(0, 2);
  session.step(`Create the load balancer ${DEMO_LOAD_BALANCER}, its target group and an HTTP listener`, [
    session.aws(`elbv2 create-load-balancer --name ${DEMO_LOAD_BALANCER} --type application --subnets ${subnetIds.join(" ")} --security-groups ${groupId}`),
    session.aws(
      `elbv2 create-target-group --name ${DEMO_LOAD_BALANCER} --protocol HTTP --port 80 --target-type ip --vpc-id ${vpcId} --health-check-path / --health-check-interval-seconds 5 --healthy-threshold-count 2`,
    ),
    session.aws(
      `elbv2 modify-target-group-attributes --target-group-arn <target group> --attributes Key=deregistration_delay.timeout_seconds,Value=${DEREGISTRATION_DELAY_SECONDS}`,
    ),
    session.aws(
      `elbv2 create-listener --load-balancer-arn <load balancer> --protocol HTTP --port 80 --default-actions Type=forward,TargetGroupArn=<target group>`,
    ),
  ]);
  // CreateLoadBalancer and CreateTargetGroup answer the existing one when called again alike.
  const loadBalancer = (
    await session.elb.send(new CreateLoadBalancerCommand({ Name: DEMO_LOAD_BALANCER, Type: "application", Subnets: subnetIds, SecurityGroups: [groupId] }))
  ).LoadBalancers![0]!;
  const targetGroupArn = (
    await session.elb.send(
      new CreateTargetGroupCommand({
        Name: DEMO_LOAD_BALANCER,
        Protocol: "HTTP",
        Port: 80,
        TargetType: "ip",
        VpcId: vpcId,
        HealthCheckPath: "/",
        HealthCheckIntervalSeconds: 5,
        HealthCheckTimeoutSeconds: 2,
        HealthyThresholdCount: 2,
      }),
    )
  ).TargetGroups![0]!.TargetGroupArn!;
  await session.elb.send(
    new ModifyTargetGroupAttributesCommand({
      TargetGroupArn: targetGroupArn,
      Attributes: [{ Key: "deregistration_delay.timeout_seconds", Value: String(DEREGISTRATION_DELAY_SECONDS) }],
    }),
  );
  const listeners = (await session.elb.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancer.LoadBalancerArn! }))).Listeners ?? [];
  if (!listeners.some((listener) => listener.Port === 80)) {
    await session.elb.send(
      new CreateListenerCommand({
        LoadBalancerArn: loadBalancer.LoadBalancerArn!,
        Protocol: "HTTP",
        Port: 80,
        DefaultActions: [{ Type: "forward", TargetGroupArn: targetGroupArn }],
      }),
    );
  }
  session.out(`    ${loadBalancer.LoadBalancerArn}`);
  session.out(`    ${targetGroupArn}`);
  return { loadBalancerArn: loadBalancer.LoadBalancerArn!, targetGroupArn };
}

/** An address of the load balancer: its first node's interface (a node per subnet; waits for their placement). */
export async function demoLoadBalancerAddress(session: DemoLoadBalancerSteps, loadBalancerArn: string, deadline: number): Promise<string> {
  const description = nodeDescription(loadBalancerArn);
  session.step("Find the load balancer's address (its network interface)", [
    session.aws(`ec2 describe-network-interfaces --filters 'Name=description,Values=${description}' --query 'NetworkInterfaces[0].PrivateIpAddress'`),
  ]);
  for (;;) {
    const found = await session.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: "description", Values: [description] }] }));
    const address = found.NetworkInterfaces?.[0]?.PrivateIpAddress;
    if (address) {
      session.out(`    ${address}`);
      return address;
    }
    if (Date.now() > deadline) throw new Error("the load balancer was given no address (is an agent serving its subnets?)");
    await sleep(500);
  }
}

/** --cleanup: the load balancer (its listener goes with it), then the target group. */
export async function deleteDemoLoadBalancer(session: DemoLoadBalancerSteps): Promise<void> {
  session.step("Delete the load balancer and its target group (--cleanup)", [
    session.aws(`elbv2 delete-load-balancer --load-balancer-arn <load balancer>`),
    session.aws(`elbv2 delete-target-group --target-group-arn <target group>`),
  ]);
  const loadBalancers = await session.elb.send(new DescribeLoadBalancersCommand({ Names: [DEMO_LOAD_BALANCER] })).catch((error: unknown) => {
    if (notFound(error)) return { LoadBalancers: [] };
    throw error;
  });
  for (const loadBalancer of loadBalancers.LoadBalancers ?? [])
    await session.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: loadBalancer.LoadBalancerArn! }));
  const groups = await session.elb.send(new DescribeTargetGroupsCommand({ Names: [DEMO_LOAD_BALANCER] })).catch((error: unknown) => {
    if (notFound(error)) return { TargetGroups: [] };
    throw error;
  });
  for (const group of groups.TargetGroups ?? []) await session.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: group.TargetGroupArn! }));
}

export function demoElbClient(config: NonNullable<ConstructorParameters<typeof ElasticLoadBalancingV2Client>[0]>): ElasticLoadBalancingV2Client {
  return new ElasticLoadBalancingV2Client(config);
}
