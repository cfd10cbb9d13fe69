import { test } from "node:test";
import assert from "node:assert/strict";
import type { CallerIdentity } from "../core/iam/index.js";
import type { IamPolicySource } from "./authorizer.js";
import { Authorizer, assumedRoleArn, roleNameOf } from "./authorizer.js";
import { RoleSessions, sessionTokenDigest } from "./role-sessions.js";
import type { RoleSessionsRepository, StoredRoleSession } from "../store/index.js";

const ACCOUNT = "123456789012";
const policy = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

/** An IAM store in memory: entities by name, policies by entity, counting reads. */
function iamSource() {
  const roles = new Map<string, { arn: string; roleId: string; tags: Map<string, string>; assumeRolePolicyDocument: string; maxSessionDuration: number }>();
  const users = new Map<string, { arn: string; userId: string; tags: Map<string, string> }>();
  const documents = new Map<string, string[]>();
  let reads = 0;
  const source: IamPolicySource = {
    getRole: async (name) => (reads++, roles.get(name)),
    getUser: async (name) => (reads++, users.get(name)),
    policyDocumentsOf: async (kind, name) => ((kind === "role" ? roles.has(name) : users.has(name)) ? (documents.get(`${kind}/${name}`) ?? []) : undefined),
  };
  return {
    source,
    reads: () => reads,
    user(name: string, ...docs: string[]) {
      users.set(name, { arn: `arn:aws:iam::${ACCOUNT}:user/${name}`, userId: `AIDA${name.toUpperCase().padEnd(17, "X")}`, tags: new Map([["team", "blue"]]) });
      documents.set(`user/${name}`, docs);
    },
    role(name: string, trust: string, ...docs: string[]) {
      roles.set(name, {
        arn: `arn:aws:iam::${ACCOUNT}:role/${name}`,
        roleId: "AROAEXAMPLEEXAMPLE1",
        tags: new Map(),
        assumeRolePolicyDocument: trust,
        maxSessionDuration: 3600,
      });
      documents.set(`role/${name}`, docs);
    },
    setDocuments(key: string, docs: string[]) {
      documents.set(key, docs);
    },
    removeUser(name: string) {
      users.delete(name);
    },
  };
}

const userCaller = (name: string): CallerIdentity => ({ kind: "user", arn: `arn:aws:iam::${ACCOUNT}:user/${name}`, account: ACCOUNT, userName: name });

test("root may do anything; a user what its policies allow; deny wins; every resource must be allowed", async () => {
  const iam = iamSource();
  iam.user(
    "ci",
    policy({ Effect: "Allow", Action: "ecs:*", Resource: "*" }),
    policy({ Effect: "Deny", Action: "ecs:DeleteCluster", Resource: "arn:aws:ecs:*:*:cluster/prod" }),
  );
  const authorizer = new Authorizer(iam.source, Date.now);
  await authorizer.authorize({ kind: "root", arn: `arn:aws:iam::${ACCOUNT}:root`, account: ACCOUNT }, { action: "iam:DeleteUser", resources: ["*"] });
  await authorizer.authorize(userCaller("ci"), { action: "ecs:DeleteCluster", resources: ["arn:aws:ecs:us-east-1:1:cluster/dev"] });
  const denial = await authorizer.denial(userCaller("ci"), {
    action: "ecs:DeleteCluster",
    resources: ["arn:aws:ecs:us-east-1:1:cluster/dev", "arn:aws:ecs:us-east-1:1:cluster/prod"],
  });
  assert.equal(denial?.explicit, true);
  assert.match(denial?.message ?? "", /on resource: arn:aws:ecs:us-east-1:1:cluster\/prod with an explicit deny in an identity-based policy$/);
  const implicit = await authorizer.denial(userCaller("ci"), { action: "logs:PutLogEvents", resources: ["*"] });
  assert.equal(implicit?.explicit, false);
  assert.equal(
    implicit?.message,
    `User: arn:aws:iam::${ACCOUNT}:user/ci is not authorized to perform: logs:PutLogEvents on resource: * because no identity-based policy allows the logs:PutLogEvents action`,
  );
  // A user that no longer exists may do nothing, even with a key still cached somewhere.
  iam.removeUser("ci");
  await new Promise((resolve) => setTimeout(resolve, 0));
  const gone = new Authorizer(iam.source, Date.now);
  assert.ok(await gone.denial(userCaller("ci"), { action: "ecs:ListClusters", resources: ["*"] }));
});

