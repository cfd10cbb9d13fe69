// `berth server` options compiled once into a validated, frozen config (DESIGN.md rule 6).
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ConfigError } from "./config-error.js";
import { isPostgresUrl } from "../store/index.js";
import { AGENT_USAGE, agentParseOptions, compileAgentConfig } from "./agent-config.js";
import type { HostAgentConfig } from "./host-agent-assembly.js";
import type { ServerLimits } from "../api/gateway/server-limits.js";
import { compileServerLimits, SERVER_LIMITS_USAGE, serverLimitParseOptions } from "./server-limits-config.js";
import { DEFAULT_SERVICES_PER_CLUSTER } from "../core/ecs-service/service-request.js";

export interface ServerConfig {
  readonly listenHost: string;
  readonly listenPort: number;
  readonly dataDir: string;
  /**
   * The control plane's durable state: SQLite in <data-dir>/berth.db (one server), or a PostgreSQL
   * database that several replicas share (--store postgres://…).
   */
  readonly store: { readonly kind: "sqlite" } | { readonly kind: "postgres"; readonly url: string };
  /**
   * --store-key-file: the key that seals the store's secrets, the same on every replica (required
   * with a PostgreSQL store). Undefined: <data-dir>/master.key, generated on first start.
   */
  readonly storeKeyFile: string | undefined;
  /** --blob-dir: the registry's blobs and upload sessions (default <data-dir>/registry); replicas share one. */
  readonly blobDir: string;
  readonly region: string;
  readonly partition: string;
  /** Undefined: generated once and kept in the data dir. */
  readonly accountId: string | undefined;
  readonly insecureRegistries: readonly string[];
  readonly vpcCidr: string;
  readonly rootKey: { readonly accessKeyId: string; readonly secretAccessKey: string } | undefined;
  readonly stoppedTaskRetentionMs: number;
  /** --services-per-cluster: ECS's "Services per cluster" quota (ACTIVE and DRAINING services), 5,000 by default. */
  readonly servicesPerCluster: number;
  /** --public-host: how clients and agents reach this server's registry (undefined: derived from --listen). */
  readonly publicHost: { readonly host: string; readonly port: number | undefined } | undefined;
  /** Lifetime of the registry passwords GetAuthorizationToken hands out (ECR: 12 h). */
  readonly registryTokenTtlMs: number;
  /**
   * The listener's TLS: none (plain HTTP: loopback only, unless --insecure-http), a certificate
   * generated in the data dir (--tls), or the operator's (--tls-cert/--tls-key).
   */
  readonly tls: { readonly mode: "off" } | { readonly mode: "generated" } | { readonly mode: "files"; readonly certFile: string; readonly keyFile: string };
  /** The embedded agent (undefined with --no-agent: a control plane only, hosts join with `berth agent`). */
  readonly agent: HostAgentConfig | undefined;
  /** --uninstall: remove what the embedded agent put on the host, then exit. */
  readonly uninstall: boolean;
  /** The listener's timeouts, connection caps and request rates (server-limits-config.ts). */
  readonly limits: ServerLimits;
}

export const SERVER_USAGE = `usage: berth server [--listen HOST:PORT] [--data-dir DIR] [--region REGION] [--account-id 12DIGITS]
                    [--tls | --tls-cert FILE --tls-key FILE | --insecure-http]
                    [--insecure-registry HOST:PORT]... [--vpc-cidr CIDR] [--no-agent] [agent options]

  --listen             where the API listens (default 127.0.0.1:8470; port 0 picks a free one)
  --tls                serve HTTPS with a certificate generated on first start in <data-dir>/tls
                       (its CA in <data-dir>/ca.pem, for aws --ca-bundle)
  --tls-cert, --tls-key  serve HTTPS with this PEM certificate (chain) and key
  --insecure-http      allow plain HTTP on a non-loopback --listen (refused otherwise)
  --data-dir           durable state (default /var/lib/berth)
  --store              where the control plane's state lives: "sqlite" (the default, <data-dir>/berth.db,
                       one server) or postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE, which several
                       servers (replicas) share; the password may also come from PGPASSWORD
  --store-key-file     the key that seals the secrets in the store: 32 random bytes (or their base64),
                       mode 0600, the same file on every replica; required with a postgres:// store
                       (default with sqlite: <data-dir>/master.key, generated on first start)
  --blob-dir           the registry's blobs and uploads (default <data-dir>/registry); replicas of a
                       postgres:// store share one directory (NFS or similar)
  --region             the region Berth answers as (default us-east-1)
  --account-id         the 12-digit account id (default: generated once)
  --insecure-registry  a registry to reach over plain HTTP (repeatable; loopback always is)
  --vpc-cidr           the default VPC's CIDR (default 172.31.0.0/16)
  --public-host        HOST[:PORT] clients and agents reach the registry at, used in repository
                       URIs (default: the --listen address; with 0.0.0.0 or ::, this machine's
                       hostname when it resolves to a non-loopback address, else 127.0.0.1)
  --registry-token-ttl-seconds  lifetime of \`aws ecr get-login-password\` tokens (default 43200, 12 h)
  --services-per-cluster  the most services (ACTIVE or DRAINING) one cluster holds: ECS's quota
                       (default ${DEFAULT_SERVICES_PER_CLUSTER})
  --no-agent           run no tasks on this machine (hosts join with \`berth agent\`)
  --uninstall          with the server stopped: stop the embedded agent's tasks and remove every
                       namespace, veth, bridge and nftables table of Berth's, restore ip_forward
                       (the data dir stays)

${SERVER_LIMITS_USAGE}

The embedded agent (root; serves every default subnet unless --subnet is given):
${AGENT_USAGE}

BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY, when set, are the root access key.`;

