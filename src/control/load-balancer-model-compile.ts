// An ELBv2 load balancer as the store holds it → the model its node runs (src/protocol's
// LoadBalancerModel), pure. Ids are derived from the ARNs' own hex ids (never a user's name): the
// node "elb<16 hex>" (of its interface's id: a load balancer has a node per subnet), listeners
// "l-<hex>", rules "r-<hex>", target groups "tg-<hex>".
//
// What the data plane does not serve yet is left out of the model, not half-served: listeners on
// TLS, UDP and TCP_UDP, an HTTPS listener whose certificate is gone, and any listener whose actions
// forward to a target group of a protocol other than HTTP, HTTPS and TCP (the README says which).
// An HTTPS listener terminates TLS with its default certificate (ELBSecurityPolicy-TLS13-1-2-2021-06:
// TLS 1.2 and up; the other policies: TLS 1.0 and up) and forwards to its groups, over TLS to an
// HTTPS group's targets (their certificates not verified, as an ALB does). Everything else the
// API stores maps one to one: rules in priority order (the default rule last, as the listener's
// default action), the last action of a list (authenticate-* actions are refused by the API),
// weighted forwards with group stickiness, redirects with their #{…} placeholders, fixed
// responses, every health check setting (its own protocol: HTTP, HTTPS or TCP), and the target
// group attributes the proxy applies.
import type { Action, RuleCondition } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { ActionModel, ConditionModel, ListenerModel, LoadBalancerModel, TargetGroupModel } from "../protocol/index.js";
import type { StoredListener, StoredLoadBalancer, StoredRule, StoredTarget, StoredTargetGroup } from "../store/index.js";

const SERVED_PROTOCOLS = new Set(["HTTP", "HTTPS", "TCP"]);
const SERVED_LISTENERS = new Set(["HTTP", "HTTPS", "TCP"]);

/** The 16 (or more) hex digits an ELBv2 ARN ends with. */
const hexIdOf = (arn: string) => {
  const id = arn.slice(arn.lastIndexOf("/") + 1);
  if (!/^[0-9a-f]{16,32}$/.test(id)) throw new Error(`an ELBv2 ARN that does not end in a hex id: ${arn.slice(0, 200)}`);
  return id;
};

/** A load balancer node's id from its interface's (eni-<17 hex>): "elb" and the last 16 hex digits, unique as the interface is. */
export const loadBalancerNodeId = (eniId: string) => {
  if (!/^eni-[0-9a-f]{16,17}$/.test(eniId)) throw new Error(`not a network interface id: ${eniId.slice(0, 40)}`);
  return `elb${eniId.slice(-16)}`;
};
export const targetGroupModelId = (targetGroupArn: string) => `tg-${hexIdOf(targetGroupArn)}`;

export interface LoadBalancerRecords {
  /** The node the model is for (loadBalancerNodeId of its interface): every node of a load balancer runs the same model under its own id. */
  readonly nodeId: string;
  readonly loadBalancer: StoredLoadBalancer;
  readonly listeners: readonly StoredListener[];
  readonly rules: readonly StoredRule[];
  /** Every target group any of the listeners' actions names, with its targets. */
  readonly targetGroups: readonly { readonly group: StoredTargetGroup; readonly targets: readonly StoredTarget[] }[];
  /** HTTPS listeners' certificates by ARN: certificate, chain and private key, PEM (listener-certificates.ts). */
  readonly certificates?: ReadonlyMap<string, string>;
}

/** The certificate ARN an HTTPS listener serves with (its default certificate). */
export const listenerCertificateArn = (listener: StoredListener) => listener.listener.Certificates?.[0]?.CertificateArn;

const attribute = (attributes: Readonly<Record<string, string>>, key: string, fallback: number) => {
  const value = Number(attributes[key]);
  return Number.isFinite(value) ? value : fallback;
};

/** The action that decides: ELBv2 runs a list's actions by Order, the last one is the terminal one. */
function terminalAction(actions: readonly Action[] | undefined): Action | undefined {
  return [...(actions ?? [])].sort((a, b) => (a.Order ?? 0) - (b.Order ?? 0)).at(-1);
}

