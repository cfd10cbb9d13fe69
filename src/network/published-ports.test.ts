import { test } from "node:test";
import assert from "node:assert/strict";
import type { CommandRunner } from "../core/command-runner.js";
import type { HostFirewall } from "./host-firewall.js";
import { PublishedPorts, renderRouterPublished } from "./published-ports.js";
import type { RouterRecord } from "./vpc-routers.js";

test("a router's publish table: the uplink's DNAT to the nodes by port, replaced whole; no entry, the table removed", () => {
  const text = renderRouterPublished("169.254.128.2", [
    { port: 80, address: "10.0.1.5" },
    { port: 8080, address: "10.0.2.9" },
  ]);
  assert.match(text, /^table ip berth_publish \{\}\ndelete table ip berth_publish\ntable ip berth_publish \{/);
  assert.match(text, /iifname "up0" ip daddr 169\.254\.128\.2 meta l4proto tcp dnat to tcp dport map \{ 80 : 10\.0\.1\.5, 8080 : 10\.0\.2\.9 \}/);
  assert.equal(renderRouterPublished("169.254.128.2", []), "table ip berth_publish {}\ndelete table ip berth_publish\n");
  assert.throws(() => renderRouterPublished("169.254.128.2", [{ port: 70000, address: "10.0.1.5" }]), RangeError);
  assert.throws(() => renderRouterPublished("169.254.128.2", [{ port: 80, address: "10.0.1.5 } ; flush ruleset" }]));
  assert.throws(() => renderRouterPublished("up0", []));
});

const router = (vpcId: string, linkIndex: number) => ({ vpcId, linkIndex, netnsPath: `/run/netns/bthr-${vpcId}` }) as unknown as RouterRecord;

function harness(uplink: string | undefined) {
  const scripts: string[] = [];
  const hostMaps: Map<number, string>[] = [];
  const run: CommandRunner = async (_command, args, options) => {
    scripts.push(`${args[0]}\n${String(options?.input)}`);
    return "";
  };
  const firewall = { uplink, setPublished: async (map: Map<number, string>) => void hostMaps.push(new Map(map)) } as unknown as HostFirewall;
  const published = new PublishedPorts({
    run,
    firewall,
    routers: () => [router("vpc-a", 0), router("vpc-b", 1)],
    attached: () => [
      { vpcId: "vpc-a", ipv4: "10.0.1.5" },
      { vpcId: "vpc-b", ipv4: "10.0.1.5" },
      { vpcId: "vpc-b", ipv4: "10.0.1.6" },
    ],
    serialised: (_vpcId, action) => action(),
  });
  return { published, scripts, hostMaps };
}

test("publishing: each port once (the first asking keeps it), only attached nodes' addresses, each to its own VPC's router", async () => {
  const { published, scripts, hostMaps } = harness("eth0");
  const result = await published.apply([
    { port: 80, vpcId: "vpc-a", address: "10.0.1.5" },
    { port: 80, vpcId: "vpc-b", address: "10.0.1.6" }, // taken: refused, never stolen
    { port: 443, vpcId: "vpc-b", address: "10.0.1.6" },
    { port: 8080, vpcId: "vpc-b", address: "10.9.9.9" }, // not a node of this host
    { port: 8081, vpcId: "vpc-c", address: "10.0.1.5" }, // no router here
    { port: 0, vpcId: "vpc-a", address: "10.0.1.5" },
    { port: 81, vpcId: "vpc-a", address: "10.0.1.5; flush ruleset" },
  ]);
  assert.deepEqual(result, [
    { port: 80, vpcId: "vpc-a", address: "10.0.1.5" },
    { port: 443, vpcId: "vpc-b", address: "10.0.1.6" },
  ]);
  assert.deepEqual(
    [...hostMaps.at(-1)!],
    [
      [80, "169.254.128.2"],
      [443, "169.254.128.6"],
    ],
  );
  assert.equal(scripts.length, 2);
  assert.match(scripts[0]!, /^--net=\/run\/netns\/bthr-vpc-a\n[\s\S]*\{ 80 : 10\.0\.1\.5 \}/);
  assert.match(scripts[1]!, /^--net=\/run\/netns\/bthr-vpc-b\n[\s\S]*\{ 443 : 10\.0\.1\.6 \}/);
  // Unchanged: nothing re-run. Unpublished: the tables and the map emptied.
  await published.apply(result);
  assert.equal(scripts.length, 2);
  assert.deepEqual(await published.apply([]), []);
  assert.equal(hostMaps.at(-1)!.size, 0);
  assert.ok(scripts.slice(2).every((script) => !/dnat/.test(script)));
});

test("publishing without an uplink publishes nothing", async () => {
  const { published, hostMaps } = harness(undefined);
  assert.deepEqual(await published.apply([{ port: 80, vpcId: "vpc-a", address: "10.0.1.5" }]), []);
  assert.equal(hostMaps.at(-1)?.size ?? 0, 0);
});
