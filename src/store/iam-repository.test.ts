// The IAM repository on SQLite and PostgreSQL: names matched case-insensitively, the read
// interface the authorizer uses (getRole, getUser, policyDocumentsOf with AWS managed policies),
// a user's rename carried to its keys, an Inactive key invisible to SigV4's lookup, and `locked`
// serialising racing check-then-write transactions.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eachStoreBackend } from "../../test/support/store-backends.js";

const trust = '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]}';
const allow = (action: string) => JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Action: action, Resource: "*" }] });
const role = (name: string) => ({
  arn: `arn:aws:iam::123456789012:role/${name}`,
  roleId: `AROA${name.toUpperCase().padEnd(17, "X")}`,
  name,
  path: "/",
  assumeRolePolicyDocument: trust,
  maxSessionDuration: 3600,
  tags: new Map([["team", "a"]]),
  createDate: 1000,
});

eachStoreBackend((backend) => {
  test("roles and users by any case; policyDocumentsOf gathers inline, customer and AWS managed policies", async () => {
    const store = await backend.open();
    try {
      const iam = store.iam;
      await iam.createRole(role("TaskRole"));
      assert.equal((await iam.getRole("taskrole"))?.name, "TaskRole");
      assert.deepEqual([...(await iam.getRole("TASKROLE"))!.tags], [["team", "a"]]);
      assert.equal(await iam.policyDocumentsOf("role", "nobody"), undefined);
      assert.deepEqual(await iam.policyDocumentsOf("role", "taskrole"), []);
      await iam.putInlinePolicy("role", "TaskRole", { name: "Inline", document: allow("s3:GetObject") });
      await iam.createPolicy(
        {
          arn: "arn:aws:iam::123456789012:policy/Mine",
          policyId: "ANPAMINEXXXXXXXXXXXXX",
          name: "Mine",
          path: "/",
          description: undefined,
          defaultVersionId: "v1",
          nextVersion: 3,
          tags: new Map(),
          createDate: 1,
          updateDate: 1,
        },
        { versionId: "v1", document: allow("ecs:ListClusters"), createDate: 1 },
      );
      await iam.addPolicyVersion("Mine", { versionId: "v2", document: allow("ecs:RunTask"), createDate: 2 });
      await iam.attach("role", "taskrole", "arn:aws:iam::123456789012:policy/Mine");
      await iam.attach("role", "taskrole", "arn:aws:iam::aws:policy/AdministratorAccess");
      const documents = await iam.policyDocumentsOf("role", "TaskRole");
      assert.equal(documents?.length, 3);
      assert.ok(documents?.includes(allow("s3:GetObject")));
      assert.ok(documents?.includes(allow("ecs:ListClusters")), "the default version (v1), not v2");
      assert.ok(
        documents?.some((text) => JSON.parse(text).Statement[0].Action === "*"),
        "AdministratorAccess's document",
      );
      await iam.updatePolicy("Mine", { defaultVersionId: "v2" });
      assert.ok((await iam.policyDocumentsOf("role", "TaskRole"))?.includes(allow("ecs:RunTask")));
      assert.equal(await iam.uniqueIdOf("arn:aws:iam::123456789012:role/TaskRole"), role("TaskRole").roleId);
      assert.equal(await iam.attachmentCount("arn:aws:iam::123456789012:policy/Mine"), 1);
      assert.deepEqual([...(await iam.attachmentCounts())].sort(), [
        ["arn:aws:iam::123456789012:policy/Mine", 1],
        ["arn:aws:iam::aws:policy/AdministratorAccess", 1],
      ]);
      assert.deepEqual([await iam.entityCount("role"), await iam.entityCount("user"), await iam.entityCount("policy")], [1, 0, 1]);
    } finally {
      await store.close();
    }
  });

  test("a user's keys: found by SigV4's lookup only while Active, renamed with the user, the root key untouched", async () => {
    const store = await backend.open();
    try {
      await store.accessKeys.put({
        accessKeyId: "AKIAROOTROOTROOTROOT",
        secretCiphertext: "sealed-root",
        accountId: "123456789012",
        principalArn: "arn:aws:iam::123456789012:root",
        createdAt: 1,
      });
      await store.iam.createUser({
        arn: "arn:aws:iam::123456789012:user/alice",
        userId: "AIDAALICEXXXXXXXXXXXX",
        name: "alice",
        path: "/",
        tags: new Map(),
        createDate: 1,
      });
      await store.iam.addUserAccessKey(
        { accessKeyId: "AKIAALICEALICEALICE1", secretCiphertext: "sealed", accountId: "123456789012", userName: "alice", createDate: 5 },
        "arn:aws:iam::123456789012:user/alice",
      );
      assert.equal((await store.accessKeys.get("AKIAALICEALICEALICE1"))?.principalArn, "arn:aws:iam::123456789012:user/alice");
      await store.iam.setAccessKeyStatus("AKIAALICEALICEALICE1", "Inactive");
      assert.equal(await store.accessKeys.get("AKIAALICEALICEALICE1"), undefined, "an Inactive key is not found");
      assert.equal((await store.iam.userAccessKey("AKIAALICEALICEALICE1"))?.status, "Inactive");
      await store.iam.setAccessKeyStatus("AKIAALICEALICEALICE1", "Active");
      await store.iam.updateUser("alice", { name: "Alicia", path: "/ops/", arn: "arn:aws:iam::123456789012:user/ops/Alicia" });
      assert.equal((await store.accessKeys.get("AKIAALICEALICEALICE1"))?.principalArn, "arn:aws:iam::123456789012:user/ops/Alicia");
      assert.deepEqual(
        (await store.iam.userAccessKeys("alicia")).map((key) => key.accessKeyId),
        ["AKIAALICEALICEALICE1"],
      );
      assert.equal(await store.iam.deleteUserAccessKey("AKIAROOTROOTROOTROOT"), false, "the root key is no user's");
      await store.iam.setAccessKeyStatus("AKIAROOTROOTROOTROOT", "Inactive");
      assert.ok(await store.accessKeys.get("AKIAROOTROOTROOTROOT"), "nor can IAM deactivate it");
      assert.equal(await store.iam.deleteUserAccessKey("AKIAALICEALICEALICE1"), true);
      assert.equal(await store.accessKeys.get("AKIAALICEALICEALICE1"), undefined);
    } finally {
      await store.close();
    }
  });

  test("locked: racing check-then-write transactions run one at a time", async () => {
    const store = await backend.open();
    try {
      const created = await Promise.allSettled(
        Array.from({ length: 6 }, () =>
          store.iam.locked(async (tx) => {
            if (await tx.getRole("Racer")) throw new Error("exists");
            await new Promise((resolve) => setTimeout(resolve, 5));
            await tx.createRole(role("Racer"));
          }),
        ),
      );
      assert.equal(created.filter((result) => result.status === "fulfilled").length, 1);
      assert.ok(created.every((result) => result.status === "fulfilled" || (result.reason as Error).message === "exists"));
    } finally {
      await store.close();
    }
  });
});
