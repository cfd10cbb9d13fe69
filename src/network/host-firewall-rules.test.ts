import { test } from "node:test";
import assert from "node:assert/strict";
import {
  bridgeSysctls,
  renderAllowBridge,
  renderAllowPort,
  renderFirewall,
  renderForgetBridge,
  renderForgetPort,
  renderRemoveFirewall,
} from "./host-firewall-rules.js";

const port = { hostVeth: "bthv1a2b3c4d", macAddress: "02:7f:0a:d5:07:04", ipv4: "10.213.7.4" };

test("the whole policy replaces both tables in one file and carries every recorded port and bridge", () => {
  const text = renderFirewall({ bridges: ["bth-0011aabb"], ports: [port, { ...port, hostVeth: "bthv99999999", ipv4: "10.213.7.5" }] });
  // create-then-delete-then-define, per family: atomic and idempotent whatever exists before
  assert.match(text, /^table bridge berth \{\}\ndelete table bridge berth\ntable bridge berth \{/);
  assert.match(text, /\ntable inet berth \{\}\ndelete table inet berth\ntable inet berth \{/);
  assert.match(text, /elements = \{ "bthv1a2b3c4d" \. 02:7f:0a:d5:07:04 \. 10\.213\.7\.4, "bthv99999999" \. 02:7f:0a:d5:07:04 \. 10\.213\.7\.5 \}/);
  assert.match(text, /elements = \{ "bth-0011aabb" \. "bth-0011aabb" \}/);
  // the host is reachable only at the endpoint, by a socket bound to it
  assert.match(text, /ip daddr 169\.254\.170\.2 tcp dport 80 socket wildcard 0 accept\n\s+counter drop/);
  // frames from task ports: only their own addresses, the rest dropped
  assert.match(text, /iifname "bthv\*" jump from_task/);
  assert.match(text, /iifname \. ether saddr \. ip saddr @task_addrs accept\n.*arp.*@task_addrs accept\n\s+counter drop/);
  // nothing routed to or from a task bridge
  assert.match(text, /iifname "bth-\*" counter drop\n\s+oifname "bth-\*" counter drop/);
  // only Berth's bridges are task bridges (not every bth-prefixed link of the host)
  assert.match(text, /iifname "bth-\*" jump from_task/);
});

test("an empty state renders sets without elements (nft refuses an empty elements list)", () => {
  const text = renderFirewall({ bridges: [], ports: [] });
  assert.doesNotMatch(text, /elements/);
  assert.match(text, /type ifname \. ether_addr \. ipv4_addr\n\s+\}/);
});

test("per-task and per-bridge changes are element adds; removals add first so they succeed either way", () => {
  assert.equal(renderAllowPort(port), 'add element bridge berth task_addrs { "bthv1a2b3c4d" . 02:7f:0a:d5:07:04 . 10.213.7.4 }\n');
  assert.deepEqual(renderForgetPort(port).split("\n").slice(0, 2), [
    'add element bridge berth task_addrs { "bthv1a2b3c4d" . 02:7f:0a:d5:07:04 . 10.213.7.4 }',
    'delete element bridge berth task_addrs { "bthv1a2b3c4d" . 02:7f:0a:d5:07:04 . 10.213.7.4 }',
  ]);
  assert.equal(renderAllowBridge("bth-0011aabb"), 'add element inet berth bridged { "bth-0011aabb" . "bth-0011aabb" }\n');
  assert.match(renderForgetBridge("bth-0011aabb"), /^add element .*\ndelete element inet berth bridged \{ "bth-0011aabb" \. "bth-0011aabb" \}\n$/);
  assert.equal(renderRemoveFirewall(), "table bridge berth {}\ndelete table bridge berth\ntable inet berth {}\ndelete table inet berth\n");
});

test("refuses names and addresses that could add rules or name another interface", () => {
  assert.throws(() => renderAllowPort({ ...port, hostVeth: 'bthv1" } ; flush ruleset ; add element bridge berth task_addrs { "x' }), /refusing task port/);
  assert.throws(() => renderAllowPort({ ...port, hostVeth: "eth0" }), /refusing task port/);
  assert.throws(() => renderAllowPort({ ...port, ipv4: "10.213.7.256" }), /refusing IPv4/);
  assert.throws(() => renderAllowPort({ ...port, ipv4: "0.0.0.0/0" }), /refusing IPv4/);
  assert.throws(() => renderAllowPort({ ...port, macAddress: "02:7f:0a:d5:07" }), /refusing MAC/);
  assert.throws(() => renderFirewall({ bridges: ["docker0"], ports: [] }), /refusing bridge name/);
  assert.throws(() => bridgeSysctls("bth-a.b"), /refusing bridge name/);
});

test("each bridge gets strict reverse-path filtering, no IPv6 and ARP answers for its own addresses only", () => {
  assert.deepEqual(bridgeSysctls("bth-0011aabb"), [
    ["net.ipv4.conf.bth-0011aabb.rp_filter", "1"],
    ["net.ipv4.conf.bth-0011aabb.arp_ignore", "1"],
    ["net.ipv6.conf.bth-0011aabb.disable_ipv6", "1"],
  ]);
});
