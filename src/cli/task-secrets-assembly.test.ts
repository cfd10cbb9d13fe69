// Task secrets resolved on the control plane, over the real Secrets Manager and SSM reads, on both
// stores: every valueFrom form, the execution role's permission per secret, the host and stopped
// checks, and reasons that never hold a value. The permission check and the task lookup are fakes
// (the Authorizer has its own tests); the secrets and parameters are made through the services'
// own code, so they are sealed exactly as the API seals them.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, test } from "node:test";
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import { eachStoreBackend } from "../../test/support/store-backends.js";
import { ManualClock } from "../../test/support/control-plane.js";
import { createSecret, putSecretValue } from "../api/secretsmanager/secrets.js";
import { putParameter } from "../api/ssm/parameters.js";
import type { RequestContext } from "../api/service-module.js";
import type { RolePermissionCheck } from "../control/authorizer.js";
import type { Store, StoredTask } from "../store/index.js";
import { SecretBox } from "./store-key.js";
import { createTaskSecrets } from "./task-secrets-assembly.js";

const scope = { partition: "aws", region: "us-east-1", accountId: "123456789012" };
const ROLE = "arn:aws:iam::123456789012:role/exec";
const TASK = "arn:aws:ecs:us-east-1:123456789012:task/c/0123456789abcdef";
// Both the fields RequestContext had and `caller`, which it gains with the IAM wiring.
const request = {
  requestId: "r",
  accountId: scope.accountId,
  region: scope.region,
  partition: scope.partition,
  accessKeyId: "AKIA",
  principalArn: `arn:aws:iam::${scope.accountId}:root`,
  caller: { kind: "root", arn: `arn:aws:iam::${scope.accountId}:root`, account: scope.accountId },
  receivedAt: 0,
} as unknown as RequestContext;
const PREFIX = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: ";

/** Allows exactly the (action, resource) pairs granted; anything else is denied with AWS's shape of text. */
class GrantedPermissions implements RolePermissionCheck {
  readonly granted = new Set<string>();
  readonly asked: string[] = [];
  async roleMay(roleArn: string, action: string, resource: string, sessionName: string) {
    this.asked.push(`${action} ${resource} ${sessionName}`);
    if (roleArn === ROLE && (this.granted.has(`${action} ${resource}`) || this.granted.has(`${action} *`))) return { allowed: true as const };
    return {
      allowed: false as const,
      message: `User: arn:aws:sts::123456789012:assumed-role/exec/${sessionName} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`,
    };
  }
}

function storedTask(containers: ContainerDefinition[], overrides: Partial<StoredTask> = {}): StoredTask {
  return {
    taskArn: TASK,
    taskId: "0123456789abcdef",
    clusterArn: "arn:aws:ecs:us-east-1:123456789012:cluster/c",
    family: "f",
    launchType: "FARGATE",
    desiredStatus: "RUNNING",
    lastStatus: "PROVISIONING",
    hostId: "h1",
    reservation: { cpuUnits: 256, memoryMiB: 512, ephemeralGiB: 20 } as StoredTask["reservation"],
    createdAtMs: 0,
    reportSequence: 0,
    task: {},
    spec: { taskArn: TASK, taskId: "0123456789abcdef", taskDefinition: { containerDefinitions: containers }, credentials: { executionRoleArn: ROLE } },
    version: 1,
    ...overrides,
  };
}

