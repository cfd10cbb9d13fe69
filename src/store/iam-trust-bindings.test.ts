// Trust policies follow the entity they name, on SQLite and PostgreSQL: deleting a user or role
// leaves its unique id where its ARN was (in every role, escaped ARNs included), renaming a user
// leaves its new ARN, a rolled-back transaction leaves the policies as they were.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eachStoreBackend } from "../../test/support/store-backends.js";

const ACCOUNT = "123456789012";
const userArn = (name: string, path = "/") => `arn:aws:iam::${ACCOUNT}:user${path}${name}`;
const roleArn = (name: string) => `arn:aws:iam::${ACCOUNT}:role/${name}`;
const trusting = (...principals: string[]) =>
  JSON.stringify({ Version: "2012-10-17", Statement: [{ Effect: "Allow", Principal: { AWS: principals }, Action: "sts:AssumeRole" }] });
const role = (name: string, document: string) => ({
  arn: roleArn(name),
  roleId: `AROA${name.toUpperCase().padEnd(17, "X")}`,
  name,
  path: "/",
  assumeRolePolicyDocument: document,
  maxSessionDuration: 3600,
  tags: new Map<string, string>(),
  createDate: 1,
});
const user = (name: string, userId: string) => ({ arn: userArn(name), userId, name, path: "/", tags: new Map<string, string>(), createDate: 1 });

eachStoreBackend((backend) => {
  test("deleting a user or role leaves its unique id in every trust policy that named it", async () => {
    const store = await backend.open();
    try {
      const iam = store.iam;
      await iam.createUser(user("alice", "AIDAALICEXXXXXXXXXXXX"));
      await iam.createRole(role("deploy", trusting(ACCOUNT)));
      const escaped = trusting(userArn("alice")).replaceAll("/", "\\/");
      await iam.createRole(role("admin", trusting(userArn("alice"), roleArn("deploy"))));
      await iam.createRole(role("escaped", escaped));
      await iam.createRole(role("other", trusting(userArn("alice2"))));
      await iam.locked(async (tx) => assert.equal(await tx.deleteUser("ALICE"), true));
      assert.equal((await iam.getRole("admin"))?.assumeRolePolicyDocument, trusting("AIDAALICEXXXXXXXXXXXX", roleArn("deploy")));
      assert.deepEqual(JSON.parse((await iam.getRole("escaped"))!.assumeRolePolicyDocument).Statement[0].Principal.AWS, ["AIDAALICEXXXXXXXXXXXX"]);
      assert.equal((await iam.getRole("other"))?.assumeRolePolicyDocument, trusting(userArn("alice2")));
      assert.equal(await iam.arnOfUniqueId("AIDAALICEXXXXXXXXXXXX"), undefined);
      await iam.locked(async (tx) => assert.equal(await tx.deleteRole("deploy"), true));
      assert.equal((await iam.getRole("admin"))?.assumeRolePolicyDocument, trusting("AIDAALICEXXXXXXXXXXXX", "AROADEPLOYXXXXXXXXXXX"));
      assert.equal(await iam.locked((tx) => tx.deleteUser("alice")), false);
    } finally {
      await store.close();
    }
  });

  test("renaming or moving a user carries its trust to the new ARN; a rollback keeps the old", async () => {
    const store = await backend.open();
    try {
      const iam = store.iam;
      await iam.createUser(user("bob", "AIDABOBXXXXXXXXXXXXXX"));
      assert.equal(await iam.arnOfUniqueId("AIDABOBXXXXXXXXXXXXXX"), userArn("bob"));
      await iam.createRole(role("ops", trusting(userArn("bob"))));
      await iam.locked((tx) => tx.updateUser("bob", { name: "robert", path: "/team/", arn: userArn("robert", "/team/") }));
      assert.equal((await iam.getRole("ops"))?.assumeRolePolicyDocument, trusting(userArn("robert", "/team/")));
      await iam.locked((tx) => tx.updateUser("robert", { tags: new Map([["a", "b"]]) }));
      assert.equal((await iam.getRole("ops"))?.assumeRolePolicyDocument, trusting(userArn("robert", "/team/")));
      await assert.rejects(
        iam.locked(async (tx) => {
          await tx.deleteUser("robert");
          throw new Error("abandoned");
        }),
        /abandoned/,
      );
      assert.equal((await iam.getRole("ops"))?.assumeRolePolicyDocument, trusting(userArn("robert", "/team/")));
    } finally {
      await store.close();
    }
  });
});
