import { test } from "node:test";
import assert from "node:assert/strict";
import { BlockList } from "node:net";
import { cidrContains, parseCidr, parseIpAddress } from "./ip-address.js";

const contains = (cidr: string, address: string) => cidrContains(parseCidr(cidr) ?? assert.fail(cidr), parseIpAddress(address) ?? assert.fail(address));

test("reads IPv4 and IPv6 addresses, including :: and embedded IPv4", () => {
  assert.deepEqual([...(parseIpAddress("10.1.2.3")?.words ?? [])], [0x0a010203]);
  assert.deepEqual([...(parseIpAddress("::")?.words ?? [])], [0, 0, 0, 0]);
  assert.deepEqual([...(parseIpAddress("::1")?.words ?? [])], [0, 0, 0, 1]);
  assert.deepEqual([...(parseIpAddress("2001:db8::8:800:200c:417a")?.words ?? [])], [0x20010db8, 0, 0x00080800, 0x200c417a]);
  assert.deepEqual([...(parseIpAddress("::ffff:10.0.0.1")?.words ?? [])], [0, 0, 0xffff, 0x0a000001]);
  assert.deepEqual([...(parseIpAddress("1:2:3:4:5:6:1.2.3.4")?.words ?? [])], [0x00010002, 0x00030004, 0x00050006, 0x01020304]);
  assert.deepEqual([...(parseIpAddress("::1.2.3.4")?.words ?? [])], [0, 0, 0, 0x01020304]);
  for (const bad of ["", "10.0.0", "10.0.0.256", "1::2::3", "fe80::1%eth0", "::g", " 10.0.0.1", "10.0.0.1 "]) assert.equal(parseIpAddress(bad), undefined, bad);
});

test("reads CIDRs and rejects bad prefixes", () => {
  assert.equal(parseCidr("10.0.0.0/8")?.prefix, 8);
  assert.equal(parseCidr("10.0.0.1")?.prefix, 32);
  assert.equal(parseCidr("2001:db8::/32")?.prefix, 32);
  for (const bad of ["10.0.0.0/33", "10.0.0.0/", "10.0.0.0/08x", "10.0.0.0/-1", "::/129", "10.0.0.0/8/8", "/8", "10.0.0.0/1000"])
    assert.equal(parseCidr(bad), undefined, bad);
});

test("containment agrees with node:net's BlockList", () => {
  const blocks = [
    "0.0.0.0/0",
    "10.0.0.0/8",
    "10.1.2.3/32",
    "192.168.1.128/25",
    "172.16.0.0/12",
    "::/0",
    "2001:db8::/32",
    "2001:db8:0:1::/64",
    "fe80::/10",
    "::ffff:0:0/96",
  ];
  const addresses = [
    "10.1.2.3",
    "10.1.2.4",
    "11.0.0.0",
    "192.168.1.127",
    "192.168.1.128",
    "172.31.255.255",
    "172.32.0.0",
    "2001:db8::1",
    "2001:db8:0:1::9",
    "2001:db9::",
    "fe80::1",
    "febf::1",
    "::ffff:10.0.0.1",
  ];
  for (const block of blocks) {
    const list = new BlockList();
    const [network, prefix] = block.split("/") as [string, string];
    list.addSubnet(network, Number(prefix), block.includes(":") ? "ipv6" : "ipv4");
    for (const address of addresses) {
      const family = address.includes(":") ? "ipv6" : "ipv4";
      if ((family === "ipv6") !== block.includes(":")) continue;
      assert.equal(contains(block, address), list.check(address, family), `${address} in ${block}`);
    }
  }
  assert.equal(contains("10.0.0.0/8", "::ffff:10.0.0.1"), false);
});
