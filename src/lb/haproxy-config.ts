// A load balancer model → haproxy.cfg text for HAProxy 2.6 (pure). Directives as documented in
// HAProxy 2.6's configuration.txt and management.txt.
//
//   global    master-worker; the admin stats socket with `expose-fd listeners` (a new worker takes
//             the listening sockets over from the old one: no refused connection during a reload);
//             hard-stop-after (an old worker lives at most that long after a reload); the server
//             state file (health kept across reloads); one thread (nbthread 1, below)
//   defaults  timeouts from the idle timeout; idle-close-on-response (an idle keep-alive
//             connection of an old worker is answered once more, then closed, not cut)
//   frontend  one per listener. HTTP rules in two phases:
//               1. classify: `http-request set-var(txn.rule) int(N) if !{ var(txn.rule) -m found } <conditions>`
//                  for each rule in priority order: the variable names the first rule that matched
//               2. act: redirect / return / use_backend `if { var(txn.rule) -m int eq N }`
//             A rule's redirect can then never run before an earlier rule's forward (http-request
//             actions run before use_backend, whatever their order). No match: the default action.
//   backend   one per target group: balance, health check, one server per target
//
// Weighted forward: one random number per request (`rand(1000)` in txn.pick), and per target group
// `use_backend tg-x if <rule> { var(txn.pick) -m int lt <cumulative threshold> }`. use_backend with
// ACLs on a variable is plain, long-standing HAProxy (no map file to keep in sync, no Lua); the
// split follows the weights to 1/1000. Group stickiness (AWSALBTG-like cookie BERTHTG naming the
// backend) is checked before the pick, and set on the response.
//
// User text never enters as itself: patterns become regular expressions in single quotes (no
// escape or variable processing by the config parser) where every character but a letter or digit
// is written \xHH (wildcard-pattern.ts, which also keeps their matching linear); fixed-response
// bodies go into files next to the config (`file`), never inline, each named by the hash of its
// content (two bodies can only share a name by being the same text, whatever the ids).
//
// Target stickiness (BERTHLB) carries an opaque value per server, an HMAC of its name under the
// node's key: the cookie a client holds says nothing of the target's address.
import { createHash, createHmac } from "node:crypto";
import { ID, MAX_LISTENERS, MAX_TARGETS_PER_NODE, matcherCodes } from "./load-balancer-model.js";
import type { ActionModel, ConditionModel, ListenerModel, LoadBalancerModel, RuleModel, TargetGroupModel, TargetModel } from "./load-balancer-model.js";
import { escapeRegexChar, wildcardRegex } from "./wildcard-pattern.js";

export { wildcardRegex } from "./wildcard-pattern.js";

export interface CompileSettings {
  /** The node's state directory (absolute): sockets, server state, response bodies. */
  readonly stateDir: string;
  /** The account the workers drop to (the master keeps root: it binds, reads files, reloads). */
  readonly workerUser?: { readonly user: string; readonly group: string } | undefined;
  /** The node's secret (hex) for target stickiness cookie values (haproxy-node.ts keeps it in the state dir). */
  readonly cookieKey?: string | undefined;
  /** Global maxconn (default MAX_CONNECTIONS); haproxy-node.ts passes maxConnectionsFor(its hard limit). */
  readonly maxConnections?: number | undefined;
}

export interface CompiledConfig {
  readonly text: string;
  /** Files the config names, relative to the state dir, with their content. */
  readonly files: ReadonlyMap<string, string>;
}

export const ADMIN_SOCKET = "admin.sock";
export const SERVER_STATE_FILE = "servers.state";
export const HARD_STOP_AFTER_SECONDS = 300;
const PICK_RANGE = 1000;
const CONNECT_TIMEOUT_SECONDS = 5;
/**
 * maxconn is always set, from the open-file hard limit HAProxy inherits (maxConnectionsFor): HAProxy
 * 2.6 asks for 2 descriptors a connection plus its own (listeners, checks, pipes: ~50 here), and
 * refuses to start when that exceeds the hard limit ("Cannot raise FD limit"). Room is kept for one
 * check per server and one socket per listener at the model's per-node budgets.
 */
export const MAX_CONNECTIONS = 20_000;
const MIN_CONNECTIONS = 256;
const FD_RESERVE = MAX_TARGETS_PER_NODE + MAX_LISTENERS + 200;

