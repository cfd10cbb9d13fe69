// ACM certificates (imported): the certificate and chain as imported, the private key sealed by
// the caller (this file never sees it in plaintext), the fields read from the certificate, tags.
// A re-import replaces a certificate's material in one UPDATE guarded by its import count, so two
// re-imports racing on replicas cannot interleave a key of one with the certificate of the other.
// Portable Kysely SQL.
import type { Kysely } from "kysely";

export interface CertificatesTable {
  arn: string;
  domain_name: string;
  certificate_pem: string;
  chain_pem: string | null;
  sealed_private_key: string;
  details: string;
  tags: string;
  created_at: number;
  imported_at: number;
  import_count: number;
}

export interface CertificatesTables {
  acm_certificates: CertificatesTable;
}

export interface CertificateTag {
  readonly Key: string;
  readonly Value?: string;
}

export interface CertificateRecord {
  readonly arn: string;
  readonly domainName: string;
  readonly certificatePem: string;
  readonly chainPem: string | undefined;
  readonly sealedPrivateKey: string;
  /** What DescribeCertificate answers of the certificate itself (JSON-safe: dates as epoch ms). */
  readonly details: Readonly<Record<string, unknown>>;
  readonly tags: readonly CertificateTag[];
  readonly createdAt: number;
  readonly importedAt: number;
  readonly importCount: number;
}

export type CertificateMaterial = Pick<CertificateRecord, "domainName" | "certificatePem" | "chainPem" | "sealedPrivateKey" | "details" | "importedAt">;

export interface CertificatesRepository {
  create(record: CertificateRecord): Promise<void>;
  get(arn: string): Promise<CertificateRecord | undefined>;
  /** Every certificate, oldest first then by ARN. */
  list(): Promise<CertificateRecord[]>;
  /** Replaces the material of the import numbered `importCount` (it becomes importCount + 1); false when another import came first or it is gone. */
  reimport(arn: string, importCount: number, material: CertificateMaterial): Promise<boolean>;
  setTags(arn: string, tags: readonly CertificateTag[]): Promise<boolean>;
  delete(arn: string): Promise<boolean>;
}

function record(row: CertificatesTable): CertificateRecord {
  return {
    arn: row.arn,
    domainName: row.domain_name,
    certificatePem: row.certificate_pem,
    chainPem: row.chain_pem ?? undefined,
    sealedPrivateKey: row.sealed_private_key,
    details: JSON.parse(row.details) as Record<string, unknown>,
    tags: JSON.parse(row.tags) as CertificateTag[],
    createdAt: Number(row.created_at),
    importedAt: Number(row.imported_at),
    importCount: Number(row.import_count),
  };
}

export function createCertificatesRepository(db: Kysely<CertificatesTables>): CertificatesRepository {
  return {
    async create(certificate) {
      await db
        .insertInto("acm_certificates")
        .values({
          arn: certificate.arn,
          domain_name: certificate.domainName,
          certificate_pem: certificate.certificatePem,
          chain_pem: certificate.chainPem ?? null,
          sealed_private_key: certificate.sealedPrivateKey,
          details: JSON.stringify(certificate.details),
          tags: JSON.stringify(certificate.tags),
          created_at: certificate.createdAt,
          imported_at: certificate.importedAt,
          import_count: certificate.importCount,
        })
        .execute();
    },
    async get(arn) {
      const row = await db.selectFrom("acm_certificates").selectAll().where("arn", "=", arn).executeTakeFirst();
      return row === undefined ? undefined : record(row);
    },
    async list() {
      const rows = await db.selectFrom("acm_certificates").selectAll().orderBy("created_at").orderBy("arn").execute();
      return rows.map(record);
    },
    async reimport(arn, importCount, material) {
      const result = await db
        .updateTable("acm_certificates")
        .set({
          domain_name: material.domainName,
          certificate_pem: material.certificatePem,
          chain_pem: material.chainPem ?? null,
          sealed_private_key: material.sealedPrivateKey,
          details: JSON.stringify(material.details),
          imported_at: material.importedAt,
          import_count: importCount + 1,
        })
        .where("arn", "=", arn)
        .where("import_count", "=", importCount)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async setTags(arn, tags) {
      const result = await db
        .updateTable("acm_certificates")
        .set({ tags: JSON.stringify(tags) })
        .where("arn", "=", arn)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) === 1;
    },
    async delete(arn) {
      const result = await db.deleteFrom("acm_certificates").where("arn", "=", arn).executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
  };
}
