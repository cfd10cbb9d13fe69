// This host's load balancer nodes: the poll answer's list converged on, level-triggered like its
// tasks, and what the nodes see of their targets sent back.
//
//   converge(specs)   each listed node: its model checked (src/lb), its namespace plugged into its
//                     VPC's router as a task's is (the interface the control plane allocated),
//                     HAProxy started there or the model applied (no connection dropped); each
//                     node no longer listed: HAProxy stopped, its namespace removed. A node that
//                     fails is logged and retried with the next answer; the others go on.
//   publishing        after each convergence, the listener ports the control plane chose for
//                     internet-facing nodes (those of the node's own model only) are published on
//                     the host's uplink address (src/network published-ports.ts); the rest is not
//   health loop       every HEALTH_INTERVAL_MS each node's `show stat` → the control plane
//                     (targetHealth), only what changed since the last accepted send, and all of
//                     it every FULL_HEALTH_EVERY rounds (a control plane restarted keeps nothing);
//                     on each 10-second mark, the nodes' traffic counters → per-minute metrics
//                     (load-balancer-metrics.ts) → the control plane (loadBalancerMetrics)
//
// Nodes outlive the agent as tasks do (a restart finds each HAProxy again by its recorded pid:
// src/lb/haproxy-node.ts); `stopAll` (uninstall) stops them. Node ids are "elb" and 16 hex digits
// (the protocol's pattern), so they never meet a task id in the network's records.
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { Clock } from "../core/clock.js";
import type { CommandRunner } from "../core/command-runner.js";
import type { Logger } from "../core/logger.js";
import { HaproxyNode, validateLoadBalancerModel } from "../lb/index.js";
import type { LoadBalancerModel } from "../lb/index.js";
import type { TaskNetworks } from "../network/index.js";
import type { LoadBalancerNodeSpec, TargetHealthRequest, TargetHealthResult } from "../protocol/index.js";
import { MAX_TARGET_HEALTH_RESULTS } from "../protocol/index.js";
import type { PublishedPort } from "../network/index.js";
import type { LoadBalancerMetricsRequest } from "../protocol/index.js";
import { MAX_LOAD_BALANCER_METRICS_PER_CALL } from "../protocol/index.js";
import { LoadBalancerMetricsSampler, SAMPLE_MS, sampleNodes } from "./load-balancer-metrics.js";

const NODE_ID = /^elb[0-9a-f]{16}$/;
const HEALTH_INTERVAL_MS = 1_000;
const FULL_HEALTH_EVERY = 30;

export interface LoadBalancerNodesOptions {
  /** Owned: a state dir per node under it. */
  readonly stateDir: string;
  readonly networks: Pick<TaskNetworks, "attach" | "detach" | "list" | "publish">;
  readonly run: CommandRunner;
  readonly clock: Clock;
  readonly logger: Pick<Logger, "error" | "info">;
  /** Sends health results (the control link's targetHealth); absent: not sent. */
  readonly sendHealth?: (request: TargetHealthRequest) => Promise<void>;
  /** Sends metrics (the control link's loadBalancerMetrics); absent: the nodes are not sampled. */
  readonly sendMetrics?: (request: LoadBalancerMetricsRequest) => Promise<void>;
  readonly haproxyPath?: string;
}

interface RunningNode {
  readonly node: HaproxyNode;
  spec: LoadBalancerNodeSpec;
}

/**
 * What the running nodes ask to publish, in the control plane's order: internet-facing nodes only,
 * and only ports one of the node's own listeners uses.
 */
export function publishRequests(specs: readonly LoadBalancerNodeSpec[]): PublishedPort[] {
  const wanted: PublishedPort[] = [];
  for (const spec of specs) {
    if (spec.scheme !== "internet-facing") continue;
    const listenerPorts = new Set((spec.model.listeners ?? []).map((listener) => listener.port));
    for (const port of spec.publishedPorts ?? [])
      if (listenerPorts.has(port)) wanted.push({ port, vpcId: spec.network.vpcId, address: spec.network.privateIpv4Address });
  }
  return wanted;
}

