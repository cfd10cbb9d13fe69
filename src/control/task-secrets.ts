// The control plane's half of the agent protocol's `secrets` call (src/protocol/task-secrets.ts):
// a task's container `secrets`, `repositoryCredentials` and `logConfiguration.secretOptions`,
// read with the task's execution role, for the host the task is placed on and only while the task
// is not stopping. The values are read fresh at each call (never stored with the task) and the
// answer is the only place they go; a failure is the task's stoppedReason, which never holds one.
//
// Permissions are the execution role's identity policies: secretsmanager:GetSecretValue on the
// secret's ARN, ssm:GetParameters on the parameter's ARN. kms:Decrypt is not checked: Berth has no
// KMS (values are sealed under the server's store key), so there is no key policy to ask.
//
// Reasons follow Fargate's as users report them:
//   ResourceInitializationError: unable to pull secrets or registry auth: execution resource
//   retrieval failed: unable to retrieve secret from asm: ... failed to fetch secret <arn> from
//   secrets manager: <Code>: <Message>          (and "unable to retrieve secrets from ssm: ...")
// without "service call has been retried N time(s)" (Berth does not retry) and without the
// "status code: 400, request id" tail (there is no HTTP call); the texts after the service's own
// error come from the ECS agent (amazon-ecs-agent asm.go, ssm.go), marked where not confirmed.
import type { ContainerDefinition } from "@aws-sdk/client-ecs";
import { accessDeniedException, isAwsError } from "../core/errors.js";
import type { Logger } from "../core/logger.js";
import { parseSecretReference } from "../core/task-definition/secret-reference.js";
import type { ContainerSecrets, TaskSecretsAnswer } from "../protocol/index.js";
import type { TasksRepository } from "../store/index.js";
import type { RolePermissionCheck } from "./authorizer.js";
import type { ExecutionRoleGrants } from "./execution-role-grants.js";
import { placedTaskSpec } from "./placed-task-spec.js";

/** Secrets Manager and Parameter Store as the execution role reads them (the server wires the services' own reads). */
export interface SecretSources {
  /** The ARN of the secret a SecretId (full or partial ARN) names, when it exists. */
  secretArn(secretId: string): Promise<string | undefined>;
  /** GetSecretValue; throws the service's AwsError (not found, marked for deletion, no such version or stage). */
  secretValue(input: { readonly secretId: string; readonly versionId?: string; readonly versionStage?: string }): Promise<{ readonly secretString?: string }>;
  /** The ARN a parameter name or ARN stands for (the resource of ssm:GetParameters). */
  parameterArn(nameOrArn: string): string;
  /** GetParameters WithDecryption of one name: its value, or undefined when GetParameters lists it as invalid. */
  parameterValue(nameOrArn: string): Promise<string | undefined>;
}

export interface TaskSecretsOptions {
  readonly tasks: Pick<TasksRepository, "get">;
  readonly sources: SecretSources;
  readonly permissions: RolePermissionCheck;
  readonly logger: Pick<Logger, "error">;
  /** The execution role's checks for the task's own-registry pulls and awslogs (execution-role-grants.ts), answered first. */
  readonly grants?: Pick<ExecutionRoleGrants, "grantFor">;
}

const PREFIX = "ResourceInitializationError: unable to pull secrets or registry auth: execution resource retrieval failed: ";

/** A reason the task cannot start with; its text never holds a secret value. */
class SecretFailure extends Error {}

const asmFailure = (detail: string) => new SecretFailure(`${PREFIX}unable to retrieve secret from asm: ${detail}`);
const ssmFailure = (detail: string) => new SecretFailure(`${PREFIX}unable to retrieve secrets from ssm: ${detail}`);

/** The task is not this host's to ask for (a compromised host reading another host's tasks), or it is stopping. Berth's own text. */
const refused = (message: string) => accessDeniedException(message);

export class TaskSecrets {
  constructor(private readonly options: TaskSecretsOptions) {}

  async resolve(hostId: string, taskArn: string): Promise<TaskSecretsAnswer> {
    const task = await this.options.tasks.get(taskArn);
    // One answer for "no such task" and "another host's task": the caller learns nothing of the other.
    if (!task || task.hostId !== hostId) throw refused(`Task ${taskArn} is not placed on host ${hostId}.`);
    if (task.desiredStatus === "STOPPED" || task.lastStatus === "STOPPED") throw refused(`Task ${taskArn} is stopping; its secrets are no longer handed out.`);
    const spec = placedTaskSpec(task);
    if (!spec) throw refused(`Task ${taskArn} is not placed on host ${hostId}.`);
    // Before any secret is read, as Fargate fetches registry auth and checks the logger before the pull.
    const grant = await this.options.grants?.grantFor(spec);
    if (grant?.failure !== undefined) return { containers: [], failure: grant.failure };
    const reader = new ExecutionRoleReader(this.options, spec.credentials.executionRoleArn, spec.taskId);
    try {
      const containers: ContainerSecrets[] = [];
      for (const definition of spec.taskDefinition.containerDefinitions ?? []) containers.push(await reader.container(definition));
      return { containers };
    } catch (error) {
      if (error instanceof SecretFailure) return { containers: [], failure: error.message };
      // Not the user's fault (a seal that does not open, the store failing): logged here, and the
      // task fails without the cause's text, which could quote what it was reading.
      this.options.logger.error({ err: error, taskArn }, "resolving a task's secrets failed");
      return { containers: [], failure: `${PREFIX}internal error reading the task's secrets` }; // wording not confirmed
    }
  }
}

/** Reads for one task, each distinct valueFrom once, with the task's execution role. */
class ExecutionRoleReader {
  private readonly read = new Map<string, Promise<string>>();

