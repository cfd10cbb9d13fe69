import { test } from "node:test";
import assert from "node:assert/strict";
import { cidrContains, cidrsOverlap, formatCidr, isReservedAddress, parseCidr, parseIpv4, usableAddressCount, usableRange } from "./cidr.js";

const cidr = (text: string) => {
  const parsed = parseCidr(text);
  assert.ok(parsed, text);
  return parsed;
};

test("parses canonical CIDRs and formats them back", () => {
  assert.equal(formatCidr(cidr("10.0.0.0/16")), "10.0.0.0/16");
  assert.equal(formatCidr(cidr("0.0.0.0/0")), "0.0.0.0/0");
  assert.equal(formatCidr(cidr("255.255.255.255/32")), "255.255.255.255/32");
  assert.equal(cidr("172.31.16.0/20").prefixLength, 20);
});

test("refuses absurd and sloppy CIDRs", () => {
  for (const text of [
    "10.0.0.0/33",
    "999.1.1.1/16",
    "010.0.0.0/16",
    "10.0.0.0/016",
    " 10.0.0.0/16",
    "10.0.0.0/16 ",
    "10.0.0.0 /16",
    "10.0.0.1/16",
    "10.0.0/16",
    "10.0.0.0.0/16",
    "10.0.0.0",
    "10.0.0.0/",
    "/16",
    "10.0.0.0/-1",
    "10.0.0.0/1e1",
    "0x0a.0.0.0/16",
    "10.0.0.0/16;drop",
    "",
    "1".repeat(100),
  ]) {
    assert.equal(parseCidr(text), undefined, JSON.stringify(text));
  }
  assert.equal(parseIpv4("1.2.3.04"), undefined);
  assert.equal(parseIpv4("1.2.3.4"), 0x01020304);
});

test("containment and overlap", () => {
  assert.equal(cidrContains(cidr("10.0.0.0/16"), cidr("10.0.1.0/24")), true);
  assert.equal(cidrContains(cidr("10.0.0.0/16"), cidr("10.0.0.0/16")), true);
  assert.equal(cidrContains(cidr("10.0.0.0/16"), cidr("10.1.0.0/24")), false);
  assert.equal(cidrContains(cidr("10.0.1.0/24"), cidr("10.0.0.0/16")), false);
  assert.equal(cidrsOverlap(cidr("10.0.0.0/24"), cidr("10.0.0.128/25")), true);
  assert.equal(cidrsOverlap(cidr("10.0.0.0/25"), cidr("10.0.0.128/25")), false);
  assert.equal(cidrsOverlap(cidr("10.0.0.0/16"), cidr("10.0.255.240/28")), true);
});

test("AWS reserves the network address, .1, .2, .3 and the broadcast", () => {
  const subnet = cidr("10.0.1.0/24");
  const reserved = [0, 1, 2, 3, 255].map((last) => parseIpv4(`10.0.1.${last}`) as number);
  for (const address of reserved) assert.equal(isReservedAddress(subnet, address), true);
  assert.equal(isReservedAddress(subnet, parseIpv4("10.0.1.4") as number), false);
  assert.equal(isReservedAddress(subnet, parseIpv4("10.0.1.254") as number), false);
  assert.equal(usableAddressCount(subnet), 251);
  assert.equal(usableAddressCount(cidr("10.0.0.0/28")), 11);
  assert.deepEqual(usableRange(cidr("10.0.0.16/28")), { first: parseIpv4("10.0.0.20"), last: parseIpv4("10.0.0.30") });
});
