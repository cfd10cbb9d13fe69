// IP address management for task ENIs: addresses of a subnet's CIDR handed out without duplicates
// and released at stop, kept in a small JSON file written atomically (temp file, rename) so an
// agent restart never hands an address out twice. No fsync: what the leases describe (namespaces,
// veths) lives in the kernel and is gone after a power loss anyway, while a crash of the agent
// keeps the renamed file (the page cache outlives the process); an fsync would only add ~1 ms per
// launch and per stop on the agent's event loop. AWS reserves the first four addresses of a
// subnet (network, router, DNS, future use) and the last (broadcast); so does Berth.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { ipv4ToNumber, numberToIpv4 } from "../core/default-network.js";

export interface SubnetRange {
  readonly cidr: string;
  readonly networkNumber: number;
  readonly prefixLength: number;
  readonly gateway: string;
  readonly firstUsable: number;
  readonly lastUsable: number;
}

export function subnetRange(cidr: string): SubnetRange {
  const [base, prefixText] = cidr.split("/") as [string, string];
  const prefixLength = Number(prefixText);
  if (!Number.isInteger(prefixLength) || prefixLength < 8 || prefixLength > 28) throw new RangeError(`unsupported subnet CIDR ${cidr}`);
  const size = 2 ** (32 - prefixLength);
  const networkNumber = Math.floor(ipv4ToNumber(base) / size) * size;
  return { cidr, networkNumber, prefixLength, gateway: numberToIpv4(networkNumber + 1), firstUsable: networkNumber + 4, lastUsable: networkNumber + size - 2 };
}

export function writeFileAtomic(path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(temp, content, { mode: 0o600 });
  renameSync(temp, path);
}

/** Leases of every subnet: subnetId → address → owner (task id). */
type Leases = Record<string, Record<string, string>>;

export class Ipam {
  private leases: Leases = {};

  constructor(private readonly path: string) {}

  /** The file is the truth (another instance over the same state dir may have changed it). */
  private load(): void {
    try {
      this.leases = JSON.parse(readFileSync(this.path, "utf8")) as Leases;
    } catch {
      this.leases = {};
    }
  }

  /** The owner's address in the subnet: the existing lease, or the lowest free address. */
  allocate(subnetId: string, range: SubnetRange, owner: string): string {
    this.load();
    const subnet = (this.leases[subnetId] ??= {});
    const existing = Object.entries(subnet).find(([, holder]) => holder === owner);
    if (existing) return existing[0];
    for (let number = range.firstUsable; number <= range.lastUsable; number++) {
      const address = numberToIpv4(number);
      if (subnet[address] === undefined) {
        subnet[address] = owner;
        this.save();
        return address;
      }
    }
    throw new Error(`subnet ${subnetId} (${range.cidr}) has no free address`);
  }

  release(owner: string): void {
    this.load();
    let changed = false;
    for (const subnet of Object.values(this.leases)) {
      for (const [address, holder] of Object.entries(subnet)) {
        if (holder === owner) {
          delete subnet[address];
          changed = true;
        }
      }
    }
    if (changed) this.save();
  }

  leaseCount(subnetId: string): number {
    this.load();
    return Object.keys(this.leases[subnetId] ?? {}).length;
  }

  owners(): string[] {
    this.load();
    return Object.values(this.leases).flatMap((subnet) => Object.values(subnet));
  }

  private save(): void {
    writeFileAtomic(this.path, JSON.stringify(this.leases));
  }
}