  constructor(
    private readonly options: TaskSecretsOptions,
    private readonly roleArn: string | undefined,
    /** The execution role's session name (the task id, as the role's assumed-role ARN shows it). */
    private readonly sessionName: string,
  ) {}

  async container(definition: ContainerDefinition): Promise<ContainerSecrets> {
    const env: { name: string; value: string }[] = [];
    for (const secret of definition.secrets ?? []) env.push({ name: secret.name ?? "", value: await this.value(secret.valueFrom ?? "") });
    const answer: { -readonly [K in keyof ContainerSecrets]: ContainerSecrets[K] } = { containerName: definition.name ?? "", env };
    const credentialsParameter = definition.repositoryCredentials?.credentialsParameter;
    if (credentialsParameter !== undefined) answer.repositoryCredentials = await this.registryAuth(credentialsParameter);
    const options = definition.logConfiguration?.secretOptions;
    if (options?.length) {
      const resolved: { name: string; value: string }[] = [];
      for (const option of options) resolved.push({ name: option.name ?? "", value: await this.value(option.valueFrom ?? "") });
      answer.logSecretOptions = resolved;
    }
    return answer;
  }

  private value(valueFrom: string): Promise<string> {
    let pending = this.read.get(valueFrom);
    if (!pending) {
      pending = this.resolve(valueFrom);
      this.read.set(valueFrom, pending);
    }
    return pending;
  }

  private async resolve(valueFrom: string): Promise<string> {
    const reference = parseSecretReference(valueFrom);
    if (reference.source === "invalid") {
      if (reference.service === "ssm") throw ssmFailure(reference.problem);
      throw asmFailure(`trying to retrieve secret with value ${valueFrom.slice(0, 2048)} resulted in error: ${reference.problem}`);
    }
    if (reference.source === "ssm") return this.parameter(reference.name);
    const text = await this.secretString(reference.secretId, reference);
    if (reference.jsonKey === undefined) return text;
    return jsonField(text, reference.jsonKey);
  }

  private async parameter(name: string): Promise<string> {
    await this.mayRead("ssm:GetParameters", this.options.sources.parameterArn(name), ssmFailure);
    let value: string | undefined;
    try {
      value = await this.options.sources.parameterValue(name);
    } catch (error) {
      if (isAwsError(error) && error.isClientFault) throw ssmFailure(`${error.code}: ${error.message}`);
      throw error;
    }
    // The ECS agent's text for GetParameters' InvalidParameters (ssm.go).
    if (value === undefined) throw ssmFailure(`invalid parameters: ${name}`);
    return value;
  }

  /** The version's SecretString; a binary secret reads as "" (the ECS agent reads SecretString only). */
  private async secretString(secretId: string, selectors: { readonly versionId?: string; readonly versionStage?: string }): Promise<string> {
    const arn = (await this.options.sources.secretArn(secretId)) ?? secretId;
    const fetchFailure = (detail: string) => asmFailure(`failed to fetch secret ${secretId} from secrets manager: ${detail}`);
    await this.mayRead("secretsmanager:GetSecretValue", arn, fetchFailure);
    try {
      const value = await this.options.sources.secretValue({
        secretId: arn,
        ...(selectors.versionId !== undefined ? { versionId: selectors.versionId } : {}),
        ...(selectors.versionStage !== undefined ? { versionStage: selectors.versionStage } : {}),
      });
      return value.secretString ?? "";
    } catch (error) {
      if (isAwsError(error) && error.isClientFault) throw fetchFailure(`${error.code}: ${error.message}`);
      throw error;
    }
  }

  private async mayRead(action: string, resource: string, failure: (detail: string) => SecretFailure): Promise<void> {
    // Refused at registration without one; a spec from before that rule, or edited, still needs it.
    if (!this.roleArn) throw failure(`AccessDeniedException: the task definition has no executionRoleArn to read ${resource} with`); // wording not confirmed
    const decision = await this.options.permissions.roleMay(this.roleArn, action, resource, this.sessionName);
    if (!decision.allowed) throw failure(`AccessDeniedException: ${decision.message}`);
  }

  /** The private registry's credentials: a secret holding {"username","password"} (the ECS agent's checks and texts, asm.go). */
  private async registryAuth(credentialsParameter: string): Promise<{ username: string; password: string }> {
    const reference = parseSecretReference(credentialsParameter);
    const secretId = reference.source === "secretsmanager" ? reference.secretId : credentialsParameter;
    const text = await this.secretString(secretId, {});
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const field = (name: string) => {
      const value = typeof parsed === "object" && parsed !== null ? (parsed as Record<string, unknown>)[name] : undefined;
      return typeof value === "string" ? value : "";
    };
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
      throw asmFailure("asm fetching authorization data: unable to unmarshal secret value, invalid schema");
    if (field("username") === "") throw asmFailure("asm fetching username: AuthorizationData is malformed, empty field");
    if (field("password") === "") throw asmFailure("asm fetching password: AuthorizationData is malformed, empty field");
    return { username: field("username"), password: field("password") };
  }
}

/** One key of a JSON secret; a string as it is, anything else as JSON text. */
function jsonField(text: string, key: string): string {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The ECS agent passes Go's JSON error on, which quotes a character of the value: not here.
    throw asmFailure(`the retrieved secret from Secrets Manager is not valid JSON, so json key ${key} cannot be read`); // wording not confirmed
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || !Object.hasOwn(parsed, key)) {
    throw asmFailure(`retrieved secret from Secrets Manager did not contain json key ${key}`);
  }
  const value = (parsed as Record<string, unknown>)[key];
  return typeof value === "string" ? value : JSON.stringify(value);
}
