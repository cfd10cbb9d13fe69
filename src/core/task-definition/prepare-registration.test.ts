import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import type { RegisterTaskDefinitionRequest } from "@aws-sdk/client-ecs";
import { prepareTaskDefinitionRegistration } from "./prepare-registration.js";
import { rejectedCases } from "../../../test/support/fargate-rejected-cases.js";

const base: RegisterTaskDefinitionRequest = {
  family: "app",
  networkMode: "awsvpc",
  requiresCompatibilities: ["FARGATE"],
  cpu: "256",
  memory: "512",
  executionRoleArn: "arn:aws:iam::123456789012:role/ecsTaskExecutionRole",
  containerDefinitions: [{ name: "web", image: "nginx" }],
};

describe("Fargate task definition registration", () => {
  test("echoes the AWS sample with integer-string sizes, defaults and compatibilities", () => {
    const sample = JSON.parse(readFileSync(new URL("../../../examples/sample-fargate-app.json", import.meta.url), "utf8")) as RegisterTaskDefinitionRequest;
    const prepared = prepareTaskDefinitionRegistration(sample);
    assert.equal(prepared.cpu, "256");
    assert.equal(prepared.memory, "512");
    assert.deepEqual(prepared.compatibilities, ["EC2", "FARGATE"]);
    const container = prepared.containerDefinitions![0]!;
    assert.equal(container.essential, true);
    assert.deepEqual(container.portMappings, [{ containerPort: 80, hostPort: 80, protocol: "tcp" }]);
    assert.ok(prepared.requiresAttributes!.some((a) => a.name === "ecs.capability.task-eni"));
  });
  test("accepts the string forms '1 vCPU' and '2 GB'", () => {
    const prepared = prepareTaskDefinitionRegistration({ ...base, cpu: "1 vCPU", memory: "2 GB" });
    assert.equal(prepared.cpu, "1024");
    assert.equal(prepared.memory, "2048");
  });
  test("fills the health check defaults", () => {
    const prepared = prepareTaskDefinitionRegistration({
      ...base,
      containerDefinitions: [{ name: "web", image: "nginx", healthCheck: { command: ["CMD-SHELL", "true"] } }],
    });
    assert.deepEqual(prepared.containerDefinitions![0]!.healthCheck, { interval: 30, timeout: 5, retries: 3, command: ["CMD-SHELL", "true"] });
  });
  test("lists FARGATE in compatibilities only when every Fargate rule passes", () => {
    const ec2 = { ...base, requiresCompatibilities: ["EC2" as const] };
    assert.deepEqual(prepareTaskDefinitionRegistration(ec2).compatibilities, ["EC2", "FARGATE"]);
    const privileged = { ...ec2, containerDefinitions: [{ name: "web", image: "nginx", privileged: true }] };
    assert.deepEqual(prepareTaskDefinitionRegistration(privileged).compatibilities, ["EC2"]);
    assert.deepEqual(prepareTaskDefinitionRegistration({ ...ec2, networkMode: "bridge" }).compatibilities, ["EC2"]);
    assert.deepEqual(prepareTaskDefinitionRegistration({ ...ec2, memory: "4096" }).compatibilities, ["EC2"]);
    assert.deepEqual(prepareTaskDefinitionRegistration({ ...base, requiresCompatibilities: undefined }).compatibilities, ["EC2", "FARGATE"]);
  });
  for (const [behaviour, change, message] of rejectedCases) {
    test(behaviour, () =>
      assert.throws(
        () => prepareTaskDefinitionRegistration({ ...base, ...change }),
        (error: Error) => {
          assert.equal(error.name, "ClientException");
          assert.equal(error.message, message);
          return true;
        },
      ),
    );
  }
});

describe("names that become host paths", () => {
  test("accepts AWS's whole patterns at their limits", () => {
    const name = "A-z_0".repeat(51);
    assert.equal(name.length, 255);
    const prepared = prepareTaskDefinitionRegistration({
      ...base,
      volumes: [{ name }],
      containerDefinitions: [{ name, image: "nginx", mountPoints: [{ sourceVolume: name, containerPath: "/data" }] }],
    });
    assert.equal(prepared.volumes![0]!.name, name);
    assert.equal(prepared.containerDefinitions![0]!.name, name);
  });
  for (const name of [".", "..", "a.b", "a b", "a\nb", "a\0b", "é", "vol/..", "/abs"]) {
    test(`refuses the volume name ${JSON.stringify(name)}`, () =>
      assert.throws(() => prepareTaskDefinitionRegistration({ ...base, volumes: [{ name }] }), {
        name: "ClientException",
        message: "volume.name contains invalid characters.",
      }));
    test(`refuses the container name ${JSON.stringify(name)}`, () =>
      assert.throws(() => prepareTaskDefinitionRegistration({ ...base, containerDefinitions: [{ name, image: "nginx" }] }), {
        name: "ClientException",
        message: "Container.name contains invalid characters.",
      }));
  }
  test("refuses a name that matches only on its first line (the pattern is compared whole)", () =>
    assert.throws(() => prepareTaskDefinitionRegistration({ ...base, volumes: [{ name: "ok\n../../x" }] }), { name: "ClientException" }));
});