/** The maxconn that fits an open-file hard limit (never above MAX_CONNECTIONS). */
export function maxConnectionsFor(openFileHardLimit: number): number {
  const fitting = Math.floor((openFileHardLimit - FD_RESERVE) / 2);
  if (fitting < MIN_CONNECTIONS) throw new Error(`an open-file limit of ${openFileHardLimit} leaves HAProxy too few connections`);
  return Math.min(MAX_CONNECTIONS, fitting);
}
/** AWS's cookie for target group stickiness is AWSALBTG; ours is our own name. */
export const GROUP_COOKIE = "BERTHTG";
export const TARGET_COOKIE = "BERTHLB";
const SAFE_PATH = /^\/[A-Za-z0-9_./-]+$/;
/** Every word written unquoted: nothing the parser treats specially (space, #, quotes, backslash, $). */
const SAFE_WORD = /^[A-Za-z0-9_.:/=;%[\]()!,&~*+?|^-]+$/;

/** The backend of a target group. */
export const backendName = (groupId: string) => `tg-${groupId}`;

/** The body file of a fixed response, relative to the state dir: named by its content. */
export const bodyFile = (body: string) => `responses/${createHash("sha256").update(body).digest("hex")}.body`;

/** The target stickiness cookie's value for a server: opaque to the client (no address in it). */
export function cookieValue(server: string, key: string): string {
  if (!/^[0-9a-f]{32,}$/.test(key)) throw new Error("the stickiness cookie key must be at least 16 random bytes in hex");
  return createHmac("sha256", Buffer.from(key, "hex")).update(server).digest("hex").slice(0, 24);
}

/** The server of a target: a stable name from ip:port, so the runtime API addresses it across reloads. */
export function serverName(target: Pick<TargetModel, "ip" | "port">): string {
  const hex = target.ip
    .split(".")
    .map((octet) => Number(octet).toString(16).padStart(2, "0"))
    .join("");
  return `t-${hex}-${target.port.toString(16).padStart(4, "0")}`;
}

function account(name: string): string {
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(name)) throw new Error(`unsafe account name ${JSON.stringify(name)}`);
  return name;
}

function word(value: string): string {
  if (!SAFE_WORD.test(value)) throw new Error(`refusing to write ${JSON.stringify(value)} into haproxy.cfg`);
  return value;
}

function conditionAcl(name: string, condition: ConditionModel): string {
  switch (condition.field) {
    case "path-pattern":
      return `acl ${name} path -m reg ${condition.values.map((value) => wildcardRegex(value)).join(" ")}`;
    case "host-header":
      // The Host header may carry a port; AWS matches the name, case-insensitively.
      return `acl ${name} req.hdr(host),lower -m reg ${condition.values.map((value) => wildcardRegex(value.toLowerCase(), { end: "(:[0-9]+)?$" })).join(" ")}`;
    case "http-header":
      return `acl ${name} req.hdr(${word(condition.headerName)}) -i -m reg ${condition.values.map((value) => wildcardRegex(value)).join(" ")}`;
    case "http-request-method":
      // `--` ends the flags: no value is read as one (`-i`, `-m`, `-f <file>`), whatever it starts with.
      return `acl ${name} method -- ${condition.values.map(word).join(" ")}`;
    case "query-string":
      return condition.values
        .map((pair) =>
          pair.key === undefined
            ? `acl ${name} query -i -m reg ${wildcardRegex(pair.value, { start: "(^|&)[^=&]*=", end: "(&|$)", any: "[^&]" })}`
            : `acl ${name} query -i -m reg ${wildcardRegex(pair.value, { start: `(^|&)${[...pair.key].map(escapeRegexChar).join("")}=`, end: "(&|$)", any: "[^&]" })}`,
        )
        .join("\n    ");
    case "source-ip":
      return `acl ${name} src ${condition.values.map(word).join(" ")}`;
  }
}

const ruleIs = (index: number) => (index === 0 ? "!{ var(txn.rule) -m found }" : `{ var(txn.rule) -m int eq ${index} }`);

