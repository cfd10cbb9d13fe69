// One transaction per unit of work, also when a repository method that needs a transaction of its
// own is called inside a wider one (Store.exclusively, Store.fenced): it then joins the caller's
// transaction instead of opening a nested one, which Kysely does not support.
import type { Kysely } from "kysely";

export function inTransaction<DB, T>(db: Kysely<DB>, work: (tx: Kysely<DB>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db) : db.transaction().execute(work);
}