function forwardedGroups(action: Action | undefined): string[] {
  if (action?.Type !== "forward") return [];
  const weighted = action.ForwardConfig?.TargetGroups ?? [];
  return weighted.length > 0
    ? weighted.flatMap((entry) => (entry.TargetGroupArn ? [entry.TargetGroupArn] : []))
    : action.TargetGroupArn
      ? [action.TargetGroupArn]
      : [];
}

function actionModel(action: Action): ActionModel {
  switch (action.Type) {
    case "forward": {
      const weighted = action.ForwardConfig?.TargetGroups ?? [];
      const targetGroups =
        weighted.length > 0
          ? weighted.map((entry) => ({ targetGroupId: targetGroupModelId(entry.TargetGroupArn!), weight: entry.Weight ?? 1 }))
          : [{ targetGroupId: targetGroupModelId(action.TargetGroupArn!), weight: 1 }];
      const stickiness = action.ForwardConfig?.TargetGroupStickinessConfig;
      return { type: "forward", targetGroups, ...(stickiness?.Enabled ? { stickinessSeconds: stickiness.DurationSeconds ?? 3600 } : {}) };
    }
    case "redirect": {
      const config = action.RedirectConfig!;
      return {
        type: "redirect",
        protocol: config.Protocol,
        host: config.Host,
        port: config.Port,
        path: config.Path,
        query: config.Query,
        statusCode: config.StatusCode === "HTTP_301" ? "HTTP_301" : "HTTP_302",
      };
    }
    case "fixed-response": {
      const config = action.FixedResponseConfig!;
      return { type: "fixed-response", statusCode: Number(config.StatusCode), contentType: config.ContentType, messageBody: config.MessageBody };
    }
    default:
      throw new Error(`an action the data plane does not serve: ${String(action.Type)}`);
  }
}

function conditionModel(condition: RuleCondition): ConditionModel {
  switch (condition.Field) {
    case "path-pattern":
      return { field: "path-pattern", values: condition.PathPatternConfig?.Values ?? condition.Values ?? [] };
    case "host-header":
      return { field: "host-header", values: condition.HostHeaderConfig?.Values ?? condition.Values ?? [] };
    case "http-header":
      return { field: "http-header", headerName: condition.HttpHeaderConfig!.HttpHeaderName!, values: condition.HttpHeaderConfig!.Values ?? [] };
    case "http-request-method":
      return { field: "http-request-method", values: condition.HttpRequestMethodConfig?.Values ?? [] };
    case "query-string":
      return { field: "query-string", values: (condition.QueryStringConfig?.Values ?? []).map((pair) => ({ key: pair.Key, value: pair.Value ?? "" })) };
    case "source-ip":
      return { field: "source-ip", values: condition.SourceIpConfig?.Values ?? [] };
    default:
      throw new Error(`a condition the data plane does not serve: ${String(condition.Field)}`);
  }
}

function targetGroupModel(group: StoredTargetGroup, targets: readonly StoredTarget[]): TargetGroupModel {
  const tg = group.targetGroup;
  const attributes = group.attributes;
  // The check's own protocol (an NLB's TCP group may be checked over HTTP); the API stores the default.
  const health =
    tg.HealthCheckProtocol === "HTTPS"
      ? "HTTPS"
      : tg.HealthCheckProtocol === "HTTP"
        ? "HTTP"
        : tg.HealthCheckProtocol === "TCP"
          ? "TCP"
          : tg.Protocol === "TCP"
            ? "TCP"
            : "HTTP";
  const sticky = attributes["stickiness.enabled"] === "true" && (attributes["stickiness.type"] ?? "lb_cookie") === "lb_cookie";
  return {
    id: targetGroupModelId(group.arn),
    protocol: tg.Protocol === "TCP" ? "TCP" : tg.Protocol === "HTTPS" ? "HTTPS" : "HTTP",
    algorithm: attributes["load_balancing.algorithm.type"] === "least_outstanding_requests" ? "least_outstanding_requests" : "round_robin",
    slowStartSeconds: attribute(attributes, "slow_start.duration_seconds", 0),
    deregistrationDelaySeconds: attribute(attributes, "deregistration_delay.timeout_seconds", 300),
    ...(sticky ? { stickinessSeconds: attribute(attributes, "stickiness.lb_cookie.duration_seconds", 86400) } : {}),
    healthCheck: {
      protocol: health,
      port: tg.HealthCheckPort === undefined || tg.HealthCheckPort === "traffic-port" ? "traffic-port" : Number(tg.HealthCheckPort),
      path: tg.HealthCheckPath ?? "/",
      intervalSeconds: tg.HealthCheckIntervalSeconds ?? 30,
      timeoutSeconds: tg.HealthCheckTimeoutSeconds ?? 5,
      healthyThreshold: tg.HealthyThresholdCount ?? 5,
      unhealthyThreshold: tg.UnhealthyThresholdCount ?? 2,
      matcher: tg.Matcher?.HttpCode ?? "200",
    },
    targets: targets.map((target) => ({ ip: target.id, port: target.port, ...(target.deregisterAt !== undefined ? { draining: true } : {}) })),
  };
}

