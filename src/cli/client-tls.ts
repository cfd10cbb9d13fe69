// How the `berth` client commands (demo, network) trust a Berth server over HTTPS, the way the AWS
// CLI does: --ca-bundle, else $AWS_CA_BUNDLE, else the server's generated CA in <data-dir>/ca.pem
// when it is there, else the system's roots. The result feeds the SDK clients (an https.Agent),
// Node's fetch (an undici dispatcher) and the image push (a registry trust); never verification off.
import { existsSync, readFileSync } from "node:fs";
import { Agent as HttpsAgent } from "node:https";
import { join } from "node:path";
import { Agent } from "undici";

export interface ClientTls {
  /** Where the CA came from (for the printed aws commands), undefined: the system's roots. */
  readonly caFile: string | undefined;
  readonly ca: string | undefined;
  /** For @aws-sdk clients' `requestHandler`. */
  readonly requestHandler: { httpsAgent: HttpsAgent } | undefined;
  /** For fetch: `{ dispatcher }` or nothing. */
  readonly fetchInit: { dispatcher?: never };
}

export function clientTls(options: { endpoint: string; caBundle: string | undefined; dataDir: string | undefined; env: NodeJS.ProcessEnv }): ClientTls {
  const https = options.endpoint.startsWith("https://");
  const generated = options.dataDir ? join(options.dataDir, "ca.pem") : undefined;
  const caFile = !https ? undefined : (options.caBundle ?? options.env.AWS_CA_BUNDLE ?? (generated && existsSync(generated) ? generated : undefined));
  if (!caFile) return { caFile: undefined, ca: undefined, requestHandler: undefined, fetchInit: {} };
  const ca = readFileSync(caFile, "utf8");
  return {
    caFile,
    ca,
    requestHandler: { httpsAgent: new HttpsAgent({ ca, keepAlive: true }) },
    fetchInit: { dispatcher: new Agent({ connect: { ca, rejectUnauthorized: true } }) as never },
  };
}