export { ConfigError };

export function compileServerConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: "string", default: "127.0.0.1:8470" },
      "data-dir": { type: "string", default: "/var/lib/berth" },
      store: { type: "string", default: "sqlite" },
      "store-key-file": { type: "string" },
      "blob-dir": { type: "string" },
      region: { type: "string", default: "us-east-1" },
      "account-id": { type: "string" },
      "insecure-registry": { type: "string", multiple: true, default: [] },
      "vpc-cidr": { type: "string", default: "172.31.0.0/16" },
      "stopped-task-retention-seconds": { type: "string", default: "3600" },
      "public-host": { type: "string" },
      "registry-token-ttl-seconds": { type: "string", default: "43200" },
      "services-per-cluster": { type: "string", default: String(DEFAULT_SERVICES_PER_CLUSTER) },
      "no-agent": { type: "boolean", default: false },
      tls: { type: "boolean", default: false },
      "tls-cert": { type: "string" },
      "tls-key": { type: "string" },
      "insecure-http": { type: "boolean", default: false },
      uninstall: { type: "boolean", default: false },
      ...agentParseOptions,
      ...serverLimitParseOptions,
    },
    strict: true,
  });
  const listen = /^(.+):(\d{1,5})$/.exec(values.listen!);
  if (!listen || Number(listen[2]) > 65535) throw new ConfigError(`--listen must be HOST:PORT, not '${values.listen}'`);
  const region = values.region!;
  if (!/^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d$/.test(region)) throw new ConfigError(`--region '${region}' is not an AWS region name`);
  const accountId = values["account-id"];
  if (accountId !== undefined && !/^\d{12}$/.test(accountId)) throw new ConfigError("--account-id must be 12 digits");
  for (const registry of values["insecure-registry"] ?? []) {
    if (!/^[^\s/:]+:\d{1,5}$/.test(registry)) throw new ConfigError(`--insecure-registry must be HOST:PORT, not '${registry}'`);
  }
  const retention = Number(values["stopped-task-retention-seconds"]);
  if (!Number.isInteger(retention) || retention < 0) throw new ConfigError("--stopped-task-retention-seconds must be a whole number");
  const publicHost = values["public-host"] === undefined ? undefined : parsePublicHost(values["public-host"]);
  const tokenTtl = Number(values["registry-token-ttl-seconds"]);
  // ECR's tokens last 12 h; at least a minute so a login survives its own push.
  if (!Number.isInteger(tokenTtl) || tokenTtl < 60 || tokenTtl > 7 * 24 * 3600)
    throw new ConfigError("--registry-token-ttl-seconds must be a whole number from 60 to 604800");
  const tls = compileTls(values, listen[1]!, values["data-dir"]!);
  const store = compileStore(values.store!);
  const storeKeyFile = values["store-key-file"];
  if (store.kind === "postgres" && storeKeyFile === undefined) {
    throw new ConfigError(
      "a postgres:// --store needs --store-key-file FILE: the key that seals the secrets in the store, the same file on every replica " +
        "(make one with: head -c 32 /dev/urandom > store.key; chmod 600 store.key)",
    );
  }
  const keyId = env.BERTH_ACCESS_KEY_ID;
  const secret = env.BERTH_SECRET_ACCESS_KEY;
  if ((keyId === undefined) !== (secret === undefined)) throw new ConfigError("set both BERTH_ACCESS_KEY_ID and BERTH_SECRET_ACCESS_KEY, or neither");
  return Object.freeze({
    listenHost: listen[1]!,
    listenPort: Number(listen[2]),
    dataDir: values["data-dir"]!,
    store,
    storeKeyFile,
    blobDir: values["blob-dir"] ?? join(values["data-dir"]!, "registry"),
    region,
    partition: region.startsWith("cn-") ? "aws-cn" : region.includes("-gov-") ? "aws-us-gov" : "aws",
    accountId,
    insecureRegistries: Object.freeze([...(values["insecure-registry"] ?? [])]),
    vpcCidr: values["vpc-cidr"]!,
    rootKey: keyId !== undefined && secret !== undefined ? Object.freeze({ accessKeyId: keyId, secretAccessKey: secret }) : undefined,
    stoppedTaskRetentionMs: retention * 1000,
    servicesPerCluster: compileServicesPerCluster(values["services-per-cluster"]!),
    publicHost,
    registryTokenTtlMs: tokenTtl * 1000,
    tls,
    agent: values["no-agent"]
      ? undefined
      : compileAgentConfig(values, { dataDir: values["data-dir"]!, region, insecureRegistries: values["insecure-registry"] ?? [] }),
    uninstall: values.uninstall ?? false,
    limits: compileServerLimits(values),
  });
}