/** Whether every group a listener's actions forward to is one the data plane serves. */
function servedListener(
  listener: StoredListener,
  rules: readonly StoredRule[],
  groups: ReadonlyMap<string, StoredTargetGroup>,
  certificates: ReadonlyMap<string, string>,
): boolean {
  if (!SERVED_LISTENERS.has(listener.listener.Protocol ?? "")) return false;
  if (listener.listener.Protocol === "HTTPS" && !certificates.has(listenerCertificateArn(listener) ?? "")) return false;
  const actions = [terminalAction(listener.listener.DefaultActions), ...rules.map((rule) => terminalAction(rule.rule.Actions))];
  return actions.every(
    (action) =>
      action !== undefined &&
      forwardedGroups(action).every((arn) => {
        const group = groups.get(arn);
        return group !== undefined && SERVED_PROTOCOLS.has(group.targetGroup.Protocol ?? "") && group.targetGroup.TargetType === "ip";
      }),
  );
}

/** The ARNs of the target groups the listeners' actions forward to. */
export function forwardedTargetGroupArns(listeners: readonly StoredListener[], rules: readonly StoredRule[]): string[] {
  const actions = [...listeners.map((listener) => listener.listener.DefaultActions), ...rules.map((rule) => rule.rule.Actions)];
  return [...new Set(actions.flatMap((list) => forwardedGroups(terminalAction(list))))];
}

export function compileLoadBalancerModel(records: LoadBalancerRecords): LoadBalancerModel {
  const groups = new Map(records.targetGroups.map((entry) => [entry.group.arn, entry.group]));
  const rulesOf = (listenerArn: string) =>
    records.rules.filter((rule) => rule.listenerArn === listenerArn && rule.priority !== "default").sort((a, b) => Number(a.priority) - Number(b.priority));
  const certificates = records.certificates ?? new Map<string, string>();
  const served = records.listeners.filter((listener) => servedListener(listener, rulesOf(listener.arn), groups, certificates));
  const listeners: ListenerModel[] = served.map((listener) => ({
    id: `l-${hexIdOf(listener.arn)}`,
    port: listener.port,
    protocol: listener.listener.Protocol === "TCP" ? "TCP" : listener.listener.Protocol === "HTTPS" ? "HTTPS" : "HTTP",
    ...(listener.listener.Protocol === "HTTPS"
      ? {
          tls: {
            pemBundle: certificates.get(listenerCertificateArn(listener)!)!,
            minVersion: listener.listener.SslPolicy === "ELBSecurityPolicy-TLS13-1-2-2021-06" ? "TLSv1.2" : "TLSv1.0",
          },
        }
      : {}),
    rules: rulesOf(listener.arn).map((rule) => ({
      id: `r-${hexIdOf(rule.arn)}`,
      conditions: (rule.rule.Conditions ?? []).map(conditionModel),
      action: actionModel(terminalAction(rule.rule.Actions)!),
    })),
    defaultAction: actionModel(terminalAction(listener.listener.DefaultActions)!),
  }));
  // Only the groups a served listener forwards to: another's (an HTTPS group, say) is not health-checked as if it were HTTP.
  const servedArns = new Set(served.map((listener) => listener.arn));
  const used = new Set(
    forwardedTargetGroupArns(
      served,
      records.rules.filter((rule) => servedArns.has(rule.listenerArn)),
    ),
  );
  return {
    id: records.nodeId,
    idleTimeoutSeconds: attribute(records.loadBalancer.attributes, "idle_timeout.timeout_seconds", 60),
    listeners,
    targetGroups: records.targetGroups.filter((entry) => used.has(entry.group.arn)).map((entry) => targetGroupModel(entry.group, entry.targets)),
  };
}
