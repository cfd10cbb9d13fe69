import { test } from "node:test";
import assert from "node:assert/strict";
import { splitByStrategy } from "./capacity-provider-split.js";

test("the base is placed first, then the rest by weight", () => {
  const split = splitByStrategy(
    [
      { capacityProvider: "FARGATE", base: 2, weight: 1 },
      { capacityProvider: "FARGATE_SPOT", weight: 3 },
    ],
    10,
  );
  assert.deepEqual(split, [
    { capacityProvider: "FARGATE", count: 4 },
    { capacityProvider: "FARGATE_SPOT", count: 6 },
  ]);
});

test("a count smaller than the base goes all to the base provider", () => {
  assert.deepEqual(
    splitByStrategy(
      [
        { capacityProvider: "FARGATE", base: 5, weight: 0 },
        { capacityProvider: "FARGATE_SPOT", weight: 1 },
      ],
      3,
    ),
    [{ capacityProvider: "FARGATE", count: 3 }],
  );
});

test("equal weights alternate starting with the first provider", () => {
  assert.deepEqual(
    splitByStrategy(
      [
        { capacityProvider: "FARGATE", weight: 1 },
        { capacityProvider: "FARGATE_SPOT", weight: 1 },
      ],
      3,
    ),
    [
      { capacityProvider: "FARGATE", count: 2 },
      { capacityProvider: "FARGATE_SPOT", count: 1 },
    ],
  );
});

test("a service's base counts its running tasks: batches and replacements end where one launch of them all would", () => {
  const strategy = [
    { capacityProvider: "FARGATE", base: 2, weight: 1 },
    { capacityProvider: "FARGATE_SPOT", weight: 3 },
  ];
  const running = new Map<string, number>();
  for (let batch = 0; batch < 5; batch++) {
    for (const share of splitByStrategy(strategy, 2, running)) running.set(share.capacityProvider, (running.get(share.capacityProvider) ?? 0) + share.count);
  }
  assert.deepEqual(Object.fromEntries(running), Object.fromEntries(splitByStrategy(strategy, 10).map((share) => [share.capacityProvider, share.count])));
  // One FARGATE_SPOT task of the ten stopped: its replacement goes back to FARGATE_SPOT, not to the base again.
  assert.deepEqual(
    splitByStrategy(
      strategy,
      1,
      new Map([
        ["FARGATE", 4],
        ["FARGATE_SPOT", 5],
      ]),
    ),
    [{ capacityProvider: "FARGATE_SPOT", count: 1 }],
  );
  // A base task stopped: it is replaced on the base provider first.
  assert.deepEqual(
    splitByStrategy(
      strategy,
      1,
      new Map([
        ["FARGATE", 1],
        ["FARGATE_SPOT", 6],
      ]),
    ),
    [{ capacityProvider: "FARGATE", count: 1 }],
  );
});
