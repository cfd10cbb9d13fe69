// The server's bootstrap join token, <data-dir>/agent-token: a join token like those of
// `berth join-token create`, recorded in the same table so it expires (24 h after it was made),
// shows in `berth join-token list` and can be revoked. Its secret lives in the store, sealed under
// the store key (control-plane value "bootstrap-join-token"), so every replica of a store hands
// out the same token: the first replica makes it; a start that finds it expired or revoked makes a
// new one by compare-and-set, so two replicas renewing at once agree on one. Each replica writes it
// to its own <data-dir>/agent-token. When the listener speaks TLS with a private CA, the file
// carries the CA's SHA-256 pin (`<secret>.sha256:<hex>`) and so is the one thing a new agent needs;
// <data-dir>/agent-ca-sha256 keeps the pin for `berth join-token create` to append to the tokens it
// prints.
import { createHash, randomBytes } from "node:crypto";
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatJoinToken, parseJoinToken } from "../protocol/index.js";
import type { ControlPlaneStateRepository, JoinTokensRepository } from "../store/index.js";
import type { SecretBox } from "./store-key.js";
import { wrongStoreKey } from "./store-key.js";

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

export interface SharedBootstrapOptions {
  readonly dataDir: string;
  readonly joinTokens: JoinTokensRepository;
  readonly state: ControlPlaneStateRepository;
  readonly box: SecretBox;
  /** Where the store key came from, for the message when it opens nothing. */
  readonly keySource: string;
  /** A SQLite store: <data-dir>/agent-token is the token's initial value (servers from before the store held it). */
  readonly migrateFromDataDir: boolean;
  readonly caSha256: string | undefined;
  readonly now: number;
}

export async function ensureSharedBootstrapJoinToken(options: SharedBootstrapOptions): Promise<{ file: string; expiresAt: number; renewed: boolean }> {
  const { dataDir, joinTokens, now } = options;
  const file = join(dataDir, "agent-token");
  let sealed = await options.state.get("bootstrap-join-token");
  if (sealed === undefined) {
    const initial = (options.migrateFromDataDir ? secretInFile(file) : undefined) ?? newJoinTokenSecret();
    sealed = (await options.state.createOnce("bootstrap-join-token", options.box.seal(initial), now)).value;
  }
  let secret = unsealSecret(options, sealed);
  let renewed = false;
  const status = await joinTokens.status(tokenSha256(secret), now);
  if (status === "expired" || status === "revoked") {
    const next = newJoinTokenSecret();
    renewed = await options.state.replace("bootstrap-join-token", sealed, options.box.seal(next), now);
    // The loser of two replicas renewing at once takes the winner's token.
    secret = renewed ? next : unsealSecret(options, (await options.state.get("bootstrap-join-token"))!);
  }
  // A token new to the table (made just now, or a file from before tokens expired) gets 24 h from now.
  if ((await joinTokens.status(tokenSha256(secret), now)) === "unknown") await recordBootstrapToken(joinTokens, secret, now);
  const text = `${formatJoinToken(secret, options.caSha256)}\n`;
  if (!existsSync(file) || readFileSync(file, "utf8") !== text) writePrivate(file, text);
  const pinFile = join(dataDir, "agent-ca-sha256");
  if (options.caSha256) writePrivate(pinFile, `${options.caSha256}\n`);
  else rmSync(pinFile, { force: true });
  const stored = (await joinTokens.list()).find((token) => token.tokenSha256 === tokenSha256(secret));
  return { file, expiresAt: stored?.expiresAt ?? now + DEFAULT_JOIN_TOKEN_TTL_MS, renewed };
}

/** The secret of a token file; undefined when there is none or it does not parse. */
function secretInFile(file: string): string | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return parseJoinToken(readFileSync(file, "utf8")).secret;
  } catch {
    return undefined;
  }
}

function unsealSecret(options: SharedBootstrapOptions, sealed: string): string {
  const secret = options.box.tryUnseal(sealed);
  if (secret === undefined) throw wrongStoreKey(options.keySource);
  return secret;
}

/** Records the token; another replica recording the same one at the same moment is no error. */
async function recordBootstrapToken(joinTokens: JoinTokensRepository, secret: string, now: number): Promise<void> {
  const token = { tokenSha256: tokenSha256(secret), createdAt: now, expiresAt: now + DEFAULT_JOIN_TOKEN_TTL_MS, description: BOOTSTRAP_DESCRIPTION };
  try {
    await joinTokens.create(token);
  } catch (error) {
    if ((await joinTokens.status(token.tokenSha256, now)) === "unknown") throw error;
  }
}
