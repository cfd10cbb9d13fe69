// StartLiveTail through the SDK (its event stream decoded by the SDK's own codec): the session's
// start, each second's update with the events ingested since that match the stream filters and the
// filter pattern, sampling above 500 a second, the 15-session quota released when a client goes,
// and AWS's errors. The SDK puts "stream-" before an endpoint's host name (the operation's host
// prefix): against Berth the client sets disableHostPrefix, as the README says.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import {
  CloudWatchLogsClient,
  CreateLogGroupCommand,
  CreateLogStreamCommand,
  PutLogEventsCommand,
  StartLiveTailCommand,
} from "@aws-sdk/client-cloudwatch-logs";
import type { LiveTailSessionLogEvent, StartLiveTailResponseStream } from "@aws-sdk/client-cloudwatch-logs";
import { IAMClient } from "@aws-sdk/client-iam";
import { policyJson, userWithKey } from "../support/iam-users.js";
import type { TestServer } from "../support/server.js";
import { sdkConfig, startTestServer } from "../support/server.js";

let server: TestServer;
let logs: CloudWatchLogsClient;

before(async () => {
  server = await startTestServer();
  logs = new CloudWatchLogsClient({ ...sdkConfig(server), disableHostPrefix: true });
  await logs.send(new CreateLogGroupCommand({ logGroupName: "/tail/app" }));
  await logs.send(new CreateLogGroupCommand({ logGroupName: "/tail/other" }));
  for (const stream of ["web-1", "web-2", "worker-1"]) await logs.send(new CreateLogStreamCommand({ logGroupName: "/tail/app", logStreamName: stream }));
});

after(async () => {
  logs.destroy();
  await server.stop();
  await server.cleanup();
});

const arnOf = (name: string) => `arn:aws:logs:${server.region}:${server.accountId}:log-group:${name}`;
const put = (stream: string, messages: string[]) =>
  logs.send(
    new PutLogEventsCommand({ logGroupName: "/tail/app", logStreamName: stream, logEvents: messages.map((message) => ({ timestamp: Date.now(), message })) }),
  );

/** Reads the stream's updates until `done` holds for the events seen so far (or 15 s pass). */
async function readUntil(
  stream: AsyncIterable<StartLiveTailResponseStream>,
  done: (events: LiveTailSessionLogEvent[], sampled: boolean[]) => boolean,
): Promise<{ events: LiveTailSessionLogEvent[]; sampled: boolean[] }> {
  const events: LiveTailSessionLogEvent[] = [];
  const sampled: boolean[] = [];
  const deadline = Date.now() + 15_000;
  for await (const event of stream) {
    if (event.sessionUpdate) {
      events.push(...(event.sessionUpdate.sessionResults ?? []));
      sampled.push(event.sessionUpdate.sessionMetadata?.sampled ?? false);
    }
    if (done(events, sampled) || Date.now() > deadline) break;
  }
  return { events, sampled };
}

test("a live tail starts, then gives each second the new events of its streams that match its pattern", async () => {
  // A session ends when its client closes the connection: the SDK's abort signal does.
  const end = new AbortController();
  const answer = await logs.send(
    new StartLiveTailCommand({ logGroupIdentifiers: [arnOf("/tail/app")], logStreamNamePrefixes: ["web-"], logEventFilterPattern: "ERROR" }),
    { abortSignal: end.signal },
  );
  const iterator = answer.responseStream![Symbol.asyncIterator]();
  const first = (await iterator.next()).value as StartLiveTailResponseStream;
  assert.deepEqual(first.sessionStart?.logGroupIdentifiers, [arnOf("/tail/app")]);
  assert.deepEqual(first.sessionStart?.logStreamNamePrefixes, ["web-"]);
  assert.equal(first.sessionStart?.logEventFilterPattern, "ERROR");
  assert.match(first.sessionStart?.sessionId ?? "", /^[0-9a-f-]{36}$/);
  await put("web-1", ["INFO started", "ERROR disk full"]);
  await put("worker-1", ["ERROR from a stream the session leaves out"]);
  await put("web-2", ["ERROR second stream"]);
  const rest = { [Symbol.asyncIterator]: () => iterator };
  const { events } = await readUntil(rest, (seen) => seen.length >= 2);
  assert.deepEqual(
    events.map((event) => [event.logStreamName, event.message, event.logGroupIdentifier]),
    [
      ["web-1", "ERROR disk full", arnOf("/tail/app")],
      ["web-2", "ERROR second stream", arnOf("/tail/app")],
    ],
  );
  assert.ok(events.every((event) => typeof event.timestamp === "number" && typeof event.ingestionTime === "number"));
  end.abort();
});

