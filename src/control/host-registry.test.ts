import { test, beforeEach, afterEach } from "node:test";
import assert from "node:assert/strict";
import { defaultNetwork } from "../core/default-network.js";
import { protocolVersion } from "../protocol/index.js";
import type { Store } from "../store/index.js";
import { openStore } from "../store/index.js";
import { ManualClock } from "../../test/support/control-plane.js";
import { HostRegistry } from "./host-registry.js";

const network = defaultNetwork({ accountId: "123456789012", region: "us-east-1" });
let store: Store;
let registry: HostRegistry;

beforeEach(async () => {
  store = await openStore({ inMemory: true });
  registry = new HostRegistry({ hosts: store.hosts, network, clock: new ManualClock(), heartbeatIntervalMs: 5_000 });
  await registry.register({
    protocolVersion,
    hostId: "h1",
    agentVersion: "test",
    availabilityZone: "us-east-1a",
    architecture: "X86_64",
    capacity: { cpuUnits: 2048, memoryMiB: 4096, taskSlots: 50, ephemeralGiB: 400 },
    machine: { cpuCount: 8, memoryMiB: 16384 },
    overcommit: false,
    subnetIds: [],
  });
});
afterEach(() => store.close());

test("registration answers with the AZ's default subnets", async () => {
  const answer = await registry.register({
    protocolVersion,
    hostId: "h2",
    agentVersion: "test",
    availabilityZone: "us-east-1b",
    architecture: "X86_64",
    capacity: { cpuUnits: 1024, memoryMiB: 2048, taskSlots: 10, ephemeralGiB: 100 },
    machine: { cpuCount: 8, memoryMiB: 16384 },
    overcommit: false,
    subnetIds: [],
  });
  assert.deepEqual(
    answer.subnets.map((s) => s.cidrBlock),
    ["172.31.16.0/20"],
  );
  assert.deepEqual(
    (await store.hosts.get("h2"))!.subnetIds,
    answer.subnets.map((s) => s.subnetId),
    "the host is recorded serving those subnets",
  );
  await assert.rejects(
    registry.register({
      ...{
        protocolVersion: 99,
        hostId: "h3",
        agentVersion: "x",
        availabilityZone: "us-east-1a",
        architecture: "X86_64",
        capacity: { cpuUnits: 1, memoryMiB: 1, taskSlots: 1, ephemeralGiB: 1 },
        machine: { cpuCount: 8, memoryMiB: 16384 },
        overcommit: false,
        subnetIds: [],
      },
    }),
    /Unsupported agent protocol version/,
  );
});

test("registration issues a secret bound to the host; a live host re-registers only with it", async () => {
  const first = await registry.register({
    protocolVersion,
    hostId: "h2",
    agentVersion: "t",
    availabilityZone: "us-east-1b",
    architecture: "X86_64",
    capacity: { cpuUnits: 1024, memoryMiB: 2048, taskSlots: 10, ephemeralGiB: 100 },
    machine: { cpuCount: 8, memoryMiB: 16384 },
    overcommit: false,
    subnetIds: [],
  });
  assert.equal(await registry.authenticateHost("h2", first.hostSecret), true);
  assert.equal(await registry.authenticateHost("h1", first.hostSecret), false, "h2's secret does not speak for h1");
  assert.equal(await registry.mayRegister("h2", undefined), false);
  assert.equal(await registry.mayRegister("h2", first.hostSecret), true);
  assert.equal(await registry.mayRegister("new-host", undefined), true);
  await assert.rejects(registry.heartbeat("nobody"), (error: Error & { code?: string }) => error.code === "HostNotRegistered");
});

