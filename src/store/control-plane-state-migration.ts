// Schema of the control plane's named values (see control-plane-state-repository.ts): one row per
// value, made once by whichever replica gets there first.
import type { Kysely, Migration } from "kysely";

export const controlPlaneStateMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("control_plane_state")
      .addColumn("name", "varchar(64)", (c) => c.primaryKey())
      // Plain text or a sealed secret (v1.<iv>.<tag>.<ciphertext>, sealed by the caller).
      .addColumn("value", "text", (c) => c.notNull())
      .addColumn("updated_at", "bigint", (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("control_plane_state").execute();
  },
};