eachStoreBackend((backend) => {
  let store: Store;
  let permissions: GrantedPermissions;
  let current: StoredTask | undefined;
  let dbArn: string;
  const errors: unknown[] = [];
  const box = SecretBox.withKey(randomBytes(32));
  const resolver = () =>
    createTaskSecrets({
      store: { tasks: { get: async (arn) => (arn === current?.taskArn ? current : undefined) }, secrets: store.secrets, parameters: store.parameters },
      sealer: box,
      scope,
      clock: new ManualClock(),
      permissions,
      logger: { error: (details) => errors.push(details) },
    });
  const secretsContext = () => ({ secrets: store.secrets, clock: new ManualClock(), scope, sealer: box });
  const parametersContext = () => ({ parameters: store.parameters, clock: new ManualClock(), scope, sealer: box });
  const resolve = (containers: ContainerDefinition[], overrides: Partial<StoredTask> = {}, hostId = "h1") => {
    current = storedTask(containers, overrides);
    return resolver().resolve(hostId, TASK);
  };
  const one = (valueFrom: string) => [{ name: "app", image: "busybox", secrets: [{ name: "V", valueFrom }] }];

  beforeEach(async () => {
    store = await backend.open();
    permissions = new GrantedPermissions();
    errors.length = 0;
    const db = await createSecret(secretsContext(), { Name: "prod/db", SecretString: '{"password":"s3cr3t","port":5432,"nested":{"a":1}}' });
    dbArn = db.ARN ?? "";
    await putSecretValue(secretsContext(), { SecretId: "prod/db", SecretString: '{"password":"n3w"}' });
    await createSecret(secretsContext(), { Name: "plain", SecretString: "not json" });
    await createSecret(secretsContext(), { Name: "registry", SecretString: '{"username":"robot","password":"pw"}' });
    await putParameter(parametersContext(), { Name: "/prod/api-key", Type: "SecureString", Value: "abc" }, request);
    await putParameter(parametersContext(), { Name: "flat", Type: "String", Value: "plain-value" }, request);
  });
  afterEach(() => store.close());

  test("every valueFrom form reads its value with the execution role's permission", async () => {
    permissions.granted.add("secretsmanager:GetSecretValue *").add("ssm:GetParameters *");
    const answer = await resolve([
      {
        name: "app",
        image: "busybox",
        secrets: [
          { name: "WHOLE", valueFrom: dbArn },
          { name: "PASSWORD", valueFrom: `${dbArn}:password::` },
          { name: "OLD_PASSWORD", valueFrom: `${dbArn}:password:AWSPREVIOUS:` },
          { name: "PORT", valueFrom: `${dbArn.replace(/-[A-Za-z0-9]{6}$/, "")}:port:AWSPREVIOUS:` },
          { name: "NESTED", valueFrom: `${dbArn}:nested:AWSPREVIOUS:` },
          { name: "API_KEY", valueFrom: "/prod/api-key" },
          { name: "API_KEY_ARN", valueFrom: "arn:aws:ssm:us-east-1:123456789012:parameter/prod/api-key" },
          { name: "FLAT", valueFrom: "flat" },
        ],
      },
    ]);
    assert.equal(answer.failure, undefined);
    const env = Object.fromEntries(answer.containers[0]!.env.map(({ name, value }) => [name, value]));
    assert.deepEqual(env, {
      WHOLE: '{"password":"n3w"}',
      PASSWORD: "n3w",
      OLD_PASSWORD: "s3cr3t",
      PORT: "5432",
      NESTED: '{"a":1}',
      API_KEY: "abc",
      API_KEY_ARN: "abc",
      FLAT: "plain-value",
    });
    // Each check names the secret's full ARN and the parameter's ARN, with the task id as session.
    assert.ok(permissions.asked.includes(`secretsmanager:GetSecretValue ${dbArn} 0123456789abcdef`));
    assert.ok(permissions.asked.includes("ssm:GetParameters arn:aws:ssm:us-east-1:123456789012:parameter/prod/api-key 0123456789abcdef"));
  });

  test("repositoryCredentials and log secretOptions are resolved the same way", async () => {
    permissions.granted.add("secretsmanager:GetSecretValue *").add("ssm:GetParameters *");
    const answer = await resolve([
      {
        name: "app",
        image: "registry.example/app",
        repositoryCredentials: { credentialsParameter: "registry" },
        logConfiguration: { logDriver: "splunk", secretOptions: [{ name: "splunk-token", valueFrom: "/prod/api-key" }] },
      },
    ]);
    assert.equal(answer.failure, undefined);
    assert.deepEqual(answer.containers[0]?.repositoryCredentials, { username: "robot", password: "pw" });
    assert.deepEqual(answer.containers[0]?.logSecretOptions, [{ name: "splunk-token", value: "abc" }]);
    permissions.granted.clear();
    const denied = await resolve([{ name: "app", image: "x", repositoryCredentials: { credentialsParameter: "plain" } }]);
    assert.match(denied.failure ?? "", /AccessDeniedException/);
    permissions.granted.add("secretsmanager:GetSecretValue *");
    const malformed = await resolve([{ name: "app", image: "x", repositoryCredentials: { credentialsParameter: "plain" } }]);
    assert.equal(
      malformed.failure,
      `${PREFIX}unable to retrieve secret from asm: asm fetching authorization data: unable to unmarshal secret value, invalid schema`,
    );
  });

  test("a missing permission fails the task with the AccessDenied text, and no value is read", async () => {
    permissions.granted.add("ssm:GetParameters *");
    const answer = await resolve(one(`${dbArn}:password::`));
    assert.deepEqual(answer.containers, []);
    assert.equal(
      answer.failure,
      `${PREFIX}unable to retrieve secret from asm: failed to fetch secret ${dbArn} from secrets manager: AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/exec/0123456789abcdef is not authorized to perform: secretsmanager:GetSecretValue on resource: ${dbArn} because no identity-based policy allows the secretsmanager:GetSecretValue action`,
    );
    permissions.granted.clear();
    permissions.granted.add("secretsmanager:GetSecretValue *");
    const ssm = await resolve(one("/prod/api-key"));
    assert.match(
      ssm.failure ?? "",
      /^ResourceInitializationError: .*unable to retrieve secrets from ssm: AccessDeniedException: .*ssm:GetParameters on resource: arn:aws:ssm:us-east-1:123456789012:parameter\/prod\/api-key/,
    );
    // A role the task definition does not have, or none at all.
    const none = await resolve(one("/prod/api-key"), {
      spec: { ...storedTask([]).spec, taskDefinition: { containerDefinitions: one("/prod/api-key") }, credentials: {} },
    });
    assert.match(none.failure ?? "", /no executionRoleArn/);
  });

  test("missing secrets, parameters, versions and keys fail with the service's and the ECS agent's texts", async () => {
    permissions.granted.add("secretsmanager:GetSecretValue *").add("ssm:GetParameters *");
    const failure = async (valueFrom: string) => (await resolve(one(valueFrom))).failure ?? "";
    const missingArn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:nope-AbCdEf";
    assert.equal(
      await failure(missingArn),
      `${PREFIX}unable to retrieve secret from asm: failed to fetch secret ${missingArn} from secrets manager: ResourceNotFoundException: Secrets Manager can't find the specified secret.`,
    );
    assert.equal(await failure("/prod/none"), `${PREFIX}unable to retrieve secrets from ssm: invalid parameters: /prod/none`);
    assert.equal(
      await failure(`${dbArn}:missing::`),
      `${PREFIX}unable to retrieve secret from asm: retrieved secret from Secrets Manager did not contain json key missing`,
    );
    assert.match(await failure(`${dbArn}::NOSUCHSTAGE:`), /failed to fetch secret .* from secrets manager: ResourceNotFoundException: /);
    assert.match(await failure(`${dbArn}:::${"e".repeat(32)}`), /failed to fetch secret .* from secrets manager: ResourceNotFoundException: /);
    const plainArn = (await createSecret(secretsContext(), { Name: "plain2", SecretString: "hunter2-not-json" })).ARN;
    const notJson = await failure(`${plainArn}:key::`);
    assert.match(notJson, /is not valid JSON, so json key key cannot be read/);
    assert.ok(!notJson.includes("hunter2"), "the reason never quotes the value");
    // Another account's or region's secret is not this server's: not found.
    assert.match(await failure("arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db"), /ResourceNotFoundException/);
    assert.match(await failure("arn:aws:secretsmanager:us-east-1:999999999999:secret:prod/db"), /ResourceNotFoundException/);
    assert.equal(
      await failure("arn:aws:ssm:us-east-1:999999999999:parameter/prod/api-key"),
      `${PREFIX}unable to retrieve secrets from ssm: invalid parameters: arn:aws:ssm:us-east-1:999999999999:parameter/prod/api-key`,
    );
  });

  test("hostile valueFroms are refused with the ECS agent's text or the service's, never a crash", async () => {
    permissions.granted.add("secretsmanager:GetSecretValue *").add("ssm:GetParameters *");
    const failure = async (valueFrom: string) => (await resolve(one(valueFrom))).failure ?? "";
    const invalidArn = "an invalid ARN format for the AWS Secrets Manager secret was specified. Specify a valid ARN and try again.";
    for (const valueFrom of [`${dbArn}:password`, `${dbArn}:a:b:c:d`, "arn:aws:secretsmanager:us-east-1:123456789012:secret:", `${dbArn}${"x".repeat(5000)}`]) {
      assert.match(await failure(valueFrom), new RegExp(`${invalidArn.replace(/\./g, "\\.")}$`), valueFrom.slice(0, 80));
    }
    for (const valueFrom of ["/a/../b\n", "aws/reserved", "/a\u0000b", "ssm/x", `/${"a".repeat(2100)}`]) {
      assert.match(await failure(valueFrom), /^ResourceInitializationError: .*unable to retrieve secrets from ssm: /, JSON.stringify(valueFrom.slice(0, 40)));
    }
    assert.deepEqual(errors, [], "nothing was an internal error");
  });

  test("only the task's own host, and only before it stops, gets its secrets", async () => {
    permissions.granted.add("secretsmanager:GetSecretValue *").add("ssm:GetParameters *");
    await assert.rejects(resolve(one("/prod/api-key"), {}, "h2"), { name: "AccessDeniedException" });
    await assert.rejects(resolve(one("/prod/api-key"), { hostId: undefined }), { name: "AccessDeniedException" });
    await assert.rejects(resolve(one("/prod/api-key"), { desiredStatus: "STOPPED" }), { name: "AccessDeniedException" });
    await assert.rejects(resolve(one("/prod/api-key"), { lastStatus: "STOPPED" }), { name: "AccessDeniedException" });
    current = undefined;
    await assert.rejects(resolver().resolve("h1", "arn:aws:ecs:us-east-1:123456789012:task/c/other"), { name: "AccessDeniedException" });
  });
});