/** The redirect's target as a log-format string: the request's own parts where the action leaves them (#{…}). */
function redirectLocation(action: Extract<ActionModel, { type: "redirect" }>, listener: ListenerModel): { base: string; query: string | undefined } {
  const fill = (value: string) =>
    value
      .replaceAll("#{protocol}", "http")
      .replaceAll("#{host}", "%[req.hdr(host),field(1,:)]")
      .replaceAll("#{port}", String(listener.port))
      .replaceAll("#{path}", "%[path]")
      .replaceAll("#{query}", "%[query]");
  const protocol = fill(action.protocol ?? "#{protocol}").toLowerCase();
  const host = fill(action.host ?? "#{host}");
  const port = fill(action.port ?? "#{port}");
  const path = action.path === undefined ? "%[path]" : fill(action.path);
  const defaultPort = (protocol === "http" && port === "80") || (protocol === "https" && port === "443");
  return { base: word(`${protocol}://${host}${defaultPort ? "" : `:${port}`}${path}`), query: action.query === undefined ? undefined : fill(action.query) };
}

function redirectLines(action: Extract<ActionModel, { type: "redirect" }>, when: string, listener: ListenerModel): string[] {
  const { base, query } = redirectLocation(action, listener);
  const code = action.statusCode === "HTTP_301" ? 301 : 302;
  // The request's own query is kept, and no "?" is written when it has none (as AWS does).
  if (query === undefined) {
    return [
      `http-request redirect location ${base}?%[query] code ${code} if ${when} { query -m len gt 0 }`,
      `http-request redirect location ${base} code ${code} if ${when}`,
    ];
  }
  return [`http-request redirect location ${base}${query === "" ? "" : word(`?${query}`)} code ${code} if ${when}`];
}

function actionLines(action: ActionModel, index: number, listener: ListenerModel, files: Map<string, string>): { request: string[]; backend: string[] } {
  const when = ruleIs(index);
  switch (action.type) {
    case "redirect":
      return { request: redirectLines(action, when, listener), backend: [] };
    case "fixed-response": {
      const file = bodyFile(action.messageBody ?? "");
      files.set(file, action.messageBody ?? "");
      const type = action.contentType ?? "text/plain";
      return { request: [`http-request return status ${action.statusCode} content-type ${word(type)} file @STATE@/${file} if ${when}`], backend: [] };
    }
    case "forward":
      return { request: [], backend: forwardLines(action, when, listener) };
  }
}

function forwardLines(action: Extract<ActionModel, { type: "forward" }>, when: string, listener: ListenerModel): string[] {
  const weighted = action.targetGroups.filter((entry) => entry.weight > 0);
  const lines: string[] = [];
  if (action.stickinessSeconds !== undefined && listener.protocol !== "TCP") {
    for (const entry of weighted)
      lines.push(`use_backend ${backendName(entry.targetGroupId)} if ${when} { req.cook(${GROUP_COOKIE}) -m str ${backendName(entry.targetGroupId)} }`);
  }
  if (weighted.length === 1) return [...lines, `use_backend ${backendName(weighted[0]!.targetGroupId)} if ${when}`];
  const total = weighted.reduce((sum, entry) => sum + entry.weight, 0);
  let cumulative = 0;
  weighted.forEach((entry, position) => {
    cumulative += entry.weight;
    const last = position === weighted.length - 1;
    const threshold = Math.round((cumulative / total) * PICK_RANGE);
    lines.push(`use_backend ${backendName(entry.targetGroupId)} if ${when}${last ? "" : ` { var(txn.pick) -m int lt ${threshold} }`}`);
  });
  return lines;
}

function stickyResponseLines(listener: ListenerModel): string[] {
  const actions: [number, ActionModel][] = [
    [0, listener.defaultAction],
    ...listener.rules.map((rule, position): [number, ActionModel] => [position + 1, rule.action]),
  ];
  return actions
    .filter(([, action]) => action.type === "forward" && action.stickinessSeconds !== undefined)
    .map(([index, action]) => {
      const seconds = (action as { stickinessSeconds: number }).stickinessSeconds;
      return `http-response add-header Set-Cookie ${GROUP_COOKIE}=%[be_name];Max-Age=${seconds};Path=/ if ${ruleIs(index)}`;
    });
}

