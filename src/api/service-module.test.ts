import { test } from "node:test";
import assert from "node:assert/strict";
import type * as ecsSdk from "@aws-sdk/client-ecs";
import type { CreateClusterRequest, CreateClusterResponse, ListClustersResponse } from "@aws-sdk/client-ecs";
import type { RequestContext, SdkOperations } from "./service-module.js";
import { jsonOperations } from "./service-module.js";
import { RawJsonOutput } from "./wire-json.js";

// The typecheck (npm run typecheck) is this file's real test: each @ts-expect-error below is a
// handler the operation table must refuse, and fails the typecheck if the table ever accepts it.
type Ecs = SdkOperations<typeof ecsSdk>;
const ecs = jsonOperations<Ecs>();
const request = { requestId: "r" } as RequestContext;
const createCluster = async (input: CreateClusterRequest): Promise<CreateClusterResponse> => ({ cluster: { clusterName: input.clusterName ?? "default" } });

test("handlers typed with the SDK's request and response are registered under their operation", async () => {
  const operations = ecs({
    CreateCluster: createCluster,
    ListClusters: async (): Promise<ListClustersResponse> => ({ clusterArns: [] }),
    DescribeTaskDefinition: async () => new RawJsonOutput<ecsSdk.DescribeTaskDefinitionResponse>("{}"),
  });
  assert.deepEqual(Object.keys(operations), ["CreateCluster", "ListClusters", "DescribeTaskDefinition"]);
  assert.deepEqual(await operations.CreateCluster!({ clusterName: "a" }, request), { cluster: { clusterName: "a" } });
});

test("the table refuses handlers whose answer is not the operation's SDK response", () => {
  ecs({
    // @ts-expect-error a member the response does not have
    CreateCluster: async () => ({ clusterz: {} }),
  });
  ecs({
    // @ts-expect-error a member of the wrong type
    ListClusters: async () => ({ clusterArns: [1] }),
  });
  ecs({
    // @ts-expect-error `object` names none of the response's members, so it checks nothing
    CreateCluster: async (): Promise<object> => ({}),
  });
  ecs({
    // @ts-expect-error another operation's response
    CreateCluster: async (): Promise<ListClustersResponse> => ({}),
  });
  ecs({
    // @ts-expect-error a text standing for another operation's response
    CreateCluster: async () => new RawJsonOutput<ListClustersResponse>("{}"),
  });
  ecs({
    // @ts-expect-error the input of another operation
    ListClusters: async (input: { taskDefinition: string }): Promise<ListClustersResponse> => ({ clusterArns: [input.taskDefinition] }),
  });
  // @ts-expect-error an operation ECS does not have
  ecs({ CreateClusters: createCluster });
  // Operations offered only sometimes (ECS's task operations) are checked all the same.
  const sometimes = (offered: boolean) => (offered ? { CreateCluster: async (): Promise<object> => ({}) } : {});
  // @ts-expect-error `object` again, behind a conditional spread
  ecs({ ...sometimes(true) });
});
