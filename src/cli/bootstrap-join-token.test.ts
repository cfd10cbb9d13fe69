import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseJoinToken } from "../protocol/index.js";
import { openStore } from "../store/index.js";
import { DEFAULT_JOIN_TOKEN_TTL_MS, ensureSharedBootstrapJoinToken, tokenSha256 } from "./bootstrap-join-token.js";
import { SecretBox } from "./store-key.js";

const pin = "cd".repeat(32);

test("the bootstrap token expires in 24 h, carries the CA pin over TLS, and is replaced once expired or revoked", async () => {
  const dataDir = mkdtempSync(join(tmpdir(), "berth-bootstrap-"));
  const store = await openStore({ path: join(dataDir, "berth.db") });
  try {
    const now = 1_000_000;
    const box = SecretBox.open(dataDir);
    const shared = { dataDir, joinTokens: store.joinTokens, state: store.controlPlaneState, box, keySource: "master.key", migrateFromDataDir: true };
    const first = await ensureSharedBootstrapJoinToken({ ...shared, caSha256: pin, now });
    const token = parseJoinToken(readFileSync(first.file, "utf8"));
    assert.equal(token.caSha256, pin);
    assert.equal(first.expiresAt, now + DEFAULT_JOIN_TOKEN_TTL_MS);
    assert.equal(statSync(first.file).mode & 0o777, 0o600);
    assert.equal(await store.joinTokens.status(tokenSha256(token.secret), now), "valid");
    assert.equal(readFileSync(join(dataDir, "agent-ca-sha256"), "utf8").trim(), pin);

    // A later start without TLS: same secret, no pin, no pin file.
    await ensureSharedBootstrapJoinToken({ ...shared, caSha256: undefined, now: now + 1000 });
    assert.deepEqual(parseJoinToken(readFileSync(first.file, "utf8")), { secret: token.secret, caSha256: undefined });
    assert.ok(!existsSync(join(dataDir, "agent-ca-sha256")));

    // A start after expiry writes a new token; the old one stays expired.
    const later = now + DEFAULT_JOIN_TOKEN_TTL_MS + 1;
    const renewed = await ensureSharedBootstrapJoinToken({ ...shared, caSha256: pin, now: later });
    assert.ok(renewed.renewed);
    const next = parseJoinToken(readFileSync(first.file, "utf8"));
    assert.notEqual(next.secret, token.secret);
    assert.equal(await store.joinTokens.status(tokenSha256(token.secret), later), "expired");

    // Revoked: replaced at the next start too.
    const [listed] = (await store.joinTokens.list()).filter((row) => row.tokenSha256 === tokenSha256(next.secret));
    await store.joinTokens.revoke(listed!.id, later);
    assert.ok((await ensureSharedBootstrapJoinToken({ ...shared, caSha256: pin, now: later + 1 })).renewed);

    // A file from before tokens expired (the first start of a server whose store did not hold the
    // token yet) gets 24 h from now, not forever.
    const legacyDir = mkdtempSync(join(tmpdir(), "berth-bootstrap-"));
    const legacyStore = await openStore({ path: join(legacyDir, "berth.db") });
    try {
      writeFileSync(join(legacyDir, "agent-token"), "legacytokenfromanolderberth\n");
      const adopted = await ensureSharedBootstrapJoinToken({
        ...shared,
        dataDir: legacyDir,
        joinTokens: legacyStore.joinTokens,
        state: legacyStore.controlPlaneState,
        caSha256: undefined,
        now: later + 2,
      });
      assert.ok(!adopted.renewed);
      assert.equal(adopted.expiresAt, later + 2 + DEFAULT_JOIN_TOKEN_TTL_MS);
      assert.equal(parseJoinToken(readFileSync(adopted.file, "utf8")).secret, "legacytokenfromanolderberth");
      assert.equal(await legacyStore.joinTokens.status(tokenSha256("legacytokenfromanolderberth"), later + 2), "valid");
    } finally {
      await legacyStore.close();
      rmSync(legacyDir, { recursive: true, force: true });
    }
  } finally {
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});
