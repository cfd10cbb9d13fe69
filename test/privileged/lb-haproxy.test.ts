// A load balancer node on a real HAProxy (src/lb): its own namespaces only. The LB namespace holds
// a bridge (10.251.0.1/24) with three backend namespaces on it (.11 .12 .13, each a small node
// HTTP server answering its name), and a veth to the host (10.251.9.1 ↔ 10.251.9.2/30) through
// which this test process is the client. Nothing else is touched; everything is removed after.
//
//   host (this test) bthlbh0 10.251.9.1 ── up0 10.251.9.2  LB ns (bthlb-lb, haproxy :80)
//                                                        br0 10.251.0.1 ── b1 .11 / b2 .12 / b3 .13
import { test, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Agent, request } from "node:http";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { HaproxyNode } from "../../src/lb/haproxy-node.js";
import type { TargetHealthReport } from "../../src/lb/haproxy-node.js";
import type { ActionModel, LoadBalancerModel, TargetGroupModel } from "../../src/lb/load-balancer-model.js";
import { attempt, exec } from "../support/dataplane.js";
import { isListeningInNetns } from "../support/netns-listener.js";
import { assertNoNewLeaks, findLeaks } from "../support/leaks.js";
import { waitFor } from "../support/wait-for.js";

const leaksBefore = new Set(findLeaks());
const workDir = mkdtempSync(join(tmpdir(), "berth-lb-"));
const stateDir = join(workDir, "node");
const LB = "bthlb-lb";
const BACKENDS = ["b1", "b2", "b3"] as const;
const HOST_LINK = "bthlbh0";
const VIP = "10.251.9.2";
const address = (name: string) => `10.251.0.${11 + BACKENDS.indexOf(name as (typeof BACKENDS)[number])}`;
const children: ChildProcess[] = [];
/** A header value AWS allows that would be directives, comments or expansions if it reached the config as itself. */
const HOSTILE = `"x" 'y' #z \\w $HOME %[src] ;bind :1`;
let node: HaproxyNode | undefined;

// A backend: its name on every path (and " tls" over HTTPS, port 443 with the test's self-signed
// certificate); /health 503 while <workDir>/<name>.down exists, 3 s late while <name>.hang exists;
// /slow after 1.5 s.
const SERVER = `
const { existsSync, readFileSync } = require("node:fs");
const [name, dir] = process.argv.slice(1);
const handler = (req, res) => {
  if (req.url === "/health" && existsSync(dir + "/" + name + ".hang")) return setTimeout(() => res.end("late"), 3000);
  if (req.url === "/health") { res.statusCode = existsSync(dir + "/" + name + ".down") ? 503 : 200; return res.end("ok"); }
  const answer = () => res.end(name + " " + req.url + (req.socket.encrypted ? " tls" : ""));
  if (req.url.startsWith("/slow")) setTimeout(answer, 1500); else answer();
};
require("node:http").createServer(handler).listen(80, "0.0.0.0");
require("node:https").createServer({ key: readFileSync(dir + "/tls.key"), cert: readFileSync(dir + "/tls.crt") }, handler).listen(443, "0.0.0.0");`;

after(async () => {
  try {
    await node?.stop();
  } finally {
    for (const child of children) child.kill();
    await attempt("ip", ["link", "del", HOST_LINK]);
    for (const name of [LB, ...BACKENDS.map((backend) => `bthlb-${backend}`)]) await attempt("ip", ["netns", "del", name]);
    rmSync(workDir, { recursive: true, force: true });
  }
  assert.equal(existsSync(stateDir), false, "the node's state dir is gone");
  const haproxies = (await attempt("ps", ["-eo", "stat=,args="])).stdout.split("\n").filter((line) => line.includes(stateDir) && !line.startsWith("Z"));
  assert.deepEqual(haproxies, [], "no haproxy of this test runs");
  assertNoNewLeaks(leaksBefore);
});

