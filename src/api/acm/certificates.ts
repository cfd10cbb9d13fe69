// ACM operations on imported certificates: ImportCertificate (and re-import onto an ARN),
// DescribeCertificate, GetCertificate, ListCertificates, DeleteCertificate and tags. Berth issues
// no certificates (RequestCertificate is not served): every certificate here is Type IMPORTED,
// Status ISSUED until its NotAfter passes, then EXPIRED. Private keys are sealed (envelope
// encryption under the store key) and never answered: ACM exports only private-CA certificates.
import { randomUUID } from "node:crypto";
import type * as acm from "@aws-sdk/client-acm";
import { buildArn } from "../../core/arn.js";
import type { AccountScope } from "../../core/arn.js";
import type { Clock } from "../../core/clock.js";
import { AwsError } from "../../core/errors.js";
import type { KeySealer } from "../../core/envelope-seal.js";
import { sealValue } from "../../core/envelope-seal.js";
import { privateKeyBinding } from "../../core/acm/private-key-binding.js";
import type { CertificateRecord, CertificatesRepository, CertificateTag } from "../../store/index.js";
import { decodeToken, encodeToken } from "../pagination-token.js";
import { certificateInUse, invalidArn, invalidParameter, notFound, validationException } from "./acm-errors.js";
import { readImport } from "./imported-certificate.js";
import { mergeTags, removeTags, validTags } from "./certificate-tags.js";

export interface AcmContext {
  readonly certificates: CertificatesRepository;
  /** For each certificate some listener uses, the load balancers of those listeners (ELBv2's store): InUseBy, and what DeleteCertificate refuses. */
  readonly certificateUsers: () => Promise<ReadonlyMap<string, readonly string[]>>;
  readonly clock: Clock;
  readonly scope: AccountScope;
  readonly sealer: KeySealer;
}

const keyBinding = privateKeyBinding;

const ARN = /^arn:[\w-]+:acm:[a-z0-9-]+:\d{12}:certificate\/[0-9a-f-]{36}$/;

/** The certificate an ARN names; InvalidArnException for anything not shaped as an ACM certificate ARN, ResourceNotFoundException for none here. */
async function findCertificate(context: AcmContext, arn: string | undefined): Promise<CertificateRecord> {
  if (arn === undefined || !ARN.test(arn)) throw invalidArn(arn ?? "");
  const found = await context.certificates.get(arn);
  if (found === undefined) throw notFound(arn);
  return found;
}

export async function importCertificate(context: AcmContext, input: acm.ImportCertificateRequest): Promise<acm.ImportCertificateResponse> {
  const imported = readImport(input);
  const now = context.clock.now();
  if (input.CertificateArn !== undefined) {
    if (input.Tags !== undefined && input.Tags.length > 0) throw validationException("You cannot add tags while reimporting a certificate."); // wording not confirmed
    const existing = await findCertificate(context, input.CertificateArn);
    const sealedPrivateKey = sealValue(context.sealer, Buffer.from(imported.privateKeyPem), keyBinding(existing.arn, existing.importCount + 1));
    const material = { ...imported, sealedPrivateKey, importedAt: now };
    if (!(await context.certificates.reimport(existing.arn, existing.importCount, material))) {
      throw new AwsError("ConflictException", "The certificate is being reimported by another request. Try again."); // wording not confirmed
    }
    return { CertificateArn: existing.arn };
  }
  const tags = validTags(input.Tags ?? []);
  const arn = buildArn(context.scope, "acm", `certificate/${randomUUID()}`);
  await context.certificates.create({
    arn,
    domainName: imported.domainName,
    certificatePem: imported.certificatePem,
    chainPem: imported.chainPem,
    sealedPrivateKey: sealValue(context.sealer, Buffer.from(imported.privateKeyPem), keyBinding(arn, 1)),
    details: imported.details,
    tags,
    createdAt: now,
    importedAt: now,
    importCount: 1,
  });
  return { CertificateArn: arn };
}

const statusOf = (certificate: CertificateRecord, now: number) => (now >= Number(certificate.details.NotAfter) ? "EXPIRED" : "ISSUED");

export async function describeCertificate(context: AcmContext, input: acm.DescribeCertificateRequest): Promise<acm.DescribeCertificateResponse> {
  const certificate = await findCertificate(context, input.CertificateArn);
  const details = certificate.details as Record<string, unknown>;
  return {
    Certificate: {
      CertificateArn: certificate.arn,
      DomainName: certificate.domainName,
      SubjectAlternativeNames: details.SubjectAlternativeNames as string[],
      Serial: details.Serial as string,
      Subject: details.Subject as string,
      Issuer: details.Issuer as string,
      ImportedAt: new Date(certificate.importedAt),
      Status: statusOf(certificate, context.clock.now()),
      NotBefore: new Date(Number(details.NotBefore)),
      NotAfter: new Date(Number(details.NotAfter)),
      KeyAlgorithm: details.KeyAlgorithm as acm.KeyAlgorithm,
      ...(details.SignatureAlgorithm !== undefined ? { SignatureAlgorithm: details.SignatureAlgorithm as string } : {}),
      InUseBy: [...((await context.certificateUsers()).get(certificate.arn) ?? [])],
      Type: "IMPORTED",
      ExtendedKeyUsages: details.ExtendedKeyUsages as acm.ExtendedKeyUsage[],
      RenewalEligibility: "INELIGIBLE",
    },
  };
}