function compileServicesPerCluster(text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || value < 1 || value > 1_000_000) throw new ConfigError("--services-per-cluster must be a whole number from 1 to 1000000");
  return value;
}

function compileStore(text: string): ServerConfig["store"] {
  if (text === "sqlite") return Object.freeze({ kind: "sqlite" as const });
  if (!isPostgresUrl(text)) throw new ConfigError(`--store must be sqlite or a postgres:// URL, not '${redactedUrl(text)}'`);
  try {
    new URL(text);
  } catch {
    throw new ConfigError(`--store '${redactedUrl(text)}' is not a URL`);
  }
  return Object.freeze({ kind: "postgres" as const, url: text });
}

/**
 * A URL with its password (if any) replaced, for messages and logs: in the user info, which runs to
 * the last "@" before the path (a password may hold "@", as URLs and the pg driver read it), and in
 * a password or sslpassword query parameter (the pg driver takes either from the query).
 */
function redactedUrl(text: string): string {
  return text
    .replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i, (_match, scheme: string, userInfo: string) =>
      userInfo.includes(":") ? `${scheme}${userInfo.slice(0, userInfo.indexOf(":"))}:<redacted>@` : `${scheme}${userInfo}@`,
    )
    .replace(/([?&](?:ssl)?password=)[^&#]*/gi, "$1<redacted>");
}

/** Whether a --listen host is reachable from this machine only. */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, "").toLowerCase();
  return bare === "localhost" || bare === "::1" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(bare);
}

/**
 * Plain HTTP would carry SigV4-signed requests, registry passwords, join tokens and host secrets in
 * clear: fine on loopback (development, the quick start), refused anywhere else unless forced.
 */
function compileTls(
  values: { tls?: boolean; "tls-cert"?: string; "tls-key"?: string; "insecure-http"?: boolean },
  listenHost: string,
  dataDir: string,
): ServerConfig["tls"] {
  const certFile = values["tls-cert"];
  const keyFile = values["tls-key"];
  if ((certFile === undefined) !== (keyFile === undefined)) throw new ConfigError("give both --tls-cert and --tls-key, or neither");
  if (certFile !== undefined && values.tls) throw new ConfigError("--tls generates a certificate; with --tls-cert/--tls-key leave it out");
  const tls =
    certFile !== undefined && keyFile !== undefined
      ? { mode: "files" as const, certFile, keyFile }
      : values.tls
        ? { mode: "generated" as const }
        : { mode: "off" as const };
  if (tls.mode !== "off" && values["insecure-http"]) throw new ConfigError("--insecure-http contradicts --tls/--tls-cert");
  if (tls.mode === "off" && !values["insecure-http"] && !isLoopbackHost(listenHost)) {
    throw new ConfigError(
      `refusing plain HTTP on ${listenHost}, a non-loopback address: API signatures, registry passwords, join tokens and host secrets would cross the network in clear. ` +
        `Enable TLS with --tls (a certificate generated in ${dataDir}/tls; clients trust ${dataDir}/ca.pem, e.g. aws --ca-bundle ${dataDir}/ca.pem) ` +
        "or with --tls-cert FILE --tls-key FILE; or pass --insecure-http to serve plain HTTP anyway",
    );
  }
  return Object.freeze(tls);
}

/** HOST, HOST:PORT, [V6] or [V6]:PORT; the host must be what an image reference can name. */
function parsePublicHost(text: string): { host: string; port: number | undefined } {
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/.exec(text);
  const port = match?.[2] === undefined ? undefined : Number(match[2]);
  if (!match || (port !== undefined && (port < 1 || port > 65535))) throw new ConfigError(`--public-host must be HOST or HOST:PORT, not '${text}'`);
  return { host: match[1]!.toLowerCase(), port };
}

/** For logs: the config with the secret replaced. */
export function redacted(config: ServerConfig): object {
  return {
    ...config,
    rootKey: config.rootKey ? { accessKeyId: config.rootKey.accessKeyId, secretAccessKey: "<redacted>" } : undefined,
    store: config.store.kind === "postgres" ? { kind: "postgres", url: redactedUrl(config.store.url) } : config.store,
  };
}
