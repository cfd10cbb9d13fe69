// IAM users with a key and an inline policy, made through the IAM API of a test server, for tests
// of what a key other than the root's may do.
import { CreateAccessKeyCommand, CreateUserCommand, PutUserPolicyCommand } from "@aws-sdk/client-iam";
import type { IAMClient } from "@aws-sdk/client-iam";

export type Credentials = { accessKeyId: string; secretAccessKey: string; sessionToken?: string };

/** A policy document of these statements. */
export const policyJson = (...statements: object[]) => JSON.stringify({ Version: "2012-10-17", Statement: statements });

/** Creates user `name` (under `path`) with inline policy "main" = `document` and an access key. */
export async function userWithKey(iam: IAMClient, name: string, document: string, path?: string): Promise<Credentials> {
  await iam.send(new CreateUserCommand({ UserName: name, ...(path ? { Path: path } : {}) }));
  await iam.send(new PutUserPolicyCommand({ UserName: name, PolicyName: "main", PolicyDocument: document }));
  const key = (await iam.send(new CreateAccessKeyCommand({ UserName: name }))).AccessKey!;
  return { accessKeyId: key.AccessKeyId!, secretAccessKey: key.SecretAccessKey! };
}
