// The host's nftables policy for task networks, rendered as `nft -f` input (pure: no I/O). Two
// tables, one per family, both named "berth":
//
//   bridge berth   prerouting, on every frame a task port (host veth "bthv…") hands the bridge:
//                  IPv4 and ARP pass only when (port, source MAC, source IP) is the task's own
//                  (set task_addrs, one element per task); every other frame is dropped: a forged
//                  source, IPv6 (link-local included), DHCP (source 0.0.0.0), VLAN tags, STP.
//   inet berth     input, on packets from a task bridge ("bth-…") to the host itself: only replies
//                  to what the host started, and TCP to 169.254.170.2:80 held by a socket bound
//                  to that address. Every other port and address of the host is dropped, wherever
//                  the listener is bound (0.0.0.0, the bridge's .1, eth0's address, 127.0.0.1 by a
//                  forged route). ICMP echo to the gateway is dropped too: a task needs nothing
//                  from it (errors about flows the host started arrive as "related" and pass),
//                  and an answer only tells an attacker the host is there and how busy it is.
//                  forward, on packets the host would route into or out of a task bridge: none
//                  pass, so no task reaches another subnet, another VPC or the outside, whatever
//                  ip_forward says. Bridged frames between tasks of one subnet also cross this
//                  hook when br_netfilter is loaded (bridge-nf-call-iptables, which Docker sets),
//                  seen as entering and leaving the same bridge; set bridged lists each bridge
//                  as such a pair so that same-subnet traffic, as in a default VPC's default
//                  security group, keeps flowing. nft cannot compare iifname with oifname.
//
// Why the bridge family for anti-spoofing, not netdev ingress: a netdev chain is bound to one
// device, so each task would add a chain (a ruleset change per launch); the bridge family sees
// every port in one chain and a launch adds one set element. It filters before the bridge
// learns or forwards, so a forged frame reaches neither a peer nor the host.
//
// Why the metadata rule asks for `socket wildcard 0`: the address 169.254.170.2 is local, so any
// host service listening on 0.0.0.0:80 would answer a task there. Only a socket bound to the
// endpoint address itself (Berth's endpoint server) is let through.
//
// The wildcards name only what Berth makes: bridges "bth-<8 hex>" (bridgeName) and their task
// ports "bthv<8 hex>"; other links of the bth family (a test's "bthmh0" uplink) are not tasks.
// The wildcards, not the sets, decide what is filtered, so a bridge or port not yet in a set is
// closed, not open.
//
// Every name and address is checked before it enters the text: nothing read from a state file
// can add a rule.
export const FIREWALL_TABLE = "berth";
export const METADATA_ENDPOINT = { address: "169.254.170.2", port: 80 } as const;

/** A task's port on its bridge and the only addresses it may send from. */
export interface TaskPort {
  readonly hostVeth: string;
  readonly macAddress: string;
  readonly ipv4: string;
}

export interface FirewallState {
  readonly bridges: readonly string[];
  readonly ports: readonly TaskPort[];
}

const BRIDGE_NAME = /^bth-[0-9a-f]{1,11}$/;
const VETH_NAME = /^bthv[0-9a-z]{1,11}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

function checked(value: string, pattern: RegExp, what: string): string {
  if (!pattern.test(value)) throw new RangeError(`refusing ${what} '${value}' in the host firewall`);
  return value;
}

function portElement(port: TaskPort): string {
  return `"${checked(port.hostVeth, VETH_NAME, "task port")}" . ${checked(port.macAddress.toLowerCase(), MAC, "MAC address")} . ${checked(port.ipv4, IPV4, "IPv4 address")}`;
}

function bridgeElement(bridge: string): string {
  const name = checked(bridge, BRIDGE_NAME, "bridge name");
  return `"${name}" . "${name}"`;
}

const elements = (items: readonly string[]) => (items.length > 0 ? `\n    elements = { ${items.join(", ")} }` : "");

