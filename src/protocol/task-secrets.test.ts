// The `secrets` call's body and answer checks: what a host may send, and what an agent accepts
// from a server (a name that would set another variable, a value over Secrets Manager's size,
// too many entries are refused rather than written into a container's environment).
import assert from "node:assert/strict";
import { test } from "node:test";
import { MAX_SECRET_VALUE_CHARS, parseTaskSecretsAnswer, parseTaskSecretsBody } from "./index.js";

const answer = (env: unknown, extra: object = {}) => ({ containers: [{ containerName: "app", env, ...extra }] });

test("the body names one task ARN, bounded", () => {
  assert.equal(parseTaskSecretsBody({ hostId: "h1", taskArn: "arn:aws:ecs:us-east-1:1:task/c/t" }).ok, true);
  for (const body of [{}, { taskArn: "" }, { taskArn: 7 }, { taskArn: "a".repeat(1601) }, { taskArn: "x", hostId: "h".repeat(256) }]) {
    assert.equal(parseTaskSecretsBody(body).ok, false, JSON.stringify(body).slice(0, 60));
  }
});

test("an answer's names cannot set another variable, and its values are bounded", () => {
  assert.equal(parseTaskSecretsAnswer(answer([{ name: "DB_PASSWORD", value: "x" }])).ok, true);
  assert.equal(parseTaskSecretsAnswer(answer([{ name: "V", value: "v".repeat(MAX_SECRET_VALUE_CHARS) }])).ok, true);
  assert.equal(parseTaskSecretsAnswer({ containers: [], failure: "ResourceInitializationError: …" }).ok, true);
  const refused: unknown[] = [
    answer([{ name: "A=B", value: "x" }]),
    answer([{ name: "A\u0000", value: "x" }]),
    answer([{ name: "", value: "x" }]),
    answer([{ name: "V", value: "v".repeat(MAX_SECRET_VALUE_CHARS + 1) }]),
    answer(Array.from({ length: 1001 }, (_, i) => ({ name: `V${i}`, value: "" }))),
    answer([], { logSecretOptions: [{ name: "a=b", value: "x" }] }),
    answer([], { repositoryCredentials: { username: "u" } }),
    { containers: Array.from({ length: 101 }, () => ({ containerName: "c", env: [] })) },
    { containers: [], failure: "x".repeat(4097) },
    { failure: "no containers member" },
  ];
  for (const body of refused) {
    const checked = parseTaskSecretsAnswer(body);
    assert.equal(checked.ok, false, JSON.stringify(body).slice(0, 80));
    // The refusal names the field, never the value it holds.
    if (!checked.ok) assert.ok(!checked.problem.includes("vvvv"), checked.problem);
  }
});
