// Attacker review (h8): the agent publishes whatever listener port the control plane names on the
// host's uplink address, the host's own service ports included (sshd's 22, the API's 8470). The
// host's nat_prerouting DNAT runs before its input chain, so once 22 is in map `published`, a
// connection to <uplink address>:22 reaches the load balancer (its owner's task), not sshd.
// Intended: the host refuses its own ports (at least 22, the API's, the registry's) whoever asks.
import { test } from "node:test";
import assert from "node:assert/strict";
import type { CommandRunner } from "../core/command-runner.js";
import type { HostFirewall } from "./host-firewall.js";
import { PublishedPorts } from "./published-ports.js";
import type { RouterRecord } from "./vpc-routers.js";

test("the host never publishes a load balancer on a privileged port (sshd's 22) nor on a port it listens on (the API's 8470)", async () => {
  const hostMaps: Map<number, string>[] = [];
  const run: CommandRunner = async () => "";
  const firewall = { uplink: "eth0", setPublished: async (map: Map<number, string>) => void hostMaps.push(new Map(map)) } as unknown as HostFirewall;
  const published = new PublishedPorts({
    run,
    firewall,
    routers: () => [{ vpcId: "vpc-a", linkIndex: 0, netnsPath: "/run/netns/bthr-vpc-a" } as unknown as RouterRecord],
    attached: () => [{ vpcId: "vpc-a", ipv4: "10.0.1.5" }],
    serialised: (_vpcId, action) => action(),
    // The host's API listens on 8470.
    listeningPorts: () => new Set([8470]),
  });
  const result = await published.apply([
    { port: 22, vpcId: "vpc-a", address: "10.0.1.5" },
    { port: 8470, vpcId: "vpc-a", address: "10.0.1.5" },
    { port: 8080, vpcId: "vpc-a", address: "10.0.1.5" },
  ]);
  assert.deepEqual(
    result.map((entry) => entry.port),
    [8080],
    `published on the uplink address: ${JSON.stringify([...(hostMaps.at(-1)?.keys() ?? [])])}`,
  );
});

test("the host's listening ports are read from /proc/net/tcp's LISTEN rows", async () => {
  const { listeningPortsOf } = await import("./host-listening-ports.js");
  const table = [
    "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode",
    "   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0",
    "   1: 0100007F:2116 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0",
    "   2: 0100007F:2116 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1",
  ].join("\n");
  assert.deepEqual(
    [...listeningPortsOf(table)].sort((a, b) => a - b),
    [22, 8470],
  );
});