export async function getCertificate(context: AcmContext, input: acm.GetCertificateRequest): Promise<acm.GetCertificateResponse> {
  const certificate = await findCertificate(context, input.CertificateArn);
  return { Certificate: certificate.certificatePem, ...(certificate.chainPem !== undefined ? { CertificateChain: certificate.chainPem } : {}) };
}

export async function deleteCertificate(context: AcmContext, input: acm.DeleteCertificateRequest): Promise<Record<string, never>> {
  const certificate = await findCertificate(context, input.CertificateArn);
  // A listener created between this check and the delete keeps a certificate that is gone: its load balancer then serves no TLS on it.
  if ((await context.certificateUsers()).has(certificate.arn)) throw certificateInUse(certificate.arn, context.scope.accountId);
  if (!(await context.certificates.delete(certificate.arn))) throw notFound(certificate.arn);
  return {};
}

/** ListCertificates' default key types: "Default filtering returns only RSA_1024 and RSA_2048 certificates that have at least one domain." */
const DEFAULT_KEY_TYPES = ["RSA_1024", "RSA_2048"];

const isPosition = (value: unknown): value is { after: string } =>
  typeof value === "object" && value !== null && typeof (value as { after?: unknown }).after === "string";

export async function listCertificates(context: AcmContext, input: acm.ListCertificatesRequest): Promise<acm.ListCertificatesResponse> {
  const limit = input.MaxItems ?? 1000;
  if (limit < 1 || limit > 1000)
    throw validationException(
      `1 validation error detected: Value '${limit}' at 'maxItems' failed to satisfy constraint: Member must have value between 1 and 1000`,
    );
  const position = decodeToken(input.NextToken, isPosition, () => invalidParameter("The nextToken is not valid.")); // wording not confirmed
  const now = context.clock.now();
  const statuses = input.CertificateStatuses?.length ? new Set<string>(input.CertificateStatuses) : undefined;
  const keyTypes = new Set<string>(input.Includes?.keyTypes?.length ? input.Includes.keyTypes : DEFAULT_KEY_TYPES);
  const usages = input.Includes?.extendedKeyUsage?.length ? new Set<string>(input.Includes.extendedKeyUsage) : undefined;
  const inUse = await context.certificateUsers();
  const matching = (await context.certificates.list()).filter((certificate) => {
    const details = certificate.details as Record<string, unknown>;
    if (statuses !== undefined && !statuses.has(statusOf(certificate, now))) return false;
    if (!keyTypes.has(details.KeyAlgorithm as string)) return false;
    if (usages !== undefined && !(details.ExtendedKeyUsages as { Name: string }[]).some((usage) => usages.has(usage.Name))) return false;
    return true;
  });
  const descending = input.SortOrder === "DESCENDING";
  if (descending) matching.reverse();
  const start = position === undefined ? 0 : matching.findIndex((certificate) => certificate.arn === position.after) + 1;
  const page = matching.slice(start, start + limit);
  const more = start + limit < matching.length && page.length > 0;
  return {
    CertificateSummaryList: page.map((certificate) => summary(certificate, now, inUse.has(certificate.arn))),
    ...(more ? { NextToken: encodeToken({ after: (page[page.length - 1] as CertificateRecord).arn }) } : {}),
  };
}

function summary(certificate: CertificateRecord, now: number, inUse: boolean): acm.CertificateSummary {
  const details = certificate.details as Record<string, unknown>;
  const names = details.SubjectAlternativeNames as string[];
  return {
    CertificateArn: certificate.arn,
    DomainName: certificate.domainName,
    SubjectAlternativeNameSummaries: names.slice(0, 100),
    HasAdditionalSubjectAlternativeNames: names.length > 100,
    Status: statusOf(certificate, now),
    Type: "IMPORTED",
    KeyAlgorithm: details.KeyAlgorithm as acm.KeyAlgorithm,
    ExtendedKeyUsages: (details.ExtendedKeyUsages as { Name: acm.ExtendedKeyUsageName }[]).map((usage) => usage.Name),
    InUse: inUse,
    RenewalEligibility: "INELIGIBLE",
    NotBefore: new Date(Number(details.NotBefore)),
    NotAfter: new Date(Number(details.NotAfter)),
    ImportedAt: new Date(certificate.importedAt),
  };
}

export async function addTagsToCertificate(context: AcmContext, input: acm.AddTagsToCertificateRequest): Promise<Record<string, never>> {
  const certificate = await findCertificate(context, input.CertificateArn);
  const tags = mergeTags(certificate.tags, validTags(input.Tags ?? []));
  if (!(await context.certificates.setTags(certificate.arn, tags))) throw notFound(certificate.arn);
  return {};
}

export async function removeTagsFromCertificate(context: AcmContext, input: acm.RemoveTagsFromCertificateRequest): Promise<Record<string, never>> {
  const certificate = await findCertificate(context, input.CertificateArn);
  if (!(await context.certificates.setTags(certificate.arn, removeTags(certificate.tags, input.Tags ?? [])))) throw notFound(certificate.arn);
  return {};
}

export async function listTagsForCertificate(context: AcmContext, input: acm.ListTagsForCertificateRequest): Promise<acm.ListTagsForCertificateResponse> {
  const certificate = await findCertificate(context, input.CertificateArn);
  return { Tags: certificate.tags.map((tag: CertificateTag) => ({ Key: tag.Key, ...(tag.Value !== undefined ? { Value: tag.Value } : {}) })) };
}
