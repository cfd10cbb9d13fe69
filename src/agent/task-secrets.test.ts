// The agent's side of task secrets: asked for at the start, into the container's create and the
// image pull only; never in the state files, the reports or the reasons; asked for again after a
// restart only when a container must still be created.
import { describe, test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAgent } from "./index.js";
import type { Agent } from "./index.js";
import type { TaskSecretsAnswer } from "../protocol/index.js";
import type { TaskSecretsPort } from "./task-secrets-fetch.js";
import { FakeClock, FakeImages, FakeNetworks, FakeRuntime, MemoryLogSink, MemoryReporter, fakeTaskSpec, until } from "../../test/support/agent-fakes.js";

const VALUE = "s3cr3t-value-9f8e7d";
const dirs: string[] = [];
const agents: Agent[] = [];
afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.close().catch(() => undefined);
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

const arn = "arn:aws:ecs:us-east-1:000000000000:task/c/t1";
const withSecrets = () =>
  fakeTaskSpec([
    {
      name: "app",
      image: "registry.example:5000/app:1",
      secrets: [{ name: "DB_PASSWORD", valueFrom: "arn:aws:secretsmanager:us-east-1:000000000000:secret:db-AbCdEf:password::" }],
      repositoryCredentials: { credentialsParameter: "arn:aws:secretsmanager:us-east-1:000000000000:secret:reg-AbCdEf" },
    },
    { name: "side", image: "busybox:1" },
  ]);

function setup(answer: () => Promise<TaskSecretsAnswer>, dir = mkdtempSync(join(tmpdir(), "bth-secrets-"))) {
  dirs.push(dir);
  const runtime = new FakeRuntime();
  const images = new FakeImages();
  const reporter = new MemoryReporter();
  const reports: string[] = [];
  const recording = {
    report: async (status: Parameters<MemoryReporter["report"]>[0]) => {
      reports.push(JSON.stringify(status));
      await reporter.report(status);
    },
  };
  const asked: string[] = [];
  const secrets: TaskSecretsPort = async (taskArn) => {
    asked.push(taskArn);
    return answer();
  };
  const make = () => {
    const agent = createAgent({
      stateDir: dir,
      images,
      runtime,
      networks: new FakeNetworks(),
      logSink: new MemoryLogSink(),
      reporter: recording,
      clock: new FakeClock(),
      logger: { error: () => undefined, info: () => undefined },
      logPollMs: 1000,
      secrets,
    });
    agents.push(agent);
    return agent;
  };
  return { dir, runtime, images, reporter, reports, asked, make };
}

const granted = async (): Promise<TaskSecretsAnswer> => ({
  containers: [
    { containerName: "app", env: [{ name: "DB_PASSWORD", value: VALUE }], repositoryCredentials: { username: "robot", password: VALUE } },
    { containerName: "side", env: [] },
  ],
});

/** Every file under `dir`, read as text: the value must be in none of them. */
function filesHolding(dir: string, text: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if (readFileSync(path).includes(text)) found.push(path);
  }
  return found;
}

