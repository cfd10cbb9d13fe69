import { test } from "node:test";
import assert from "node:assert/strict";
import type { TaskDefinition } from "@aws-sdk/client-ecs";
import { assertPlatformSupports, featuresNeeding140, resolvePlatformVersion } from "./platform-version.js";

const plain: TaskDefinition = { family: "app", containerDefinitions: [{ name: "web", image: "nginx" }] };
const task = (definition: TaskDefinition, cpuUnits = 256, ephemeralStorageGiB = 20) => ({ definition, cpuUnits, ephemeralStorageGiB });
const incompatible = { name: "PlatformTaskDefinitionIncompatibilityException", message: "One or more of the requested capabilities are not supported." };

test("LATEST is 1.4.0; an unknown version is PlatformUnknownException", () => {
  assert.equal(resolvePlatformVersion(undefined), "1.4.0");
  assert.equal(resolvePlatformVersion("LATEST"), "1.4.0");
  assert.equal(resolvePlatformVersion("1.3.0"), "1.3.0");
  assert.throws(() => resolvePlatformVersion("1.2.0"), { name: "PlatformUnknownException", message: "The specified platform does not exist." });
});

test("EFS volumes, ephemeral storage over 20 GiB, SYS_PTRACE and 8/16 vCPU each need 1.4.0", () => {
  assert.deepEqual(featuresNeeding140(task(plain)), []);
  const efs = { ...plain, volumes: [{ name: "shared", efsVolumeConfiguration: { fileSystemId: "fs-1" } }] };
  const ptrace = { ...plain, containerDefinitions: [{ name: "web", image: "nginx", linuxParameters: { capabilities: { add: ["SYS_PTRACE"] } } }] };
  for (const needy of [task(efs), task(plain, 256, 21), task(ptrace), task(plain, 8192), task(plain, 16384)]) {
    assert.equal(featuresNeeding140(needy).length, 1);
    assert.throws(() => assertPlatformSupports("1.3.0", needy), incompatible);
    assert.doesNotThrow(() => assertPlatformSupports("1.4.0", needy));
  }
  assert.doesNotThrow(() => assertPlatformSupports("1.3.0", task(plain, 4096, 20)));
});
