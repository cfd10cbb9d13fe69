// The desired state of one load balancer node: what the ELBv2 API's listeners, rules and target
// groups mean for the proxy on one host, already resolved by the control plane (rule priorities
// sorted, target groups by the ids it derived, targets with their addresses). Carried to the agent
// in the poll answer (load-balancer-nodes.ts); src/lb checks every value before it is used
// (validateLoadBalancerModel) and compiles it into HAProxy's configuration. Pure types.
export type ListenerProtocol = "HTTP" | "HTTPS" | "TCP";
export type TargetGroupProtocol = "HTTP" | "HTTPS" | "TCP";
export type Algorithm = "round_robin" | "least_outstanding_requests";

export interface LoadBalancerModel {
  /** A name the caller derives ([a-z0-9-]): it names the node's files and proxies. */
  readonly id: string;
  /** ELBv2's idle_timeout.timeout_seconds: the client, server and keep-alive timeouts. */
  readonly idleTimeoutSeconds: number;
  readonly listeners: readonly ListenerModel[];
  readonly targetGroups: readonly TargetGroupModel[];
}

export interface ListenerModel {
  readonly id: string;
  readonly port: number;
  readonly protocol: ListenerProtocol;
  /**
   * HTTPS: the listener's certificate, its chain and its private key, PEM, in one bundle (what the
   * node writes to a 0600 file of its root-only state dir for HAProxy's `crt`), and the minimum TLS
   * version its SSL policy allows.
   */
  readonly tls?: { readonly pemBundle: string; readonly minVersion: "TLSv1.0" | "TLSv1.2" } | undefined;
  /** Evaluated in this order (the API sorts by priority); the first whose conditions all hold acts. */
  readonly rules: readonly RuleModel[];
  readonly defaultAction: ActionModel;
}

export interface RuleModel {
  readonly id: string;
  readonly conditions: readonly ConditionModel[];
  readonly action: ActionModel;
}

/** Values of one condition are alternatives (any may match); the conditions of a rule must all hold. */
export type ConditionModel =
  | { readonly field: "path-pattern"; readonly values: readonly string[] }
  | { readonly field: "host-header"; readonly values: readonly string[] }
  | { readonly field: "http-header"; readonly headerName: string; readonly values: readonly string[] }
  | { readonly field: "http-request-method"; readonly values: readonly string[] }
  | { readonly field: "query-string"; readonly values: readonly { readonly key?: string | undefined; readonly value: string }[] }
  | { readonly field: "source-ip"; readonly values: readonly string[] };

export interface WeightedTargetGroup {
  readonly targetGroupId: string;
  readonly weight: number;
}

export type ActionModel =
  | {
      readonly type: "forward";
      readonly targetGroups: readonly WeightedTargetGroup[];
      /** Group-level stickiness (ForwardConfig.TargetGroupStickinessConfig): seconds, absent when off. */
      readonly stickinessSeconds?: number | undefined;
    }
  | {
      readonly type: "redirect";
      /** Each absent part keeps the request's own (#{protocol}, #{host}, #{port}, #{path}, #{query}). */
      readonly protocol?: string | undefined;
      readonly host?: string | undefined;
      readonly port?: string | undefined;
      readonly path?: string | undefined;
      readonly query?: string | undefined;
      readonly statusCode: "HTTP_301" | "HTTP_302";
    }
  | { readonly type: "fixed-response"; readonly statusCode: number; readonly contentType?: string | undefined; readonly messageBody?: string | undefined };

export interface HealthCheckModel {
  /** HTTPS: the check's request over TLS, the target's certificate not verified (as an ALB's). */
  readonly protocol: "HTTP" | "HTTPS" | "TCP";
  readonly port: "traffic-port" | number;
  readonly path: string;
  readonly intervalSeconds: number;
  readonly timeoutSeconds: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  /** ELBv2's Matcher.HttpCode: "200", "200-299", "200,202". */
  readonly matcher: string;
}

export interface TargetModel {
  readonly ip: string;
  readonly port: number;
  /** Deregistering: no new connections, established ones finish (the caller removes it after the delay). */
  readonly draining?: boolean | undefined;
}

export interface TargetGroupModel {
  readonly id: string;
  readonly protocol: TargetGroupProtocol;
  readonly algorithm: Algorithm;
  /** 0: off; otherwise 30–900 (slow_start.duration_seconds). */
  readonly slowStartSeconds: number;
  readonly deregistrationDelaySeconds: number;
  /** Target-level stickiness (lb_cookie): seconds, absent when off. */
  readonly stickinessSeconds?: number | undefined;
  readonly healthCheck: HealthCheckModel;
  readonly targets: readonly TargetModel[];
}
