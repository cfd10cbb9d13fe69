// CreateListener, DescribeListeners, ModifyListener and DeleteListener. A listener owns its
// default rule (IsDefault, priority "default": its actions are the listener's DefaultActions),
// which goes with it. HTTPS and TLS listeners name one certificate imported into Berth's ACM
// (CertificateNotFound otherwise) and an SSL policy Berth knows.
import type {
  CreateListenerCommandInput,
  CreateListenerOutput,
  DeleteListenerOutput,
  DescribeListenersOutput,
  Listener,
  ModifyListenerCommandInput,
  ModifyListenerOutput,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import type { Elbv2Repository, StoredListener, StoredLoadBalancer } from "../../store/index.js";
import type { OperationHandlers } from "../service-module.js";
import type { ActionContext } from "./actions.js";
import { checkActions } from "./actions.js";
import {
  certificateNotFound,
  duplicateListener,
  listenerNotFound,
  loadBalancerNotFound,
  sslPolicyNotFound,
  tooManyListeners,
  validationError,
} from "./elbv2-errors.js";
import type { Elbv2Operations } from "./elbv2-operations.js";
import type { Elbv2ServiceOptions } from "./elbv2-shapes.js";
import { checkArn, checkTags, hexId, page } from "./elbv2-shapes.js";
import { existingLoadBalancer } from "./load-balancers.js";
import { SSL_POLICIES } from "./ssl-policies.js";
import { targetGroupUsage } from "./target-group-usage.js";

/** Listeners per load balancer (Elastic Load Balancing quotas). */
export const LISTENERS_PER_LOAD_BALANCER = 50;

const PROTOCOLS: Readonly<Record<string, readonly string[]>> = { application: ["HTTP", "HTTPS"], network: ["TCP", "TLS", "UDP", "TCP_UDP"] };

/** The listener of `arn` (checked), or ListenerNotFound. */
export async function existingListener(elbv2: Elbv2Repository, arn: string): Promise<StoredListener> {
  checkArn("listener", arn);
  const record = await elbv2.getListener(arn);
  if (record === undefined) throw listenerNotFound();
  return record;
}

export async function actionContext(elbv2: Elbv2Repository, loadBalancer: StoredLoadBalancer, listenerProtocol?: string): Promise<ActionContext> {
  return {
    loadBalancerArn: loadBalancer.arn,
    loadBalancerType: loadBalancer.loadBalancer.Type ?? "application",
    listenerProtocol,
    vpcId: loadBalancer.loadBalancer.VpcId ?? "",
    targetGroup: (arn) => elbv2.getTargetGroup(arn),
    usage: await targetGroupUsage(elbv2),
  };
}

/** Protocol, port, certificates (each an ACM certificate of this account) and SSL policy checked for a listener of `loadBalancer`. */
async function checkListenerSettings(
  options: Elbv2ServiceOptions,
  loadBalancer: StoredLoadBalancer,
  input: Pick<CreateListenerCommandInput, "Protocol" | "Port" | "Certificates" | "SslPolicy" | "AlpnPolicy">,
): Promise<Pick<Listener, "Certificates" | "SslPolicy">> {
  const type = loadBalancer.loadBalancer.Type ?? "application";
  const protocol = input.Protocol;
  if (protocol === undefined) throw validationError("A listener protocol must be specified");
  if (!PROTOCOLS[type]?.includes(protocol)) throw validationError(`Listener protocol '${protocol}' is not supported for ${type} load balancers`);
  if (input.Port === undefined || !Number.isInteger(input.Port) || input.Port < 1 || input.Port > 65535)
    throw validationError("Listener port must be between 1 and 65535");
  const secure = protocol === "HTTPS" || protocol === "TLS";
  if (input.SslPolicy !== undefined && !SSL_POLICIES.some((policy) => policy.Name === input.SslPolicy)) throw sslPolicyNotFound(input.SslPolicy.slice(0, 64));
  if (!secure && input.SslPolicy !== undefined) throw validationError(`An SSL policy cannot be specified for ${protocol} listeners`);
  if (!secure && (input.Certificates ?? []).length > 0) throw validationError(`Certificates cannot be specified for ${protocol} listeners`);
  if (input.AlpnPolicy !== undefined && input.AlpnPolicy.length > 0) throw validationError("Berth does not support ALPN policies");
  if (!secure) return {};
  // wording not confirmed
  if ((input.Certificates ?? []).length !== 1) throw validationError(`Exactly one certificate must be specified for ${protocol} listeners`);
  const certificateArn = input.Certificates?.[0]?.CertificateArn ?? "";
  if (certificateArn.length > 2048 || (await options.store.certificates.get(certificateArn)) === undefined)
    throw certificateNotFound(certificateArn.slice(0, 2048));
  // ELBSecurityPolicy-2016-08 is the default of listeners created through the API (Application Load Balancer guide, "Security policies").
  return { Certificates: [{ CertificateArn: certificateArn }], SslPolicy: input.SslPolicy ?? "ELBSecurityPolicy-2016-08" };
}

const sameListener = (a: Listener, b: Listener) =>
  a.Protocol === b.Protocol && a.Port === b.Port && JSON.stringify(a.DefaultActions) === JSON.stringify(b.DefaultActions);

async function createListener(options: Elbv2ServiceOptions, input: CreateListenerCommandInput): Promise<CreateListenerOutput> {
  const loadBalancer = await existingLoadBalancer(options, input.LoadBalancerArn ?? "");
  const secure = await checkListenerSettings(options, loadBalancer, input);
  if (input.MutualAuthentication !== undefined) throw validationError("Berth does not support mutual TLS authentication");
  const tags = checkTags(input.Tags);
  return options.store.elbv2.locked(async (elbv2) => {
    // Read again under the lock: a DeleteLoadBalancer since the check above must not leave this listener without its load balancer.
    if ((await elbv2.getLoadBalancer(loadBalancer.arn)) === undefined) throw loadBalancerNotFound();
    const actions = await checkActions(input.DefaultActions, await actionContext(elbv2, loadBalancer, input.Protocol));
    const lbPath = loadBalancer.arn.split(":loadbalancer/")[1] ?? "";
    const id = hexId();
    const arn = loadBalancer.arn.replace(/:loadbalancer\/.*$/, `:listener/${lbPath}/${id}`);
    const listener: Listener = {
      ListenerArn: arn,
      LoadBalancerArn: loadBalancer.arn,
      Port: input.Port,
      Protocol: input.Protocol,
      ...secure,
      DefaultActions: actions,
    };
    const listeners = await elbv2.listListeners(loadBalancer.arn);
    const onPort = listeners.find((existing) => existing.port === input.Port);
    if (onPort !== undefined) {
      // AWS answers the existing listener to a create with the same port and settings.
      if (sameListener(onPort.listener, listener)) return { Listeners: [onPort.listener] };
      throw duplicateListener(loadBalancer.arn);
    }
    if (listeners.length >= LISTENERS_PER_LOAD_BALANCER) throw tooManyListeners();
    const now = options.clock.now();
    await elbv2.insertListener({ arn, loadBalancerArn: loadBalancer.arn, port: input.Port ?? 0, createdAt: now, listener });
    const ruleArn = arn.replace(":listener/", ":listener-rule/") + `/${hexId()}`;
    await elbv2.insertRule({
      arn: ruleArn,
      listenerArn: arn,
      priority: "default",
      createdAt: now,
      rule: { RuleArn: ruleArn, Priority: "default", Conditions: [], Actions: actions, IsDefault: true },
    });
    if (tags.size > 0) await elbv2.putTags(arn, tags);
    return { Listeners: [listener] };
  });
}

async function modifyListener(options: Elbv2ServiceOptions, input: ModifyListenerCommandInput): Promise<ModifyListenerOutput> {
  return options.store.elbv2.locked(async (elbv2) => {
    const record = await existingListener(elbv2, input.ListenerArn ?? "");
    const loadBalancer = await existingLoadBalancer({ ...options, store: { ...options.store, elbv2 } }, record.loadBalancerArn);
    const current = record.listener;
    const port = input.Port ?? current.Port;
    const protocol = input.Protocol ?? current.Protocol;
    const keepSecure = protocol === current.Protocol && input.Certificates === undefined;
    const secure = await checkListenerSettings(options, loadBalancer, {
      Protocol: protocol,
      Port: port,
      Certificates: keepSecure ? current.Certificates : input.Certificates,
      SslPolicy: input.SslPolicy ?? (keepSecure ? current.SslPolicy : undefined),
      AlpnPolicy: input.AlpnPolicy,
    });
    if (input.MutualAuthentication !== undefined) throw validationError("Berth does not support mutual TLS authentication");
    if (port !== current.Port && (await elbv2.listListeners(loadBalancer.arn)).some((other) => other.port === port)) {
      throw validationError(`Listener port '${port}' is already in use`);
    }
    // Checked again when only the protocol changes: a network listener's groups must carry its new protocol.
    const actions = await checkActions(input.DefaultActions ?? current.DefaultActions, await actionContext(elbv2, loadBalancer, protocol));
    const listener: Listener = {
      ListenerArn: current.ListenerArn,
      LoadBalancerArn: current.LoadBalancerArn,
      Port: port,
      Protocol: protocol,
      ...secure,
      DefaultActions: actions,
    };
    // A listener moved to another port holds it from now: published ports go to the listener that
    // has held the port longest (src/control/load-balancer-publishing.ts), not the oldest listener.
    const moved = port !== undefined && port !== record.port;
    await elbv2.updateListener({ ...record, port: port ?? record.port, listener, ...(moved ? { createdAt: options.clock.now() } : {}) });
    const defaultRule = (await elbv2.listRules(record.arn)).find((rule) => rule.priority === "default");
    if (defaultRule !== undefined) await elbv2.updateRule({ ...defaultRule, rule: { ...defaultRule.rule, Actions: actions } });
    return { Listeners: [listener] };
  });
}

export function listenerHandlers(options: Elbv2ServiceOptions): OperationHandlers<Elbv2Operations> {
  return {
    CreateListener: (input) => createListener(options, input),
    ModifyListener: (input) => modifyListener(options, input),
    DescribeListeners: async (input): Promise<DescribeListenersOutput> => {
      const arns = input.ListenerArns ?? [];
      if (arns.length > 0 === (input.LoadBalancerArn !== undefined)) throw validationError("You must specify either listener ARNs or a load balancer ARN");
      if (arns.length > 20) throw validationError("A maximum of 20 listeners can be specified");
      let found: StoredListener[];
      if (input.LoadBalancerArn !== undefined) {
        await existingLoadBalancer(options, input.LoadBalancerArn);
        found = await options.store.elbv2.listListeners(input.LoadBalancerArn);
      } else {
        found = await Promise.all(arns.map((arn) => existingListener(options.store.elbv2, arn)));
      }
      const { items, nextMarker } = page(found, input.Marker, input.PageSize);
      return { Listeners: items.map((record) => record.listener), NextMarker: nextMarker };
    },
    DeleteListener: async (input): Promise<DeleteListenerOutput> => {
      await options.store.elbv2.locked(async (elbv2) => {
        const record = await existingListener(elbv2, input.ListenerArn ?? "");
        await elbv2.deleteListener(record.arn);
      });
      return {};
    },
  };
}
