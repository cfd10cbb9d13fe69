// An HTTPS listener's certificate as its load balancer's node needs it: the imported certificate,
// its chain and its private key (unsealed here, on the control plane, only to go to the host that
// runs the node, in that host's poll answer: like a task's pull credentials, never stored with the
// node nor logged), as one bundle of PEM blocks.
import { privateKeyBinding } from "../core/acm/private-key-binding.js";
import type { KeySealer } from "../core/envelope-seal.js";
import { openValue } from "../core/envelope-seal.js";
import type { CertificatesRepository } from "../store/index.js";

const PEM_BLOCK = /-----BEGIN ([A-Z ]{1,40})-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g;

/** The PEM blocks of `text`, each with bare newlines, one after the other. */
function pemBlocks(text: string): string {
  return [...text.matchAll(PEM_BLOCK)]
    .map((match) => `-----BEGIN ${match[1]}-----\n${match[2]!.replace(/\r/g, "").replace(/\n+$/, "")}\n-----END ${match[1]}-----\n`)
    .join("");
}

/** The certificate's bundle (certificate, chain, key), or undefined when there is no such certificate. */
export async function listenerCertificateBundle(
  certificates: Pick<CertificatesRepository, "get">,
  sealer: KeySealer,
  arn: string,
): Promise<string | undefined> {
  const record = await certificates.get(arn);
  if (!record) return undefined;
  const key = openValue(sealer, record.sealedPrivateKey, privateKeyBinding(record.arn, record.importCount)).toString("utf8");
  return pemBlocks(`${record.certificatePem}\n${record.chainPem ?? ""}\n${key}`);
}
