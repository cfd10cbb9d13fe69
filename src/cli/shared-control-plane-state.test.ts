// The control-plane values every replica of a store shares: the store key (file rules, the check
// value), the account id, the registry's token key, the root key and the bootstrap join token. On
// SQLite an existing data dir's files are the initial values (an upgraded server keeps them); on
// PostgreSQL two replicas with data dirs of their own start at once and agree on every value.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, test } from "node:test";
import { freshPostgresDatabase, stopOwnPostgresCluster } from "../../test/support/postgres.js";
import { formatJoinToken, parseJoinToken } from "../protocol/index.js";
import type { Store } from "../store/index.js";
import { openStore } from "../store/index.js";
import { DEFAULT_JOIN_TOKEN_TTL_MS, ensureSharedBootstrapJoinToken, tokenSha256 } from "./bootstrap-join-token.js";
import { ConfigError } from "./config-error.js";
import { ensureSharedRootKey, readBerthProfile } from "./root-credentials.js";
import type { StoreKey } from "./shared-control-plane-state.js";
import { loadSharedState, storeKeyFor } from "./shared-control-plane-state.js";
import { loadStoreKeyFile, SecretBox } from "./store-key.js";

after(() => stopOwnPostgresCluster());

const dirs: string[] = [];
after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));
function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "berth-shared-state-"));
  dirs.push(dir);
  return dir;
}

function keyFile(contents: Buffer | string, mode = 0o600): string {
  const path = join(tempDir(), "store.key");
  writeFileSync(path, contents, { mode });
  chmodSync(path, mode);
  return path;
}

/** Everything one `berth server` start does with the shared values, in the order it does it. */
async function startReplica(
  store: Store,
  options: { dataDir: string; key: StoreKey; migrate: boolean; env?: { accessKeyId: string; secretAccessKey: string }; accountId?: string; now?: number },
) {
  const now = options.now ?? 1_000_000;
  const common = { state: store.controlPlaneState, box: options.key.box, keySource: options.key.source, migrateFromDataDir: options.migrate, now };
  const shared = await loadSharedState({
    state: store.controlPlaneState,
    key: options.key,
    dataDir: options.dataDir,
    migrateFromDataDir: options.migrate,
    accountId: options.accountId,
    now,
  });
  const root = await ensureSharedRootKey({
    ...common,
    dataDir: options.dataDir,
    accountId: shared.accountId,
    partition: "aws",
    accessKeys: store.accessKeys,
    fromEnvironment: options.env,
  });
  const bootstrap = await ensureSharedBootstrapJoinToken({ ...common, dataDir: options.dataDir, joinTokens: store.joinTokens, caSha256: undefined });
  return { ...shared, root, bootstrap, bootstrapSecret: parseJoinToken(readFileSync(bootstrap.file, "utf8")).secret };
}

test("a store key file is 32 random bytes or their base64, private to its owner; anything else is refused saying how to make one", () => {
  const key = randomBytes(32);
  assert.deepEqual(loadStoreKeyFile(keyFile(key)), key);
  assert.deepEqual(loadStoreKeyFile(keyFile(`${key.toString("base64")}\n`)), key, "base64 with a newline");
  assert.deepEqual(loadStoreKeyFile(keyFile(key.toString("base64url"))), key, "base64url");
  assert.deepEqual(loadStoreKeyFile(keyFile(key, 0o400)), key, "read-only for its owner is fine");
  const refusals: [string, RegExp][] = [
    [keyFile(randomBytes(16)), /holds 16 bytes, too short/],
    [keyFile(randomBytes(16).toString("base64")), /holds 16 bytes of base64, too short/],
    [keyFile("correct horse battery staple 123"), /holds 32 bytes of text, a password, not random bytes/],
    [keyFile(randomBytes(48)), /holds 48 bytes, not a key/],
    [keyFile(""), /holds 0 bytes, too short/],
    [keyFile(key, 0o640), /may be read by group or others \(mode 0640\).*chmod 600/],
    [keyFile(key, 0o604), /may be read by group or others \(mode 0604\)/],
    [join(tempDir(), "absent"), /ENOENT/],
    [tempDir(), /not a regular file/],
  ];
  for (const [path, message] of refusals) {
    assert.throws(
      () => loadStoreKeyFile(path),
      (error: unknown) =>
        error instanceof ConfigError && message.test(error.message) && (/head -c 32 \/dev\/urandom/.test(error.message) || /chmod 600/.test(error.message)),
      path,
    );
  }
});