export class LoadBalancerNodes {
  private readonly nodes = new Map<string, RunningNode>();
  private readonly lastSent = new Map<string, string>();
  private round = 0;
  private readonly abort = new AbortController();
  private healthLoop: Promise<void> | undefined;
  private readonly metrics = new LoadBalancerMetricsSampler();
  private lastSampleMark = -1;

  constructor(private readonly options: LoadBalancerNodesOptions) {
    mkdirSync(options.stateDir, { recursive: true, mode: 0o700 });
  }

  /** Starts the health loop. */
  start(): void {
    this.healthLoop ??= this.reportHealth();
  }

  async close(): Promise<void> {
    this.abort.abort();
    await this.healthLoop;
  }

  async converge(specs: readonly LoadBalancerNodeSpec[]): Promise<void> {
    const wanted = new Map(specs.filter((spec) => NODE_ID.test(spec.nodeId)).map((spec) => [spec.nodeId, spec]));
    for (const spec of wanted.values()) {
      await this.ensure(spec).catch((error: unknown) =>
        this.options.logger.error({ err: error, nodeId: spec.nodeId }, "load balancer node could not be brought up to date"),
      );
    }
    for (const nodeId of this.known()) {
      if (wanted.has(nodeId)) continue;
      await this.remove(nodeId).catch((error: unknown) => this.options.logger.error({ err: error, nodeId }, "load balancer node could not be removed"));
    }
    await this.publish(specs).catch((error: unknown) => this.options.logger.error({ err: error }, "load balancer nodes could not be published"));
  }

  /** The running nodes' ports on the host's uplink address (publishRequests); what is refused is logged. */
  private async publish(specs: readonly LoadBalancerNodeSpec[]): Promise<void> {
    // The spec each running node last took (a model that failed to apply keeps the one before).
    const running = specs.flatMap((spec) => this.nodes.get(spec.nodeId)?.spec ?? []);
    const wanted = publishRequests(running);
    const published = await this.options.networks.publish(wanted);
    if (published.length < wanted.length) {
      const done = new Set(published.map((entry) => `${entry.port} ${entry.address}`));
      const refused = wanted.filter((entry) => !done.has(`${entry.port} ${entry.address}`));
      this.options.logger.error({ refused }, "load balancer ports not published on the host address (no uplink, or the port is taken)");
    }
  }

  /** Every node stopped and its namespace removed (uninstall). */
  async stopAll(): Promise<void> {
    for (const nodeId of this.known()) await this.remove(nodeId);
  }

  /** Nodes this agent runs or a previous one left: state dirs and network records. */
  private known(): string[] {
    const dirs = existsSync(this.options.stateDir) ? readdirSync(this.options.stateDir).filter((name) => NODE_ID.test(name)) : [];
    const attached = this.options.networks
      .list()
      .map((attachment) => attachment.taskId)
      .filter((id) => NODE_ID.test(id));
    return [...new Set([...this.nodes.keys(), ...dirs, ...attached])];
  }

  private nodeFor(nodeId: string, netnsPath: string): HaproxyNode {
    return new HaproxyNode({
      netnsPath,
      stateDir: join(this.options.stateDir, nodeId),
      run: this.options.run,
      ...(this.options.haproxyPath ? { haproxyPath: this.options.haproxyPath } : {}),
    });
  }

  private async ensure(spec: LoadBalancerNodeSpec): Promise<void> {
    const model: LoadBalancerModel = validateLoadBalancerModel(spec.model);
    if (model.id !== spec.nodeId) throw new Error(`node ${spec.nodeId} was sent the model of ${model.id}`);
    const running = this.nodes.get(spec.nodeId);
    if (running && JSON.stringify(running.spec.network) === JSON.stringify(spec.network)) {
      await running.node.apply(model);
      running.spec = spec;
      return;
    }
    // New here, found again after a restart, or moved to another interface: the namespace first.
    if (running) await this.remove(spec.nodeId);
    const attachment = await this.options.networks.attach(spec.nodeId, spec.network);
    const node = this.nodeFor(spec.nodeId, attachment.netnsPath);
    if ((await node.start(model)) === "started") this.metrics.started(spec.nodeId);
    this.nodes.set(spec.nodeId, { node, spec });
    this.options.logger.info({ nodeId: spec.nodeId, address: spec.network.privateIpv4Address }, "load balancer node running");
  }

