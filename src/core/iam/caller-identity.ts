// Who signed a request, as the gateway resolves it from the access key: the account's root, an IAM
// user (its own key, or a GetSessionToken session of it), or a role session (AssumeRole, or a
// task's role). A session's identity is stored with its credentials as JSON (role_sessions) and
// read back on every request it signs, so the parse below treats it as data to check, not trust.

export type CallerIdentity =
  | { readonly kind: "root"; readonly arn: string; readonly account: string }
  | {
      readonly kind: "user";
      readonly arn: string;
      readonly account: string;
      readonly userName: string;
      /** Signed with GetSessionToken credentials (which may not call IAM, nor STS but AssumeRole and GetCallerIdentity). */
      readonly session?: boolean;
      /** For a session: the unique id of the user it was issued to (a user deleted and made again under the same name is another user). */
      readonly userId?: string;
    }
  | {
      readonly kind: "role-session";
      /** arn:<partition>:sts::<account>:assumed-role/<role name>/<session name> */
      readonly arn: string;
      readonly account: string;
      readonly roleArn: string;
      readonly roleName: string;
      readonly roleId: string;
      readonly sessionName: string;
      /** An AssumeRole session policy (JSON text): what the session may do is also bounded by it. */
      readonly sessionPolicy?: string;
    };

/** The identity a stored session was issued for, or undefined when the text is not one. */
export function parseCallerIdentity(text: string): CallerIdentity | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const fields = value as Record<string, unknown>;
  const strings = (...names: string[]) => names.every((name) => typeof fields[name] === "string");
  if (!strings("kind", "arn", "account")) return undefined;
  if (
    fields.kind === "user" &&
    strings("userName") &&
    (fields.session === undefined || typeof fields.session === "boolean") &&
    (fields.userId === undefined || typeof fields.userId === "string")
  )
    return value as CallerIdentity;
  if (
    fields.kind === "role-session" &&
    strings("roleArn", "roleName", "roleId", "sessionName") &&
    (fields.sessionPolicy === undefined || strings("sessionPolicy"))
  )
    return value as CallerIdentity;
  return undefined;
}

/** The identity of a long-term key, from the principal ARN stored with it: root or a user; undefined for anything else (the key is refused). */
export function identityOfKey(principalArn: string, account: string): CallerIdentity | undefined {
  const user = /^arn:[^:]+:iam::(\d{12}):user\/(?:.*\/)?([^/]+)$/.exec(principalArn);
  if (user && user[1] === account) return { kind: "user", arn: principalArn, account, userName: user[2] as string };
  if (/^arn:[^:]+:iam::\d{12}:root$/.test(principalArn) && principalArn.endsWith(`:iam::${account}:root`)) return { kind: "root", arn: principalArn, account };
  return undefined;
}
