// The default VPC is seeded once per store, even by two replicas starting at once on PostgreSQL,
// and a default VPC the user deleted is not seeded again.
import assert from "node:assert/strict";
import { test } from "node:test";
import { eachStoreBackend } from "../../test/support/store-backends.js";
import { freshPostgresDatabase } from "../../test/support/postgres.js";
import { defaultNetwork } from "../core/default-network.js";
import type { Store } from "../store/index.js";
import { openStore } from "../store/index.js";
import { seedDefaultVpc } from "./default-vpc.js";

const OWNER = "123456789012";

async function withStore(open: () => Promise<Store>, work: (store: Store) => Promise<void>): Promise<void> {
  const store = await open();
  try {
    await work(store);
  } finally {
    await store.close();
  }
}

eachStoreBackend((backend) => {
  test("the default VPC is seeded once: default subnets map public IPs, a deleted default VPC stays deleted", () =>
    withStore(backend.open, async (store) => {
      const network = defaultNetwork({ accountId: OWNER, region: "us-east-1" });
      const seed = { network, accountId: OWNER, region: "us-east-1", nowMs: 1 };
      assert.equal(await seedDefaultVpc(store, seed), true);
      assert.equal(await seedDefaultVpc(store, seed), false);
      const vpc = await store.vpcs.getVpc(network.vpcId);
      assert.equal(vpc?.isDefault, true);
      assert.equal(vpc?.cidrBlock, "172.31.0.0/16");
      const subnets = await store.vpcs.listSubnets();
      assert.equal(subnets.length, 6);
      assert.ok(subnets.every((s) => s.defaultForAz && s.mapPublicIpOnLaunch && s.vpcId === network.vpcId));
      for (const s of subnets) await store.vpcs.deleteSubnet(s.subnetId);
      assert.equal(await store.vpcs.deleteVpc(network.vpcId), "deleted");
      assert.equal(await seedDefaultVpc(store, seed), false);
      assert.equal(await store.vpcs.getVpc(network.vpcId), undefined);
    }));
});

test("two replicas seeding one PostgreSQL store at once make one default VPC", async () => {
  const database = await freshPostgresDatabase();
  const [a, b] = await Promise.all([openStore({ url: database.url }), openStore({ url: database.url })]);
  try {
    const network = defaultNetwork({ accountId: OWNER, region: "us-east-2" });
    const seed = { network, accountId: OWNER, region: "us-east-2", nowMs: 1 };
    const created = await Promise.all([seedDefaultVpc(a, seed), seedDefaultVpc(b, seed)]);
    assert.deepEqual(created.sort(), [false, true]);
    assert.equal((await a.vpcs.listVpcs()).length, 1);
    assert.equal((await a.vpcs.listSubnets()).length, 3);
  } finally {
    await Promise.all([a.close(), b.close()]);
    await database.drop();
  }
});