/**
 * The whole policy, replacing whatever tables of ours exist in one transaction: `nft -f` applies
 * the file atomically, so a restarted agent never leaves a moment without the policy, and the
 * create-then-delete pair makes the replacement work whether or not the tables exist.
 */
export function renderFirewall(state: FirewallState): string {
  const { address, port } = METADATA_ENDPOINT;
  return `table bridge ${FIREWALL_TABLE} {}
delete table bridge ${FIREWALL_TABLE}
table bridge ${FIREWALL_TABLE} {
  set task_addrs {
    type ifname . ether_addr . ipv4_addr${elements(state.ports.map(portElement))}
  }
  chain prerouting {
    type filter hook prerouting priority filter; policy accept;
    iifname "bthv*" jump from_task
  }
  chain from_task {
    iifname . ether saddr . ip saddr @task_addrs accept
    arp htype 1 arp ptype ip arp hlen 6 arp plen 4 iifname . ether saddr . arp saddr ip @task_addrs iifname . arp saddr ether . arp saddr ip @task_addrs accept
    counter drop
  }
}
table inet ${FIREWALL_TABLE} {}
delete table inet ${FIREWALL_TABLE}
table inet ${FIREWALL_TABLE} {
  set bridged {
    type ifname . ifname${elements(state.bridges.map(bridgeElement))}
  }
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "bth-*" jump from_task
  }
  chain from_task {
    ct state established,related accept
    meta nfproto ipv4 ip daddr ${address} tcp dport ${port} socket wildcard 0 accept
    counter drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname . oifname @bridged accept
    iifname "bth-*" counter drop
    oifname "bth-*" counter drop
  }
}
`;
}

/** Lets a task's port send from its own addresses (idempotent: adding an element twice is no error). */
export function renderAllowPort(port: TaskPort): string {
  return `add element bridge ${FIREWALL_TABLE} task_addrs { ${portElement(port)} }\n`;
}

/** Removes a task's element; the add first makes the delete succeed whether or not it was there. */
export function renderForgetPort(port: TaskPort): string {
  const element = portElement(port);
  return `add element bridge ${FIREWALL_TABLE} task_addrs { ${element} }\ndelete element bridge ${FIREWALL_TABLE} task_addrs { ${element} }\n`;
}

export function renderAllowBridge(bridge: string): string {
  return `add element inet ${FIREWALL_TABLE} bridged { ${bridgeElement(bridge)} }\n`;
}

export function renderForgetBridge(bridge: string): string {
  const element = bridgeElement(bridge);
  return `add element inet ${FIREWALL_TABLE} bridged { ${element} }\ndelete element inet ${FIREWALL_TABLE} bridged { ${element} }\n`;
}

/** Removes both tables, present or not, in one transaction. */
export function renderRemoveFirewall(): string {
  return ["bridge", "inet"].map((family) => `table ${family} ${FIREWALL_TABLE} {}\ndelete table ${family} ${FIREWALL_TABLE}\n`).join("");
}

/**
 * Per-bridge kernel settings (sysctl keys and values). rp_filter 1 (strict): a packet the host
 * receives on the bridge must come from an address routed back through that bridge, a second
 * line behind the per-port source check. The veths are bridge ports and do no IP processing, so
 * rp_filter on them would do nothing. disable_ipv6: the host has no IPv6 address on the bridge,
 * so nothing of the host answers there even if a frame got through. arp_ignore 1: the host
 * answers ARP on the bridge only for the bridge's own addresses, not for eth0's, so a task cannot
 * map the host's other addresses.
 */
export function bridgeSysctls(bridge: string): [string, string][] {
  const name = checked(bridge, BRIDGE_NAME, "bridge name");
  return [
    [`net.ipv4.conf.${name}.rp_filter`, "1"],
    [`net.ipv4.conf.${name}.arp_ignore`, "1"],
    [`net.ipv6.conf.${name}.disable_ipv6`, "1"],
  ];
}
