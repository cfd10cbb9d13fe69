// One behaviour suite, two stores: a test file calls `eachStoreBackend` and defines its tests once
// per backend, on a fresh in-memory SQLite store and on a fresh PostgreSQL database of the tests'
// own cluster (test/support/postgres.ts), each dropped after use.
import { after, describe } from "node:test";
import type { Store } from "../../src/store/index.js";
import { openStore } from "../../src/store/index.js";
import { freshPostgresDatabase, stopOwnPostgresCluster } from "./postgres.js";

export interface StoreBackend {
  readonly name: Store["backend"];
  /** A new empty store, migrated; closing it also removes it. */
  open(): Promise<Store>;
}

export const sqliteBackend: StoreBackend = { name: "sqlite", open: () => openStore({ inMemory: true }) };

export const postgresBackend: StoreBackend = {
  name: "postgres",
  async open() {
    const database = await freshPostgresDatabase();
    const store = await openStore({ url: database.url, maxConnections: 8 });
    return {
      ...store,
      async close() {
        await store.close();
        await database.drop();
      },
    };
  },
};

/** Defines `suite` once per backend, in a describe block named after it. */
export function eachStoreBackend(suite: (backend: StoreBackend) => void): void {
  for (const backend of [sqliteBackend, postgresBackend]) describe(`on ${backend.name}`, () => suite(backend));
  after(() => stopOwnPostgresCluster());
}
