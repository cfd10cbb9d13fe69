// Which certificate an agent trusts for its Berth servers. `https://` is always verified: against
// --ca-file, or against the CA the join token pins (its SHA-256, like kubeadm's discovery hash),
// or against the system's roots when neither is given. Nothing is sent to a server that has not
// proved itself.
//
// Pin discovery, once per agent data dir: the agent opens one TLS handshake to read the chain the
// server presents, without chain verification — that is the only way to learn a certificate one
// knows by hash alone — and sends no byte of application data on it. It takes from that chain
// only a CA certificate whose SHA-256 equals the pin, and drops the socket. Every real connection
// afterwards (protocol and image pulls) trusts that CA alone, with full chain and host name
// verification. The CA is kept in <agent data dir>/server-ca.pem and reused while the pin still
// matches it, so a later attacker on the path gets no second chance at discovery.
import { createHash, X509Certificate } from "node:crypto";
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { connect } from "node:tls";
import type { PeerCertificate } from "node:tls";

export class ServerTrustError extends Error {
  override name = "ServerTrustError";
}

const sha256 = (der: Buffer) => createHash("sha256").update(der).digest("hex");

/** The PEM of the CA the server at `url` presents whose DER hashes to `pin`; refuses anything else. */
export async function discoverPinnedCa(url: URL, pin: string, timeoutMs = 10_000): Promise<string> {
  const chain = await new Promise<PeerCertificate[]>((resolve, reject) => {
    const socket = connect({
      host: url.hostname.replace(/^\[|\]$/g, ""),
      port: Number(url.port || 443),
      ...(/^[\d.]+$|:/.test(url.hostname) ? {} : { servername: url.hostname }),
      // Discovery only (see the header): the chain is read, never trusted as such, and no data is sent.
      rejectUnauthorized: false,
    });
    const timer = setTimeout(() => socket.destroy(new ServerTrustError(`no TLS handshake with ${url.host} within ${timeoutMs} ms`)), timeoutMs);
    socket.once("secureConnect", () => {
      clearTimeout(timer);
      const certificates: PeerCertificate[] = [];
      let certificate: PeerCertificate & { issuerCertificate?: PeerCertificate } = socket.getPeerCertificate(true);
      while (certificate?.raw && !certificates.some((seen) => seen.raw.equals(certificate.raw))) {
        certificates.push(certificate);
        certificate = certificate.issuerCertificate as PeerCertificate & { issuerCertificate?: PeerCertificate };
      }
      socket.destroy();
      resolve(certificates);
    });
    socket.once("error", (error) => {
      clearTimeout(timer);
      reject(new ServerTrustError(`cannot reach ${url.host} over TLS to check its certificate: ${error.message}`));
    });
  });
  const match = chain.find((certificate) => sha256(certificate.raw) === pin);
  if (!match)
    throw new ServerTrustError(`the server at ${url.host} presented no certificate with the join token's CA pin sha256:${pin}; refusing to talk to it`);
  const ca = new X509Certificate(match.raw);
  if (!ca.ca) throw new ServerTrustError(`the certificate the join token pins (sha256:${pin}) is not a CA certificate`);
  return ca.toString();
}

/**
 * The PEM trust anchors for the servers, or undefined for the system's roots. `caFile` wins;
 * else a pinned CA, from the cache file when it still matches the pin, else discovered from the
 * first https:// server of the list that presents it (the pin names one CA, so every server of one
 * control plane presents the same; one that is down or presents another does not stop the agent
 * learning it from the next). Every server is then verified against that one CA.
 */
export async function serverTrust(options: {
  serverUrls: readonly URL[];
  caFile: string | undefined;
  pin: string | undefined;
  cacheFile: string;
}): Promise<string | undefined> {
  const tlsServers = options.serverUrls.filter((url) => url.protocol === "https:");
  if (tlsServers.length === 0) return undefined;
  if (options.caFile) {
    const pem = readFileSync(options.caFile, "utf8");
    if (!/-----BEGIN CERTIFICATE-----/.test(pem)) throw new ServerTrustError(`--ca-file ${options.caFile} holds no PEM certificate`);
    return pem;
  }
  if (!options.pin) return undefined;
  if (existsSync(options.cacheFile)) {
    const cached = readFileSync(options.cacheFile, "utf8");
    if (sha256(new X509Certificate(cached).raw) === options.pin) return cached;
  }
  const pem = await discoverFromAny(tlsServers, options.pin);
  writeFileSync(`${options.cacheFile}.new`, pem, { mode: 0o644 });
  renameSync(`${options.cacheFile}.new`, options.cacheFile);
  return pem;
}

/** The pinned CA from the first server that presents it; every server's refusal when none does. */
async function discoverFromAny(servers: readonly URL[], pin: string): Promise<string> {
  const refusals: string[] = [];
  for (const server of servers) {
    try {
      return await discoverPinnedCa(server, pin);
    } catch (error) {
      refusals.push((error as Error).message);
    }
  }
  throw new ServerTrustError(refusals.join("; "));
}
