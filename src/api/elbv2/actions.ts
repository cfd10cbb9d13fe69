// Listener and rule actions (Elastic Load Balancing API Reference, Action, ForwardActionConfig,
// RedirectActionConfig, FixedResponseActionConfig): forward (one target group or up to 5 weighted
// ones, with group stickiness), redirect and fixed-response; authentication actions are refused
// (Berth has no identity provider integration). Redirect parts and response bodies end up in the
// proxy's config: they are held to AWS's lengths and to printable characters here.
import type { Action, ForwardActionConfig } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { StoredTargetGroup } from "../../store/index.js";
import { targetGroupAssociationLimit, targetGroupNotFound, validationError } from "./elbv2-errors.js";
import { checkArn } from "./elbv2-shapes.js";

const HTTP_PROTOCOLS = ["HTTP", "HTTPS"];
/** The target group protocols each network listener protocol forwards to (Network Load Balancer guide, "Target groups"). */
const NETWORK_CARRIES: Readonly<Record<string, readonly string[]>> = {
  TCP: ["TCP", "TCP_UDP"],
  TLS: ["TCP", "TLS"],
  UDP: ["UDP", "TCP_UDP"],
  TCP_UDP: ["TCP_UDP"],
};
const CONTENT_TYPES = ["text/plain", "text/css", "text/html", "application/javascript", "application/json"];
/** Printable ASCII but space, double quote and backslash: what a redirect part may hold. */
const REDIRECT_TEXT = /^[\x21\x23-\x5b\x5d-\x7e]*$/;
// What the data plane accepts of a redirect's host, path and query (src/lb/load-balancer-model.ts
// REDIRECT_HOST, REDIRECT_PATH, REDIRECT_QUERY; copied, src/api does not import src/lb): no `%[`,
// `#` but AWS's #{…} placeholders, quotes, backslashes or control characters reach its config.
const REDIRECT_HOST = /^(?:[A-Za-z0-9.-]|#\{host\}){1,128}$/;
const REDIRECT_PATH = /^\/(?:[A-Za-z0-9_.~/-]|#\{(?:host|path|port)\}){0,127}$/;
const REDIRECT_QUERY = /^(?:[A-Za-z0-9_.~=&-]|#\{(?:host|path|port|query)\}){0,128}$/;
/** A fixed-response body: at most 1024 bytes (the data plane's MAX_BODY_BYTES), no control characters but tab, CR and LF. */
const MAX_BODY_BYTES = 1024;
const BODY_CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/;

export interface ActionContext {
  readonly loadBalancerArn: string;
  readonly loadBalancerType: string;
  /** The listener's protocol: a network load balancer's groups must carry it (TCP_UDP carries TCP and UDP, TLS is forwarded as TCP or TLS). */
  readonly listenerProtocol?: string | undefined;
  readonly vpcId: string;
  /** The target group of an ARN, or undefined. */
  readonly targetGroup: (arn: string) => Promise<StoredTargetGroup | undefined>;
  /** Target group ARN → the load balancers already using it. */
  readonly usage: ReadonlyMap<string, ReadonlySet<string>>;
}

function checkRedirect(action: Action): Action {
  const config = action.RedirectConfig;
  if (config === undefined) throw validationError("A redirect configuration must be specified for a redirect action");
  if (config.StatusCode !== "HTTP_301" && config.StatusCode !== "HTTP_302") throw validationError("The redirect status code must be 'HTTP_301' or 'HTTP_302'");
  const part = (name: string, value: string | undefined, min: number, max: number) => {
    if (value !== undefined && (value.length < min || value.length > max || !REDIRECT_TEXT.test(value))) {
      throw validationError(`The redirect ${name} must be ${min}–${max} printable characters without spaces, quotes or backslashes`);
    }
  };
  part("protocol", config.Protocol, 1, 5);
  if (config.Protocol !== undefined && !["HTTP", "HTTPS", "#{protocol}"].includes(config.Protocol))
    throw validationError("The redirect protocol must be 'HTTP', 'HTTPS' or '#{protocol}'");
  if (
    config.Port !== undefined &&
    config.Port !== "#{port}" &&
    !(/^[0-9]{1,5}$/.test(config.Port) && Number(config.Port) >= 1 && Number(config.Port) <= 65535)
  ) {
    throw validationError("The redirect port must be '#{port}' or a port between 1 and 65535");
  }
  part("host", config.Host, 1, 128);
  part("path", config.Path, 1, 128);
  if (config.Path !== undefined && !config.Path.startsWith("/")) throw validationError("The redirect path must start with '/'");
  part("query", config.Query, 0, 128);
  for (const [name, value, pattern] of [
    ["host", config.Host, REDIRECT_HOST],
    ["path", config.Path, REDIRECT_PATH],
    ["query", config.Query, REDIRECT_QUERY],
  ] as const) {
    // wording not confirmed
    if (value !== undefined && !pattern.test(value)) throw validationError(`The redirect ${name} holds characters Berth's proxy does not accept`);
  }
  const redirect = {
    Protocol: config.Protocol ?? "#{protocol}",
    Port: config.Port ?? "#{port}",
    Host: config.Host ?? "#{host}",
    Path: config.Path ?? "/#{path}",
    Query: config.Query ?? "#{query}",
    StatusCode: config.StatusCode,
  };
  if (
    redirect.Protocol === "#{protocol}" &&
    redirect.Port === "#{port}" &&
    redirect.Host === "#{host}" &&
    redirect.Path === "/#{path}" &&
    redirect.Query === "#{query}"
  ) {
    throw validationError("A redirect must change at least one of protocol, port, host, path or query, or it would loop");
  }
  return { Type: "redirect", Order: action.Order, RedirectConfig: redirect };
}

function checkFixedResponse(action: Action): Action {
  const config = action.FixedResponseConfig;
  if (config === undefined) throw validationError("A fixed-response configuration must be specified for a fixed-response action");
  if (!/^[245][0-9][0-9]$/.test(config.StatusCode ?? "")) throw validationError("The fixed-response status code must be a 2XX, 4XX or 5XX code");
  if (config.ContentType !== undefined && !CONTENT_TYPES.includes(config.ContentType))
    throw validationError(`Content type '${config.ContentType.slice(0, 64)}' is not valid`);
  const body = config.MessageBody ?? "";
  // AWS counts the 1024 in bytes (UTF-8), as the proxy does.
  if (Buffer.byteLength(body, "utf8") > MAX_BODY_BYTES) throw validationError(`The fixed-response message body cannot be longer than ${MAX_BODY_BYTES} bytes`);
  if (BODY_CONTROL.test(body))
    throw validationError("The fixed-response message body cannot hold control characters other than tab, carriage return and line feed");
  return {
    Type: "fixed-response",
    Order: action.Order,
    FixedResponseConfig: { StatusCode: config.StatusCode, ContentType: config.ContentType, MessageBody: config.MessageBody },
  };
}

async function checkForward(action: Action, context: ActionContext): Promise<Action> {
  const tuples = action.ForwardConfig?.TargetGroups ?? (action.TargetGroupArn === undefined ? [] : [{ TargetGroupArn: action.TargetGroupArn, Weight: 1 }]);
  if (tuples.length === 0) throw validationError("A target group ARN or a forward configuration must be specified for a forward action");
  if (tuples.length > 5) throw validationError("A forward action can name at most 5 target groups");
  // A network listener forwards to one group (AWS: weighted groups are for application load balancers; the data plane's "a TCP listener forwards to one target group").
  if (context.loadBalancerType === "network" && tuples.length > 1)
    throw validationError("A forward action of a network load balancer can name only one target group"); // wording not confirmed
  if (
    action.TargetGroupArn !== undefined &&
    action.ForwardConfig !== undefined &&
    (tuples.length !== 1 || tuples[0]?.TargetGroupArn !== action.TargetGroupArn)
  ) {
    throw validationError("A forward action cannot name a target group ARN and a different forward configuration");
  }
  const arns = new Set<string>();
  for (const tuple of tuples) {
    const arn = tuple.TargetGroupArn ?? "";
    checkArn("target group", arn);
    if (arns.has(arn)) throw validationError(`Target group '${arn}' is named more than once in a forward action`);
    arns.add(arn);
    if (tuple.Weight !== undefined && (tuple.Weight < 0 || tuple.Weight > 999)) throw validationError("Target group weights must be between 0 and 999");
    const group = await context.targetGroup(arn);
    if (group === undefined) throw targetGroupNotFound();
    const http = HTTP_PROTOCOLS.includes(group.targetGroup.Protocol ?? "");
    if (http !== (context.loadBalancerType === "application")) {
      // wording not confirmed
      throw validationError(
        `The target group '${arn}' uses the ${group.targetGroup.Protocol} protocol, which a ${context.loadBalancerType} load balancer cannot forward to`,
      );
    }
    const carried = context.listenerProtocol === undefined ? undefined : NETWORK_CARRIES[context.listenerProtocol];
    if (carried !== undefined && !carried.includes(group.targetGroup.Protocol ?? "")) {
      // wording not confirmed
      throw validationError(`A ${context.listenerProtocol} listener cannot forward to the target group '${arn}' of protocol ${group.targetGroup.Protocol}`);
    }
    if (group.targetGroup.VpcId !== context.vpcId) throw validationError(`The target group '${arn}' is not in the load balancer's VPC`);
    const users = context.usage.get(arn);
    if (users !== undefined && [...users].some((user) => user !== context.loadBalancerArn)) throw targetGroupAssociationLimit(arn);
  }
  // The data plane needs one group it can send to (src/lb/load-balancer-model.ts validateAction). Wording not confirmed.
  if (tuples.every((tuple) => (tuple.Weight ?? 1) === 0)) throw validationError("A forward action needs at least one target group with a weight above 0");
  const stickiness = action.ForwardConfig?.TargetGroupStickinessConfig;
  if (stickiness?.DurationSeconds !== undefined && (stickiness.DurationSeconds < 1 || stickiness.DurationSeconds > 604800)) {
    throw validationError("The target group stickiness duration must be between 1 and 604800 seconds");
  }
  const forward: ForwardActionConfig = {
    TargetGroups: tuples.map((tuple) => ({ TargetGroupArn: tuple.TargetGroupArn, Weight: tuple.Weight ?? 1 })),
    TargetGroupStickinessConfig: stickiness?.Enabled === true ? { Enabled: true, DurationSeconds: stickiness.DurationSeconds ?? 3600 } : { Enabled: false },
  };
  return { Type: "forward", Order: action.Order, TargetGroupArn: tuples.length === 1 ? tuples[0]!.TargetGroupArn : undefined, ForwardConfig: forward };
}

/** The actions checked and in AWS's answer form (defaults filled, ordered), one terminal action last. */
export async function checkActions(actions: readonly Action[] | undefined, context: ActionContext): Promise<Action[]> {
  if (actions === undefined || actions.length === 0) throw validationError("At least one action must be specified");
  if (actions.length > 5) throw validationError("A maximum of 5 actions can be specified");
  const checked: Action[] = [];
  for (const [index, action] of actions.entries()) {
    if (action.Order !== undefined && (action.Order < 1 || action.Order > 50000)) throw validationError("Action order must be between 1 and 50000");
    const ordered = { ...action, Order: action.Order ?? index + 1 };
    if (ordered.Type === "forward") checked.push(await checkForward(ordered, context));
    else if (context.loadBalancerType !== "application") throw validationError(`Action type '${ordered.Type}' is not supported for network load balancers`);
    else if (ordered.Type === "redirect") checked.push(checkRedirect(ordered));
    else if (ordered.Type === "fixed-response") checked.push(checkFixedResponse(ordered));
    else throw validationError(`Action type '${String(ordered.Type).slice(0, 32)}' is not supported by Berth (forward, redirect and fixed-response only)`);
  }
  checked.sort((a, b) => (a.Order ?? 0) - (b.Order ?? 0));
  if (new Set(checked.map((action) => action.Order)).size < checked.length) throw validationError("Action orders must be unique");
  if (checked.length > 1) throw validationError("Only one forward, redirect or fixed-response action can be specified, and it must be the last action");
  return checked;
}
