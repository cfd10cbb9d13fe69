// A join token as handed to an agent: the secret the server checks (only its sha256 is stored),
// optionally followed by the SHA-256 of the server's CA certificate, like kubeadm's discovery
// hash: `<secret>` or `<secret>.sha256:<64 hex>`. The secret alone goes on the wire; the pin tells
// the agent which certificate to trust before it sends anything, so one file is all an agent needs.
const SECRET = /^[A-Za-z0-9_-]{1,256}$/;
const PIN = /^sha256:([0-9a-f]{64})$/;

export interface JoinToken {
  readonly secret: string;
  /** SHA-256 (hex) of the DER of the CA certificate the server's TLS chain must carry. */
  readonly caSha256: string | undefined;
}

export function formatJoinToken(secret: string, caSha256: string | undefined): string {
  return caSha256 ? `${secret}.sha256:${caSha256}` : secret;
}

/** Throws on anything but the two forms above, so a mangled pin is never silently dropped. */
export function parseJoinToken(text: string): JoinToken {
  const trimmed = text.trim();
  const dot = trimmed.indexOf(".");
  const secret = dot < 0 ? trimmed : trimmed.slice(0, dot);
  if (!SECRET.test(secret)) throw new Error("the join token is not one `berth join-token create` or the server's agent-token file gave");
  if (dot < 0) return { secret, caSha256: undefined };
  const pin = PIN.exec(trimmed.slice(dot + 1).toLowerCase());
  if (!pin) throw new Error("the join token's CA pin must be sha256:<64 hex digits>");
  return { secret, caSha256: pin[1] };
}
