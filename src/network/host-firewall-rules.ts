// The host's nftables table for the task data plane, `inet berth`, as `nft -f` text (pure). Tasks
// never touch the host's namespace: each VPC's router (router-rules.ts) reaches it only through
// its uplink veth, whose host end is "bthh<hash>" and holds the router's /30. (The metadata
// endpoint 169.254.170.2 is not the host's: each router holds it and answers it, router-rules.ts.)
// Whatever leaves a router by that link is masqueraded to the router's /30 address, so the host
// sees 169.254.128.0/17 sources only, never a VPC's (overlapping) addresses.
//
//   input    from a router link (bthh*): only replies to what the host started; every port on
//            every host address is dropped, ping too. VXLAN (UDP 4789) only to the overlay address
//            (the kernel's VXLAN socket listens on every local address, loopback included) and
//            only from the fleet's hosts (set overlay_hosts, from the view's peers).
//   forward  router link → the uplink (the router let only public tasks' traffic out) and the
//            replies back, but never VXLAN nor anything to the fleet's hosts (a public task would
//            otherwise inject frames into any VPC from a known host's address); nothing else to
//            or from a router link. With ip_forward pinned off,
//            the uplink forwards only those replies (its forwarding flag is on for them alone).
//   nat      what a router sends out of the uplink is masqueraded to the uplink's address.
//            Published load balancers (internet-facing, published-ports.ts): TCP to the uplink's
//            address, arriving on the uplink, at a port of map `published` is DNATed to the /30
//            address of the router of that node's VPC (same port; the router DNATs it on to the
//            node). The source is kept, so the node's security groups see the client's address;
//            forward lets in from the uplink to a router link only what that DNAT made (and the
//            replies go back by conntrack). Nothing else of the host is opened; an empty map
//            publishes nothing.
//
// The wildcard "bthh*", not a set, decides what is filtered, so a router link made before its
// element exists is closed, not open. Every name and address is checked before it enters the text.
import { HOST_LINK, INTERFACE_NAME, IPV4, checked } from "./names.js";

export const FIREWALL_TABLE = "berth";
export const METADATA_ENDPOINT = { address: "169.254.170.2", port: 80 } as const;
/** The VXLAN port (IANA, RFC 7348). */
export const VXLAN_PORT = 4789;

export interface HostFirewallShape {
  /** The interface toward the outside for tasks with a public IP; none: no task goes out. */
  readonly uplink?: string | undefined;
  /** This host's underlay address (VXLAN endpoint); none: no overlay. */
  readonly overlayAddress?: string | undefined;
  /** Whether the host's ip_forward is pinned off (then the uplink forwards only our replies). */
  readonly ipForwardPinned: boolean;
  /** The uplink's address, where internet-facing load balancers are published; none: nothing is. */
  readonly uplinkAddress?: string | undefined;
}

/** The map of published ports: listener port → the /30 address of the router the node is behind. */
export const PUBLISHED_MAP = "published";

/** The uplink address load balancers are published at, when there is an uplink and it has one. */
function publishAddress(shape: HostFirewallShape): string | undefined {
  return shape.uplink === undefined || shape.uplinkAddress === undefined ? undefined : checked(shape.uplinkAddress, IPV4, "uplink address");
}

const elements = (items: readonly string[]) => (items.length > 0 ? `\n    elements = { ${items.join(", ")} }` : "");

function forwardRules(shape: HostFirewallShape): string[] {
  const uplink = shape.uplink === undefined ? undefined : checked(shape.uplink, INTERFACE_NAME, "uplink interface");
  return [
    // A public task must not speak the overlay: its VXLAN, masqueraded to this host's uplink
    // address (often the overlay address too), would come from a known host and be let into any
    // VPC on the peer. Nor may it reach the fleet's hosts at all.
    ...(uplink ? [`iifname "bthh*" udp dport ${VXLAN_PORT} counter drop`, `iifname "bthh*" ip daddr @overlay_hosts counter drop`] : []),
    ...(uplink ? [`iifname "bthh*" oifname "${uplink}" accept`, `iifname "${uplink}" oifname "bthh*" ct state established,related accept`] : []),
    // A published load balancer: only what the DNAT of nat_prerouting made from the uplink address.
    ...(uplink && publishAddress(shape) ? [`iifname "${uplink}" oifname "bthh*" ct status dnat ct original ip daddr ${publishAddress(shape)} accept`] : []),
    `iifname "bthh*" counter drop`,
    `oifname "bthh*" counter drop`,
    ...(uplink && shape.ipForwardPinned ? [`iifname "${uplink}" counter drop`] : []),
  ];
}