test("more than 500 matching events in a second: a sample of 500, marked sampled", async () => {
  const end = new AbortController();
  const answer = await logs.send(new StartLiveTailCommand({ logGroupIdentifiers: [arnOf("/tail/app")], logStreamNames: ["web-1"] }), {
    abortSignal: end.signal,
  });
  const stream = answer.responseStream!;
  let putDone = false;
  const { events, sampled } = await readUntil(
    {
      async *[Symbol.asyncIterator]() {
        for await (const event of stream) {
          if (event.sessionStart && !putDone) {
            putDone = true;
            await put(
              "web-1",
              Array.from({ length: 1_200 }, (_, index) => `burst ${index}`),
            );
          }
          yield event;
        }
      },
    },
    (_, marks) => marks.includes(true),
  );
  assert.ok(sampled.includes(true), `an update was sampled: ${JSON.stringify(sampled)}`);
  assert.ok(events.length >= 500 && events.length < 1_200, `${events.length} events sent for 1,200`);
  end.abort();
});

test("AWS's errors, and at most 15 sessions at once (a session's slot is freed when its client goes)", async () => {
  const code = async (input: ConstructorParameters<typeof StartLiveTailCommand>[0]) =>
    logs.send(new StartLiveTailCommand(input)).then(
      () => "ok",
      (error: Error) => error.name,
    );
  assert.equal(await code({ logGroupIdentifiers: [arnOf("/tail/missing")] }), "ResourceNotFoundException");
  assert.equal(await code({ logGroupIdentifiers: [arnOf("/tail/app"), arnOf("/tail/other")], logStreamNames: ["web-1"] }), "InvalidParameterException");
  assert.equal(
    await code({ logGroupIdentifiers: [arnOf("/tail/app")], logStreamNames: ["web-1"], logStreamNamePrefixes: ["web"] }),
    "InvalidParameterException",
  );
  assert.equal(await code({ logGroupIdentifiers: [arnOf("/tail/app")], logEventFilterPattern: "{ $.x = " }), "InvalidParameterException");
  assert.equal(await code({ logGroupIdentifiers: [`${arnOf("/tail/app")}:*`] }), "InvalidParameterException");

  // Clients that go while their session is being set up (authorization, reads) leave no slot taken.
  await Promise.all(
    Array.from({ length: 30 }, async (_, index) => {
      const end = new AbortController();
      const sent = logs.send(new StartLiveTailCommand({ logGroupIdentifiers: [arnOf("/tail/other")] }), { abortSignal: end.signal }).catch(() => undefined);
      setTimeout(() => end.abort(), index % 5);
      await sent;
    }),
  );
  // The earlier sessions end as the server sees their clients go: a slot is waited for.
  const session = async () => {
    const end = new AbortController();
    for (const deadline = Date.now() + 5_000; ;) {
      try {
        const answer = await logs.send(new StartLiveTailCommand({ logGroupIdentifiers: [arnOf("/tail/other")] }), { abortSignal: end.signal });
        await answer.responseStream![Symbol.asyncIterator]().next();
        return end;
      } catch (error) {
        if ((error as Error).name !== "LimitExceededException" || Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  const open: AbortController[] = [];
  for (let index = 0; index < 15; index++) open.push(await session());
  assert.equal(await code({ logGroupIdentifiers: [arnOf("/tail/other")] }), "LimitExceededException");
  for (const end of open) end.abort();
  // Every slot is free again once the server sees the clients go.
  (await session()).abort();
});

test("an IAM user tails only the log groups its policy allows (every group of the session must be)", async () => {
  const iam = new IAMClient(sdkConfig(server));
  const keys = await userWithKey(
    iam,
    "tailer",
    policyJson({ Effect: "Allow", Action: "logs:StartLiveTail", Resource: `arn:aws:logs:${server.region}:${server.accountId}:log-group:/tail/app` }),
  );
  iam.destroy();
  const asUser = new CloudWatchLogsClient({ ...sdkConfig(server), credentials: keys, disableHostPrefix: true });
  const end = new AbortController();
  const allowed = await asUser.send(new StartLiveTailCommand({ logGroupIdentifiers: [arnOf("/tail/app")] }), { abortSignal: end.signal });
  assert.ok((await allowed.responseStream![Symbol.asyncIterator]().next()).value?.sessionStart);
  end.abort();
  await assert.rejects(asUser.send(new StartLiveTailCommand({ logGroupIdentifiers: [arnOf("/tail/app"), arnOf("/tail/other")] })), {
    name: "AccessDeniedException",
  });
  asUser.destroy();
});
