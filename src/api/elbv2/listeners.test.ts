// CreateListener against a DeleteLoadBalancer that lands between its first read and its lock: the
// load balancer is read again under the lock, so no listener outlives it (the reviewer's race,
// made deterministic by deleting the load balancer as the lock is taken).
import { test } from "node:test";
import assert from "node:assert/strict";
import { openStore } from "../../store/index.js";
import type { Elbv2Repository } from "../../store/index.js";
import type { RequestContext } from "../service-module.js";
import { listenerHandlers } from "./listeners.js";

const lbArn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0123456789abcdef";

test("a load balancer deleted before CreateListener takes the lock: LoadBalancerNotFound, no listener stored", async () => {
  const store = await openStore({ inMemory: true });
  try {
    const loadBalancer = { LoadBalancerArn: lbArn, LoadBalancerName: "web", Type: "application" as const, VpcId: "vpc-0123456789abcdef0" };
    await store.elbv2.insertLoadBalancer({ arn: lbArn, name: "web", createdAt: 1, loadBalancer, attributes: {} });
    const racing = new Proxy(store.elbv2, {
      get(target, key, receiver) {
        if (key !== "locked") return Reflect.get(target, key, receiver) as unknown;
        return <T>(work: (elbv2: Elbv2Repository) => Promise<T>) =>
          target.locked(async (elbv2) => {
            await elbv2.deleteLoadBalancer(lbArn);
            return work(elbv2);
          });
      },
    });
    const handlers = listenerHandlers({
      store: new Proxy(store, { get: (target, key) => (key === "elbv2" ? racing : (Reflect.get(target, key) as unknown)) }),
      clock: { now: () => 5_000, sleep: async () => undefined },
    });
    const input = {
      LoadBalancerArn: lbArn,
      Protocol: "HTTP" as const,
      Port: 80,
      DefaultActions: [{ Type: "fixed-response" as const, FixedResponseConfig: { StatusCode: "200" } }],
    };
    await assert.rejects(handlers.CreateListener!(input, {} as RequestContext), (error: Error) => error.name === "LoadBalancerNotFound");
    assert.deepEqual(await store.elbv2.listListeners(lbArn), []);
  } finally {
    await store.close();
  }
});
