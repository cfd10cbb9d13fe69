// The ACM certificates table (certificates-repository.ts). A certificate's private key is stored
// sealed (core/envelope-seal.ts, bound to the certificate's ARN and import): no column holds a
// plaintext key. The certificate and its chain are public and kept as the PEM the user imported.
import type { Kysely, Migration } from "kysely";

export const certificatesMigration: Migration = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("acm_certificates")
      .addColumn("arn", "varchar(2048)", (c) => c.primaryKey())
      .addColumn("domain_name", "varchar(253)", (c) => c.notNull())
      .addColumn("certificate_pem", "text", (c) => c.notNull())
      .addColumn("chain_pem", "text")
      .addColumn("sealed_private_key", "text", (c) => c.notNull())
      /** JSON: the fields DescribeCertificate answers, read from the certificate when it was imported. */
      .addColumn("details", "text", (c) => c.notNull())
      .addColumn("tags", "text", (c) => c.notNull())
      .addColumn("created_at", "bigint", (c) => c.notNull())
      .addColumn("imported_at", "bigint", (c) => c.notNull())
      /** Counts imports of this ARN (re-imports): the sealed key is bound to it. */
      .addColumn("import_count", "integer", (c) => c.notNull())
      .execute();
  },
  async down(db: Kysely<unknown>) {
    await db.schema.dropTable("acm_certificates").execute();
  },
};