async function buildNetwork(): Promise<void> {
  await exec("ip", ["netns", "add", LB]);
  await exec("ip", ["-n", LB, "link", "set", "lo", "up"]);
  await exec("ip", ["-n", LB, "link", "add", "br0", "type", "bridge"]);
  await exec("ip", ["-n", LB, "addr", "add", "10.251.0.1/24", "dev", "br0"]);
  await exec("ip", ["-n", LB, "link", "set", "br0", "up"]);
  // The backends' HTTPS certificate: self-signed (an ALB does not verify its targets' certificates).
  const tls = ["-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=backend.test"];
  await exec("openssl", ["req", ...tls, "-keyout", join(workDir, "tls.key"), "-out", join(workDir, "tls.crt")]);
  for (const backend of BACKENDS) {
    const netns = `bthlb-${backend}`;
    await exec("ip", ["netns", "add", netns]);
    await exec("ip", ["-n", netns, "link", "set", "lo", "up"]);
    // Both ends are made in the two test namespaces: nothing of the host's is involved.
    await exec("ip", ["-n", LB, "link", "add", `v${backend}`, "type", "veth", "peer", "name", "eth0", "netns", netns]);
    await exec("ip", ["-n", LB, "link", "set", `v${backend}`, "master", "br0", "up"]);
    await exec("ip", ["-n", netns, "addr", "add", `${address(backend)}/24`, "dev", "eth0"]);
    await exec("ip", ["-n", netns, "link", "set", "eth0", "up"]);
    const child = spawn("nsenter", [`--net=/run/netns/${netns}`, process.execPath, "-e", SERVER, backend, workDir], { stdio: "ignore" });
    children.push(child);
  }
  await exec("ip", ["link", "add", HOST_LINK, "type", "veth", "peer", "name", "up0", "netns", LB]);
  await exec("ip", ["addr", "add", "10.251.9.1/30", "dev", HOST_LINK]);
  await exec("ip", ["link", "set", HOST_LINK, "up"]);
  await exec("ip", ["-n", LB, "addr", "add", `${VIP}/30`, "dev", "up0"]);
  await exec("ip", ["-n", LB, "link", "set", "up0", "up"]);
  for (const backend of BACKENDS) {
    for (const port of [80, 443]) await waitFor(() => isListeningInNetns(`bthlb-${backend}`, port), { what: `backend ${backend} on ${port}` });
  }
}

const healthCheck = {
  protocol: "HTTP",
  port: "traffic-port",
  path: "/health",
  intervalSeconds: 1,
  timeoutSeconds: 1,
  healthyThreshold: 2,
  unhealthyThreshold: 2,
  matcher: "200",
} as const;
const group = (id: string, backends: readonly string[], draining: readonly string[] = []): TargetGroupModel => ({
  id,
  protocol: "HTTP",
  algorithm: "round_robin",
  slowStartSeconds: 0,
  deregistrationDelaySeconds: 5,
  healthCheck,
  targets: backends.map((backend) => ({ ip: address(backend), port: 80, draining: draining.includes(backend) })),
});
const forward = (...groups: [string, number][]): ActionModel => ({
  type: "forward",
  targetGroups: groups.map(([targetGroupId, weight]) => ({ targetGroupId, weight })),
});
const model = (
  groups: TargetGroupModel[],
  rules: LoadBalancerModel["listeners"][number]["rules"] = [],
  defaultAction = forward(["web", 1]),
): LoadBalancerModel => ({
  id: "lb-test",
  idleTimeoutSeconds: 60,
  targetGroups: groups,
  listeners: [{ id: "http-80", port: 80, protocol: "HTTP", rules, defaultAction }],
});

interface Answer {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
  localPort: number;
}