  private async remove(nodeId: string): Promise<void> {
    const running = this.nodes.get(nodeId);
    const attachment = this.options.networks.list().find((candidate) => candidate.taskId === nodeId);
    // A node left by an earlier agent is found again from its state dir (the recorded master).
    const node = running?.node ?? this.nodeFor(nodeId, attachment?.netnsPath ?? `/run/netns/bth-${nodeId.slice(0, 12)}`);
    await node.stop();
    await this.options.networks.detach(nodeId);
    this.nodes.delete(nodeId);
    this.metrics.forget(nodeId);
    for (const key of [...this.lastSent.keys()]) if (key.startsWith(`${nodeId} `)) this.lastSent.delete(key);
    this.options.logger.info({ nodeId }, "load balancer node removed");
  }

  private async reportHealth(): Promise<void> {
    while (!this.abort.signal.aborted) {
      try {
        await this.options.clock.sleep(HEALTH_INTERVAL_MS, this.abort.signal);
      } catch {
        return;
      }
      await this.sendChanges().catch((error: unknown) => this.options.logger.error({ err: error }, "load balancer target health could not be sent"));
      await this.sendMetrics().catch((error: unknown) => this.options.logger.error({ err: error }, "load balancer metrics could not be sent"));
    }
  }

  /** On each 10-second mark: a sample of every node, and what the control plane has not yet taken. */
  private async sendMetrics(): Promise<void> {
    const mark = Math.floor(this.options.clock.now() / SAMPLE_MS);
    if (!this.options.sendMetrics || mark === this.lastSampleMark) return;
    this.lastSampleMark = mark;
    await sampleNodes(this.nodes, this.metrics, this.options.clock.now());
    const metrics = this.metrics.take();
    for (let start = 0; start < metrics.length; start += MAX_LOAD_BALANCER_METRICS_PER_CALL) {
      const part = metrics.slice(start, start + MAX_LOAD_BALANCER_METRICS_PER_CALL);
      try {
        await this.options.sendMetrics({ metrics: part });
      } catch (error) {
        this.metrics.putBack(metrics.slice(start));
        throw error;
      }
    }
  }

  private async sendChanges(): Promise<void> {
    if (!this.options.sendHealth) return;
    const full = this.round++ % FULL_HEALTH_EVERY === 0;
    const results: TargetHealthResult[] = [];
    const sent = new Map<string, string>();
    for (const [nodeId, { node, spec }] of this.nodes) {
      const arns = new Map(spec.targetGroups.map((group) => [group.id, group.arn]));
      for (const report of await node.health()) {
        const targetGroupArn = arns.get(report.targetGroupId);
        if (!targetGroupArn) continue;
        const result: TargetHealthResult = {
          loadBalancerArn: spec.loadBalancerArn,
          targetGroupArn,
          ip: report.ip,
          port: report.port,
          state: report.health.State,
          ...(report.health.Reason !== undefined ? { reason: report.health.Reason } : {}),
          ...(report.health.Description !== undefined ? { description: report.health.Description } : {}),
        };
        const key = `${nodeId} ${targetGroupArn} ${report.ip}:${report.port}`;
        const value = JSON.stringify(result);
        sent.set(key, value);
        if (full || this.lastSent.get(key) !== value) results.push(result);
      }
    }
    // In calls the protocol accepts (a host's nodes may hold more targets than one call carries).
    for (let start = 0; start < results.length; start += MAX_TARGET_HEALTH_RESULTS) {
      await this.options.sendHealth({ results: results.slice(start, start + MAX_TARGET_HEALTH_RESULTS) });
    }
    for (const [key, value] of sent) this.lastSent.set(key, value);
  }
}
