import type { EcrImageStore } from "../ecr/index.js";
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { systemClock } from "../../core/clock.js";
import { defaultNetwork } from "../../core/default-network.js";
import { TaskLauncher } from "../../control/task-launcher.js";
import type { Store } from "../../store/index.js";
import { openStore } from "../../store/index.js";
import { createEcrService } from "../ecr/index.js";
import { createEcsService } from "../ecs/index.js";
import { createLogsService } from "../logs/index.js";
import { createNetworkService } from "../network-service.js";
import type { JsonServiceModule } from "../service-module.js";
import { inputSchemaOf, operationInputSchemas } from "./schema-validation.js";

// Every service module the server registers (src/cli/commands/server.ts), each with all of its
// operations: ECS with a task launcher, so that RunTask and the other task operations are offered.
const scope = { partition: "aws", region: "us-east-1", accountId: "123456789012" };
let store: Store;
let services: JsonServiceModule[];

before(async () => {
  store = await openStore({ inMemory: true });
  const network = defaultNetwork(scope);
  const launcher = new TaskLauncher({ store, clock: systemClock, scope, network, notifyHost: () => {} });
  services = [
    createEcsService({ store, clock: systemClock, scope, launcher }),
    createLogsService({ logs: store.logs, clock: systemClock, scope }),
    createEcrService({
      repositories: store.ecr,
      tags: store.tags,
      clock: systemClock,
      scope,
      publicHost: () => "127.0.0.1:0",
      issueAuthorizationToken: () => ({ authorizationToken: "", expiresAt: 0 }),
      releaseBlobs: async () => {},
      // Only the operations' schemas are read here; the registry's image store is never reached.
      policies: store.ecrPolicies,
      principalExists: async () => true,
      images: new Proxy({} as EcrImageStore, { get: () => () => Promise.reject(new Error("not reached in a schema test")) }),
    }),
    createNetworkService(store),
  ];
});
after(() => store.close());

test("every registered operation of every service has an input structure schema", () => {
  assert.deepEqual(
    services.map((service) => service.signingName),
    ["ecs", "logs", "ecr", "berth"],
  );
  for (const service of services) {
    const operations = Object.keys(service.operations);
    assert.ok(operations.length > 0, service.signingName);
    for (const operation of operations) {
      const schema = inputSchemaOf(service.schemas, operation);
      assert.ok(Array.isArray(schema) && schema[0] === 3, `${service.signingName} ${operation} has no input structure schema`);
    }
    assert.deepEqual([...operationInputSchemas(service).keys()], operations);
  }
  assert.ok("RunTask" in services[0]!.operations, "the task operations are among those checked");
});

test("a module with an operation its schemas do not describe is refused, naming the operation", () => {
  const ecs = services[0]!;
  const misspelt: JsonServiceModule = { ...ecs, operations: { ...ecs.operations, RunTasks: ecs.operations["RunTask"]! } };
  assert.throws(() => operationInputSchemas(misspelt), /AmazonEC2ContainerServiceV20141113: no input schema for RunTasks\b/);
  assert.throws(() => operationInputSchemas({ ...ecs, schemas: {} }), /no input schema for CreateCluster, DescribeClusters/);
});
