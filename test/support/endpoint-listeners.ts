// For the data plane's privileged tests: what the agent's TaskEndpoints does for the VPC routers
// (src/network's EndpointListeners), with the agent's own namespace listener
// (src/endpoints/namespace-listener.ts) but a bare TCP answer: each router's 169.254.170.2:80
// answers "open-metadata-<vpc id>-<the connection's source address>", so a probe shows which
// router answered and that the router delivered the task's own address, not masqueraded.
import type { Server, Socket } from "node:net";
import { listenInNamespace } from "../../src/endpoints/index.js";
import type { EndpointListeners, RouterRecord } from "../../src/network/index.js";

export class TestEndpointListeners implements EndpointListeners {
  private readonly servers = new Map<string, Server>();

  async open(record: RouterRecord): Promise<void> {
    if (this.servers.has(record.vpcId)) return;
    const server = await listenInNamespace(record.netnsPath, "169.254.170.2", 80);
    server.on("connection", (socket: Socket) => socket.end(`open-metadata-${record.vpcId}-${(socket.remoteAddress ?? "").replace(/^::ffff:/, "")}\n`));
    this.servers.set(record.vpcId, server);
  }

  async close(record: Pick<RouterRecord, "vpcId">): Promise<void> {
    const server = this.servers.get(record.vpcId);
    this.servers.delete(record.vpcId);
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  /** The routers this holds a listener for. */
  vpcs(): string[] {
    return [...this.servers.keys()];
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.vpcs().map((vpcId) => this.close({ vpcId })));
  }
}
