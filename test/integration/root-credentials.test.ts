// The generated root key: written once to <data-dir>/credentials (profile berth, 0600), kept across
// restarts, usable by the AWS CLI through AWS_SHARED_CREDENTIALS_FILE + AWS_PROFILE=berth; and a
// data dir whose database was removed while the credentials file stayed.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ECSClient, ListClustersCommand } from "@aws-sdk/client-ecs";
import { awsCli, sdkConfig, startTestServer } from "../support/server.js";

const cliWithProfile = (credentialsFile: string) => ({
  AWS_SHARED_CREDENTIALS_FILE: credentialsFile,
  AWS_PROFILE: "berth",
  AWS_ACCESS_KEY_ID: "",
  AWS_SECRET_ACCESS_KEY: "",
});

test("a generated key is written once (0600, profile berth), survives a restart and works with the AWS CLI profile", async () => {
  const first = await startTestServer({ generatedKey: true });
  const credentialsFile = join(first.dataDir, "credentials");
  try {
    assert.equal(statSync(credentialsFile).mode & 0o777, 0o600);
    const text = readFileSync(credentialsFile, "utf8");
    assert.match(text, /^\[berth\]\naws_access_key_id = AKIA[A-Z2-7]{16}\naws_secret_access_key = \S{40}\n$/);
    const created = await awsCli(first, ["ecs", "create-cluster", "--cluster-name", "via-profile"], cliWithProfile(credentialsFile));
    assert.equal(created.code, 0, created.stderr);
    await first.stop();

    const second = await startTestServer({ dataDir: first.dataDir, generatedKey: true });
    try {
      assert.equal(readFileSync(credentialsFile, "utf8"), text, "not rewritten on restart");
      const listed = await awsCli(second, ["ecs", "list-clusters"], cliWithProfile(credentialsFile));
      assert.equal(listed.code, 0, listed.stderr);
      assert.deepEqual((listed.json as { clusterArns: string[] }).clusterArns, ["arn:aws:ecs:us-east-1:123456789012:cluster/via-profile"]);
      const wrong = await awsCli(second, ["ecs", "list-clusters"], {
        AWS_ACCESS_KEY_ID: second.credentials.accessKeyId,
        AWS_SECRET_ACCESS_KEY: "x".repeat(40),
      });
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /InvalidSignatureException/);
    } finally {
      await second.stop();
    }
  } finally {
    await first.cleanup();
  }
});

test("a credentials file whose database was removed keeps its key working instead of crashing the server", async () => {
  const first = await startTestServer({ generatedKey: true });
  const credentialsFile = join(first.dataDir, "credentials");
  const text = readFileSync(credentialsFile, "utf8");
  await first.stop();
  for (const file of ["berth.db", "berth.db-wal", "berth.db-shm"]) rmSync(join(first.dataDir, file), { force: true });
  const second = await startTestServer({ dataDir: first.dataDir, generatedKey: true });
  try {
    assert.equal(readFileSync(credentialsFile, "utf8"), text);
    const ecs = new ECSClient(sdkConfig(second));
    assert.deepEqual((await ecs.send(new ListClustersCommand({}))).clusterArns, []);
    ecs.destroy();
  } finally {
    await second.stop();
    await second.cleanup();
  }
});

test("a credentials file without a [berth] key is refused with a clear message and left alone", async () => {
  const first = await startTestServer({ generatedKey: true });
  await first.stop();
  const credentialsFile = join(first.dataDir, "credentials");
  writeFileSync(credentialsFile, "[default]\naws_access_key_id = AKIAOTHER\n", { mode: 0o600 });
  for (const file of ["berth.db", "berth.db-wal", "berth.db-shm"]) rmSync(join(first.dataDir, file), { force: true });
  try {
    await assert.rejects(
      startTestServer({ dataDir: first.dataDir, generatedKey: true }),
      /exited with 2:[\s\S]*credentials exists but holds no \[berth\] profile/,
    );
    assert.equal(readFileSync(credentialsFile, "utf8"), "[default]\naws_access_key_id = AKIAOTHER\n");
  } finally {
    await first.cleanup();
  }
});
