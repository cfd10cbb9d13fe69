import { test } from "node:test";
import assert from "node:assert/strict";
import type { HostSnapshot, PlacementRequest } from "./place-tasks.js";
import { placeTasks } from "./place-tasks.js";

const host = (hostId: string, availabilityZone: string, cpuUnits: number, reservedCpu = 0, overrides: Partial<HostSnapshot> = {}): HostSnapshot => ({
  hostId,
  availabilityZones: [availabilityZone],
  architecture: "X86_64",
  status: "ACTIVE",
  capacity: { cpuUnits, memoryMiB: cpuUnits * 2, taskSlots: 100, ephemeralGiB: 1000 },
  reserved: { cpuUnits: reservedCpu, memoryMiB: reservedCpu * 2, taskSlots: 0, ephemeralGiB: 0 },
  ...overrides,
});
const request = (overrides: Partial<PlacementRequest> = {}): PlacementRequest => ({
  count: 1,
  cpuUnits: 256,
  memoryMiB: 512,
  ephemeralGiB: 20,
  architecture: "X86_64",
  subnets: [
    { subnetId: "subnet-a", availabilityZone: "us-east-1a" },
    { subnetId: "subnet-b", availabilityZone: "us-east-1b" },
  ],
  ...overrides,
});

test("best fit picks the fullest host that still has room", () => {
  const plan = placeTasks([host("roomy", "us-east-1a", 4096), host("tight", "us-east-1a", 1024, 512)], request());
  assert.deepEqual(plan.placements, [{ hostId: "tight", subnetId: "subnet-a", availabilityZone: "us-east-1a" }]);
});

test("count > 1 spreads across the subnets' availability zones", () => {
  const plan = placeTasks([host("a1", "us-east-1a", 4096), host("b1", "us-east-1b", 4096)], request({ count: 4 }));
  assert.deepEqual(
    plan.placements.map((p) => p.availabilityZone),
    ["us-east-1a", "us-east-1b", "us-east-1a", "us-east-1b"],
  );
});

test("hosts of another architecture, AZ or status are not feasible", () => {
  const hosts = [
    host("arm", "us-east-1a", 4096, 0, { architecture: "ARM64" }),
    host("lost", "us-east-1a", 4096, 0, { status: "LOST" }),
    host("c", "us-east-1c", 4096),
  ];
  assert.deepEqual(placeTasks(hosts, request()), { placements: [], unplaced: 1 });
});

test("reservations count: a full host takes no more, and the rest go unplaced", () => {
  const plan = placeTasks([host("one", "us-east-1a", 512)], request({ count: 3 }));
  assert.equal(plan.placements.length, 2);
  assert.equal(plan.unplaced, 1);
});

test("the spread continues from the request's earlier placements (another capacity provider's share)", () => {
  const hosts = [host("a1", "us-east-1a", 4096), host("b1", "us-east-1b", 4096)];
  const plan = placeTasks(hosts, request({ count: 1, placedPerZone: new Map([["us-east-1a", 1]]) }));
  assert.deepEqual(
    plan.placements.map((p) => p.availabilityZone),
    ["us-east-1b"],
  );
});
