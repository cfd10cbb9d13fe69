// The ACM service module (AWS JSON 1.1, target prefix "CertificateManager", signing name "acm"):
// certificates users import for HTTPS listeners. Storage is the store's CertificatesRepository;
// private keys are sealed under the store key. Berth requests and issues no certificates.
import * as acmSdk from "@aws-sdk/client-acm";
import type { JsonServiceModule, SdkOperations } from "../service-module.js";
import { jsonOperations } from "../service-module.js";
import type { AcmContext } from "./certificates.js";
import {
  addTagsToCertificate,
  deleteCertificate,
  describeCertificate,
  getCertificate,
  importCertificate,
  listCertificates,
  listTagsForCertificate,
  removeTagsFromCertificate,
} from "./certificates.js";

export type AcmOptions = AcmContext;

type AcmOperations = SdkOperations<typeof acmSdk>;

export function createAcmService(options: AcmOptions): JsonServiceModule {
  const on =
    <I extends object, O extends object>(handler: (context: AcmContext, input: I) => Promise<O>) =>
    (input: I): Promise<O> =>
      handler(options, input);
  return {
    signingName: "acm",
    targetPrefix: "CertificateManager",
    jsonVersion: "1.1",
    schemas: acmSdk as unknown as Record<string, unknown>,
    missingMemberCode: "ValidationException",
    operations: jsonOperations<AcmOperations>()({
      ImportCertificate: on(importCertificate),
      DescribeCertificate: on(describeCertificate),
      GetCertificate: on(getCertificate),
      ListCertificates: on(listCertificates),
      DeleteCertificate: on(deleteCertificate),
      AddTagsToCertificate: on(addTagsToCertificate),
      RemoveTagsFromCertificate: on(removeTagsFromCertificate),
      ListTagsForCertificate: on(listTagsForCertificate),
    }),
  };
}
