// `berth network` prints the default VPC, one subnet per AZ and the default security group,
// signing its request from the usual AWS credential sources (here: the environment), as the EC2 store
// holds them (a subnet added to the default VPC shows; a deleted default VPC is said to be gone).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { join } from "node:path";
import { awsCli, startTestServer } from "../support/server.js";

const berth = join(new URL("../..", import.meta.url).pathname, "bin", "berth");

function runNetwork(endpoint: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) =>
    execFile(
      process.execPath,
      [berth, "network", "--endpoint", endpoint],
      { env: { PATH: process.env.PATH ?? "", HOME: "/nonexistent", ...env } },
      (error, stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

test("berth network lists the VPC, six us-east-1 subnets and the default security group", async () => {
  const server = await startTestServer();
  try {
    const result = await runNetwork(server.endpoint, {
      AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey,
      AWS_REGION: "us-east-1",
    });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout
      .trim()
      .split("\n")
      .map((line) => line.split("\t"));
    assert.deepEqual(lines[0]!.slice(2), ["172.31.0.0/16", "default"]);
    const subnets = lines.filter((line) => line[0] === "subnet");
    assert.deepEqual(
      subnets.map((line) => line[2]),
      ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"],
    );
    assert.match(subnets[0]![1]!, /^subnet-[0-9a-f]{17}$/);
    assert.equal(lines.filter((line) => line[0] === "security-group").length, 1);
    const refused = await runNetwork(server.endpoint, {
      AWS_ACCESS_KEY_ID: server.credentials.accessKeyId,
      AWS_SECRET_ACCESS_KEY: "not-the-secret-not-the-secret-not-the-se",
      AWS_REGION: "us-east-1",
    });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /InvalidSignatureException/);
  } finally {
    await server.stop();
    await server.cleanup();
  }
});

test("berth network answers from the EC2 store: a subnet added to the default VPC shows, and a deleted default VPC is said to be gone", async () => {
  const server = await startTestServer();
  const env = { AWS_ACCESS_KEY_ID: server.credentials.accessKeyId, AWS_SECRET_ACCESS_KEY: server.credentials.secretAccessKey, AWS_REGION: "us-east-1" };
  const ec2 = async (args: string[]) => {
    const result = await awsCli(server, ["ec2", ...args]);
    assert.equal(result.code, 0, `aws ec2 ${args.join(" ")}: ${result.stderr}`);
    return result.json as Record<string, unknown>;
  };
  try {
    const vpcs = (await ec2(["describe-vpcs", "--filters", "Name=is-default,Values=true"])).Vpcs as { VpcId: string; CidrBlock: string }[];
    assert.equal(vpcs.length, 1);
    const vpcId = vpcs[0]!.VpcId;
    const groups = (await ec2(["describe-security-groups", "--filters", `Name=vpc-id,Values=${vpcId}`, "Name=group-name,Values=default"])).SecurityGroups as {
      GroupId: string;
    }[];
    const added = (await ec2(["create-subnet", "--vpc-id", vpcId, "--cidr-block", "172.31.96.0/20", "--availability-zone", "us-east-1a"])).Subnet as {
      SubnetId: string;
    };
    // A group of the default VPC other than "default" is not listed: the command names the default group.
    const web = (await ec2(["create-security-group", "--group-name", "web", "--description", "web", "--vpc-id", vpcId])).GroupId as string;

    const listed = await runNetwork(server.endpoint, env);
    assert.equal(listed.code, 0, listed.stderr);
    const lines = listed.stdout
      .trim()
      .split("\n")
      .map((line) => line.split("\t"));
    assert.deepEqual(lines[0], ["vpc", vpcId, "172.31.0.0/16", "default"]);
    const subnets = lines.filter((line) => line[0] === "subnet");
    const described = (await ec2(["describe-subnets", "--filters", `Name=vpc-id,Values=${vpcId}`])).Subnets as { SubnetId: string }[];
    assert.deepEqual(subnets.map((line) => line[1]).sort(), described.map((subnet) => subnet.SubnetId).sort(), "the store's subnets, no others");
    // By zone, then by address: the added one right after us-east-1a's default subnet.
    assert.deepEqual(
      subnets.slice(0, 2).map((line) => [line[2], line[3]]),
      [
        ["us-east-1a", "172.31.0.0/20"],
        ["us-east-1a", "172.31.96.0/20"],
      ],
    );
    assert.equal(subnets[1]![1], added.SubnetId);
    assert.deepEqual(
      lines.filter((line) => line[0] === "security-group"),
      [["security-group", groups[0]!.GroupId, "default", vpcId]],
    );

    // Delete the default VPC (its subnets and the extra group first, as EC2 requires).
    for (const subnet of described) await ec2(["delete-subnet", "--subnet-id", subnet.SubnetId]);
    await ec2(["delete-security-group", "--group-id", web]);
    await ec2(["delete-vpc", "--vpc-id", vpcId]);
    const gone = await runNetwork(server.endpoint, env);
    assert.equal(gone.code, 1);
    assert.equal(gone.stdout, "");
    assert.match(gone.stderr, /this account has no default VPC \(it was deleted/);
    assert.match(gone.stderr, /aws ec2 describe-vpcs/);
  } finally {
    await server.stop();
    await server.cleanup();
  }
});