test("conditions see the principal's tags, the source address and the service keys", async () => {
  const iam = iamSource();
  iam.user(
    "ci",
    policy({
      Effect: "Allow",
      Action: "ecs:RunTask",
      Resource: "*",
      Condition: {
        StringEquals: { "aws:PrincipalTag/team": "blue", "ecs:cluster": "arn:aws:ecs:us-east-1:1:cluster/dev" },
        IpAddress: { "aws:SourceIp": "127.0.0.0/8" },
      },
    }),
  );
  const authorizer = new Authorizer(iam.source, Date.now);
  const query = {
    action: "ecs:RunTask",
    resources: ["arn:aws:ecs:us-east-1:1:task-definition/web:1"],
    extra: { "ecs:cluster": "arn:aws:ecs:us-east-1:1:cluster/dev" },
  };
  assert.equal(await authorizer.denial(userCaller("ci"), { ...query, sourceIp: "127.0.0.1" }), undefined);
  assert.ok(await authorizer.denial(userCaller("ci"), { ...query, sourceIp: "10.0.0.1" }));
  assert.ok(await authorizer.denial(userCaller("ci"), { ...query, sourceIp: "127.0.0.1", extra: { "ecs:cluster": "arn:aws:ecs:us-east-1:1:cluster/prod" } }));
});

test("policies are read again after the cache's 2 s, not on every call", async () => {
  const iam = iamSource();
  iam.user("ci", policy({ Effect: "Allow", Action: "ecs:ListClusters", Resource: "*" }));
  let now = 1_000_000;
  const authorizer = new Authorizer(iam.source, () => now);
  const query = { action: "ecs:ListClusters", resources: ["*"] };
  await authorizer.authorize(userCaller("ci"), query);
  const reads = iam.reads();
  for (let index = 0; index < 50; index++) await authorizer.authorize(userCaller("ci"), query);
  assert.equal(iam.reads(), reads, "cached");
  iam.setDocuments("user/ci", []);
  now += 1_999;
  await authorizer.authorize(userCaller("ci"), query);
  now += 2;
  assert.ok(await authorizer.denial(userCaller("ci"), query), "the removed policy no longer allows once the cache expired");
});

test("a kept decision is given only to the same request: another address, second, resource list or tag set is decided again", async () => {
  const iam = iamSource();
  const ok = `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/ok`;
  iam.user(
    "ci",
    policy(
      { Effect: "Allow", Action: "ecs:DescribeClusters", Resource: `${ok}*`, Condition: { IpAddress: { "aws:SourceIp": "127.0.0.0/8" } } },
      { Effect: "Deny", Action: "*", Resource: "*", Condition: { DateGreaterThan: { "aws:CurrentTime": "2030-01-01T00:00:00Z" } } },
      { Effect: "Deny", Action: "ecs:DescribeClusters", Resource: "*", Condition: { StringEquals: { "aws:RequestTag/team": "red" } } },
    ),
  );
  let now = Date.parse("2029-12-31T23:59:59.500Z");
  const authorizer = new Authorizer(iam.source, () => now);
  const caller = userCaller("ci");
  const query = { action: "ecs:DescribeClusters", resources: [ok], sourceIp: "127.0.0.1" };
  assert.equal(await authorizer.denial(caller, query), undefined);
  assert.equal(authorizer.denialNow(caller, query), undefined, "decided again without waiting once the entity is loaded");
  assert.ok(authorizer.denialNow(caller, { ...query, sourceIp: "10.0.0.1" }), "another address");
  assert.ok(authorizer.denialNow(caller, { ...query, requestTags: new Map([["team", "red"]]) }), "other request tags");
  // One resource whose text ends as another list would read, once allowed and kept, does not answer for the list.
  const bad = `arn:aws:ecs:us-east-1:${ACCOUNT}:cluster/bad`;
  assert.equal(authorizer.denialNow(caller, { ...query, resources: [`${ok} ${bad}`] }), undefined);
  assert.equal(authorizer.denialNow(caller, { ...query, resources: [`${ok} ${bad.length}:${bad}`] }), undefined);
  assert.ok(authorizer.denialNow(caller, { ...query, resources: [ok, bad] }), "the list is decided on its own");
  now += 1_600;
  assert.ok(authorizer.denialNow(caller, query), "a new second: aws:CurrentTime is past the deny's date though the policies are still cached");
});

