// Hosts joining the fleet: registration (checked against the default network and the machine the
// agent reports), the secret each registration issues, heartbeats.
//
// Authentication (checked by the HTTP route, decided here): an agent joins with a join token the
// server issued; registering returns a secret bound to that host id (only its sha256 is stored),
// and every later call must present that host's secret, so one agent can never act for another.
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Clock } from "../core/clock.js";
import type { DefaultNetwork } from "../core/default-network.js";
import { AwsError, invalidParameterException } from "../core/errors.js";
import { cidrContainsAddress, parseCidr, parseIpv4 } from "../core/ec2/cidr.js";
import type { RegisterRequest, RegisterResponse } from "../protocol/index.js";
import { capacityProblem, HOST_NOT_REGISTERED, protocolVersion } from "../protocol/index.js";
import type { HostsRepository } from "../store/index.js";

export interface HostRegistryOptions {
  readonly hosts: HostsRepository;
  readonly network: DefaultNetwork;
  readonly clock: Clock;
  /** Told to every registering agent: how often it must heartbeat. */
  readonly heartbeatIntervalMs: number;
}

const sha256 = (value: string) => createHash("sha256").update(value).digest();

/**
 * Blocks no host can be reached at (RFC 6890): "this network", loopback, link-local, multicast,
 * reserved and the limited broadcast. A host's overlay address becomes every peer's VXLAN endpoint
 * and firewall exception, its public address the source tasks are masqueraded to: one of these
 * would point the fleet at itself or at nothing.
 */
const NON_UNICAST_BLOCKS = ["0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "224.0.0.0/4", "240.0.0.0/4"].map((block) => parseCidr(block)!);

function refuseNonUnicast(name: string, address: string | undefined): void {
  if (address === undefined) return;
  const value = parseIpv4(address);
  if (value === undefined || NON_UNICAST_BLOCKS.some((block) => cidrContainsAddress(block, value))) {
    // 255.255.255.255 lies in 240.0.0.0/4. Only a shape-checked address gets here, so it is echoed whole.
    throw invalidParameterException(`The ${name} ${address} is not a unicast host address (not 0/8, 127/8, 169.254/16, 224/4 or 240/4).`);
  }
}

export class HostRegistry {
  constructor(private readonly options: HostRegistryOptions) {}

  /** Whether `secret` is the one issued to `hostId` at its last registration. */
  async authenticateHost(hostId: string, secret: string): Promise<boolean> {
    const host = hostId ? await this.options.hosts.get(hostId) : undefined;
    if (!host || host.secretSha256 === "") return false;
    const expected = Buffer.from(host.secretSha256, "hex");
    const presented = sha256(secret);
    return expected.length === presented.length && timingSafeEqual(expected, presented);
  }

  /**
   * Whether a join-token holder may (re)register `hostId`: a new or lost host may; a live one only
   * with the secret it was issued, so a join token alone cannot take over another agent's host.
   */
  async mayRegister(hostId: string, presentedSecret: string | undefined): Promise<boolean> {
    const host = await this.options.hosts.get(hostId);
    if (!host || host.status === "LOST" || host.secretSha256 === "") return true;
    return presentedSecret !== undefined && (await this.authenticateHost(hostId, presentedSecret));
  }

  async register(request: RegisterRequest): Promise<RegisterResponse> {
    const { network } = this.options;
    if (request.protocolVersion !== protocolVersion) {
      throw invalidParameterException(`Unsupported agent protocol version ${request.protocolVersion}; this server speaks ${protocolVersion}.`);
    }
    // A join token is all it takes to get here: the declared capacity decides how many tasks (and
    // their secrets) the scheduler hands this host, so it must fit the machine (refused, not clamped).
    // The identity becomes a primary key, log fields and varchar(64) columns: whole patterns only.
    if (typeof request.hostId !== "string" || !/^[A-Za-z0-9._-]{1,128}$/.test(request.hostId))
      throw invalidParameterException("A host id is 1 to 128 letters, digits, '.', '_' or '-'.");
    if (typeof request.agentVersion !== "string" || !/^[\x21-\x7e]{1,64}$/.test(request.agentVersion))
      throw invalidParameterException("An agent version is 1 to 64 printable characters.");
    if (request.architecture !== "X86_64" && request.architecture !== "ARM64") throw invalidParameterException("The architecture must be X86_64 or ARM64.");
    if (!Array.isArray(request.subnetIds) || request.subnetIds.length > 64 || !request.subnetIds.every((id) => typeof id === "string"))
      throw invalidParameterException("subnetIds must be a list of at most 64 subnet ids.");
    const problem = capacityProblem(request);
    if (problem) throw invalidParameterException(problem);
    const zoneSubnets = network.subnets.filter((subnet) => subnet.availabilityZone === request.availabilityZone);
    if (zoneSubnets.length === 0) throw invalidParameterException(`Unknown availability zone ${request.availabilityZone}.`);
    const unknown = request.subnetIds.filter((id) => !network.subnets.some((subnet) => subnet.subnetId === id));
    if (unknown.length > 0) throw invalidParameterException(`Unknown subnets: ${unknown.join(", ")}.`);
    const subnetIds = request.subnetIds.length > 0 ? request.subnetIds : zoneSubnets.map((subnet) => subnet.subnetId);
    await this.checkAddresses(request);
    const hostSecret = randomBytes(32).toString("base64url");
    await this.options.hosts.upsert({
      hostId: request.hostId,
      availabilityZone: request.availabilityZone,
      architecture: request.architecture,
      capacity: request.capacity,
      secretSha256: sha256(hostSecret).toString("hex"),
      agentVersion: request.agentVersion,
      subnetIds,
      registeredAtMs: this.options.clock.now(),
      ...(request.overlayAddress !== undefined ? { overlayAddress: request.overlayAddress } : {}),
      ...(request.publicAddress !== undefined ? { publicAddress: request.publicAddress } : {}),
    });
    return {
      hostId: request.hostId,
      hostSecret,
      heartbeatIntervalMs: this.options.heartbeatIntervalMs,
      subnets: network.subnets
        .filter((subnet) => subnetIds.includes(subnet.subnetId))
        .map(({ subnetId, cidrBlock, availabilityZone }) => ({ subnetId, cidrBlock, availabilityZone })),
    };
  }

  /**
   * A host's addresses must be unicast, and its overlay address its own: another ACTIVE host's
   * would take over that host's VXLAN traffic (peers send a VPC's packets to the address they
   * know the interface's host by). A LOST host's address may be taken over (a machine replaced).
   */
  private async checkAddresses(request: RegisterRequest): Promise<void> {
    refuseNonUnicast("overlayAddress", request.overlayAddress);
    refuseNonUnicast("publicAddress", request.publicAddress);
    if (request.overlayAddress === undefined) return;
    const holder = (await this.options.hosts.list()).find(
      (host) => host.hostId !== request.hostId && host.status === "ACTIVE" && host.overlayAddress === request.overlayAddress,
    );
    if (holder) throw invalidParameterException(`The overlayAddress ${request.overlayAddress} is already registered by another active host.`);
  }

  async heartbeat(hostId: string): Promise<void> {
    const known = await this.options.hosts.heartbeat(hostId, this.options.clock.now());
    if (!known) throw new AwsError(HOST_NOT_REGISTERED, `Host ${hostId} is not registered.`);
  }
}
