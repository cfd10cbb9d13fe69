// The ELBv2 repository on SQLite and PostgreSQL: names unique case-insensitively, a listener's port
// and a rule's priority unique by constraint, a load balancer's delete taking its listeners, rules
// and tags, targets registered, drained until their deadline then gone, and the health record a
// data plane writes.
import { test } from "node:test";
import assert from "node:assert/strict";
import { eachStoreBackend } from "../../test/support/store-backends.js";

const lbArn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0123456789abcdef";
const tgArn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/tg/0123456789abcdef";
const listenerArn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/0123456789abcdef/1111111111111111";
const ruleArn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener-rule/app/web/0123456789abcdef/1111111111111111/2222222222222222";

eachStoreBackend((backend) => {
  test("resources by ARN and name, unique ports and priorities, deletes that cascade", async () => {
    const store = await backend.open();
    try {
      const elbv2 = store.elbv2;
      await elbv2.insertLoadBalancer({
        arn: lbArn,
        name: "Web",
        createdAt: 1000,
        loadBalancer: { LoadBalancerName: "Web", Type: "application" },
        attributes: { a: "1" },
      });
      assert.equal((await elbv2.loadBalancerByName("WEB"))?.arn, lbArn);
      assert.equal((await elbv2.getLoadBalancer(lbArn))?.loadBalancer.CreatedTime?.getTime(), 1000);
      await assert.rejects(
        elbv2.insertLoadBalancer({ arn: `${lbArn}0`, name: "web", createdAt: 1, loadBalancer: {}, attributes: {} }),
        "a second load balancer named web in another case",
      );
      await elbv2.insertTargetGroup({ arn: tgArn, name: "tg", createdAt: 1, targetGroup: { TargetGroupName: "tg" }, attributes: {} });
      await elbv2.insertListener({ arn: listenerArn, loadBalancerArn: lbArn, port: 80, createdAt: 1, listener: { Port: 80 } });
      await assert.rejects(elbv2.insertListener({ arn: `${listenerArn}0`, loadBalancerArn: lbArn, port: 80, createdAt: 1, listener: {} }));
      await elbv2.insertRule({ arn: ruleArn, listenerArn, priority: "5", createdAt: 1, rule: { Priority: "5" } });
      await assert.rejects(elbv2.insertRule({ arn: `${ruleArn}0`, listenerArn, priority: "5", createdAt: 1, rule: {} }));
      await elbv2.putTags(ruleArn, new Map([["k", "v"]]));
      await elbv2.putTags(lbArn, new Map([["k", "v"]]));
      await elbv2.putTags(lbArn, new Map([["k", "w"]]));
      assert.deepEqual([...(await elbv2.tagsOf([lbArn])).get(lbArn)!], [["k", "w"]]);
      await elbv2.deleteLoadBalancer(lbArn);
      assert.equal(await elbv2.getListener(listenerArn), undefined);
      assert.deepEqual(await elbv2.listRules(), []);
      assert.equal((await elbv2.tagsOf([ruleArn, lbArn])).get(ruleArn)?.size, 0);
      assert.equal((await elbv2.listTargetGroups()).length, 1);
    } finally {
      await store.close();
    }
  });

  test("targets: registered once, draining until their deadline, health recorded, re-registered fresh", async () => {
    const store = await backend.open();
    try {
      const elbv2 = store.elbv2;
      await elbv2.registerTargets(
        tgArn,
        [
          { id: "10.0.0.5", port: 80, availabilityZone: "us-east-1a" },
          { id: "10.0.0.6", port: 80 },
        ],
        10,
      );
      await elbv2.registerTargets(tgArn, [{ id: "10.0.0.5", port: 80 }], 20);
      assert.deepEqual(
        (await elbv2.listTargets(tgArn, 30)).map((target) => [target.id, target.availabilityZone, target.registeredAt]),
        [
          ["10.0.0.5", "us-east-1a", 10],
          ["10.0.0.6", undefined, 10],
        ],
      );
      assert.equal(await elbv2.recordTargetHealth(tgArn, "10.0.0.5", 80, "healthy", undefined, undefined, 40), true);
      assert.equal(await elbv2.recordTargetHealth(tgArn, "10.0.0.9", 80, "healthy", undefined, undefined, 40), false);
      assert.deepEqual((await elbv2.listTargets(tgArn, 50))[0]?.health, { state: "healthy", reason: undefined, description: undefined, updatedAt: 40 });
      await elbv2.deregisterTargets(tgArn, [{ id: "10.0.0.5", port: 80 }], 100);
      assert.equal((await elbv2.listTargets(tgArn, 99))[0]?.deregisterAt, 100);
      assert.deepEqual(
        (await elbv2.listTargets(tgArn, 100)).map((target) => target.id),
        ["10.0.0.6"],
      );
      await elbv2.deregisterTargets(tgArn, [{ id: "10.0.0.6", port: 80 }], 500);
      await elbv2.registerTargets(tgArn, [{ id: "10.0.0.6", port: 80 }], 200);
      const [again] = await elbv2.listTargets(tgArn, 300);
      assert.deepEqual([again?.deregisterAt, again?.registeredAt], [undefined, 200]);
      await elbv2.locked(async (tx) => tx.deleteTargetGroup(tgArn));
      assert.deepEqual(await elbv2.listTargets(tgArn, 300), []);
    } finally {
      await store.close();
    }
  });
});