test("a SQLite store upgraded from a data dir keeps its account id, registry key, root key and bootstrap token", async () => {
  const dataDir = tempDir();
  // A data dir as a server before this change left it.
  const masterKey = randomBytes(32);
  writeFileSync(join(dataDir, "master.key"), masterKey, { mode: 0o600 });
  writeFileSync(join(dataDir, "account-id"), "246813579024\n", { mode: 0o600 });
  const tokenKey = randomBytes(32);
  mkdirSync(join(dataDir, "registry"));
  writeFileSync(join(dataDir, "registry", "token-key"), tokenKey.toString("base64"), { mode: 0o600 });
  const rootKey = { accessKeyId: "AKIAUPGRADEDROOTKEY1", secretAccessKey: "s".repeat(40) };
  const credentials = `[berth]\naws_access_key_id = ${rootKey.accessKeyId}\naws_secret_access_key = ${rootKey.secretAccessKey}\n`;
  writeFileSync(join(dataDir, "credentials"), credentials, { mode: 0o600 });
  const agentSecret = "ab".repeat(24);
  writeFileSync(join(dataDir, "agent-token"), `${formatJoinToken(agentSecret, undefined)}\n`, { mode: 0o600 });
  const store = await openStore({ path: join(dataDir, "berth.db") });
  try {
    const oldBox = SecretBox.withKey(masterKey);
    await store.accessKeys.put({
      ...rootKey,
      secretCiphertext: oldBox.seal(rootKey.secretAccessKey),
      accountId: "246813579024",
      principalArn: "arn",
      createdAt: 1,
    });
    await store.joinTokens.create({ tokenSha256: tokenSha256(agentSecret), createdAt: 1, expiresAt: 2_000_000, description: "bootstrap" });

    const key = storeKeyFor({ storeKeyFile: undefined, dataDir });
    assert.equal(key.source, join(dataDir, "master.key"));
    const first = await startReplica(store, { dataDir, key, migrate: true });
    assert.equal(first.accountId, "246813579024");
    assert.deepEqual(first.registryTokenKey, tokenKey);
    assert.deepEqual(first.root, {
      accessKeyId: rootKey.accessKeyId,
      credentialsFile: join(dataDir, "credentials"),
      readopted: false,
      replacedFileKey: undefined,
    });
    assert.equal(readFileSync(join(dataDir, "credentials"), "utf8"), credentials, "the credentials file is left as it was");
    assert.equal(first.bootstrapSecret, agentSecret);
    assert.equal(first.bootstrap.renewed, false);
    assert.equal(await store.accessKeys.count(), 1);

    // The files are initial values only: changed afterwards, they change nothing.
    writeFileSync(join(dataDir, "account-id"), "999999999999\n");
    writeFileSync(join(dataDir, "registry", "token-key"), randomBytes(32).toString("base64"));
    const again = await startReplica(store, { dataDir, key, migrate: true });
    assert.equal(again.accountId, "246813579024");
    assert.deepEqual(again.registryTokenKey, tokenKey);
    assert.equal(again.bootstrapSecret, agentSecret);

    await assert.rejects(
      startReplica(store, { dataDir, key, migrate: true, accountId: "111111111111" }),
      /--account-id 111111111111 contradicts the store, which is account 246813579024/,
    );
  } finally {
    await store.close();
  }
});