describe("task secrets on the agent", () => {
  test("the secret environment reaches only its container's create, the registry login only its pull; nothing is saved", async () => {
    const s = setup(granted);
    const agent = s.make();
    await agent.start();
    await agent.runTask(withSecrets());
    await until(() => s.reporter.last?.lastStatus === "RUNNING", "RUNNING");
    assert.deepEqual(s.runtime.secretEnvs.get("app"), { DB_PASSWORD: VALUE });
    assert.deepEqual(s.runtime.secretEnvs.get("side"), {});
    assert.deepEqual(s.images.pulls.find((pull) => pull.image === "registry.example:5000/app:1")?.registryCredentials, { username: "robot", password: VALUE });
    assert.equal(s.images.pulls.find((pull) => pull.image === "busybox:1")?.registryCredentials, undefined);
    assert.deepEqual(s.asked, [arn], "asked once for the task");
    await agent.close();
    assert.deepEqual(filesHolding(s.dir, VALUE), [], "no state file holds the value");
    assert.ok(s.reports.length > 0 && !s.reports.some((report) => report.includes(VALUE)), "no report holds the value");
  });

  test("a task without secrets never asks", async () => {
    const s = setup(granted);
    const agent = s.make();
    await agent.start();
    await agent.runTask(fakeTaskSpec([{ name: "app", image: "busybox" }]));
    await until(() => s.reporter.last?.lastStatus === "RUNNING", "RUNNING");
    assert.deepEqual(s.asked, []);
  });

  test("the control plane's failure stops the task before any pull, with its ResourceInitializationError", async () => {
    const reason =
      "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve secrets from ssm: invalid parameters: /x";
    const s = setup(async () => ({ containers: [], failure: reason }));
    const agent = s.make();
    await agent.start();
    await agent.runTask(withSecrets());
    await agent.whenStopped(arn);
    const d = agent.describe(arn);
    assert.equal(d?.stopCode, "TaskFailedToStart");
    assert.equal(d?.stoppedReason, reason);
    assert.equal(s.images.pulls.length, 0);
    assert.equal(s.runtime.containers.size, 0);
  });

  test("a task the control plane holds to its execution role asks before pulling, without any secret, and stops on the refusal", async () => {
    const reason =
      "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve ecr registry auth: AccessDeniedException: User: arn:aws:sts::000000000000:assumed-role/exec/t1 is not authorized to perform: ecr:GetAuthorizationToken on resource: *";
    const s = setup(async () => ({ containers: [], failure: reason }));
    const agent = s.make();
    await agent.start();
    const plain = fakeTaskSpec([{ name: "app", image: "registry.example:5000/app:1" }]);
    await agent.runTask({ ...plain, credentials: { ...plain.credentials, checkExecutionRole: true } });
    await agent.whenStopped(arn);
    assert.deepEqual(s.asked, [arn]);
    assert.equal(agent.describe(arn)?.stopCode, "TaskFailedToStart");
    assert.equal(agent.describe(arn)?.stoppedReason, reason);
    assert.equal(s.images.pulls.length, 0, "nothing pulled");
  });

  test("a call that fails (refused, unreachable) and an agent without the call both fail the start", async () => {
    const s = setup(async () => {
      throw new Error("agent protocol secrets: HTTP 403: Task is not placed on host h1.");
    });
    const agent = s.make();
    await agent.start();
    await agent.runTask(withSecrets());
    await agent.whenStopped(arn);
    assert.match(
      agent.describe(arn)?.stoppedReason ?? "",
      /^ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: agent protocol secrets: HTTP 403/,
    );
    await agent.close();

    const t = setup(granted);
    const orphan = createAgent({
      stateDir: t.dir,
      images: t.images,
      runtime: t.runtime,
      networks: new FakeNetworks(),
      logSink: new MemoryLogSink(),
      reporter: t.reporter,
      clock: new FakeClock(),
      logger: { error: () => undefined, info: () => undefined },
    });
    agents.push(orphan);
    await orphan.start();
    await orphan.runTask(withSecrets());
    await orphan.whenStopped(arn);
    assert.match(orphan.describe(arn)?.stoppedReason ?? "", /^ResourceInitializationError: .*no control plane to read secrets from/);
  });

  test("after a restart with the containers running the secrets are not asked for again", async () => {
    const s = setup(granted);
    const first = s.make();
    await first.start();
    await first.runTask(withSecrets());
    await until(() => s.reporter.last?.lastStatus === "RUNNING", "RUNNING");
    await first.close();
    const second = s.make();
    await second.start();
    await until(() => second.describe(arn)?.lastStatus === "RUNNING", "resumed");
    assert.deepEqual(s.asked, [arn], "only the first start asked");
    assert.deepEqual(filesHolding(s.dir, VALUE), []);
  });
});
