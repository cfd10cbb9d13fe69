// Temporary credentials: STS AssumeRole and GetSessionToken, and the credentials of a task's role
// (the agent's credentials endpoint). A session is an access key (ASIA…), a secret, a session token
// and an expiry, stored with the identity it acts as (role_sessions); the gateway's SigV4 check
// takes the key, requires the token the session was issued with, and refuses it once expired.
import { createHash, randomBytes } from "node:crypto";
import { accessDeniedException, AwsError } from "../core/errors.js";
import type { KeySealer } from "../core/envelope-seal.js";
import type { CallerIdentity } from "../core/iam/index.js";
import { parsePolicyDocument } from "../core/iam/index.js";
import type { RoleSessionsRepository } from "../store/index.js";
import type { Authorizer, IamPolicySource } from "./authorizer.js";
import { assumedRoleArn, roleNameOf } from "./authorizer.js";

export interface TaskRoleCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  /** ms since epoch */
  readonly expiration: number;
  readonly roleArn: string;
}

export interface TaskRoleCredentialsIssuer {
  /** The task role's credentials; AccessDeniedException when the role is gone or does not trust ecs-tasks.amazonaws.com. */
  issueForTask(task: { readonly taskArn: string; readonly taskRoleArn: string }): Promise<TaskRoleCredentials>;
}

export interface IssuedSession {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: number;
  readonly identity: CallerIdentity;
}

export interface AssumeRoleInput {
  readonly roleArn: string;
  readonly roleSessionName: string;
  readonly durationSeconds?: number | undefined;
  readonly externalId?: string | undefined;
  readonly policy?: string | undefined;
  readonly sourceIp?: string | undefined;
}

export interface RoleSessionsOptions {
  readonly sessions: RoleSessionsRepository;
  readonly iam: IamPolicySource;
  readonly authorizer: Authorizer;
  readonly sealer: KeySealer;
  readonly now: () => number;
}

const KEY_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ECS_TASKS = "ecs-tasks.amazonaws.com";
/** Role chaining (a role session assuming a role) is limited to an hour (IAM User Guide, "Role chaining"). */
const CHAINED_MAX_SECONDS = 3600;
/** GetSessionToken: 15 minutes to 36 hours, 12 hours by default; the root's at most an hour (STS API reference). */
const SESSION_TOKEN_SECONDS = { min: 900, max: 129_600, default: 43_200, rootMax: 3600 } as const;
const SESSION_NAME = /^[\w+=,.@-]*$/;
const EXTERNAL_ID = /^[\w+=,.@:/-]{2,1224}$/;
/** Session policies are at most 2,048 characters (STS API reference, AssumeRole "Policy"). */
const MAX_SESSION_POLICY = 2048;
const PURGE_BATCH = 100;

/** The SHA-256 of a session token, as stored and compared. */
export const sessionTokenDigest = (token: string) => createHash("sha256").update(token, "utf8").digest("hex");

/** STS's validation failures are "ValidationError" (its query protocol's name). */
const validationError = (message: string) => new AwsError("ValidationError", message);

function constraint(value: string, member: string, rule: string): AwsError {
  return validationError(`1 validation error detected: Value '${value}' at '${member}' failed to satisfy constraint: ${rule}`);
}

export class RoleSessions implements TaskRoleCredentialsIssuer {
  constructor(private readonly options: RoleSessionsOptions) {}

  async assumeRole(caller: CallerIdentity, input: AssumeRoleInput): Promise<IssuedSession & { readonly packedPolicySize?: number }> {
    checkAssumeRoleInput(input);
    // STS's own words (seen in AWS answers to root credentials).
    if (caller.kind === "root") throw accessDeniedException("Roles may not be assumed by root accounts.");
    const denied = () => accessDeniedException(`User: ${caller.arn} is not authorized to perform: sts:AssumeRole on resource: ${input.roleArn}`);
    const roleName = roleNameOf(input.roleArn);
    const role = roleName === undefined ? undefined : await this.options.iam.getRole(roleName);
    if (role === undefined || role.arn !== input.roleArn || roleName === undefined) throw denied();
    const chained = caller.kind === "role-session";
    const duration = input.durationSeconds ?? 3600;
    if (chained && duration > CHAINED_MAX_SECONDS)
      throw validationError("The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.");
    if (duration > role.maxSessionDuration) throw validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");
    const extra = input.externalId === undefined ? {} : { "sts:ExternalId": input.externalId };
    if (
      (await this.options.authorizer.assumeRoleDenial(caller, role, { ...extra, ...(input.sourceIp ? { "aws:SourceIp": input.sourceIp } : {}) })) !== undefined
    )
      throw denied();
    const identity: CallerIdentity = {
      kind: "role-session",
      arn: assumedRoleArn(role.arn, input.roleSessionName),
      account: caller.account,
      roleArn: role.arn,
      roleName,
      roleId: role.roleId,
      sessionName: input.roleSessionName,
      ...(input.policy !== undefined ? { sessionPolicy: input.policy } : {}),
    };
    const issued = await this.issue(identity, duration);
    // PackedPolicySize: the percentage of the session policy's allowance used (reported only when a policy was passed).
    return input.policy === undefined
      ? issued
      : { ...issued, packedPolicySize: Math.ceil((input.policy.replace(/\s/g, "").length / MAX_SESSION_POLICY) * 100) };
  }

