// Join tokens (`berth join-token create|list|revoke` and the bootstrap <data-dir>/agent-token): an
// agent joins with a valid one; an expired, revoked or unknown token is refused with words that say
// which; a host already registered keeps working whatever becomes of its token. Registration
// capacity must fit the machine the agent reports: a stolen token cannot declare 10^9 CPU units.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createHttpControlLink } from "../../src/agent/control-link-http.js";
import { parseJoinToken, protocolVersion } from "../../src/protocol/index.js";
import type { TestServer } from "../support/server.js";
import { startTestServer, testServerStore } from "../support/server.js";

const berth = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "bin", "berth");
let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(async () => {
  await server.stop();
  await server.cleanup();
});

const joinToken = (...args: string[]) =>
  new Promise<{ stdout: string; stderr: string; code: number }>((resolve) =>
    execFile(process.execPath, [berth, "join-token", ...args, "--data-dir", server.dataDir, ...storeArgs()], (error, stdout, stderr) =>
      resolve({ stdout: stdout.trim(), stderr, code: error ? ((error as { code?: number }).code ?? 1) : 0 }),
    ),
  );
/** The server's --store, when it is on PostgreSQL (BERTH_TEST_STORE=postgres): join-token works on the store, not the data dir. */
const storeArgs = () => {
  const { location } = testServerStore(server.dataDir);
  return "url" in location ? ["--store", location.url] : [];
};
const issue = async (...args: string[]) => {
  const result = await joinToken("create", ...args);
  if (result.code !== 0) throw new Error(result.stderr);
  return result.stdout;
};
const idOf = (token: string) => createHash("sha256").update(parseJoinToken(token).secret).digest("hex").slice(0, 12);
const identity = (
  hostId: string,
  capacity = { cpuUnits: 1024, memoryMiB: 2048, taskSlots: 10, ephemeralGiB: 100 },
  machine = { cpuCount: 8, memoryMiB: 16384 },
  overcommit = false,
) => ({
  protocolVersion,
  hostId,
  agentVersion: "test",
  availabilityZone: "us-east-1a",
  architecture: "X86_64" as const,
  capacity,
  machine,
  overcommit,
  subnetIds: [],
});
const register = async (token: string, body: object) => {
  const response = await fetch(`${server.endpoint}/_berth/agent/v${protocolVersion}/register`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as { code?: string; message?: string } };
};

test("an agent joins with a join token the server issued", async () => {
  const token = await issue("--description", "host j1");
  assert.match(token, /^[0-9a-f]{48}$/, "a plain-HTTP server's tokens carry no CA pin");
  const link = createHttpControlLink({ serverUrl: server.endpoint, token });
  await link.register(identity("host-j1"));
  await link.heartbeat("host-j1");
});

test("tokens expire after 24 hours by default and are listed by id, never by value", async () => {
  const before = Date.now();
  const token = await issue("--description", "listed");
  const list = await joinToken("list");
  assert.equal(list.code, 0);
  assert.ok(!list.stdout.includes(token), "the list never shows a token");
  const line = list.stdout.split("\n").find((row) => row.startsWith(idOf(token)));
  assert.ok(line, `token ${idOf(token)} listed:\n${list.stdout}`);
  assert.match(line, /valid/);
  const expires = Date.parse(line.split(/\s+/)[3]!);
  assert.ok(Math.abs(expires - (before + 24 * 3600_000)) < 60_000, `expires 24 h after creation: ${line}`);
  assert.match(list.stdout, /bootstrap \(<data-dir>\/agent-token\)/, "the bootstrap token is listed too");
  assert.equal((await joinToken("create", "--ttl", "forever")).code, 2);
});

test("the bootstrap token in <data-dir>/agent-token expires in 24 hours", async () => {
  const list = await joinToken("list");
  const token = readFileSync(join(server.dataDir, "agent-token"), "utf8").trim();
  const line = list.stdout.split("\n").find((row) => row.startsWith(idOf(token)));
  assert.ok(line && /valid/.test(line) && /bootstrap/.test(line), list.stdout);
  assert.ok(Date.parse(line.split(/\s+/)[3]!) <= Date.now() + 24 * 3600_000);
  assert.equal((await register(token, identity("host-boot"))).status, 200);
});

