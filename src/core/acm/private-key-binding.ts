// What an imported certificate's sealed private key is bound to (the envelope's associated data,
// core/envelope-seal.ts): the certificate's ARN and which import of it. A key sealed for one
// certificate, or for an earlier import of it, never opens as another's.
export const privateKeyBinding = (arn: string, importCount: number) => `acm-private-key:${arn}:${importCount}`;