test("a session policy bounds what a role session may do; roleMay answers for an execution role", async () => {
  const iam = iamSource();
  const trust = policy({ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" });
  iam.role("exec", trust, policy({ Effect: "Allow", Action: ["secretsmanager:GetSecretValue", "logs:*"], Resource: "*" }));
  const authorizer = new Authorizer(iam.source, Date.now);
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/exec`;
  const session: CallerIdentity = {
    kind: "role-session",
    arn: assumedRoleArn(roleArn, "s"),
    account: ACCOUNT,
    roleArn,
    roleName: "exec",
    roleId: "AROAEXAMPLEEXAMPLE1",
    sessionName: "s",
    sessionPolicy: policy({ Effect: "Allow", Action: "logs:*", Resource: "*" }),
  };
  assert.equal(await authorizer.denial(session, { action: "logs:PutLogEvents", resources: ["*"] }), undefined);
  const bounded = await authorizer.denial(session, { action: "secretsmanager:GetSecretValue", resources: ["arn:x"] });
  assert.match(bounded?.message ?? "", /because no session policy allows the secretsmanager:GetSecretValue action$/);
  assert.deepEqual(await authorizer.roleMay(roleArn, "secretsmanager:GetSecretValue", "arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf", "task1"), {
    allowed: true,
  });
  const refused = await authorizer.roleMay(roleArn, "ssm:GetParameters", "arn:aws:ssm:us-east-1:1:parameter/x", "task1");
  assert.equal(refused.allowed, false);
  assert.match(
    refused.allowed ? "" : refused.message,
    new RegExp(`^User: arn:aws:sts::${ACCOUNT}:assumed-role/exec/task1 is not authorized to perform: ssm:GetParameters`),
  );
  assert.equal((await authorizer.roleMay(`arn:aws:iam::${ACCOUNT}:role/missing`, "logs:PutLogEvents", "*", "t")).allowed, false);
  // A role ARN with another path than the stored role's names another role.
  assert.equal((await authorizer.roleMay(`arn:aws:iam::${ACCOUNT}:role/x/exec`, "logs:PutLogEvents", "*", "t")).allowed, false);
  assert.equal(roleNameOf("arn:aws:iam::123456789012:role/a/b/name"), "name");
  assert.equal(roleNameOf("arn:aws:iam::123456789012:user/name"), undefined);
});

function memorySessions(): RoleSessionsRepository & { rows: Map<string, StoredRoleSession> } {
  const rows = new Map<string, StoredRoleSession>();
  return {
    rows,
    get: async (id) => rows.get(id),
    put: async (session) => void rows.set(session.accessKeyId, session),
    purgeExpired: async (now) => {
      let removed = 0;
      for (const [id, row] of rows) if (row.expiresAt < now && rows.delete(id)) removed++;
      return removed;
    },
  };
}

test("RoleSessions: trust policies, external ids, durations, root and chaining; only digests and sealed secrets are stored", async () => {
  const iam = iamSource();
  const trust = policy({
    Effect: "Allow",
    Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/ci` },
    Action: "sts:AssumeRole",
    Condition: { StringEquals: { "sts:ExternalId": "ext-1" } },
  });
  iam.role("app", trust, policy({ Effect: "Allow", Action: "sts:AssumeRole", Resource: "*" }));
  iam.user("ci");
  iam.user("other");
  const sessions = memorySessions();
  const authorizer = new Authorizer(iam.source, Date.now);
  const issuer = new RoleSessions({
    sessions,
    iam: iam.source,
    authorizer,
    sealer: { seal: (text) => `sealed:${text}`, unseal: (text) => text.slice(7) },
    now: Date.now,
  });
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/app`;
  await assert.rejects(issuer.assumeRole(userCaller("ci"), { roleArn, roleSessionName: "s1" }), /AccessDenied|not authorized/);
  await assert.rejects(issuer.assumeRole(userCaller("other"), { roleArn, roleSessionName: "s1", externalId: "ext-1" }), { name: "AccessDeniedException" });
  await assert.rejects(issuer.assumeRole({ kind: "root", arn: `arn:aws:iam::${ACCOUNT}:root`, account: ACCOUNT }, { roleArn, roleSessionName: "s1" }), {
    message: "Roles may not be assumed by root accounts.",
  });
  await assert.rejects(
    issuer.assumeRole(userCaller("ci"), { roleArn, roleSessionName: "s1", externalId: "ext-1", durationSeconds: 3601 }),
    /MaxSessionDuration/,
  );
  await assert.rejects(issuer.assumeRole(userCaller("ci"), { roleArn, roleSessionName: "a b", externalId: "ext-1" }), /roleSessionName/);
  const issued = await issuer.assumeRole(userCaller("ci"), { roleArn, roleSessionName: "s1", externalId: "ext-1", durationSeconds: 900 });
  const row = sessions.rows.get(issued.accessKeyId)!;
  assert.equal(row.tokenSha256, sessionTokenDigest(issued.sessionToken));
  assert.ok(!JSON.stringify(row).includes(issued.sessionToken));
  assert.equal(row.secretCiphertext, `sealed:${issued.secretAccessKey}`);
  assert.equal(row.principalArn, `arn:aws:sts::${ACCOUNT}:assumed-role/app/s1`);
  // Chaining from the session: an hour at most.
  await assert.rejects(issuer.assumeRole(issued.identity, { roleArn, roleSessionName: "t1", durationSeconds: 3601 }), /1 hour session limit/);
  // GetSessionToken: not from a session; the root's at most an hour.
  await assert.rejects(issuer.getSessionToken(issued.identity, undefined), { message: "Cannot call GetSessionToken with session credentials" });
  const rootToken = await issuer.getSessionToken({ kind: "root", arn: `arn:aws:iam::${ACCOUNT}:root`, account: ACCOUNT }, 7200);
  assert.ok(rootToken.expiration - Date.now() <= 3_600_000);
});

test("task role credentials need the role to trust ecs-tasks.amazonaws.com", async () => {
  const iam = iamSource();
  iam.role("task", policy({ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }));
  iam.role("lambda", policy({ Effect: "Allow", Principal: { Service: "lambda.amazonaws.com" }, Action: "sts:AssumeRole" }));
  const issuer = new RoleSessions({
    sessions: memorySessions(),
    iam: iam.source,
    authorizer: new Authorizer(iam.source, Date.now),
    sealer: { seal: (t) => t, unseal: (t) => t },
    now: Date.now,
  });
  const taskArn = "arn:aws:ecs:us-east-1:123456789012:task/default/0123456789abcdef";
  const credentials = await issuer.issueForTask({ taskArn, taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/task` });
  assert.equal(credentials.roleArn, `arn:aws:iam::${ACCOUNT}:role/task`);
  assert.ok(credentials.expiration > Date.now() + 3_000_000);
  await assert.rejects(issuer.issueForTask({ taskArn, taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/lambda` }), { name: "AccessDeniedException" });
  await assert.rejects(issuer.issueForTask({ taskArn, taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/none` }), { name: "AccessDeniedException" });
});

