import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCounters, workerPid } from "./haproxy-stats.js";

// Columns as HAProxy 2.6 names them (a subset, in its order; the parser finds them by name).
const HEADER = "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,req_tot,rtime,ttime";

test("reads frontend, backend and server counters by column name; empty fields are 0", () => {
  const csv = [
    HEADER,
    "ls-l-1,FRONTEND,,,2,5,100,7,0,0,0,5,0,1,1,0,7,,",
    "tg-tg-1,10.0.1.5:8080,,,0,1,,3,0,0,0,2,0,1,0,0,,54,55",
    "tg-tg-1,BACKEND,0,0,0,1,10,4,0,0,0,2,0,1,1,0,4,54,55",
    "ls-l-2,FRONTEND,,,1,1,100,9,0,0,,,,,,,,,",
    "",
  ].join("\n");
  const rows = parseCounters(csv);
  assert.equal(rows.length, 4);
  assert.deepEqual(rows[0], {
    proxy: "ls-l-1",
    service: "FRONTEND",
    requests: 7,
    responses: [0, 0, 5, 0, 1, 1],
    sessions: 7,
    currentSessions: 2,
    responseTimeMs: 0,
  });
  assert.deepEqual(rows[1], {
    proxy: "tg-tg-1",
    service: "10.0.1.5:8080",
    requests: 0,
    responses: [0, 0, 2, 0, 1, 0],
    sessions: 3,
    currentSessions: 0,
    responseTimeMs: 54,
  });
  assert.equal(rows[2]!.requests, 4);
  assert.deepEqual(rows[3]!.responses, [0, 0, 0, 0, 0, 0]);
  assert.equal(rows[3]!.sessions, 9);
});

test("refuses what is not a counter (negative, fractional, huge) as 0, and an answer without a header", () => {
  const rows = parseCounters(`${HEADER}\nls-x,FRONTEND,,,-1,0,0,1.5,0,0,0,99999999999999999999,0,0,0,0,abc,,`);
  assert.deepEqual(rows[0]!.responses, [0, 0, 0, 0, 0, 0]);
  assert.equal(rows[0]!.currentSessions, 0);
  assert.equal(rows[0]!.sessions, 0);
  assert.equal(rows[0]!.requests, 0);
  assert.deepEqual(parseCounters("Unknown command\n"), []);
});

test("the worker's pid from show info", () => {
  assert.equal(workerPid("Name: HAProxy\nVersion: 2.6.12\nPid: 4242\nUptime: 0d 0h00m05s\n"), 4242);
  assert.equal(workerPid("Unknown command\n"), undefined);
});
