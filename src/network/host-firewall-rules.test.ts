import { test } from "node:test";
import assert from "node:assert/strict";
import { hostLinkSysctls, renderHostFirewall, renderOverlayHostChanges, renderPublishedPorts, renderRemoveFirewall } from "./host-firewall-rules.js";

test("the host table replaces the old tables in one file; router links reach nothing of the host but replies (the metadata endpoint is in each router)", () => {
  const text = renderHostFirewall({ ipForwardPinned: true }, []);
  assert.match(text, /^table bridge berth \{\}\ndelete table bridge berth\ntable inet berth \{\}\ndelete table inet berth\ntable inet berth \{/);
  assert.match(text, /iifname "bthh\*" jump from_router/);
  assert.match(text, /chain from_router \{\n\s+ct state established,related accept\n\s+counter drop/);
  // no uplink: nothing forwarded to or from a router link, no NAT, no overlay rule
  assert.match(text, /iifname "bthh\*" counter drop\n\s+oifname "bthh\*" counter drop/);
  assert.doesNotMatch(text, /masquerade|accept\n.*oifname "bthh/);
  assert.doesNotMatch(text, /4789/);
});

test("with an uplink, router links go out by it (masqueraded) and get only replies back; pinned off, the uplink forwards nothing else", () => {
  const text = renderHostFirewall({ uplink: "eth0", overlayAddress: "192.0.2.1", ipForwardPinned: true }, ["192.0.2.2", "192.0.2.3"]);
  assert.match(text, /iifname "bthh\*" oifname "eth0" accept\n\s+iifname "eth0" oifname "bthh\*" ct state established,related accept/);
  assert.match(text, /iifname "eth0" counter drop/);
  assert.match(text, /oifname "eth0" ip saddr 169\.254\.128\.0\/17 masquerade/);
  // VXLAN only to the overlay address (the kernel's socket takes it on every local address) and
  // only from the fleet's hosts; a public task's traffic never carries VXLAN nor reaches a host.
  assert.match(text, /udp dport 4789 ip daddr != 192\.0\.2\.1 counter drop\n\s+udp dport 4789 ip saddr != @overlay_hosts counter drop/);
  assert.match(
    text,
    /iifname "bthh\*" udp dport 4789 counter drop\n\s+iifname "bthh\*" ip daddr @overlay_hosts counter drop\n\s+iifname "bthh\*" oifname "eth0" accept/,
  );
  assert.match(text, /elements = \{ 192\.0\.2\.2, 192\.0\.2\.3 \}/);
  assert.doesNotMatch(renderHostFirewall({ uplink: "eth0", ipForwardPinned: false }, []), /iifname "eth0" counter drop/);
});

test("names and addresses are checked before they enter the text", () => {
  assert.throws(() => renderHostFirewall({ uplink: 'eth0" accept #', ipForwardPinned: true }, []), /refusing uplink/);
  assert.throws(() => renderHostFirewall({ uplink: "bth*", ipForwardPinned: true }, []), /refusing uplink/);
  assert.throws(() => renderHostFirewall({ overlayAddress: "1.2.3.4; flush ruleset", ipForwardPinned: true }, []), /refusing overlay address/);
  assert.throws(() => renderHostFirewall({ ipForwardPinned: true }, ["10.0.0.1 }"]), /refusing overlay host/);
  assert.throws(() => renderOverlayHostChanges(new Set(), new Set(["x"])), /refusing/);
  assert.throws(() => hostLinkSysctls("eth0", true), /refusing router link/);
});

test("overlay host changes are element adds and deletes; the removal covers both families", () => {
  assert.equal(renderOverlayHostChanges(new Set(["10.0.0.1"]), new Set(["10.0.0.1"])), "");
  assert.equal(
    renderOverlayHostChanges(new Set(["10.0.0.1"]), new Set(["10.0.0.2"])),
    "add element inet berth overlay_hosts { 10.0.0.2 }\ndelete element inet berth overlay_hosts { 10.0.0.1 }\n",
  );
  assert.equal(renderRemoveFirewall(), "table bridge berth {}\ndelete table bridge berth\ntable inet berth {}\ndelete table inet berth\n");
  assert.deepEqual(hostLinkSysctls("bthh0011aabb", false).at(-1), ["net.ipv4.conf.bthh0011aabb.forwarding", "0"]);
});

test("published load balancers: only TCP to the uplink address on the uplink is DNATed (by the map), only that is forwarded in; no uplink address, nothing", () => {
  const text = renderHostFirewall({ uplink: "eth0", uplinkAddress: "192.0.2.1", ipForwardPinned: true }, []);
  assert.match(text, /map published \{\n\s+type inet_service : ipv4_addr;/);
  assert.match(
    text,
    /type nat hook prerouting priority dstnat; policy accept;\n\s+iifname "eth0" ip daddr 192\.0\.2\.1 meta l4proto tcp dnat ip to tcp dport map @published\n/,
  );
  assert.match(text, /iifname "eth0" oifname "bthh\*" ct status dnat ct original ip daddr 192\.0\.2\.1 accept\n\s+iifname "bthh\*" counter drop/);
  // Before the pinned uplink's drop, after nothing that would let more in.
  assert.ok(text.indexOf("ct status dnat") < text.indexOf('iifname "eth0" counter drop'));
  for (const shape of [
    { uplinkAddress: "192.0.2.1", ipForwardPinned: true },
    { uplink: "eth0", ipForwardPinned: true },
  ])
    assert.doesNotMatch(renderHostFirewall(shape, []), /dnat|published/);
  assert.throws(() => renderHostFirewall({ uplink: "eth0", uplinkAddress: "192.0.2.1; flush ruleset", ipForwardPinned: true }, []));
});

test("the published map is replaced in one transaction, every port and address checked", () => {
  assert.equal(
    renderPublishedPorts(
      new Map([
        [80, "169.254.128.2"],
        [443, "169.254.128.6"],
      ]),
    ),
    "flush map inet berth published\nadd element inet berth published { 80 : 169.254.128.2, 443 : 169.254.128.6 }\n",
  );
  assert.equal(renderPublishedPorts(new Map()), "flush map inet berth published\n");
  for (const port of [0, 65536, 1.5, Number.NaN]) assert.throws(() => renderPublishedPorts(new Map([[port, "169.254.128.2"]])), RangeError);
  assert.throws(() => renderPublishedPorts(new Map([[80, "169.254.128.2 }; flush ruleset; {"]])));
});