function httpFrontend(listener: ListenerModel, files: Map<string, string>): string[] {
  const acls: string[] = [];
  const classify: string[] = [];
  const requests: string[] = [];
  const backends: string[] = [];
  listener.rules.forEach((rule: RuleModel, position) => {
    const index = position + 1;
    const names = rule.conditions.map((condition, at) => {
      const name = `r${index}c${at}`;
      acls.push(conditionAcl(name, condition));
      return name;
    });
    classify.push(`http-request set-var(txn.rule) int(${index}) if !{ var(txn.rule) -m found } ${names.join(" ")}`);
    const lines = actionLines(rule.action, index, listener, files);
    requests.push(...lines.request);
    backends.push(...lines.backend);
  });
  const fallback = actionLines(listener.defaultAction, 0, listener, files);
  const weighted = [listener.defaultAction, ...listener.rules.map((rule) => rule.action)].some(
    (action) => action.type === "forward" && action.targetGroups.filter((entry) => entry.weight > 0).length > 1,
  );
  return [
    "    mode http",
    "    option forwardfor",
    `    http-request set-header X-Forwarded-Proto ${listener.protocol === "HTTPS" ? "https" : "http"}`,
    `    http-request set-header X-Forwarded-Port ${listener.port}`,
    ...acls.map((line) => `    ${line}`),
    ...(weighted ? [`    http-request set-var(txn.pick) rand(${PICK_RANGE})`] : []),
    ...classify.map((line) => `    ${line}`),
    ...[...requests, ...fallback.request].map((line) => `    ${line}`),
    ...stickyResponseLines(listener).map((line) => `    ${line}`),
    ...[...backends, ...fallback.backend].map((line) => `    ${line}`),
  ];
}

/** An HTTPS listener's bundle, named by content like the response bodies (its file is written 0600 by the node). */
export const certificateFile = (pemBundle: string) => `responses/${createHash("sha256").update(pemBundle).digest("hex")}.pem`;

function frontend(listener: ListenerModel, files: Map<string, string>, stateDir: string): string {
  let bind = `    bind 0.0.0.0:${listener.port}`;
  if (listener.protocol === "HTTPS" && listener.tls) {
    const file = certificateFile(listener.tls.pemBundle);
    files.set(file, listener.tls.pemBundle);
    bind += ` ssl crt ${stateDir}/${file} ssl-min-ver ${listener.tls.minVersion} alpn h2,http/1.1`;
  }
  const head = [`frontend ls-${listener.id}`, bind];
  if (listener.protocol === "TCP") {
    const action = listener.defaultAction as Extract<ActionModel, { type: "forward" }>;
    return [...head, "    mode tcp", `    default_backend ${backendName(action.targetGroups[0]!.targetGroupId)}`].join("\n");
  }
  return [...head, ...httpFrontend(listener, files)].join("\n");
}

/** The per-server settings (the runtime API's `add server` takes the same, and no default-server). */
export function serverOptions(group: TargetGroupModel, target: TargetModel, cookieKey?: string): string[] {
  const health = group.healthCheck;
  const options = ["check", "inter", `${health.intervalSeconds}s`, "fall", String(health.unhealthyThreshold), "rise", String(health.healthyThreshold)];
  if (health.port !== "traffic-port") options.push("port", String(health.port));
  // TLS to the target (an HTTPS group) and for its checks (an HTTPS health check), the target's
  // certificate not verified, as an ALB does not verify its targets' certificates.
  // check-ssl is explicit: a server added through the runtime API checks in clear without it, even
  // with `ssl` (HAProxy 2.6), and refuses no-check-ssl (haproxy-node.ts leaves that out there).
  if (group.protocol === "HTTPS") options.push("ssl", "verify", "none", health.protocol === "HTTPS" ? "check-ssl" : "no-check-ssl");
  else if (health.protocol === "HTTPS") options.push("check-ssl", "verify", "none");
  if (group.slowStartSeconds > 0) options.push("slowstart", `${group.slowStartSeconds}s`);
  if (group.stickinessSeconds !== undefined) {
    if (cookieKey === undefined) throw new Error(`target group ${group.id} has stickiness: a cookie key is needed`);
    options.push("cookie", cookieValue(serverKey(group.id, target), cookieKey));
  }
  return options;
}

/** The runtime API's and the stats' name of a target's server: "backend/server". */
export const serverKey = (groupId: string, target: Pick<TargetModel, "ip" | "port">) => `${backendName(groupId)}/${serverName(target)}`;

export function serverLine(group: TargetGroupModel, target: TargetModel, startDisabled: ReadonlySet<string>, cookieKey?: string): string {
  const drain = target.draining ? ["weight", "0"] : [];
  const disabled = startDisabled.has(serverKey(group.id, target)) ? ["disabled"] : [];
  return `    server ${serverName(target)} ${word(`${target.ip}:${target.port}`)} ${[...serverOptions(group, target, cookieKey), ...drain, ...disabled].join(" ")}`;
}

