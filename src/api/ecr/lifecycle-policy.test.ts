import { test } from "node:test";
import assert from "node:assert/strict";
import { imagesExpiredByPolicy, parseLifecyclePolicy } from "./lifecycle-policy.js";

const DAY = 86_400_000;
const now = 100 * DAY;
const image = (digest: string, tags: string[], ageDays: number) => ({ digest, tags, pushedAt: now - ageDays * DAY });

const policy = (...rules: object[]) => parseLifecyclePolicy(JSON.stringify({ rules }));
const rule = (rulePriority: number, selection: object) => ({ rulePriority, selection, action: { type: "expire" } });

test("imageCountMoreThan keeps the newest N matching images and expires the rest", () => {
  const images = [image("a", ["v1"], 3), image("b", ["v2"], 2), image("c", ["v3"], 1), image("d", ["other"], 5)];
  const expired = imagesExpiredByPolicy(
    policy(rule(1, { tagStatus: "tagged", tagPrefixList: ["v"], countType: "imageCountMoreThan", countNumber: 1 })),
    images,
    now,
  );
  assert.deepEqual(expired.sort(), ["a", "b"]);
});

test("sinceImagePushed expires untagged images older than the given days only", () => {
  const images = [image("old", [], 15), image("new", [], 2), image("tagged-old", ["x"], 30)];
  const expired = imagesExpiredByPolicy(
    policy(rule(1, { tagStatus: "untagged", countType: "sinceImagePushed", countUnit: "days", countNumber: 14 })),
    images,
    now,
  );
  assert.deepEqual(expired, ["old"]);
});

test("an image selected by a higher-priority rule is never expired by a lower-priority one", () => {
  const images = [image("prod1", ["prod-1"], 10), image("prod2", ["prod-2"], 9), image("dev", ["dev-1"], 8)];
  const expired = imagesExpiredByPolicy(
    policy(
      rule(1, { tagStatus: "tagged", tagPrefixList: ["prod"], countType: "imageCountMoreThan", countNumber: 5 }),
      rule(2, { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 0 + 1 }),
    ),
    images,
    now,
  );
  // Rule 1 claims (and keeps) both prod images; rule 2 sees only "dev", the newest of its one.
  assert.deepEqual(expired, []);
});

test("multiple prefixes select only images that carry all of them; patterns take wildcards", () => {
  const images = [image("both", ["alpha-1", "beta-1"], 3), image("alpha", ["alpha-2"], 2)];
  const byPrefix = policy(rule(1, { tagStatus: "tagged", tagPrefixList: ["alpha", "beta"], countType: "sinceImagePushed", countUnit: "days", countNumber: 1 }));
  assert.deepEqual(imagesExpiredByPolicy(byPrefix, images, now), ["both"]);
  const byPattern = policy(rule(1, { tagStatus: "tagged", tagPatternList: ["*-2"], countType: "sinceImagePushed", countUnit: "days", countNumber: 1 }));
  assert.deepEqual(imagesExpiredByPolicy(byPattern, images, now), ["alpha"]);
});

test("rejects invalid policies as InvalidParameterException", () => {
  const cases: [string, string][] = [
    ["not json", "not valid JSON"],
    [JSON.stringify({ rules: [] }), "non-empty rules"],
    [
      JSON.stringify({ rules: [rule(1, { tagStatus: "tagged", countType: "imageCountMoreThan", countNumber: 1 })] }),
      "tagPrefixList or tagPatternList is required",
    ],
    [JSON.stringify({ rules: [rule(1, { tagStatus: "untagged", countType: "sinceImagePushed", countNumber: 1 })] }), "countUnit must be days"],
    [
      JSON.stringify({
        rules: [
          rule(1, { tagStatus: "any", countType: "imageCountMoreThan", countNumber: 1 }),
          rule(2, { tagStatus: "untagged", countType: "imageCountMoreThan", countNumber: 1 }),
        ],
      }),
      "highest rulePriority",
    ],
    [
      JSON.stringify({
        rules: [
          rule(1, { tagStatus: "untagged", countType: "imageCountMoreThan", countNumber: 1 }),
          rule(1, { tagStatus: "untagged", countType: "imageCountMoreThan", countNumber: 2 }),
        ],
      }),
      "more than one rule",
    ],
    [
      JSON.stringify({ rules: [{ ...rule(1, { tagStatus: "untagged", countType: "imageCountMoreThan", countNumber: 1 }), action: { type: "delete" } }] }),
      "action type must be expire",
    ],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseLifecyclePolicy(text),
      (error: Error & { code?: string }) => error.code === "InvalidParameterException" && error.message.includes(message),
      text,
    );
  }
});
