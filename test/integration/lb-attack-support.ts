// What the lb-attack-* integration tests share: a host that speaks the real agent protocol over
// HTTP (register, heartbeat, polls on demand) but runs nothing, so a test can read the load
// balancer nodes the control plane hands it and send `targetHealth` as a (possibly malicious) agent.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { createHttpControlLink } from "../../src/agent/control-link-http.js";
import type { ControlPlaneLink, LoadBalancerNodeSpec, PollAnswer } from "../../src/protocol/index.js";
import { protocolVersion } from "../../src/protocol/index.js";
import type { TestServer } from "../support/server.js";

export interface ProtocolHost {
  readonly hostId: string;
  readonly link: ControlPlaneLink;
  /** One poll answered at once (known generation -1). */
  pollNow(): Promise<PollAnswer>;
  /** Polls until `done` holds for an answer (or throws after timeoutMs with the last answer). */
  pollUntil(done: (answer: PollAnswer) => boolean, timeoutMs?: number): Promise<PollAnswer>;
  stop(): void;
}

export async function protocolHost(server: TestServer, hostId: string, availabilityZone: string, publicAddress?: string): Promise<ProtocolHost> {
  const link = createHttpControlLink({ serverUrl: server.endpoint, token: readFileSync(join(server.dataDir, "agent-token"), "utf8").trim() });
  const registered = await link.register({
    protocolVersion,
    hostId,
    agentVersion: "test",
    availabilityZone,
    architecture: "X86_64",
    capacity: { cpuUnits: 256 * 8, memoryMiB: 512 * 8, taskSlots: 8, ephemeralGiB: 21 * 8 },
    machine: { cpuCount: 8, memoryMiB: 16_384 },
    overcommit: false,
    subnetIds: [],
    ...(publicAddress ? { publicAddress } : {}),
  });
  const heartbeat = setInterval(() => void link.heartbeat(hostId).catch(() => undefined), registered.heartbeatIntervalMs);
  const pollNow = () => link.poll(hostId, -1);
  return {
    hostId,
    link,
    pollNow,
    async pollUntil(done, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      let answer = await pollNow();
      while (!done(answer)) {
        if (Date.now() > deadline) {
          throw new Error(
            `host ${hostId}: no poll answer as wanted in ${timeoutMs} ms; last: ${JSON.stringify({
              problem: answer.loadBalancersProblem,
              nodes: answer.loadBalancers?.length,
            })}`,
          );
        }
        await sleep(200);
        answer = await pollNow();
      }
      return answer;
    },
    stop: () => clearInterval(heartbeat),
  };
}

export const nodeOf = (answer: PollAnswer, loadBalancerArn: string): LoadBalancerNodeSpec | undefined =>
  answer.loadBalancers?.find((node) => node.loadBalancerArn === loadBalancerArn);

/** The n-th address of an IPv4 CIDR (no checks: the tests' subnets are large enough). */
export function addressIn(cidr: string, n: number): string {
  const [base] = cidr.split("/") as [string];
  const number = base.split(".").reduce((sum, octet) => sum * 256 + Number(octet), 0) + n;
  return [24, 16, 8, 0].map((shift) => Math.floor(number / 2 ** shift) % 256).join(".");
}
