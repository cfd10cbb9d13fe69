import { test } from "node:test";
import assert from "node:assert/strict";
import type { RunTaskRequest } from "@aws-sdk/client-ecs";
import { assertFargateCompatible, validateRunTaskRequest } from "./validate-run-task.js";

const base: RunTaskRequest = {
  taskDefinition: "app",
  networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-0123456789abcdef0"] } },
};
const rejects = (overrides: Partial<RunTaskRequest>, message: RegExp) =>
  assert.throws(
    () => validateRunTaskRequest({ ...base, ...overrides }),
    (error: Error) => {
      assert.equal(error.name, "InvalidParameterException");
      assert.match(error.message, message);
      return true;
    },
  );

test("applies the defaults: one task, public IP disabled, platform LATEST", () => {
  const placement = validateRunTaskRequest(base);
  assert.equal(placement.count, 1);
  assert.equal(placement.assignPublicIp, "DISABLED");
  assert.equal(placement.platformVersion, "LATEST");
});
test("rejects a count of 0 and of 11", () => {
  rejects({ count: 0 }, /count must be between 1 and 10/);
  rejects({ count: 11 }, /count must be between 1 and 10/);
});
test("rejects a launch type together with a capacity provider strategy", () =>
  rejects(
    { launchType: "FARGATE", capacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 1 }] },
    /capacity provider or a launch type but not both/,
  ));
test("rejects a missing network configuration", () =>
  rejects({ networkConfiguration: undefined }, /Network Configuration must be provided when networkMode 'awsvpc' is specified/));
test("rejects 17 subnets and 6 security groups", () => {
  const subnets = Array.from({ length: 17 }, (_, i) => `subnet-${i}`);
  rejects({ networkConfiguration: { awsvpcConfiguration: { subnets } } }, /at most 16/);
  const securityGroups = Array.from({ length: 6 }, (_, i) => `sg-${i}`);
  rejects({ networkConfiguration: { awsvpcConfiguration: { subnets: ["subnet-1"], securityGroups } } }, /at most 5/);
});
test("rejects a strategy with two bases, an unknown provider or only zero weights", () => {
  rejects(
    {
      capacityProviderStrategy: [
        { capacityProvider: "FARGATE", base: 1, weight: 1 },
        { capacityProvider: "FARGATE_SPOT", base: 1, weight: 1 },
      ],
    },
    /Only one capacity provider/,
  );
  rejects({ capacityProviderStrategy: [{ capacityProvider: "MINE", weight: 1 }] }, /not associated with the cluster/);
  rejects({ capacityProviderStrategy: [{ capacityProvider: "FARGATE", weight: 0 }] }, /weight greater than zero/);
});
test("rejects the EC2 launch type: Berth has no container instances", () => rejects({ launchType: "EC2" }, /No Container Instances were found/));
test("refuses a task definition whose compatibilities lack FARGATE, as AWS words it", () => {
  assert.throws(() => assertFargateCompatible(["EC2"]), {
    name: "InvalidParameterException",
    message: "Task definition does not support launch_type FARGATE.",
  });
  assert.doesNotThrow(() => assertFargateCompatible(["EC2", "FARGATE"]));
});