test("registration refuses a capacity beyond the reported machine (a stolen join token cannot inflate it)", async () => {
  const request = {
    protocolVersion,
    hostId: "h9",
    agentVersion: "t",
    availabilityZone: "us-east-1a",
    architecture: "X86_64" as const,
    subnetIds: [],
    machine: { cpuCount: 2, memoryMiB: 4096 },
    overcommit: false,
  };
  await assert.rejects(
    registry.register({ ...request, capacity: { cpuUnits: 1e9, memoryMiB: 1024, taskSlots: 10, ephemeralGiB: 100 } }),
    /exceeds the machine's/,
  );
  await assert.rejects(
    registry.register({ ...request, overcommit: true, capacity: { cpuUnits: 2 * 1024 * 33, memoryMiB: 1024, taskSlots: 10, ephemeralGiB: 100 } }),
    /exceeds 32 times/,
  );
  await assert.rejects(
    registry.register({ ...request, capacity: { cpuUnits: 1024, memoryMiB: 1024, taskSlots: 10, ephemeralGiB: 100_000 } }),
    /ephemeral storage/,
  );
  await registry.register({ ...request, overcommit: true, capacity: { cpuUnits: 2 * 1024 * 32, memoryMiB: 4096 * 32, taskSlots: 10, ephemeralGiB: 100 } });
});

test("registration refuses identities that are not whole patterns", async () => {
  const request = {
    protocolVersion,
    hostId: "h8",
    agentVersion: "t",
    availabilityZone: "us-east-1a",
    architecture: "X86_64" as const,
    subnetIds: [],
    machine: { cpuCount: 2, memoryMiB: 4096 },
    overcommit: false,
    capacity: { cpuUnits: 1024, memoryMiB: 1024, taskSlots: 10, ephemeralGiB: 100 },
  };
  await assert.rejects(registry.register({ ...request, hostId: "../h1" }), /host id/);
  await assert.rejects(registry.register({ ...request, hostId: "x".repeat(129) }), /host id/);
  await assert.rejects(registry.register({ ...request, agentVersion: "v".repeat(65) }), /agent version/);
  await assert.rejects(registry.register({ ...request, architecture: "MIPS" as never }), /architecture/);
  await registry.register(request);
});

const joining = (hostId: string, addresses: { overlayAddress?: string; publicAddress?: string }) => ({
  protocolVersion,
  hostId,
  agentVersion: "test",
  availabilityZone: "us-east-1a",
  architecture: "X86_64" as const,
  capacity: { cpuUnits: 1024, memoryMiB: 2048, taskSlots: 10, ephemeralGiB: 100 },
  machine: { cpuCount: 8, memoryMiB: 16384 },
  overcommit: false,
  subnetIds: [],
  ...addresses,
});

test("registration refuses overlay and public addresses no host can have (this network, loopback, link-local, multicast, reserved, broadcast)", async () => {
  for (const address of ["0.0.0.0", "0.1.2.3", "127.0.0.1", "127.255.0.9", "169.254.169.254", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255"]) {
    for (const field of ["overlayAddress", "publicAddress"] as const) {
      await assert.rejects(registry.register(joining("h-bad", { [field]: address })), {
        name: "InvalidParameterException",
        message: `The ${field} ${address} is not a unicast host address (not 0/8, 127/8, 169.254/16, 224/4 or 240/4).`,
      });
    }
  }
  assert.equal(await store.hosts.get("h-bad"), undefined, "nothing is recorded");
  await registry.register(joining("h-good", { overlayAddress: "10.213.50.11", publicAddress: "192.0.2.1" }));
  assert.equal((await store.hosts.get("h-good"))?.overlayAddress, "10.213.50.11");
});

test("an overlay address another active host registered is refused; the host itself and a lost host's successor may have it", async () => {
  await registry.register(joining("h-a", { overlayAddress: "10.0.0.7" }));
  await assert.rejects(registry.register(joining("h-b", { overlayAddress: "10.0.0.7" })), {
    name: "InvalidParameterException",
    message: "The overlayAddress 10.0.0.7 is already registered by another active host.",
  });
  assert.equal(await store.hosts.get("h-b"), undefined);
  await registry.register(joining("h-a", { overlayAddress: "10.0.0.7" }));
  await store.hosts.markLost(Number.MAX_SAFE_INTEGER);
  await registry.register(joining("h-b", { overlayAddress: "10.0.0.7" }));
  assert.equal((await store.hosts.get("h-b"))?.overlayAddress, "10.0.0.7");
});