  async getSessionToken(caller: CallerIdentity, durationSeconds: number | undefined): Promise<IssuedSession> {
    if (caller.kind === "role-session" || (caller.kind === "user" && caller.session)) {
      throw accessDeniedException("Cannot call GetSessionToken with session credentials");
    }
    const duration = durationSeconds ?? SESSION_TOKEN_SECONDS.default;
    if (duration < SESSION_TOKEN_SECONDS.min) throw constraint(String(duration), "durationSeconds", "Member must have value greater than or equal to 900");
    if (duration > SESSION_TOKEN_SECONDS.max) throw constraint(String(duration), "durationSeconds", "Member must have value less than or equal to 129600");
    // The root's sessions last an hour at most: a longer request is shortened, as AWS does.
    const effective = caller.kind === "root" ? Math.min(duration, SESSION_TOKEN_SECONDS.rootMax) : duration;
    if (caller.kind === "root") return this.issue(caller, effective);
    const user = await this.options.iam.getUser(caller.userName);
    if (user === undefined) throw accessDeniedException(`User: ${caller.arn} is not authorized to perform: sts:GetSessionToken`); // wording not confirmed
    return this.issue({ ...caller, session: true, userId: user.userId }, effective);
  }

  async issueForTask(task: { readonly taskArn: string; readonly taskRoleArn: string }): Promise<TaskRoleCredentials> {
    const roleName = roleNameOf(task.taskRoleArn);
    const role = roleName === undefined ? undefined : await this.options.iam.getRole(roleName);
    const account = task.taskRoleArn.split(":")[4] ?? "";
    const denied = () => accessDeniedException(`${ECS_TASKS} is not authorized to perform: sts:AssumeRole on resource: ${task.taskRoleArn}`);
    if (role === undefined || role.arn !== task.taskRoleArn || roleName === undefined) throw denied();
    if ((await this.options.authorizer.assumeRoleDenial({ kind: "service", service: ECS_TASKS, account }, role)) !== undefined) throw denied();
    // The session is named after the task (its id), as ECS names task role sessions.
    const sessionName = task.taskArn.split("/").pop() ?? "task";
    const identity: CallerIdentity = {
      kind: "role-session",
      arn: assumedRoleArn(role.arn, sessionName),
      account,
      roleArn: role.arn,
      roleName,
      roleId: role.roleId,
      sessionName,
    };
    const issued = await this.issue(identity, role.maxSessionDuration);
    return {
      accessKeyId: issued.accessKeyId,
      secretAccessKey: issued.secretAccessKey,
      sessionToken: issued.sessionToken,
      expiration: issued.expiration,
      roleArn: role.arn,
    };
  }

  private async issue(identity: CallerIdentity, durationSeconds: number): Promise<IssuedSession> {
    const now = this.options.now();
    const accessKeyId = `ASIA${[...randomBytes(16)].map((byte) => KEY_ALPHABET[byte % 32]).join("")}`;
    const secretAccessKey = randomBytes(30).toString("base64").replace(/[+/]/g, "A").slice(0, 40);
    const sessionToken = randomBytes(120).toString("base64");
    const expiration = now + durationSeconds * 1000;
    await this.options.sessions.purgeExpired(now, PURGE_BATCH);
    await this.options.sessions.put({
      accessKeyId,
      secretCiphertext: this.options.sealer.seal(secretAccessKey),
      tokenSha256: sessionTokenDigest(sessionToken),
      accountId: identity.account,
      principalArn: identity.arn,
      identity: JSON.stringify(identity),
      createdAt: now,
      expiresAt: expiration,
    });
    return { accessKeyId, secretAccessKey, sessionToken, expiration, identity };
  }
}

function checkAssumeRoleInput(input: AssumeRoleInput): void {
  if (input.roleArn.length < 20 || input.roleArn.length > 2048)
    throw constraint(input.roleArn, "roleArn", "Member must have length greater than or equal to 20");
  if (input.roleSessionName.length < 2 || input.roleSessionName.length > 64) {
    const rule = input.roleSessionName.length < 2 ? "Member must have length greater than or equal to 2" : "Member must have length less than or equal to 64";
    throw constraint(input.roleSessionName, "roleSessionName", rule);
  }
  if (!SESSION_NAME.test(input.roleSessionName)) {
    throw constraint(input.roleSessionName, "roleSessionName", "Member must satisfy regular expression pattern: [\\w+=,.@-]*");
  }
  if (input.durationSeconds !== undefined && (input.durationSeconds < 900 || input.durationSeconds > 43_200)) {
    throw constraint(
      String(input.durationSeconds),
      "durationSeconds",
      input.durationSeconds < 900 ? "Member must have value greater than or equal to 900" : "Member must have value less than or equal to 43200",
    );
  }
  if (input.externalId !== undefined && !EXTERNAL_ID.test(input.externalId)) {
    throw constraint(input.externalId, "externalId", "Member must satisfy regular expression pattern: [\\w+=,.@:\\/-]*");
  }
  if (input.policy !== undefined) {
    if (input.policy.replace(/\s/g, "").length > MAX_SESSION_POLICY) {
      throw new AwsError("PackedPolicyTooLarge", "Packed policy consumes more than 100% of the allotted space."); // wording not confirmed
    }
    parsePolicyDocument(input.policy, "identity");
  }
}
