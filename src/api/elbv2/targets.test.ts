// DescribeTargetHealth on a real (in-memory) store: what the control plane knows (unused, initial,
// draining, health checks disabled) until a data plane records a result through
// recordTargetHealth, which then wins for registered targets of a group in use.
import { test } from "node:test";
import assert from "node:assert/strict";
import { openStore } from "../../store/index.js";
import type { RequestContext } from "../service-module.js";
import { targetHandlers } from "./targets.js";

const tgArn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef";
const lbArn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0123456789abcdef";

test("health: unused, then initial once forwarded to, then the data plane's record; draining wins; disabled checks are unavailable", async () => {
  const store = await openStore({ inMemory: true });
  try {
    let now = 1_000;
    const handlers = targetHandlers({ store, clock: { now: () => now, sleep: async () => undefined } });
    const describe = async () => {
      const out = (await handlers.DescribeTargetHealth!({ TargetGroupArn: tgArn }, {} as RequestContext)) as {
        TargetHealthDescriptions: { Target: { Id: string }; TargetHealth: { State: string; Reason?: string } }[];
      };
      return out.TargetHealthDescriptions.map((one) => [one.Target.Id, one.TargetHealth.State, one.TargetHealth.Reason]);
    };
    const group = {
      arn: tgArn,
      name: "tg",
      createdAt: 1,
      attributes: {},
      targetGroup: { TargetGroupArn: tgArn, Port: 80, HealthCheckPort: "traffic-port", HealthCheckEnabled: true },
    };
    await store.elbv2.insertTargetGroup(group);
    await store.elbv2.registerTargets(
      tgArn,
      [
        { id: "10.0.0.1", port: 80 },
        { id: "10.0.0.2", port: 80 },
      ],
      now,
    );
    assert.deepEqual(await describe(), [
      ["10.0.0.1", "unused", "Target.NotInUse"],
      ["10.0.0.2", "unused", "Target.NotInUse"],
    ]);
    const listenerArn = lbArn.replace(":loadbalancer/", ":listener/") + "/1111111111111111";
    await store.elbv2.insertListener({
      arn: listenerArn,
      loadBalancerArn: lbArn,
      port: 80,
      createdAt: 1,
      listener: { DefaultActions: [{ Type: "forward", TargetGroupArn: tgArn }] },
    });
    assert.deepEqual((await describe())[0], ["10.0.0.1", "initial", "Elb.RegistrationInProgress"]);
    await store.elbv2.recordTargetHealth(tgArn, "10.0.0.1", 80, "healthy", undefined, undefined, now);
    await store.elbv2.recordTargetHealth(tgArn, "10.0.0.2", 80, "unhealthy", "Target.Timeout", "Request timed out", now);
    assert.deepEqual(await describe(), [
      ["10.0.0.1", "healthy", undefined],
      ["10.0.0.2", "unhealthy", "Target.Timeout"],
    ]);
    await store.elbv2.deregisterTargets(tgArn, [{ id: "10.0.0.2", port: 80 }], now + 300_000);
    assert.deepEqual((await describe())[1], ["10.0.0.2", "draining", "Target.DeregistrationInProgress"]);
    now += 300_000;
    assert.deepEqual((await describe()).length, 1, "gone once the deregistration delay is over");
    await store.elbv2.updateTargetGroup({ ...group, targetGroup: { ...group.targetGroup, HealthCheckEnabled: false } });
    assert.deepEqual(await describe(), [["10.0.0.1", "unavailable", "Target.HealthCheckDisabled"]]);
  } finally {
    await store.close();
  }
});
