// `berth server`'s listener limits (src/api/gateway/server-limits.ts) as flags: parse options and
// their compilation into a validated ServerLimits, kept apart from server-config.ts so the limits'
// flags, defaults and checks read in one place.
import { DEFAULT_SERVER_LIMITS } from "../api/gateway/server-limits.js";
import type { ServerLimits } from "../api/gateway/server-limits.js";
import { ConfigError } from "./config-error.js";

const defaults = DEFAULT_SERVER_LIMITS;

export const serverLimitParseOptions = {
  "headers-timeout-seconds": { type: "string", default: String(defaults.headersTimeoutMs / 1000) },
  "request-timeout-seconds": { type: "string", default: String(defaults.requestTimeoutMs / 1000) },
  "keep-alive-timeout-seconds": { type: "string", default: String(defaults.keepAliveTimeoutMs / 1000) },
  "max-connections": { type: "string", default: String(defaults.maxConnections) },
  "max-connections-per-address": { type: "string", default: String(defaults.maxConnectionsPerAddress) },
  "requests-per-second-per-key": { type: "string", default: String(defaults.throttle.perKeyRatePerSecond) },
  "auth-failures-per-second-per-address": { type: "string", default: String(defaults.throttle.authFailuresPerAddressPerSecond) },
} as const;

export const SERVER_LIMITS_USAGE = `Listener limits (defaults in brackets):
  --headers-timeout-seconds N    the request head must arrive within N s [${defaults.headersTimeoutMs / 1000}]
  --request-timeout-seconds N    the whole request, body included [${defaults.requestTimeoutMs / 1000}]
  --keep-alive-timeout-seconds N idle keep-alive connections close after N s [${defaults.keepAliveTimeoutMs / 1000}]
  --max-connections N            open connections in all [${defaults.maxConnections}]
  --max-connections-per-address N  open connections from one address [${defaults.maxConnectionsPerAddress}]
  --requests-per-second-per-key N  authenticated requests per access key, burst 2N; 0 is no limit [${defaults.throttle.perKeyRatePerSecond}]
  --auth-failures-per-second-per-address N  failed authentications per address, burst 10N, before
                                 the address is refused (ThrottlingException); 0 is no limit [${defaults.throttle.authFailuresPerAddressPerSecond}]`;

type LimitValues = { readonly [K in keyof typeof serverLimitParseOptions]?: string };

function number(values: LimitValues, name: keyof typeof serverLimitParseOptions, min: number, max: number): number {
  const text = values[name] ?? serverLimitParseOptions[name].default;
  const value = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || value < min || value > max) throw new ConfigError(`--${name} must be a number from ${min} to ${max}, not '${text}'`);
  return value;
}

export function compileServerLimits(values: LimitValues): ServerLimits {
  const headersTimeoutMs = number(values, "headers-timeout-seconds", 0.5, 3600) * 1000;
  const requestTimeoutMs = number(values, "request-timeout-seconds", 1, 86_400) * 1000;
  if (requestTimeoutMs < headersTimeoutMs) throw new ConfigError("--request-timeout-seconds must be at least --headers-timeout-seconds");
  const perKey = number(values, "requests-per-second-per-key", 0, 1e6);
  const failures = number(values, "auth-failures-per-second-per-address", 0, 1e6);
  return Object.freeze({
    headersTimeoutMs,
    requestTimeoutMs,
    keepAliveTimeoutMs: number(values, "keep-alive-timeout-seconds", 1, 3600) * 1000,
    maxConnections: Math.floor(number(values, "max-connections", 1, 1e6)),
    maxConnectionsPerAddress: Math.floor(number(values, "max-connections-per-address", 1, 1e6)),
    throttle: Object.freeze({
      perKeyRatePerSecond: perKey,
      perKeyBurst: Math.max(1, 2 * perKey),
      authFailuresPerAddressPerSecond: failures,
      authFailuresPerAddressBurst: Math.max(1, 10 * failures),
    }),
  });
}
