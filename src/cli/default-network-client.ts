// Asks a Berth server for its default VPC, its subnets and its default security group (the network service's
// DescribeDefaultNetwork, JSON 1.1 signed with SigV4 like any AWS call). Used by `berth network`
// and `berth demo`.
import { Hash } from "@smithy/hash-node";
import { SignatureV4 } from "@smithy/signature-v4";
import type { DescribedDefaultNetwork } from "../api/network-service.js";
import { NETWORK_SIGNING_NAME, NETWORK_TARGET_PREFIX } from "../api/network-service.js";

export type DescribedNetwork = DescribedDefaultNetwork;

/** The server's refusal: its error code (e.g. NO_DEFAULT_VPC_CODE) and message. */
export class NetworkServiceError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(`${code}: ${message}`);
  }
}

type SigningCredentials = ConstructorParameters<typeof SignatureV4>[0]["credentials"];

export async function describeDefaultNetwork(options: {
  endpoint: string;
  region: string;
  credentials: SigningCredentials;
  fetchInit?: { dispatcher?: never };
}): Promise<DescribedNetwork> {
  const endpoint = new URL(options.endpoint);
  const body = "{}";
  const signer = new SignatureV4({
    credentials: options.credentials,
    region: options.region,
    service: NETWORK_SIGNING_NAME,
    sha256: Hash.bind(null, "sha256"),
  });
  const signed = await signer.sign({
    method: "POST",
    protocol: endpoint.protocol,
    hostname: endpoint.hostname,
    ...(endpoint.port ? { port: Number(endpoint.port) } : {}),
    path: "/",
    headers: { host: endpoint.host, "content-type": "application/x-amz-json-1.1", "x-amz-target": `${NETWORK_TARGET_PREFIX}.DescribeDefaultNetwork` },
    body,
  });
  const response = await fetch(new URL("/", endpoint), { method: "POST", headers: signed.headers as Record<string, string>, body, ...options.fetchInit });
  const answer = (await response.json()) as DescribedNetwork & { __type?: string; message?: string };
  if (!response.ok) throw new NetworkServiceError(answer.__type ?? String(response.status), answer.message ?? "");
  return answer;
}