/**
 * The whole table, replacing any earlier one in one transaction (create-then-delete works whether
 * or not it exists), so a restarted agent never leaves a moment without it. The `bridge berth`
 * table of Berth's bridged design (before issue 12) goes in the same transaction.
 */
export function renderHostFirewall(shape: HostFirewallShape, overlayHosts: readonly string[]): string {
  const overlay = shape.overlayAddress === undefined ? undefined : checked(shape.overlayAddress, IPV4, "overlay address");
  const hosts = overlayHosts.map((host) => checked(host, IPV4, "overlay host address"));
  const uplink = shape.uplink === undefined ? undefined : checked(shape.uplink, INTERFACE_NAME, "uplink interface");
  const lines = (rules: readonly string[]) => rules.map((rule) => `    ${rule}\n`).join("");
  const published = publishAddress(shape);
  return `${renderRemoveFirewall()}table inet ${FIREWALL_TABLE} {
  set overlay_hosts {
    type ipv4_addr;${elements(hosts)}
  }
${
  published
    ? `  map ${PUBLISHED_MAP} {
    type inet_service : ipv4_addr;
  }
`
    : ""
}  chain input {
    type filter hook input priority filter; policy accept;
    iifname "bthh*" jump from_router
${overlay ? lines([`udp dport ${VXLAN_PORT} ip daddr != ${overlay} counter drop`, `udp dport ${VXLAN_PORT} ip saddr != @overlay_hosts counter drop`]) : ""}  }
  chain from_router {
    ct state established,related accept
    counter drop
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
${lines(forwardRules(shape))}  }
${
  uplink
    ? `  chain nat_postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "${uplink}" ip saddr 169.254.128.0/17 masquerade
  }
`
    : ""
}${
    uplink && published
      ? `  chain nat_prerouting {
    type nat hook prerouting priority dstnat; policy accept;
    iifname "${uplink}" ip daddr ${published} meta l4proto tcp dnat ip to tcp dport map @${PUBLISHED_MAP}
  }
`
      : ""
  }}
`;
}

/** The published map replaced in one transaction: port → router /30 address (checked). */
export function renderPublishedPorts(published: ReadonlyMap<number, string>): string {
  const entries = [...published].map(([port, router]) => {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`refusing port ${String(port)} in the published map`);
    return `${port} : ${checked(router, IPV4, "router address")}`;
  });
  return `flush map inet ${FIREWALL_TABLE} ${PUBLISHED_MAP}\n${entries.length > 0 ? `add element inet ${FIREWALL_TABLE} ${PUBLISHED_MAP} { ${entries.join(", ")} }\n` : ""}`;
}

/** The overlay hosts set from `before` to `after`: element adds and deletes only. */
export function renderOverlayHostChanges(before: ReadonlySet<string>, after: ReadonlySet<string>): string {
  const added = [...after].filter((host) => !before.has(host)).map((host) => checked(host, IPV4, "overlay host address"));
  const removed = [...before].filter((host) => !after.has(host)).map((host) => checked(host, IPV4, "overlay host address"));
  return (
    (added.length > 0 ? `add element inet ${FIREWALL_TABLE} overlay_hosts { ${added.join(", ")} }\n` : "") +
    (removed.length > 0 ? `delete element inet ${FIREWALL_TABLE} overlay_hosts { ${removed.join(", ")} }\n` : "")
  );
}

/** Removes our tables (the inet one, and the bridge one of the bridged design), present or not, in one transaction. */
export function renderRemoveFirewall(): string {
  return ["bridge", "inet"].map((family) => `table ${family} ${FIREWALL_TABLE} {}\ndelete table ${family} ${FIREWALL_TABLE}\n`).join("");
}

/**
 * A router link's kernel settings on the host end. rp_filter 1 (strict): a packet from the link
 * must come from the router's /30 (everything the router sends is masqueraded to it).
 * arp_ignore 1: the host answers ARP there only for the link's own addresses. No IPv6. forwarding:
 * IPv4 checks the INGRESS device's flag, so the link forwards (to the uplink, as the forward chain
 * allows) only when there is an uplink, whatever net.ipv4.ip_forward says.
 */
export function hostLinkSysctls(hostLink: string, forwarding: boolean): [string, string][] {
  const name = checked(hostLink, HOST_LINK, "router link");
  return [
    [`net.ipv4.conf.${name}.rp_filter`, "1"],
    [`net.ipv4.conf.${name}.arp_ignore`, "1"],
    [`net.ipv6.conf.${name}.disable_ipv6`, "1"],
    [`net.ipv4.conf.${name}.forwarding`, forwarding ? "1" : "0"],
  ];
}