function get(path: string, agent: Agent | false = false, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request({ host: VIP, port: 80, path, agent, headers, timeout: 10_000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers, localPort: req.socket?.localPort ?? 0 }));
    });
    req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out`)));
    req.on("error", reject);
    req.end();
  });
}

/** Which backend answered how many of `count` requests (each on its own connection), `concurrency` at a time. */
async function spread(path: string, count: number, concurrency = 8): Promise<Record<string, number>> {
  const tally: Record<string, number> = {};
  let next = 0;
  const worker = async () => {
    while (next < count) {
      next += 1;
      const answer = await get(path);
      assert.equal(answer.status, 200, `GET ${path}: ${answer.status} ${answer.body}`);
      const name = answer.body.split(" ")[0]!;
      tally[name] = (tally[name] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return tally;
}

const healthOf = (reports: TargetHealthReport[], groupId: string, backend: string) =>
  reports.find((report) => report.targetGroupId === groupId && report.ip === address(backend))?.health;

async function waitForState(groupId: string, backend: string, state: string, timeoutMs: number): Promise<void> {
  await waitFor(async () => healthOf(await node!.health(), groupId, backend)?.State === state, {
    what: `${backend} in ${groupId} ${state}`,
    timeoutMs,
    intervalMs: 100,
  });
}

test("an HAProxy node in its namespace spreads, checks, routes, splits by weight, reloads without a dropped request, drains, and leaves nothing", async (t) => {
  await buildNetwork();
  node = new HaproxyNode({ netnsPath: `/run/netns/${LB}`, stateDir, run: exec });
  const all = model([group("web", BACKENDS)]);
  assert.equal(await node.start(all), "started");
  const initial = { State: "initial", Reason: "Elb.InitialHealthChecking", Description: "Initial health checking in progress" };
  assert.deepEqual(
    (await node.health()).map((report) => report.health),
    [initial, initial, initial],
    "no target has passed its checks yet",
  );
  assert.equal((await get("/")).status, 503, "no target takes traffic before its checks pass");
  await waitFor(async () => (await node!.health()).every((report) => report.health.State === "healthy"), { what: "three healthy targets", intervalMs: 100 });
  const workers = (await exec("ps", ["-o", "user=", "--ppid", String(await node.masterPid())])).trim().split("\n");
  assert.deepEqual([...new Set(workers)], ["nobody"], "workers run unprivileged; the master alone is root");

  await t.test("traffic spreads over the 3 targets", async () => {
    const tally = await spread("/", 30, 1);
    assert.deepEqual(Object.keys(tally).sort(), ["b1", "b2", "b3"]);
    for (const count of Object.values(tally)) assert.equal(count, 10, `round robin: ${JSON.stringify(tally)}`);
  });

  await t.test("an agent restart finds the running master again and changes nothing", async () => {
    const again = new HaproxyNode({ netnsPath: `/run/netns/${LB}`, stateDir, run: exec });
    assert.equal(await again.start(all), "unchanged");
    assert.equal(await again.masterPid(), await node!.masterPid());
    // A node launched before master.json existed: found by the pidfile HAProxy wrote, still checked (binary, root, config).
    const record = readFileSync(join(stateDir, "master.json"), "utf8");
    rmSync(join(stateDir, "master.json"));
    try {
      assert.equal(await again.masterPid(), (JSON.parse(record) as { pid: number }).pid);
    } finally {
      writeFileSync(join(stateDir, "master.json"), record, { mode: 0o600 });
    }
  });

  await t.test("a target whose /health answers 503 is out within interval × threshold, reads unhealthy with the code, and comes back", async () => {
    writeFileSync(join(workDir, "b2.down"), "");
    const since = Date.now();
    await waitForState("web", "b2", "unhealthy", 4_000);
    assert.ok(Date.now() - since <= 3_500, `out after ${Date.now() - since} ms (interval 1 s × 2, plus one check's slack)`);
    assert.deepEqual(healthOf(await node!.health(), "web", "b2"), {
      State: "unhealthy",
      Reason: "Target.ResponseCodeMismatch",
      Description: "Health checks failed with these codes: [503]",
    });
    const tally = await spread("/", 20);
    assert.equal(tally.b2, undefined, `no request reaches b2: ${JSON.stringify(tally)}`);
    // A reload keeps the health it knew (server state file): b2 does not come back up unchecked.
    assert.equal(await node!.apply({ ...all, idleTimeoutSeconds: 61 }), "reload");
    assert.equal(healthOf(await node!.health(), "web", "b2")?.State, "unhealthy");
    const afterReload = await spread("/", 20);
    assert.equal(afterReload.b2, undefined, `no request reaches b2 after the reload: ${JSON.stringify(afterReload)}`);
    rmSync(join(workDir, "b2.down"));
    await waitForState("web", "b2", "healthy", 4_000);
    assert.ok((await spread("/", 12, 1)).b2! >= 3);
  });

  await t.test("a target whose health check times out reads Target.Timeout, and comes back", async () => {
    writeFileSync(join(workDir, "b3.hang"), "");
    await waitForState("web", "b3", "unhealthy", 8_000);
    assert.deepEqual(healthOf(await node!.health(), "web", "b3"), { State: "unhealthy", Reason: "Target.Timeout", Description: "Request timed out" });
    rmSync(join(workDir, "b3.hang"));
    await waitForState("web", "b3", "healthy", 8_000);
  });

  await t.test("path rules route to their target group; fixed responses and redirects answer with no user text as config", async () => {
    const body = `{"msg": "it's # not a \\"directive\\"\nbind :1"}`;
    const routed = model(
      [group("web", ["b1", "b2"]), group("api", ["b3"])],
      [
        { id: "api", conditions: [{ field: "path-pattern", values: ["/api/*"] }], action: forward(["api", 1]) },
        { id: "hostile", conditions: [{ field: "http-header", headerName: "X-Test", values: [HOSTILE] }], action: forward(["api", 1]) },
        {
          id: "fixed",
          conditions: [{ field: "path-pattern", values: ["/fixed"] }],
          action: { type: "fixed-response", statusCode: 418, contentType: "application/json", messageBody: body },
        },
        { id: "moved", conditions: [{ field: "path-pattern", values: ["/old*"] }], action: { type: "redirect", path: "/new", statusCode: "HTTP_301" } },
      ],
    );
    assert.equal(await node!.apply(routed), "reload");
    // tg-api's target is new to HAProxy: it serves once its checks pass, as on AWS.
    await waitFor(async () => (await node!.health()).every((report) => report.health.State === "healthy"), {
      what: "healthy after the reload",
      intervalMs: 100,
    });
    assert.deepEqual(await spread("/api/items", 10), { b3: 10 });
    const rest = await spread("/", 10);
    assert.equal(rest.b3, undefined, JSON.stringify(rest));
    assert.equal((await get("/", false, { "X-Test": HOSTILE })).body.split(" ")[0], "b3", "the header matched as the literal text, not as config");
    assert.notEqual((await get("/", false, { "X-Test": "x" })).body.split(" ")[0], "b3");
    const fixed = await get("/fixed");
    assert.equal(fixed.status, 418);
    assert.equal(fixed.body, body);
    assert.equal(fixed.headers["content-type"], "application/json");
    const moved = await get("/old?x=1");
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.location, `http://${VIP}/new?x=1`);
  });

  await t.test("a weighted forward 80/20 splits about as asked over 500 requests", async () => {
    await node!.apply(model([group("web", ["b1", "b2"]), group("api", ["b3"])], [], forward(["web", 80], ["api", 20])));
    await waitFor(async () => (await node!.health()).every((report) => report.health.State === "healthy"), {
      what: "healthy after the reload",
      intervalMs: 100,
    });
    const tally = await spread("/", 500, 10);
    const share = (tally.b3 ?? 0) / 500;
    assert.ok(share > 0.13 && share < 0.27, `api got ${share * 100} % (${JSON.stringify(tally)})`);
  });

  await t.test(
    "a reload under constant load drops no request; an established keep-alive connection and an in-flight request are served to the end",
    async () => {
      const keepAlive = new Agent({ keepAlive: true, maxSockets: 1 });
      const first = await get("/", keepAlive);
      const inFlight = get("/slow", false);
      let stop = false;
      const failures: string[] = [];
      let served = 0;
      const load = async () => {
        while (!stop) {
          await get("/").then(
            (answer) => (answer.status === 200 ? (served += 1) : failures.push(`status ${answer.status}`)),
            (error: Error) => failures.push(error.message),
          );
        }
      };
      const loaders = Array.from({ length: 4 }, load);
      let second: Answer;
      try {
        await sleep(300);
        const changed = model(
          [group("web", BACKENDS)],
          [{ id: "api", conditions: [{ field: "path-pattern", values: ["/api/*"] }], action: forward(["web", 1]) }],
        );
        assert.equal(await node!.apply(changed), "reload");
        second = await get("/", keepAlive);
        await sleep(500);
      } finally {
        stop = true;
        await Promise.all(loaders);
        keepAlive.destroy();
      }
      assert.deepEqual(failures, [], `${failures.length} of ${served + failures.length} failed`);
      assert.ok(served > 20, `${served} requests served during the reload`);
      assert.equal(second.status, 200);
      assert.equal(second.localPort, first.localPort, "the keep-alive connection made before the reload answered after it");
      assert.equal((await inFlight).status, 200, "the request in flight on the old worker finished");
    },
  );

  await t.test("deregistration drains through the runtime API: no new requests, in-flight ones finish, then the target goes", async () => {
    const inFlight = [get("/slow"), get("/slow"), get("/slow")];
    await sleep(200);
    const drained = model(
      [group("web", BACKENDS, ["b1"])],
      [{ id: "api", conditions: [{ field: "path-pattern", values: ["/api/*"] }], action: forward(["web", 1]) }],
    );
    assert.equal(await node!.apply(drained), "runtime");
    const answers = await Promise.all(inFlight);
    assert.deepEqual(answers.map((answer) => answer.status).sort(), [200, 200, 200]);
    assert.ok(
      answers.some((answer) => answer.body.startsWith("b1")),
      "b1 finished the request it had",
    );
    assert.deepEqual(healthOf(await node!.health(), "web", "b1"), {
      State: "draining",
      Reason: "Target.DeregistrationInProgress",
      Description: "Target deregistration is in progress",
    });
    const tally = await spread("/", 20);
    assert.equal(tally.b1, undefined, `no new request reaches b1: ${JSON.stringify(tally)}`);
    const removed = model(
      [group("web", ["b2", "b3"])],
      [{ id: "api", conditions: [{ field: "path-pattern", values: ["/api/*"] }], action: forward(["web", 1]) }],
    );
    assert.equal(await node!.apply(removed), "runtime");
    assert.equal(healthOf(await node!.health(), "web", "b1"), undefined);
    const added = model([group("web", BACKENDS)], [{ id: "api", conditions: [{ field: "path-pattern", values: ["/api/*"] }], action: forward(["web", 1]) }]);
    assert.equal(await node!.apply(added), "runtime");
    assert.equal(healthOf(await node!.health(), "web", "b1")?.Reason, "Elb.InitialHealthChecking");
    const early = await spread("/", 9, 1);
    assert.equal(early.b1, undefined, `a new target takes no traffic before its checks pass: ${JSON.stringify(early)}`);
    await waitForState("web", "b1", "healthy", 5_000);
    await waitFor(async () => (await spread("/", 9, 1)).b1 !== undefined, { what: "b1 serving again", intervalMs: 200 });
  });

  await t.test("a TCP listener (NLB) forwards connections to a TCP target group checked by TCP connects", async () => {
    const withTcp: LoadBalancerModel = {
      ...all,
      targetGroups: [...all.targetGroups, { ...group("raw", ["b2"]), protocol: "TCP", healthCheck: { ...healthCheck, protocol: "TCP" } }],
      listeners: [...all.listeners, { id: "tcp-5000", port: 5000, protocol: "TCP", rules: [], defaultAction: forward(["raw", 1]) }],
    };
    assert.equal(await node!.apply(withTcp), "reload");
    await waitForState("raw", "b2", "healthy", 5_000);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(5000, VIP, () => socket.end("GET /over-tcp HTTP/1.0\r\n\r\n"));
      let data = "";
      socket.on("data", (chunk) => (data += String(chunk)));
      socket.on("end", () => resolve(data));
      socket.on("error", reject);
    });
    assert.match(answer, /\r\n\r\nb2 \/over-tcp$/);
    assert.equal(await node!.apply(all), "reload");
  });

  await t.test("an HTTPS target group: requests reach its targets over TLS, checked over HTTPS (a target added at runtime too)", async () => {
    const secure = (backends: readonly string[]): TargetGroupModel => ({
      ...group("secure", backends),
      protocol: "HTTPS",
      healthCheck: { ...healthCheck, protocol: "HTTPS" },
      targets: backends.map((backend) => ({ ip: address(backend), port: 443 })),
    });
    const withHttps = (backends: readonly string[]): LoadBalancerModel => ({
      ...all,
      targetGroups: [...all.targetGroups, secure(backends)],
      listeners: [
        { ...all.listeners[0]!, rules: [{ id: "r-tls", conditions: [{ field: "path-pattern", values: ["/tls/*"] }], action: forward(["secure", 1]) }] },
      ],
    });
    assert.equal(await node!.apply(withHttps(["b1"])), "reload");
    await waitForState("secure", "b1", "healthy", 5_000);
    assert.equal((await get("/tls/x")).body, "b1 /tls/x tls");
    assert.equal(await node!.apply(withHttps(["b1", "b3"])), "runtime");
    await waitForState("secure", "b3", "healthy", 5_000);
    const bodies = new Set<string>();
    await waitFor(
      async () => {
        bodies.add((await get("/tls/y")).body);
        return bodies.has("b3 /tls/y tls");
      },
      { what: "b3 serving over TLS", intervalMs: 50 },
    );
    assert.deepEqual(
      [...bodies].filter((body) => !body.endsWith(" tls")),
      [],
      "every answer came over TLS",
    );
    // A target that answers TLS with a failing check reads unhealthy with its code, as over HTTP.
    writeFileSync(join(workDir, "b3.down"), "");
    await waitForState("secure", "b3", "unhealthy", 4_000);
    assert.equal(healthOf(await node!.health(), "secure", "b3")?.Reason, "Target.ResponseCodeMismatch");
    rmSync(join(workDir, "b3.down"));
    assert.equal(await node!.apply(all), "reload");
  });

  await t.test("wildcard patterns cannot hold a worker: a near-miss path over 100 star-heavy rules is answered at once, the node stays up", async () => {
    const master = await node!.masterPid();
    // 5 wildcards per rule (AWS's limit), on every rule a listener may have: as backtracking
    // `.*` runs, each would try every split of the path between its stars (up to PCRE2's match
    // limit, 10 million steps, per rule: seconds in all, and HAProxy's watchdog aborts the worker).
    // The path holds the required "ab" (PCRE's quick rejection does not apply) but ends otherwise.
    const rules = Array.from({ length: 100 }, (_, index) => ({
      id: `w${index}`,
      conditions: [{ field: "path-pattern" as const, values: ["*a*a*a*a*ab"] }],
      action: { type: "fixed-response" as const, statusCode: 200, messageBody: `w${index}` },
    }));
    assert.equal(await node!.apply(model([group("web", BACKENDS)], rules)), "reload");
    const since = Date.now();
    const hostile = await get(`/${"a".repeat(2000)}ba`);
    const took = Date.now() - since;
    assert.equal(hostile.status, 200);
    assert.match(hostile.body, /^b[123] /, "no rule matched: the default action answered");
    assert.ok(took < 1_000, `answered in ${took} ms`);
    assert.equal((await get(`/${"a".repeat(50)}b`)).body, "w0", "a matching path still matches");
    assert.equal(await node!.masterPid(), master, "the master lives");
    assert.equal((await get("/")).status, 200);
    assert.equal(await node!.apply(all), "reload");
  });

  await t.test("a reload that fails after `haproxy -c` passed restores the previous haproxy.cfg; the running worker serves on", async () => {
    const config = join(stateDir, "haproxy.cfg");
    const before = readFileSync(config, "utf8");
    // Port 5001 taken in the LB namespace: the check passes (it binds nothing), the reload cannot bind.
    const squatter = spawn("nsenter", [`--net=/run/netns/${LB}`, process.execPath, "-e", `require("node:net").createServer().listen(5001, "0.0.0.0")`], {
      stdio: "ignore",
    });
    children.push(squatter);
    try {
      await waitFor(() => isListeningInNetns(LB, 5001), { what: "port 5001 taken" });
      const taken: LoadBalancerModel = {
        ...all,
        listeners: [...all.listeners, { id: "http-5001", port: 5001, protocol: "HTTP", rules: [], defaultAction: forward(["web", 1]) }],
      };
      await assert.rejects(node!.apply(taken), /did not reload|did not answer/);
      assert.equal(readFileSync(config, "utf8"), before, "the config on disk is the one running");
      assert.equal((await get("/")).status, 200);
    } finally {
      squatter.kill();
    }
    await waitFor(async () => !(await isListeningInNetns(LB, 5001)), { what: "port 5001 free" });
    assert.equal(await node!.apply({ ...all, idleTimeoutSeconds: 62 }), "reload", "the next apply reloads as usual");
    assert.equal(await node!.apply(all), "reload");
  });

  await t.test("a config HAProxy refuses never replaces the running one", async () => {
    const before = await node!.masterPid();
    const broken = { ...all, idleTimeoutSeconds: 0 };
    await assert.rejects(node!.apply(broken), /idle timeout/);
    assert.equal(await node!.masterPid(), before);
    assert.equal((await get("/")).status, 200);
  });

  // Stopped by a node object that never started it (an agent after a restart): found by its pidfile.
  const fresh = new HaproxyNode({ netnsPath: `/run/netns/${LB}`, stateDir, run: exec });
  const pid = await fresh.masterPid();
  assert.ok(pid !== undefined);
  await fresh.stop();
  assert.equal(existsSync(stateDir), false);
  assert.equal(existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(stateDir), false, "the master is gone");
  await fresh.stop();

  // A master killed outright (its workers follow it, HAProxy's master pipe): stop() still clears everything.
  const crashed = new HaproxyNode({ netnsPath: `/run/netns/${LB}`, stateDir, run: exec });
  assert.equal(await crashed.start(all), "started");
  await exec("kill", ["-KILL", String(await crashed.masterPid())]);
  await crashed.stop();
  const left = (await attempt("ps", ["-eo", "stat=,args="])).stdout.split("\n").filter((line) => line.includes(stateDir) && !line.startsWith("Z"));
  assert.deepEqual(left, []);
  assert.equal(existsSync(stateDir), false);

  // A decoy: an unprivileged process whose arguments name the node's config, as any user (a task
  // too) can start. It is neither taken for the master at start nor signalled at stop.
  const decoy = spawn("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", "perl", "-e", "sleep 600", "-f", join(stateDir, "haproxy.cfg")], {
    stdio: "ignore",
  });
  children.push(decoy);
  try {
    await waitFor(() => existsSync(`/proc/${decoy.pid}/cmdline`) && readFileSync(`/proc/${decoy.pid}/cmdline`, "utf8").includes(stateDir), {
      what: "the decoy",
    });
    const guarded = new HaproxyNode({ netnsPath: `/run/netns/${LB}`, stateDir, run: exec });
    assert.equal(await guarded.masterPid(), undefined, "the decoy is not the master");
    assert.equal(await guarded.start(all), "started", "a real master is launched");
    const master = await guarded.masterPid();
    assert.ok(master !== undefined && master !== decoy.pid);
    assert.equal((await get("/")).status, 503, "the real master answers (its targets not checked yet)");
    await guarded.stop();
    assert.equal(decoy.exitCode, null, "stop() left the decoy alone");
    assert.equal(decoy.signalCode, null);
  } finally {
    decoy.kill("SIGKILL");
  }
  await waitFor(() => decoy.exitCode !== null || decoy.signalCode !== null, { what: "the decoy gone" });
});
