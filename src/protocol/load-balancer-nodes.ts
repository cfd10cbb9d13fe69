// The load balancer nodes a host runs, carried in every poll answer beside its tasks, and the
// health its nodes see, sent back with the `targetHealth` call.
//
// A node is one HAProxy in a network namespace of its own, plugged into its VPC's router exactly as
// a task is (the control plane allocated its interface: an address in the load balancer's subnet,
// its security groups, a MAC), so the VPC's routing and security groups apply to it as to a task.
// The agent converges on the list as it does on tasks: a node it lacks is started, one no longer
// listed is stopped and its namespace removed; a changed model is applied without dropping
// connections (src/lb). The model is checked by src/lb (validateLoadBalancerModel) before anything
// of it is used: here it is only held to be an object.
import Type from "typebox";
import type { Static } from "typebox";
import type { LoadBalancerModel } from "./load-balancer-model.js";

/** The most nodes one host is given (the ELBv2 API allows 50 load balancers a region). */
export const MAX_LOAD_BALANCER_NODES = 64;
/** The most target health results in one call: 1,000 targets a load balancer, every node of a host. */
export const MAX_TARGET_HEALTH_RESULTS = 20_000;

const MAX_ARN_CHARS = 2048;
/** ELBv2's quota of listeners per load balancer. */
export const MAX_PUBLISHED_PORTS = 50;
const ModelId = () => Type.String({ pattern: "^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$" });
const Arn = () => Type.String({ minLength: 1, maxLength: MAX_ARN_CHARS });

export const LoadBalancerNodeSpecSchema = Type.Immutable(
  Type.Object({
    /** "elb" and the load balancer's 16 hex digits: names the node's namespace and state dir. */
    nodeId: Type.String({ pattern: "^elb[0-9a-f]{16}$" }),
    loadBalancerArn: Arn(),
    /** The node's interface, as a task's (src/network checks every value before a command sees it). */
    network: Type.Object({
      vpcId: Type.String({ maxLength: 64 }),
      vpcCidr: Type.String({ maxLength: 64 }),
      vni: Type.Integer({ minimum: 1, maximum: 0xffffff }),
      subnetId: Type.String({ maxLength: 64 }),
      subnetCidr: Type.String({ maxLength: 64 }),
      eniId: Type.String({ maxLength: 64 }),
      privateIpv4Address: Type.String({ maxLength: 64 }),
      macAddress: Type.String({ maxLength: 64 }),
      securityGroups: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 16 }),
      assignPublicIp: Type.Enum(["ENABLED", "DISABLED"]),
    }),
    /** ELBv2's Scheme; absent (an older control plane): internal, never published. */
    scheme: Type.Optional(Type.Enum(["internet-facing", "internal"])),
    /**
     * The listener ports the host publishes this node at on its uplink address (internet-facing
     * nodes on a host with an uplink only; a port another node of the host holds by an older
     * listener is left out: src/control/load-balancer-publishing.ts). Absent: none.
     */
    publishedPorts: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: 65535 }), { maxItems: MAX_PUBLISHED_PORTS, uniqueItems: true })),
    /** The model's target group ids and the ARNs health is reported under. */
    targetGroups: Type.Array(Type.Object({ id: ModelId(), arn: Arn() }), { maxItems: 1000 }),
    model: Type.Unsafe<LoadBalancerModel>(Type.Object({})),
  }),
);
export type LoadBalancerNodeSpec = Static<typeof LoadBalancerNodeSpecSchema>;

export const LoadBalancerNodesSchema = Type.Immutable(Type.Array(LoadBalancerNodeSpecSchema, { maxItems: MAX_LOAD_BALANCER_NODES }));

export const TargetHealthResultSchema = Type.Immutable(
  Type.Object({
    loadBalancerArn: Arn(),
    targetGroupArn: Arn(),
    ip: Type.String({ maxLength: 15 }),
    port: Type.Integer({ minimum: 1, maximum: 65535 }),
    state: Type.Enum(["initial", "healthy", "unhealthy", "draining", "unused", "unavailable"]),
    reason: Type.Optional(Type.String({ maxLength: 64 })),
    description: Type.Optional(Type.String({ maxLength: 256 })),
  }),
);
export type TargetHealthResult = Static<typeof TargetHealthResultSchema>;

export const TargetHealthRequestSchema = Type.Immutable(
  Type.Object({ results: Type.Immutable(Type.Array(TargetHealthResultSchema, { maxItems: MAX_TARGET_HEALTH_RESULTS })) }),
);
export type TargetHealthRequest = Static<typeof TargetHealthRequestSchema>;
