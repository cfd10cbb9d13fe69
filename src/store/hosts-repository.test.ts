import { test } from "node:test";
import assert from "node:assert/strict";
import type { HostRegistration } from "./hosts-repository.js";
import { eachStoreBackend } from "../../test/support/store-backends.js";

const registration = (id: string, at: number): HostRegistration => ({
  hostId: id,
  availabilityZone: "us-east-1a",
  architecture: "X86_64",
  capacity: { cpuUnits: 2048, memoryMiB: 4096, taskSlots: 100, ephemeralGiB: 200 },
  secretSha256: "0".repeat(64),
  agentVersion: "1",
  subnetIds: ["subnet-1", "subnet-2"],
  registeredAtMs: at,
});

eachStoreBackend((backend) => {
  test("hosts that stop heartbeating are marked lost, and come back when they heartbeat", async () => {
    const store = await backend.open();
    const hosts = store.hosts;
    await hosts.upsert(registration("h1", 0));
    await hosts.upsert(registration("h2", 0));
    assert.deepEqual(await hosts.get("h1"), { ...registration("h1", 0), status: "ACTIVE", lastHeartbeatAtMs: 0 });
    await hosts.heartbeat("h2", 100);
    assert.deepEqual(await hosts.markLost(50), ["h1"]);
    assert.equal((await hosts.get("h1"))!.status, "LOST");
    assert.deepEqual(await hosts.markLost(50), [], "already lost hosts are not reported twice");
    await hosts.heartbeat("h1", 200);
    assert.equal((await hosts.get("h1"))!.status, "ACTIVE");
    await hosts.upsert({ ...registration("h1", 300), capacity: { ...registration("h1", 300).capacity, cpuUnits: 4096 } });
    const h1 = (await hosts.get("h1"))!;
    assert.equal(h1.capacity.cpuUnits, 4096);
    assert.equal(h1.registeredAtMs, 0, "re-registration keeps the first registration time");
    assert.equal(h1.lastHeartbeatAtMs, 300, "and counts as a heartbeat");
    await store.close();
  });
});
