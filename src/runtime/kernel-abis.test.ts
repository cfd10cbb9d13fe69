import { test } from "node:test";
import assert from "node:assert/strict";
import { architecturesKernelLacks } from "./kernel-abis.js";

test("x32 is dropped only when an x86_64 kernel's configuration says it was built without it", () => {
  assert.deepEqual(architecturesKernelLacks("CONFIG_X86_64=y\n# CONFIG_X86_X32_ABI is not set\n"), ["SCMP_ARCH_X32"]);
  assert.deepEqual(architecturesKernelLacks("CONFIG_X86_64=y\nCONFIG_X86_X32_ABI=y\n"), []);
  assert.deepEqual(architecturesKernelLacks("CONFIG_X86_64=y\nCONFIG_X86_X32=y\n"), [], "the name before Linux 5.18");
  assert.deepEqual(architecturesKernelLacks("CONFIG_ARM64=y\n"), [], "not an x86_64 kernel: nothing to say about x32");
  assert.deepEqual(architecturesKernelLacks(undefined), [], "no configuration to read: keep every architecture");
});
