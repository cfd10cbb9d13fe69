// Asserting an SDK call's AWS error: its name, and its message exactly or by pattern.
import assert from "node:assert/strict";

export async function rejectsWithAwsError(promise: Promise<unknown>, name: string, message?: string | RegExp): Promise<void> {
  await assert.rejects(promise, (error: Error) => {
    assert.equal(error.name, name, `${error.name}: ${error.message}`);
    if (typeof message === "string") assert.equal(error.message, message);
    else if (message) assert.match(error.message, message);
    return true;
  });
}
