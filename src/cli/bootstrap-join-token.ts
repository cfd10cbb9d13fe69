// The server's bootstrap join token, <data-dir>/agent-token: a join token like those of
// `berth join-token create`, recorded in the same table so it expires (24 h after it was made),
// shows in `berth join-token list` and can be revoked. A server start that finds it expired or
// revoked writes a new one, so the file is never a dead credential for long. When the listener
// speaks TLS with a private CA, the file carries the CA's SHA-256 pin (`<secret>.sha256:<hex>`) and
// so is the one thing a new agent needs; <data-dir>/agent-ca-sha256 keeps the pin for
// `berth join-token create` to append to the tokens it prints.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatJoinToken, parseJoinToken } from "../protocol/index.js";
import type { JoinTokensRepository } from "../store/index.js";

export const DEFAULT_JOIN_TOKEN_TTL_MS = 24 * 3600_000;
export const BOOTSTRAP_DESCRIPTION = "bootstrap (<data-dir>/agent-token)";

export const tokenSha256 = (secret: string) => createHash("sha256").update(secret).digest("hex");
// Hex, not base64url: a token starting with "-" reads as an option on the command line
// (`berth agent --token -x…` is refused as ambiguous by the argument parser).
export const newJoinTokenSecret = () => randomBytes(24).toString("hex");

/** The CA pin `berth join-token create` appends, as the running (or last) server wrote it. */
export function readAgentCaPin(dataDir: string): string | undefined {
  const path = join(dataDir, "agent-ca-sha256");
  return existsSync(path) ? readFileSync(path, "utf8").trim() || undefined : undefined;
}

function writePrivate(path: string, text: string): void {
  writeFileSync(`${path}.new`, text, { mode: 0o600 });
  renameSync(`${path}.new`, path);
}

export async function ensureBootstrapJoinToken(options: {
  dataDir: string;
  joinTokens: JoinTokensRepository;
  caSha256: string | undefined;
  now: number;
}): Promise<{ file: string; expiresAt: number; renewed: boolean }> {
  const { dataDir, joinTokens, now } = options;
  const file = join(dataDir, "agent-token");
  let secret: string | undefined;
  if (existsSync(file)) {
    try {
      secret = parseJoinToken(readFileSync(file, "utf8")).secret;
    } catch {
      secret = undefined; // unreadable: replaced below like an expired one
    }
  }
  let renewed = false;
  const status = secret === undefined ? "unknown" : await joinTokens.status(tokenSha256(secret), now);
  if (secret !== undefined && status === "unknown") {
    // A file from before tokens expired: it gets the lifetime of a new one, from now.
    await joinTokens.create({
      tokenSha256: tokenSha256(secret),
      createdAt: now,
      expiresAt: now + DEFAULT_JOIN_TOKEN_TTL_MS,
      description: BOOTSTRAP_DESCRIPTION,
    });
  } else if (secret === undefined || status !== "valid") {
    secret = newJoinTokenSecret();
    await joinTokens.create({
      tokenSha256: tokenSha256(secret),
      createdAt: now,
      expiresAt: now + DEFAULT_JOIN_TOKEN_TTL_MS,
      description: BOOTSTRAP_DESCRIPTION,
    });
    renewed = true;
  }
  const text = `${formatJoinToken(secret, options.caSha256)}\n`;
  if (!existsSync(file) || readFileSync(file, "utf8") !== text) writePrivate(file, text);
  const pinFile = join(dataDir, "agent-ca-sha256");
  if (options.caSha256) writePrivate(pinFile, `${options.caSha256}\n`);
  else rmSync(pinFile, { force: true });
  const stored = (await joinTokens.list()).find((token) => token.tokenSha256 === tokenSha256(secret));
  return { file, expiresAt: stored?.expiresAt ?? now + DEFAULT_JOIN_TOKEN_TTL_MS, renewed };
}
