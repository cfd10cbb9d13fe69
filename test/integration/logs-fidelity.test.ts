// Places where CloudWatch Logs answers a fault in its own words (issue 16): each driven through
// the real AWS SDK v3 client against a real `berth server` on loopback, asserting AWS's code and
// message (the model's constraint, worded "1 validation error detected: …").
import { describe, test, before, after } from "node:test";
import assert from "node:assert/strict";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  DescribeLogGroupsCommand,
  DescribeLogStreamsCommand,
  GetLogEventsCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import type { OrderBy } from "@aws-sdk/client-cloudwatch-logs";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer } from "../support/server.js";

let server: TestServer;
let logs: CloudWatchLogsClient;
let groupArn: string;

before(async () => {
  server = await startTestServer();
  logs = new CloudWatchLogsClient(sdkConfig(server));
  await logs.send(new CreateLogGroupCommand({ logGroupName: "/ecs/fidelity" }));
  await logs.send(new CreateLogStreamCommand({ logGroupName: "/ecs/fidelity", logStreamName: "web/1" }));
  groupArn = (await logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: "/ecs/fidelity" }))).logGroups![0]!.arn!;
});
after(async () => {
  logs.destroy();
  await server.stop();
  await server.cleanup();
});

const IDENTIFIER_PATTERN = "[\\w#+=/:,.@-]*";

describe("CloudWatch Logs answers as AWS does", () => {
  test("logGroupIdentifier takes the ARN without ':*'; the ARN DescribeLogGroups gives (with ':*') breaks its pattern", async () => {
    assert.ok(groupArn.endsWith(":*"), groupArn);
    const bare = groupArn.slice(0, -2);
    const streams = await logs.send(new DescribeLogStreamsCommand({ logGroupIdentifier: bare }));
    assert.deepEqual(
      streams.logStreams!.map((stream) => stream.logStreamName),
      ["web/1"],
    );
    const events = await logs.send(new GetLogEventsCommand({ logGroupIdentifier: bare, logStreamName: "web/1" }));
    assert.deepEqual(events.events, []);
    const refused = {
      name: "InvalidParameterException",
      message: `1 validation error detected: Value '${groupArn}' at 'logGroupIdentifier' failed to satisfy constraint: Member must satisfy regular expression pattern: ${IDENTIFIER_PATTERN}`,
    };
    await assert.rejects(logs.send(new DescribeLogStreamsCommand({ logGroupIdentifier: groupArn })), refused);
    await assert.rejects(logs.send(new GetLogEventsCommand({ logGroupIdentifier: groupArn, logStreamName: "web/1" })), refused);
  });

  test("logGroupIdentifier is held to its length bounds and characters", async () => {
    const long = "a".repeat(2049);
    await assert.rejects(logs.send(new DescribeLogStreamsCommand({ logGroupIdentifier: long })), {
      name: "InvalidParameterException",
      message: `1 validation error detected: Value '${long}' at 'logGroupIdentifier' failed to satisfy constraint: Member must have length less than or equal to 2048`,
    });
    for (const hostile of ["/ecs/fidelity\u0000", "/ecs/*", "a b", "é"]) {
      await assert.rejects(logs.send(new DescribeLogStreamsCommand({ logGroupIdentifier: hostile })), (error: Error) => {
        assert.equal(error.name, "InvalidParameterException");
        assert.ok(error.message.endsWith(`Member must satisfy regular expression pattern: ${IDENTIFIER_PATTERN}`), error.message);
        return true;
      });
    }
    // A well-formed identifier of a group that does not exist is not found, not malformed.
    await assert.rejects(logs.send(new DescribeLogStreamsCommand({ logGroupIdentifier: "a".repeat(2048) })), { name: "ResourceNotFoundException" });
  });

  test("CreateLogGroup refuses a 513-character name for its length, and a bad character for the pattern", async () => {
    const tooLong = "a".repeat(513);
    await assert.rejects(logs.send(new CreateLogGroupCommand({ logGroupName: tooLong })), {
      name: "InvalidParameterException",
      message: `1 validation error detected: Value '${tooLong}' at 'logGroupName' failed to satisfy constraint: Member must have length less than or equal to 512`,
    });
    await assert.rejects(logs.send(new CreateLogGroupCommand({ logGroupName: "bad name" })), {
      name: "InvalidParameterException",
      message:
        "1 validation error detected: Value 'bad name' at 'logGroupName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+",
    });
    await logs.send(new CreateLogGroupCommand({ logGroupName: "a".repeat(512) }));
  });

  test("DescribeLogStreams takes orderBy LogStreamName or LastEventTime only", async () => {
    for (const orderBy of ["logStreamName", "CreationTime", "x".repeat(5000)]) {
      await assert.rejects(logs.send(new DescribeLogStreamsCommand({ logGroupName: "/ecs/fidelity", orderBy: orderBy as OrderBy })), {
        name: "InvalidParameterException",
        message: `1 validation error detected: Value '${orderBy}' at 'orderBy' failed to satisfy constraint: Member must satisfy enum value set: [LogStreamName, LastEventTime]`,
      });
    }
    for (const orderBy of ["LogStreamName", "LastEventTime"] as const) {
      const listed = await logs.send(new DescribeLogStreamsCommand({ logGroupName: "/ecs/fidelity", orderBy }));
      assert.equal(listed.logStreams!.length, 1);
    }
  });
});