test("a resource policy decides with the identity policies: its Allow grants a user with none, a Deny in either wins, an account principal defers to IAM", async () => {
  const iam = iamSource();
  iam.user("reader");
  iam.user("admin", policy({ Effect: "Allow", Action: "ecr:*", Resource: "*" }));
  const authorizer = new Authorizer(iam.source, Date.now);
  const repository = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/app`;
  const query = (resourcePolicy?: string, action = "ecr:BatchGetImage") => ({ action, resources: [repository], ...(resourcePolicy ? { resourcePolicy } : {}) });
  const readerArn = `arn:aws:iam::${ACCOUNT}:user/reader`;

  assert.match((await authorizer.denial(userCaller("reader"), query()))!.message, /because no identity-based policy allows the ecr:BatchGetImage action/);
  const grant = policy({ Effect: "Allow", Principal: { AWS: readerArn }, Action: ["ecr:BatchGetImage"] });
  assert.equal(await authorizer.denial(userCaller("reader"), query(grant)), undefined);
  assert.ok(await authorizer.denial(userCaller("reader"), query(grant, "ecr:PutImage")), "only the actions granted");
  assert.equal(await authorizer.denial(userCaller("reader"), query(policy({ Effect: "Allow", Principal: "*", Action: "ecr:*" }))), undefined);
  for (const principal of [
    { AWS: ACCOUNT },
    { AWS: `arn:aws:iam::${ACCOUNT}:root` },
    { AWS: "999999999999" },
    { AWS: `arn:aws:iam::999999999999:user/reader` },
  ]) {
    assert.ok(
      await authorizer.denial(userCaller("reader"), query(policy({ Effect: "Allow", Principal: principal, Action: "ecr:*" }))),
      JSON.stringify(principal),
    );
  }

  const deny = policy({ Effect: "Deny", Principal: { AWS: `arn:aws:iam::${ACCOUNT}:user/admin` }, Action: "ecr:BatchGetImage" });
  const denied = await authorizer.denial(userCaller("admin"), query(deny));
  assert.equal(denied?.explicit, true);
  assert.match(denied!.message, /with an explicit deny in a resource-based policy$/);
  assert.equal(await authorizer.denial(userCaller("admin"), query(deny, "ecr:DescribeImages")), undefined);
  // NotPrincipal with Deny: everyone but the named principal is denied.
  const onlyReader = policy({ Effect: "Deny", NotPrincipal: { AWS: readerArn }, Action: "ecr:*" });
  assert.equal((await authorizer.denial(userCaller("admin"), query(onlyReader)))?.explicit, true);
  // Conditions go through the same evaluator: the grant holds from its address only.
  const fromLab = policy({ Effect: "Allow", Principal: { AWS: readerArn }, Action: "ecr:*", Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } });
  assert.ok(await authorizer.denial(userCaller("reader"), { ...query(fromLab), sourceIp: "192.0.2.1" }));
  assert.equal(await authorizer.denial(userCaller("reader"), { ...query(fromLab), sourceIp: "10.1.2.3" }), undefined);
  // The root is not bound by a repository policy; a policy that no longer parses fails closed.
  await authorizer.authorize({ kind: "root", arn: `arn:aws:iam::${ACCOUNT}:root`, account: ACCOUNT }, query(deny));
  await assert.rejects(authorizer.denial(userCaller("admin"), query("{not json")));
});

test("roleMay with a repository policy: naming the role grants its sessions without identity policies; a Deny naming it refuses", async () => {
  const iam = iamSource();
  iam.role("exec", policy({ Effect: "Allow", Principal: { Service: "ecs-tasks.amazonaws.com" }, Action: "sts:AssumeRole" }));
  const authorizer = new Authorizer(iam.source, Date.now);
  const roleArn = `arn:aws:iam::${ACCOUNT}:role/exec`;
  const repository = `arn:aws:ecr:us-east-1:${ACCOUNT}:repository/app`;
  assert.equal((await authorizer.roleMay(roleArn, "ecr:BatchGetImage", repository, "task-1")).allowed, false);
  const grant = policy({ Effect: "Allow", Principal: { AWS: roleArn }, Action: "ecr:BatchGetImage" });
  assert.equal((await authorizer.roleMay(roleArn, "ecr:BatchGetImage", repository, "task-1", grant)).allowed, true);
  const deny = policy({ Effect: "Deny", Principal: { AWS: roleArn }, Action: "ecr:*" });
  const refused = await authorizer.roleMay(roleArn, "ecr:BatchGetImage", repository, "task-1", deny);
  assert.equal(refused.allowed, false);
  assert.match(refused.allowed ? "" : refused.message, /assumed-role\/exec\/task-1 .* with an explicit deny in a resource-based policy$/);
});
