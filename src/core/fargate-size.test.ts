import { test } from "node:test";
import assert from "node:assert/strict";
import { assertFargateSize, parseCpuUnits, parseMemoryMiB } from "./fargate-size.js";

test("parses the string forms of cpu and memory", () => {
  assert.equal(parseCpuUnits("1 vCPU"), 1024);
  assert.equal(parseCpuUnits("0.25 vcpu"), 256);
  assert.equal(parseCpuUnits("256"), 256);
  assert.equal(parseMemoryMiB("2 GB"), 2048);
  assert.equal(parseMemoryMiB("0.5GB"), 512);
  assert.equal(parseCpuUnits("lots"), undefined);
});
test("accepts 256 CPU with 512 MiB and 16 vCPU with 120 GiB", () => {
  assertFargateSize(256, 512);
  assertFargateSize(16384, 122880);
});
test("rejects 256 CPU with 4096 MiB", () =>
  assert.throws(() => assertFargateSize(256, 4096), { name: "ClientException", message: "No Fargate configuration exists for given values." }));
test("rejects 8 vCPU memory off its 4 GiB steps and 256 CPU on Windows", () => {
  assert.throws(() => assertFargateSize(8192, 17408), { name: "ClientException" });
  assert.throws(() => assertFargateSize(256, 512, { windows: true }), { name: "ClientException" });
});
