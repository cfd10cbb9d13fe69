// IAM users' access keys (IAM API Reference): CreateAccessKey (at most 2 a user; the secret is in
// the answer once and stored sealed under the store key, since SigV4 verification needs it back),
// DeleteAccessKey, ListAccessKeys, UpdateAccessKey (Active/Inactive). The gateway finds only Active
// keys (AccessKeysRepository.get), so an Inactive or deleted key is refused as an unknown one is.
// The root key is no user's: IAM neither lists nor deletes it.
import { randomBytes } from "node:crypto";
import type * as iam from "@aws-sdk/client-iam";
import type { RequestContext } from "../service-module.js";
import { accessKeyNotFound, quotaExceeded, QUOTAS, userNotFound, validationError } from "./iam-errors.js";
import { accessKeyId, page, userName } from "./iam-inputs.js";
import type { IamServiceOptions } from "./iam-shapes.js";
import { uniqueId } from "./iam-shapes.js";

/** The user a call names, or (no UserName) the calling user; NoSuchEntity / ValidationError otherwise. */
async function ownerName(options: IamServiceOptions, context: RequestContext, input: string | undefined): Promise<string> {
  if (input !== undefined) {
    const user = await options.iam.getUser(userName(input));
    if (!user) throw userNotFound(input);
    return user.name;
  }
  const key = await options.iam.userAccessKey(context.accessKeyId);
  // wording not confirmed: the root's own keys are not IAM's to manage here.
  if (!key) throw validationError("Must specify userName when calling with non-User credentials");
  return key.userName;
}

function createAccessKey(options: IamServiceOptions) {
  return async (input: iam.CreateAccessKeyRequest, context: RequestContext): Promise<iam.CreateAccessKeyResponse> => {
    const owner = await ownerName(options, context, input.UserName);
    const id = uniqueId("AKIA", 16);
    const secret = randomBytes(30).toString("base64").replace(/[+/]/g, "A").slice(0, 40);
    const createDate = options.clock.now();
    const stored = await options.iam.locked(async (tx) => {
      const user = await tx.getUser(owner);
      if (!user) throw userNotFound(owner);
      if ((await tx.userAccessKeys(user.name)).length >= QUOTAS.AccessKeysPerUser) throw quotaExceeded("AccessKeysPerUser");
      await tx.addUserAccessKey(
        { accessKeyId: id, secretCiphertext: options.sealer.seal(secret), accountId: context.accountId, userName: user.name, createDate },
        user.arn,
      );
      return user;
    });
    return { AccessKey: { UserName: stored.name, AccessKeyId: id, Status: "Active", SecretAccessKey: secret, CreateDate: new Date(createDate) } };
  };
}

/** The key `id` of the user `owner`, or NoSuchEntity (a key of another user, or the root's, is not found). */
async function ownedKey(options: IamServiceOptions, owner: string, idInput: string | undefined) {
  const id = accessKeyId(idInput);
  const key = await options.iam.userAccessKey(id);
  if (!key || key.userName.toLowerCase() !== owner.toLowerCase()) throw accessKeyNotFound(id);
  return key;
}

export function accessKeyHandlers(options: IamServiceOptions) {
  return {
    CreateAccessKey: createAccessKey(options),
    DeleteAccessKey: async (input: iam.DeleteAccessKeyRequest, context: RequestContext): Promise<object> => {
      const owner = await ownerName(options, context, input.UserName);
      await options.iam.locked(async (tx) => {
        const key = await ownedKey({ ...options, iam: tx }, owner, input.AccessKeyId);
        await tx.deleteUserAccessKey(key.accessKeyId);
      });
      return {};
    },
    UpdateAccessKey: async (input: iam.UpdateAccessKeyRequest, context: RequestContext): Promise<object> => {
      const status = input.Status as string;
      if (status !== "Active" && status !== "Inactive")
        throw validationError(
          `1 validation error detected: Value '${status}' at 'status' failed to satisfy constraint: Member must satisfy enum value set: [Active, Inactive]`,
        );
      const owner = await ownerName(options, context, input.UserName);
      await options.iam.locked(async (tx) => {
        const key = await ownedKey({ ...options, iam: tx }, owner, input.AccessKeyId);
        await tx.setAccessKeyStatus(key.accessKeyId, status);
      });
      return {};
    },
    ListAccessKeys: async (input: iam.ListAccessKeysRequest, context: RequestContext): Promise<iam.ListAccessKeysResponse> => {
      const owner = await ownerName(options, context, input.UserName);
      const keys = await options.iam.userAccessKeys(owner);
      const chosen = page(keys, (key) => key.accessKeyId, input.Marker, input.MaxItems);
      return {
        AccessKeyMetadata: chosen.items.map((key) => ({
          UserName: key.userName,
          AccessKeyId: key.accessKeyId,
          Status: key.status,
          CreateDate: new Date(key.createDate),
        })),
        IsTruncated: chosen.IsTruncated,
        Marker: chosen.Marker,
      };
    },
  };
}
