// Outbound NAT for tasks with a public IP (src/network/router-rules.ts, host-firewall-rules.ts):
// an "internet" namespace this file creates (203.0.113.0/24 inside it) sits behind the host
// namespace's uplink veth; a "lan" namespace sits behind another of the host's links. A public task
// reaches the internet, seen there as the host's uplink address; a private task does not; nothing
// reaches the lan; the host's ip_forward stays 0 throughout (only the ingress devices' forwarding
// flags are on). No traffic leaves the namespaces this file creates.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HostFirewall, TaskNetworks } from "../../src/network/index.js";
import type { TaskAttachment } from "../../src/network/index.js";
import { attempt, exec, group, inNetns, makeHost, pings, taskInterface, viewOf } from "../support/dataplane.js";
import type { TestHost } from "../support/dataplane.js";
import { assertNoNewLeaks, findLeaks } from "../support/leaks.js";
import { waitFor } from "../support/wait-for.js";

const leaksBefore = new Set(findLeaks());
const INTERNET = "bthtnat-inet";
const LAN = "bthtnat-lan";
const UPLINK = { link: "bthnatup", address: "192.0.2.1", far: "192.0.2.254" };
const LAN_LINK = { link: "bthnatlan", address: "198.51.100.1", far: "198.51.100.2" };
const SERVER = "203.0.113.10";
const stateDir = mkdtempSync(join(tmpdir(), "berth-nat-"));
const vpc = { vpcId: "vpc-0a7", vpcCidr: "10.215.0.0/16", vni: 7501, subnetId: "subnet-0a7", subnetCidr: "10.215.1.0/24" };
const specs = {
  public: taskInterface({ ...vpc, host: 4, groups: ["sg-0a7"], publicIp: true }),
  private: taskInterface({ ...vpc, host: 5, groups: ["sg-0a7"] }),
};
const children: ChildProcess[] = [];
let host: TestHost;
let networks: TaskNetworks;
const tasks = {} as Record<keyof typeof specs, TaskAttachment>;

/** Joins the host to a far namespace by a veth (host end `link`, address/24 on each end). */
async function farSide(netns: string, link: { link: string; address: string; far: string }): Promise<void> {
  await exec("ip", ["netns", "add", netns]);
  await host.run("ip", ["link", "add", link.link, "type", "veth", "peer", "name", "eth0", "netns", netns]);
  await host.run("ip", ["-batch", "-"], { input: `addr add ${link.address}/24 dev ${link.link}\nlink set ${link.link} up\n` });
  // Its default route leads back to the host (a namespace of this file), so any reply would return: a probe that fails was dropped, not lost.
  await exec("ip", ["-n", netns, "-batch", "-"], {
    input: `link set lo up\naddr add ${link.far}/24 dev eth0\nlink set eth0 up\nroute add default via ${link.address}\n`,
  });
}

/** What a TCP connect from a task got from the internet's server ("from <address it saw>"), or "closed". */
async function fetchFrom(netns: string, address: string): Promise<string> {
  const result = await inNetns(netns, ["timeout", "2", "busybox", "nc", address, "80"], 5000);
  return /from \S+/.exec(result.stdout)?.[0] ?? "closed";
}

before(async () => {
  host = await makeHost("bthtnat-host");
  await farSide(INTERNET, UPLINK);
  await farSide(LAN, LAN_LINK);
  // The internet: a server at 203.0.113.10 telling each client the address it came from.
  await exec("ip", ["-n", INTERNET, "addr", "add", `${SERVER}/24`, "dev", "lo"]);
  await host.run("ip", ["route", "add", "203.0.113.0/24", "via", UPLINK.far]);
  for (const netns of [INTERNET, LAN]) {
    const server = `require("net").createServer((s) => s.end("from " + s.remoteAddress + "\\n")).listen(80, "0.0.0.0")`;
    children.push(spawn("nsenter", [`--net=/run/netns/${netns}`, process.execPath, "-e", server], { stdio: "ignore" }));
    await waitFor(async () => (await attempt("ip", ["netns", "exec", netns, "ss", "-Hltn", "sport = :80"])).stdout.trim() !== "", {
      what: `server in ${netns}`,
    });
  }
  assert.equal(await host.sysctl("net.ipv4.ip_forward"), "0");
  const firewall = new HostFirewall({ stateDir, run: host.run, ipForward: "off", uplink: UPLINK.link });
  networks = new TaskNetworks({ stateDir, region: "us-east-1", run: host.run, firewall });
  await networks.start();
  tasks.public = await networks.attach("nat-pub-aaaaaaaaaaaaa", specs.public);
  tasks.private = await networks.attach("nat-priv-aaaaaaaaaaaa", specs.private);
  await networks.applyView(
    viewOf(
      [
        { taskId: "nat-pub-aaaaaaaaaaaaa", spec: specs.public },
        { taskId: "nat-priv-aaaaaaaaaaaa", spec: specs.private },
      ],
      [group("sg-0a7", vpc.vpcId, [])],
    ),
  );
});

after(async () => {
  for (const child of children) child.kill();
  try {
    await networks?.removeEverything();
  } finally {
    await host?.remove();
    await attempt("ip", ["netns", "del", INTERNET]);
    await attempt("ip", ["netns", "del", LAN]);
    rmSync(stateDir, { recursive: true, force: true });
  }
  assertNoNewLeaks(leaksBefore);
});

test("a public task reaches the internet, seen there as the host's uplink address; a private task does not", async () => {
  assert.equal(await fetchFrom(tasks.public.netnsName, SERVER), `from ${UPLINK.address}`);
  assert.equal(await pings(tasks.public.netnsName, SERVER), true);
  assert.equal(await fetchFrom(tasks.private.netnsName, SERVER), "closed");
  assert.equal(await pings(tasks.private.netnsName, SERVER), false);
  assert.equal(await networks.publicIpv4("nat-pub-aaaaaaaaaaaaa"), UPLINK.address);
  assert.equal(await networks.publicIpv4("nat-priv-aaaaaaaaaaaa"), undefined);
});

test("ip_forward stays 0 and the host routes nothing else: not to another of its networks, not from the internet inward", async () => {
  assert.equal(await host.sysctl("net.ipv4.ip_forward"), "0");
  assert.equal(await fetchFrom(tasks.public.netnsName, LAN_LINK.far), "closed", "a public task does not reach the host's lan");
  assert.equal(await host.sysctl(`net.ipv4.conf.${LAN_LINK.link}.forwarding`), "0");
  // The internet aims at the router's /30 through the host: the host does not forward it.
  const routerAddress = (await exec("ip", ["-n", tasks.public.routerNetns, "-4", "-o", "addr", "show", "dev", "up0"])).match(/inet (\S+)\//)![1]!;
  assert.equal((await attempt("ip", ["netns", "exec", INTERNET, "busybox", "ping", "-c", "1", "-W", "1", routerAddress])).ok, false);
  // And from the lan (a host network that is not the uplink) nothing is forwarded to the internet.
  assert.equal((await attempt("ip", ["netns", "exec", LAN, "busybox", "ping", "-c", "1", "-W", "1", SERVER])).ok, false);
});

test("the uninstall gives the uplink its forwarding flag back", async () => {
  assert.equal(await host.sysctl(`net.ipv4.conf.${UPLINK.link}.forwarding`), "1");
  await networks.removeEverything();
  assert.equal(await host.sysctl(`net.ipv4.conf.${UPLINK.link}.forwarding`), "0");
  assert.equal(await host.sysctl("net.ipv4.ip_forward"), "0");
});
