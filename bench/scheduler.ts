// The scheduler alone on a simulated fleet of 10,000 hosts across 6 AZs: RunTask-sized requests
// (count 10, 0.25–1 vCPU) placed one after another with the fleet's reservations updated between
// calls, as the planner would. Prints placements per second (target ≥ 10,000/s).
//   node --import tsx bench/scheduler.ts
import type { HostSnapshot } from "../src/scheduler/place-tasks.js";
import { placeTasks } from "../src/scheduler/place-tasks.js";

const zones = ["a", "b", "c", "d", "e", "f"].map((letter) => `us-east-1${letter}`);
const hosts: HostSnapshot[] = Array.from({ length: 10_000 }, (_, i) => ({
  hostId: `host-${i}`,
  availabilityZones: [zones[i % zones.length]!],
  architecture: "X86_64",
  status: "ACTIVE",
  capacity: { cpuUnits: 16_384, memoryMiB: 65_536, taskSlots: 250, ephemeralGiB: 4000 },
  reserved: { cpuUnits: 0, memoryMiB: 0, taskSlots: 0, ephemeralGiB: 0 },
}));
const index = new Map(hosts.map((host, i) => [host.hostId, i]));
const subnets = zones.slice(0, 3).map((availabilityZone, i) => ({ subnetId: `subnet-${i}`, availabilityZone }));

let placed = 0;
const started = performance.now();
for (let call = 0; call < 2_000; call++) {
  const cpuUnits = [256, 512, 1024][call % 3]!;
  const plan = placeTasks(hosts, { count: 10, cpuUnits, memoryMiB: cpuUnits * 2, ephemeralGiB: 20, architecture: "X86_64", subnets });
  for (const placement of plan.placements) {
    const i = index.get(placement.hostId)!;
    const host = hosts[i]!;
    hosts[i] = {
      ...host,
      reserved: {
        cpuUnits: host.reserved.cpuUnits + cpuUnits,
        memoryMiB: host.reserved.memoryMiB + cpuUnits * 2,
        taskSlots: host.reserved.taskSlots + 1,
        ephemeralGiB: host.reserved.ephemeralGiB + 20,
      },
    };
  }
  placed += plan.placements.length;
}
const seconds = (performance.now() - started) / 1000;
console.log(`${placed} placements on 10,000 hosts in ${seconds.toFixed(2)} s: ${(placed / seconds).toFixed(0)} placements/s (target ≥ 10,000/s)`);
