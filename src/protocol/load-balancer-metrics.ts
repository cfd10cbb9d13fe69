// What a host's load balancer nodes measured, sent with the `loadBalancerMetrics` call: per-minute
// parts of CloudWatch's AWS/ApplicationELB and AWS/NetworkELB metrics, per load balancer and (for
// the metrics AWS gives that dimension) per target group. A call of its own rather than part of
// `targetHealth`: health goes every second and only as it changes (the state a target is in),
// metrics every ten seconds and always as they are (what happened since the last sample); a
// failed call of one must not hold or repeat the other.
//
// Each entry is one minute's statistics of its data points as CloudWatch keeps them: a count
// metric has one data point of 1 per request (sum = count, min = max = 1: AWS's "Minimum, Maximum
// and Average all return 1"), TargetResponseTime one per response (seconds), ActiveFlowCount one
// per sample. A minute comes in several parts (one per sample); the control plane adds them up.
import Type from "typebox";
import type { Static } from "typebox";

export const APPLICATION_ELB_METRICS = [
  "RequestCount",
  "HTTPCode_Target_2XX_Count",
  "HTTPCode_Target_3XX_Count",
  "HTTPCode_Target_4XX_Count",
  "HTTPCode_Target_5XX_Count",
  "HTTPCode_ELB_3XX_Count",
  "HTTPCode_ELB_4XX_Count",
  "HTTPCode_ELB_5XX_Count",
  "TargetResponseTime",
] as const;
export const NETWORK_ELB_METRICS = ["NewFlowCount", "ActiveFlowCount"] as const;
export type LoadBalancerMetricName = (typeof APPLICATION_ELB_METRICS)[number] | (typeof NETWORK_ELB_METRICS)[number];

/** The most entries in one call: 64 nodes of a host, each with a dozen metrics and several target groups' own. */
export const MAX_LOAD_BALANCER_METRICS_PER_CALL = 10_000;
/** Bounds every statistic: finite, and far above what a minute of one node can count. */
export const MAX_METRIC_VALUE = 1e15;

const Arn = () => Type.String({ minLength: 1, maxLength: 2048 });
const Value = () => Type.Number({ minimum: 0, maximum: MAX_METRIC_VALUE });

export const LoadBalancerMetricSchema = Type.Immutable(
  Type.Object({
    loadBalancerArn: Arn(),
    /** The TargetGroup dimension; absent: the load balancer's own. */
    targetGroupArn: Type.Optional(Arn()),
    metricName: Type.Enum([...APPLICATION_ELB_METRICS, ...NETWORK_ELB_METRICS]),
    /** The minute's start, ms since the epoch. */
    minute: Type.Integer({ minimum: 0, maximum: 2 ** 52, multipleOf: 60_000 }),
    sum: Value(),
    count: Type.Integer({ minimum: 1, maximum: MAX_METRIC_VALUE }),
    min: Value(),
    max: Value(),
  }),
);
export type LoadBalancerMetric = Static<typeof LoadBalancerMetricSchema>;

export const LoadBalancerMetricsRequestSchema = Type.Immutable(
  Type.Object({ metrics: Type.Immutable(Type.Array(LoadBalancerMetricSchema, { maxItems: MAX_LOAD_BALANCER_METRICS_PER_CALL })) }),
);
export type LoadBalancerMetricsRequest = Static<typeof LoadBalancerMetricsRequestSchema>;