test("an upgraded store opened with another key than the one its secrets were sealed with is refused at start", async () => {
  const dataDir = tempDir();
  const store = await openStore({ path: join(dataDir, "berth.db") });
  try {
    const sealedUnder = SecretBox.withKey(randomBytes(32));
    const rootKey = { accessKeyId: "AKIAWRONGKEYTEST0001", secretAccessKey: "w".repeat(40) };
    writeFileSync(join(dataDir, "credentials"), `[berth]\naws_access_key_id = ${rootKey.accessKeyId}\naws_secret_access_key = ${rootKey.secretAccessKey}\n`);
    await store.accessKeys.put({ ...rootKey, secretCiphertext: sealedUnder.seal(rootKey.secretAccessKey), accountId: "1", principalArn: "arn", createdAt: 1 });
    const other = keyFile(randomBytes(32));
    await assert.rejects(
      startReplica(store, { dataDir, key: storeKeyFor({ storeKeyFile: other, dataDir }), migrate: true }),
      (error: unknown) => error instanceof ConfigError && error.message.includes(`sealed with another key than ${other}`),
    );
  } finally {
    await store.close();
  }
});

test("on SQLite the bootstrap token is renewed once expired or revoked; a store that lost it takes the data dir's token again", async () => {
  const dataDir = tempDir();
  let store = await openStore({ path: join(dataDir, "berth.db") });
  try {
    const key = storeKeyFor({ storeKeyFile: undefined, dataDir });
    const first = await startReplica(store, { dataDir, key, migrate: true, now: 0 });
    assert.equal(first.bootstrap.expiresAt, DEFAULT_JOIN_TOKEN_TTL_MS);
    const expired = await startReplica(store, { dataDir, key, migrate: true, now: DEFAULT_JOIN_TOKEN_TTL_MS + 1 });
    assert.equal(expired.bootstrap.renewed, true);
    assert.notEqual(expired.bootstrapSecret, first.bootstrapSecret);
    const [row] = (await store.joinTokens.list()).filter((token) => token.tokenSha256 === tokenSha256(expired.bootstrapSecret));
    await store.joinTokens.revoke(row!.id, DEFAULT_JOIN_TOKEN_TTL_MS + 2);
    const revoked = await startReplica(store, { dataDir, key, migrate: true, now: DEFAULT_JOIN_TOKEN_TTL_MS + 3 });
    assert.equal(revoked.bootstrap.renewed, true);
    assert.notEqual(revoked.bootstrapSecret, expired.bootstrapSecret);

    // The database removed, the data dir kept: its token and its root key are the store's again.
    await store.close();
    for (const file of ["berth.db", "berth.db-wal", "berth.db-shm"]) rmSync(join(dataDir, file), { force: true });
    store = await openStore({ path: join(dataDir, "berth.db") });
    const fresh = await startReplica(store, { dataDir, key, migrate: true, now: DEFAULT_JOIN_TOKEN_TTL_MS + 4 });
    assert.equal(fresh.bootstrapSecret, revoked.bootstrapSecret);
    assert.equal(fresh.bootstrap.renewed, false);
    assert.equal(await store.joinTokens.status(tokenSha256(fresh.bootstrapSecret), DEFAULT_JOIN_TOKEN_TTL_MS + 4), "valid");
    assert.equal(fresh.root.accessKeyId, first.root.accessKeyId);
    assert.equal(fresh.root.readopted, true);
  } finally {
    await store.close();
  }
});