test("an expired, revoked or unknown join token is refused with the reason", async () => {
  const expired = await issue("--ttl", "1s");
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const late = await register(expired, identity("host-j2"));
  assert.equal(late.status, 401);
  assert.equal(late.body.code, "ExpiredToken");
  assert.match(late.body.message!, /expired/);

  const revoked = await issue();
  const revocation = await joinToken("revoke", idOf(revoked));
  assert.equal(revocation.code, 0, revocation.stderr);
  const refused = await register(revoked, identity("host-j3"));
  assert.equal(refused.status, 401);
  assert.equal(refused.body.code, "RevokedToken");
  assert.match(refused.body.message!, /revoked/);
  assert.match((await joinToken("list")).stdout, new RegExp(`${idOf(revoked)}\\s+revoked`));

  const unknown = await register("never-issued-token", identity("host-j4"));
  assert.equal(unknown.status, 401);
  assert.equal(unknown.body.code, "Unauthorized");
  assert.equal((await joinToken("revoke", "ffffffffffff")).code, 1);
});

test("a registered host keeps its secret after its join token is revoked, and re-registers with it", async () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-join-"));
  try {
    const token = await issue();
    const link = createHttpControlLink({ serverUrl: server.endpoint, token, secretFile: join(dir, "secret") });
    await link.register(identity("host-kept"));
    assert.equal((await joinToken("revoke", idOf(token))).code, 0);
    await link.heartbeat("host-kept");
    // An agent restart registers again: its own host secret proves it, the dead token does not matter.
    const restarted = createHttpControlLink({ serverUrl: server.endpoint, token, secretFile: join(dir, "secret") });
    await restarted.register(identity("host-kept"));
    await restarted.heartbeat("host-kept");
    // Without the secret (a new host with the same dead token) it is refused.
    await assert.rejects(createHttpControlLink({ serverUrl: server.endpoint, token }).register(identity("host-new")), /HTTP 401: The join token was revoked/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a declared capacity beyond the reported machine is refused, not clamped", async () => {
  const token = await issue();
  const cases: [string, ReturnType<typeof identity>, RegExp][] = [
    [
      "10^9 CPU units on an 8-CPU machine",
      identity("host-c1", { cpuUnits: 1e9, memoryMiB: 2048, taskSlots: 10, ephemeralGiB: 100 }),
      /1000000000 CPU units exceeds the machine's/,
    ],
    [
      "10^9 CPU units even as overcommit",
      identity("host-c2", { cpuUnits: 1e9, memoryMiB: 2048, taskSlots: 10, ephemeralGiB: 100 }, undefined, true),
      /exceeds 32 times the machine's/,
    ],
    [
      "a machine of a million CPUs",
      identity("host-c3", { cpuUnits: 1024, memoryMiB: 2048, taskSlots: 10, ephemeralGiB: 100 }, { cpuCount: 1_000_000, memoryMiB: 16384 }),
      /1000000 CPUs/,
    ],
    ["more memory than the machine", identity("host-c4", { cpuUnits: 1024, memoryMiB: 32768, taskSlots: 10, ephemeralGiB: 100 }), /32768 MiB exceeds/],
    // Refused by the route's shape check before the Fleet sees it (BadRequest, naming the fields).
    ["no machine report", { ...identity("host-c5"), machine: undefined as never }, /machine/],
    ["a fractional capacity", identity("host-c6", { cpuUnits: 1.5, memoryMiB: 2048, taskSlots: 10, ephemeralGiB: 100 }), /CPU units/],
  ];
  for (const [what, body, message] of cases) {
    const answer = await register(token, body);
    assert.equal(answer.status, 400, what);
    assert.equal(answer.body.code, what === "no machine report" ? "BadRequest" : "InvalidParameterException", what);
    assert.match(answer.body.message!, message, what);
  }
  // The operator's deliberate overcommit (the density benchmark's 16×) is accepted.
  const dense = await register(
    token,
    identity("host-c7", { cpuUnits: 8 * 1024 * 16, memoryMiB: 16384 * 2, taskSlots: 250, ephemeralGiB: 5000 }, undefined, true),
  );
  assert.equal(dense.status, 200, JSON.stringify(dense.body));
});
