// A VPC router's nftables table, `inet berth` inside the router namespace, as `nft -f` text (pure).
// Every packet of a task crosses the router (routed veths, no bridge), so these hooks see all of it:
//
//   prerouting  from a task port (bthv*): its source must be the port's own (port . MAC . IP,
//               set task_sources) or it is dropped, IPv6 too; then replies pass (stateful),
//               invalid drops, the metadata endpoint 169.254.170.2:80 and DNS (UDP and TCP 53)
//               to the router's own addresses always pass, and the
//               rest goes through the port's egress chain (egress_dispatch) or is dropped
//   postrouting to a task port: replies pass, the rest through the port's ingress chain
//               (ingress_dispatch) or is dropped
//   egress_<port> / ingress_<port>   jump to each of the port's groups' chains (their union), drop
//   out_<group> / in_<group>         the group's rules: accept what they allow, return otherwise
//   input       nothing reaches the router itself but replies (the gateway answers no ping) and,
//               from a task port, UDP and TCP 53 (the VPC resolver listens on 169.254.169.253 and
//               the VPC's base + 2, src/agent/vpc-resolvers.ts; no other local address has a
//               listener on 53) and TCP to 169.254.170.2:80: the metadata and credentials endpoint,
//               whose address is on the router's lo and whose listening socket, in this namespace,
//               is the agent's (src/endpoints). Delivered locally, never masqueraded, so the agent
//               sees the task's own address (prerouting checked it is the port's) and the router
//               it came through: that pair names one task, overlapping VPCs included.
//   forward     task ⇄ task (local or over the overlay, bthx*), and out of the uplink (up0) only
//               from an address in public_addrs (assignPublicIp);
//               in from the uplink, the host itself (its link address: for the default VPC the
//               host routes the VPC's CIDR here), still through the ports' ingress chains
//   nat         everything leaving by up0 is masqueraded to the router's /30 address, so the
//               host never sees a VPC's (overlapping) addresses
//
// renderRouterTable replaces the whole table in one transaction (agent start, a first view);
// renderRouterChanges turns the difference of two policies into element adds/deletes and chain
// flushes, so a membership change is a set element, not a reload. Names and addresses were checked
// when the policy was built (router-policy.ts); the fixed names here are ours.
import type { GroupChains, GuardedInterface, RouterPolicy } from "./router-policy.js";
import { HOST_LINK_CIDR, ROUTER_UPLINK } from "./names.js";

const TABLE = "inet berth";
const METADATA = "ip daddr 169.254.170.2 tcp dport 80";
/** DNS to the router's own addresses: only the resolver's (169.254.169.253, the VPC base + 2) have a listener. */
const RESOLVER = "meta l4proto { tcp, udp } th dport 53 fib daddr type local";

const sourceElement = (port: GuardedInterface) => `"${port.veth}" . ${port.macAddress} . ${port.ipv4}`;
const interfaceChain = (direction: "ingress" | "egress", veth: string) => `${direction}_${veth}`;
const groupChain = (direction: "ingress" | "egress", group: string) => `${direction === "ingress" ? "in" : "out"}_${group}`;

function interfaceRules(port: GuardedInterface, direction: "ingress" | "egress"): string[] {
  return [...port.groups.map((group) => `jump ${groupChain(direction, group)}`), "counter drop"];
}

function chainBlock(name: string, lines: readonly string[]): string {
  return `  chain ${name} {\n${lines.map((line) => `    ${line}\n`).join("")}  }\n`;
}

function addElements(set: string, elements: readonly string[]): string {
  return elements.length > 0 ? `add element ${TABLE} ${set} { ${elements.join(", ")} }\n` : "";
}

function deleteElements(set: string, elements: readonly string[]): string {
  return elements.length > 0 ? `delete element ${TABLE} ${set} { ${elements.join(", ")} }\n` : "";
}

function dispatchElement(direction: "ingress" | "egress", veth: string): string {
  return `"${veth}" : jump ${interfaceChain(direction, veth)}`;
}

const FIXED_CHAINS = `  chain prerouting {
    type filter hook prerouting priority filter; policy accept;
    iifname "bthv*" jump from_task
  }
  chain from_task {
    meta nfproto != ipv4 counter drop
    iifname . ether saddr . ip saddr != @task_sources counter drop
    ct state established,related accept
    ct state invalid counter drop
    ${METADATA} accept
    ${RESOLVER} accept
    iifname vmap @egress_dispatch
    counter drop
  }
  chain postrouting {
    type filter hook postrouting priority filter; policy accept;
    oifname "bthv*" jump to_task
  }
  chain to_task {
    ct state established,related accept
    ct state invalid counter drop
    oifname vmap @ingress_dispatch
    counter drop
  }
  chain input {
    type filter hook input priority filter; policy drop;
    iif "lo" accept
    ct state established,related accept
    iifname "bthv*" ${METADATA} accept
    iifname "bthv*" ${RESOLVER} accept
    counter drop
  }
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    iifname "bthv*" oifname "bthv*" accept
    iifname "bthv*" oifname "bthx*" accept
    iifname "bthx*" oifname "bthv*" accept
    iifname "bthv*" oifname "${ROUTER_UPLINK}" ip saddr @public_addrs accept
    iifname "${ROUTER_UPLINK}" oifname "bthv*" ip saddr ${HOST_LINK_CIDR} accept
    iifname "${ROUTER_UPLINK}" oifname "bthv*" ct status dnat accept
    counter drop
  }
  chain nat_postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${ROUTER_UPLINK}" masquerade
  }
`;

