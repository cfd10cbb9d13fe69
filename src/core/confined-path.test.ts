import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { confinedJoin, PathConfinementError } from "./confined-path.js";

describe("confinedJoin", () => {
  test("joins plain names under the root", () => {
    assert.equal(confinedJoin("/var/lib/berth/tasks", ["t1", "volumes", "data"], "volume name"), "/var/lib/berth/tasks/t1/volumes/data");
    assert.equal(confinedJoin("/var/lib/berth/../berth/x/", ["a..b", ".hidden"], "name"), "/var/lib/berth/x/a..b/.hidden");
  });
  for (const [part, problem] of [
    ["..", "is a relative path step"],
    [".", "is a relative path step"],
    ["", "is empty"],
    ["../../etc", "has a slash"],
    ["/etc", "has a slash"],
    ["a/b", "has a slash"],
    ["ok\0/../../x", "has a NUL byte"],
  ] as const) {
    test(`refuses ${JSON.stringify(part)}: it ${problem}`, () =>
      assert.throws(
        () => confinedJoin("/srv/root", ["t1", part], "volume name"),
        (error: Error) => {
          assert.ok(error instanceof PathConfinementError);
          assert.equal(error.message, `refusing the volume name ${JSON.stringify(part)}: it ${problem}`);
          return true;
        },
      ));
  }
  test("refuses the issue's traversal volume name", () =>
    assert.throws(() => confinedJoin("/srv/root", ["../../../../../../../../../.."], "volume name"), PathConfinementError));
  test("works under the filesystem root too", () => assert.equal(confinedJoin("/", ["x"], "name"), "/x"));
});