test("on postgres, two replicas starting at once agree on the account, the keys, the root key and the bootstrap token", async () => {
  const database = await freshPostgresDatabase();
  const keyPath = keyFile(randomBytes(32).toString("base64"));
  const [a, b] = await Promise.all([openStore({ url: database.url, maxConnections: 4 }), openStore({ url: database.url, maxConnections: 4 })]);
  try {
    const [dirA, dirB] = [tempDir(), tempDir()];
    const key = () => storeKeyFor({ storeKeyFile: keyPath, dataDir: "/nonexistent" });
    const [ra, rb] = await Promise.all([
      startReplica(a, { dataDir: dirA, key: key(), migrate: false }),
      startReplica(b, { dataDir: dirB, key: key(), migrate: false }),
    ]);
    assert.match(ra.accountId, /^\d{12}$/);
    assert.equal(rb.accountId, ra.accountId);
    assert.deepEqual(rb.registryTokenKey, ra.registryTokenKey);
    assert.equal(rb.root.accessKeyId, ra.root.accessKeyId, "one root key");
    assert.equal(await a.accessKeys.count(), 1, "the second replica adopted the first one's key and made none");
    const credentialsA = readFileSync(join(dirA, "credentials"), "utf8");
    assert.equal(readFileSync(join(dirB, "credentials"), "utf8"), credentialsA, "each replica wrote the same key to its credentials file");
    assert.equal(readBerthProfile(credentialsA)?.accessKeyId, ra.root.accessKeyId);
    assert.equal(rb.bootstrapSecret, ra.bootstrapSecret);
    assert.equal((await a.joinTokens.list()).length, 1);

    // A third replica with the root key in its environment keeps that key working beside the first.
    const env = { accessKeyId: "AKIAENVIRONMENTKEY01", secretAccessKey: "e".repeat(40) };
    const rc = await startReplica(a, { dataDir: tempDir(), key: key(), migrate: false, env });
    assert.equal(rc.root.accessKeyId, env.accessKeyId);
    assert.equal(await a.accessKeys.count(), 2);

    // Both renew an expired bootstrap token at once: one new token, on both.
    const later = 1_000_000 + DEFAULT_JOIN_TOKEN_TTL_MS + 1;
    const [renewedA, renewedB] = await Promise.all([
      startReplica(a, { dataDir: dirA, key: key(), migrate: false, now: later }),
      startReplica(b, { dataDir: dirB, key: key(), migrate: false, now: later }),
    ]);
    assert.notEqual(renewedA.bootstrapSecret, ra.bootstrapSecret);
    assert.equal(renewedB.bootstrapSecret, renewedA.bootstrapSecret);
    assert.equal([renewedA.bootstrap.renewed, renewedB.bootstrap.renewed].filter(Boolean).length, 1);
    assert.equal(await a.joinTokens.status(tokenSha256(renewedA.bootstrapSecret), later), "valid");

    // A replica with another key file stops at start, whatever its data dir holds.
    const otherKey = storeKeyFor({ storeKeyFile: keyFile(randomBytes(32)), dataDir: "/nonexistent" });
    await assert.rejects(
      startReplica(b, { dataDir: tempDir(), key: otherKey, migrate: false }),
      /the store's secrets are sealed with another key than .*store\.key/,
    );
  } finally {
    await a.close();
    await b.close();
    await database.drop();
  }
});

test("on postgres, a replica without the root key in its environment adopts the one a replica with it stored", async () => {
  const database = await freshPostgresDatabase();
  const keyPath = keyFile(randomBytes(32));
  const store = await openStore({ url: database.url, maxConnections: 4 });
  try {
    const key = storeKeyFor({ storeKeyFile: keyPath, dataDir: "/nonexistent" });
    const env = { accessKeyId: "AKIAFIRSTREPLICAKEY1", secretAccessKey: "f".repeat(40) };
    await startReplica(store, { dataDir: tempDir(), key, migrate: false, env });
    const dataDir = tempDir();
    const second = await startReplica(store, { dataDir, key, migrate: false });
    assert.equal(second.root.accessKeyId, env.accessKeyId);
    assert.deepEqual(readBerthProfile(readFileSync(join(dataDir, "credentials"), "utf8")), env);
    assert.equal(await store.accessKeys.count(), 1);
  } finally {
    await store.close();
    await database.drop();
  }
});