/** The whole table, replacing any earlier one atomically (create-then-delete works whether or not it exists). */
export function renderRouterTable(policy: RouterPolicy): string {
  const ports = [...policy.interfaces.values()];
  let text = `table ${TABLE} {}\ndelete table ${TABLE}\ntable ${TABLE} {\n`;
  text += "  set task_sources { type ifname . ether_addr . ipv4_addr; }\n  set public_addrs { type ipv4_addr; }\n";
  for (const name of policy.members.keys()) text += `  set members_${name} { type ipv4_addr; }\n`;
  text += "  map egress_dispatch { type ifname : verdict; }\n  map ingress_dispatch { type ifname : verdict; }\n";
  for (const [name, chains] of policy.groups)
    text += chainBlock(groupChain("ingress", name), chains.ingress) + chainBlock(groupChain("egress", name), chains.egress);
  for (const port of ports) {
    text += chainBlock(interfaceChain("ingress", port.veth), interfaceRules(port, "ingress"));
    text += chainBlock(interfaceChain("egress", port.veth), interfaceRules(port, "egress"));
  }
  text += `${FIXED_CHAINS}}\n`;
  for (const [name, addresses] of policy.members) text += addElements(`members_${name}`, [...addresses]);
  text += addElements("task_sources", ports.map(sourceElement));
  text += addElements(
    "public_addrs",
    ports.filter((port) => port.public).map((port) => port.ipv4),
  );
  text += addElements(
    "egress_dispatch",
    ports.map((port) => dispatchElement("egress", port.veth)),
  );
  text += addElements(
    "ingress_dispatch",
    ports.map((port) => dispatchElement("ingress", port.veth)),
  );
  return text;
}

const sameLines = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((line, index) => line === b[index]);

function refill(chain: string, lines: readonly string[], exists: boolean): string {
  const head = exists ? `flush chain ${TABLE} ${chain}\n` : `add chain ${TABLE} ${chain}\n`;
  return head + lines.map((line) => `add rule ${TABLE} ${chain} ${line}\n`).join("");
}

function memberChanges(before: RouterPolicy, after: RouterPolicy): { early: string; late: string } {
  let early = "";
  let late = "";
  for (const [name, addresses] of after.members) {
    const old = before.members.get(name);
    if (!old) early += `add set ${TABLE} members_${name} { type ipv4_addr; }\n`;
    early += addElements(
      `members_${name}`,
      [...addresses].filter((address) => !old?.has(address)),
    );
    early += deleteElements(
      `members_${name}`,
      [...(old ?? [])].filter((address) => !addresses.has(address)),
    );
  }
  for (const name of before.members.keys()) if (!after.members.has(name)) late += `delete set ${TABLE} members_${name}\n`;
  return { early, late };
}

function groupChanges(before: RouterPolicy, after: RouterPolicy): { early: string; late: string } {
  let early = "";
  let late = "";
  for (const [name, chains] of after.groups) {
    const old: GroupChains | undefined = before.groups.get(name);
    for (const direction of ["ingress", "egress"] as const) {
      if (old && sameLines(old[direction], chains[direction])) continue;
      early += refill(groupChain(direction, name), chains[direction], old !== undefined);
    }
  }
  for (const name of before.groups.keys()) {
    if (after.groups.has(name)) continue;
    for (const direction of ["ingress", "egress"] as const)
      late += `flush chain ${TABLE} ${groupChain(direction, name)}\ndelete chain ${TABLE} ${groupChain(direction, name)}\n`;
  }
  return { early, late };
}

function interfaceChanges(before: RouterPolicy, after: RouterPolicy): string {
  let text = "";
  for (const [veth, port] of after.interfaces) {
    const old = before.interfaces.get(veth);
    if (!old || !sameLines(old.groups, port.groups)) {
      for (const direction of ["ingress", "egress"] as const)
        text += refill(interfaceChain(direction, veth), interfaceRules(port, direction), old !== undefined);
    }
    if (!old) {
      text += addElements("egress_dispatch", [dispatchElement("egress", veth)]) + addElements("ingress_dispatch", [dispatchElement("ingress", veth)]);
    }
    if (old && sourceElement(old) !== sourceElement(port)) text += deleteElements("task_sources", [sourceElement(old)]);
    if (!old || sourceElement(old) !== sourceElement(port)) text += addElements("task_sources", [sourceElement(port)]);
    if (old?.public && (!port.public || old.ipv4 !== port.ipv4)) text += deleteElements("public_addrs", [old.ipv4]);
    if (port.public && (!old?.public || old.ipv4 !== port.ipv4)) text += addElements("public_addrs", [port.ipv4]);
  }
  for (const [veth, old] of before.interfaces) {
    if (after.interfaces.has(veth)) continue;
    text += deleteElements("egress_dispatch", [dispatchElement("egress", veth)]) + deleteElements("ingress_dispatch", [dispatchElement("ingress", veth)]);
    text += deleteElements("task_sources", [sourceElement(old)]) + (old.public ? deleteElements("public_addrs", [old.ipv4]) : "");
    for (const direction of ["ingress", "egress"] as const)
      text += `flush chain ${TABLE} ${interfaceChain(direction, veth)}\ndelete chain ${TABLE} ${interfaceChain(direction, veth)}\n`;
  }
  return text;
}

/**
 * The commands that take the table from `before` to `after`, in an order the kernel accepts in one
 * transaction: new sets and group chains before the rules that jump to or name them, the
 * references gone before the chains and sets they named are deleted. Empty when nothing changed.
 */
export function renderRouterChanges(before: RouterPolicy, after: RouterPolicy): string {
  const members = memberChanges(before, after);
  const groups = groupChanges(before, after);
  return members.early + groups.early + interfaceChanges(before, after) + groups.late + members.late;
}
