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