/** Status codes as regex alternatives, a full decade as one ("20[0-9]"), so "200-499" stays short. */
export function statusAlternatives(codes: readonly number[]): string[] {
  const decades = new Map<number, number[]>();
  for (const code of codes) decades.set(Math.floor(code / 10), [...(decades.get(Math.floor(code / 10)) ?? []), code]);
  return [...decades].flatMap(([decade, members]) => (members.length === 10 ? [`${decade}[0-9]`] : members.map(String)));
}

function backend(group: TargetGroupModel, startDisabled: ReadonlySet<string>, cookieKey: string | undefined): string {
  const health = group.healthCheck;
  const lines = [`backend ${backendName(group.id)}`, `    mode ${group.protocol === "TCP" ? "tcp" : "http"}`];
  lines.push(`    balance ${group.algorithm === "round_robin" ? "roundrobin" : "leastconn"}`);
  lines.push(`    timeout check ${health.timeoutSeconds}s`);
  if (health.protocol !== "TCP") {
    lines.push(`    option httpchk GET ${word(health.path)}`);
    const codes = matcherCodes(health.matcher);
    lines.push(codes.length === 1 ? `    http-check expect status ${codes[0]}` : `    http-check expect rstatus '^(${statusAlternatives(codes).join("|")})$'`);
  }
  if (group.stickinessSeconds !== undefined && group.protocol !== "TCP") {
    lines.push(`    cookie ${TARGET_COOKIE} insert indirect nocache maxlife ${group.stickinessSeconds}s`);
  }
  lines.push(...group.targets.map((target) => serverLine(group, target, startDisabled, cookieKey)));
  return lines.join("\n");
}

/**
 * The whole config; `files` are written under the state dir before HAProxy reads it.
 * `startDisabled` ("backend/server" keys): new targets start in maintenance, so that no request
 * reaches one before its checks pass (haproxy-node.ts readies them with their health down).
 */
export function compileHaproxyConfig(model: LoadBalancerModel, paths: CompileSettings, startDisabled: ReadonlySet<string> = new Set()): CompiledConfig {
  if (!SAFE_PATH.test(paths.stateDir) || paths.stateDir.split("/").includes("..")) throw new Error(`unsafe state dir ${JSON.stringify(paths.stateDir)}`);
  if (!ID.test(model.id)) throw new Error(`unsafe load balancer id ${JSON.stringify(model.id)}`);
  const files = new Map<string, string>();
  const idle = model.idleTimeoutSeconds;
  const sections = [
    [
      "global",
      "    master-worker",
      // One thread per load balancer node. A host runs many nodes beside its tasks, each its own
      // process; HAProxy's default (a thread per CPU it may run on) made every node's threads
      // compete for the same cores, and on 2 cores one thread moved more traffic than two
      // (bench/RESULTS.md, issue 15). A node sized for more traffic will take more threads.
      "    nbthread 1",
      `    maxconn ${paths.maxConnections ?? MAX_CONNECTIONS}`,
      `    stats socket ${paths.stateDir}/${ADMIN_SOCKET} mode 600 level admin expose-fd listeners`,
      `    hard-stop-after ${HARD_STOP_AFTER_SECONDS}s`,
      `    server-state-file ${paths.stateDir}/${SERVER_STATE_FILE}`,
      ...(paths.workerUser ? [`    user ${account(paths.workerUser.user)}`, `    group ${account(paths.workerUser.group)}`] : []),
    ].join("\n"),
    [
      "defaults",
      "    mode http",
      "    load-server-state-from-file global",
      "    option idle-close-on-response",
      "    option redispatch",
      "    retries 1",
      `    timeout connect ${CONNECT_TIMEOUT_SECONDS}s`,
      `    timeout client ${idle}s`,
      `    timeout server ${idle}s`,
      `    timeout http-keep-alive ${idle}s`,
      `    timeout http-request ${Math.min(idle, 60)}s`,
      `    timeout tunnel ${idle}s`,
    ].join("\n"),
    ...model.listeners.map((listener) => frontend(listener, files, paths.stateDir)),
    ...model.targetGroups.map((group) => backend(group, startDisabled, paths.cookieKey)),
  ];
  const text = `# Berth load balancer ${model.id}: generated, do not edit.\n${sections.join("\n\n")}\n`.replaceAll("@STATE@", paths.stateDir);
  return { text, files };
}
