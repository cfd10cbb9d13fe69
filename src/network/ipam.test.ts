import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Ipam, subnetRange } from "./ipam.js";

test("a /20 hands out from .4, never twice, reuses released addresses, and survives a restart", () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-ipam-"));
  try {
    const range = subnetRange("172.31.16.0/20");
    assert.equal(range.gateway, "172.31.16.1");
    const ipam = new Ipam(join(dir, "leases.json"));
    const addresses = Array.from({ length: 50 }, (_, i) => ipam.allocate("s", range, `task-${i}`));
    assert.equal(new Set(addresses).size, 50);
    assert.equal(addresses[0], "172.31.16.4");
    assert.equal(ipam.allocate("s", range, "task-3"), addresses[3], "the same owner keeps its address");
    ipam.release("task-0");
    const restarted = new Ipam(join(dir, "leases.json"));
    assert.equal(restarted.allocate("s", range, "task-new"), "172.31.16.4");
    assert.equal(restarted.allocate("s", range, "task-newer"), "172.31.16.54");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a full subnet refuses", () => {
  const dir = mkdtempSync(join(tmpdir(), "berth-ipam-"));
  try {
    const range = subnetRange("10.9.0.0/28"); // .4–.14 usable
    const ipam = new Ipam(join(dir, "leases.json"));
    for (let i = 0; i < 11; i++) ipam.allocate("s", range, `t${i}`);
    assert.throws(() => ipam.allocate("s", range, "one-too-many"), /no free address/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
