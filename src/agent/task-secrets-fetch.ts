// A task's secrets on the agent: asked of the control plane (the protocol's `secrets` call) when
// the task is about to pull or create its containers, held in the task runner's memory only, and
// handed to the image pull (registry credentials) and to the container's creation (environment,
// written into the runtime's config.json, mode 0600). Never in the task's record, its state file,
// its reports or its reasons: after an agent restart they are asked for again, and only if a
// container still has to be pulled or created.
import type { ContainerSecrets, TaskSecretsAnswer, TaskSpec } from "../protocol/index.js";
import { TaskStartError, describeError } from "./errors.js";

/** The control plane's answer for one task (the link's `taskSecrets` for this host). */
export type TaskSecretsPort = (taskArn: string) => Promise<TaskSecretsAnswer>;

/** The resolved secrets of a task, by container name. */
export type ResolvedSecrets = ReadonlyMap<string, ContainerSecrets>;

const NONE: ResolvedSecrets = new Map();
const RETRIEVAL = "unable to pull secrets or registry auth: execution resource retrieval failed";

/**
 * Whether any container of the task names a secret (env, private registry, log options), or the
 * control plane checks the task's execution role (its answer then says whether the task may start).
 */
export function needsSecrets(spec: TaskSpec): boolean {
  if (spec.credentials.checkExecutionRole === true) return true;
  return (spec.taskDefinition.containerDefinitions ?? []).some(
    (container) =>
      (container.secrets?.length ?? 0) > 0 || container.repositoryCredentials !== undefined || (container.logConfiguration?.secretOptions?.length ?? 0) > 0,
  );
}

/**
 * The task's secrets, or a TaskStartError (ResourceInitializationError) the task stops with: the
 * control plane's refusal, its failure text, or a call that did not get through. No reason here
 * can hold a value: the answer's values are never put into one.
 */
export async function fetchTaskSecrets(spec: TaskSpec, port: TaskSecretsPort | undefined): Promise<ResolvedSecrets> {
  if (!needsSecrets(spec)) return NONE;
  if (!port) throw new TaskStartError("ResourceInitializationError", `${RETRIEVAL}: this agent has no control plane to read secrets from`);
  let answer: TaskSecretsAnswer;
  try {
    answer = await port(spec.taskArn);
  } catch (error) {
    throw new TaskStartError("ResourceInitializationError", `${RETRIEVAL}: ${describeError(error)}`, { cause: error });
  }
  if (answer.failure !== undefined) {
    throw new TaskStartError("ResourceInitializationError", answer.failure.replace(/^ResourceInitializationError: /, ""));
  }
  const byName = new Map<string, ContainerSecrets>();
  for (const container of answer.containers) byName.set(container.containerName, container);
  return byName;
}

/** The environment a container's secrets add (names as the definition gives them). */
export function secretEnvironment(secrets: ContainerSecrets | undefined): Record<string, string> {
  const env: Record<string, string> = {};
  for (const { name, value } of secrets?.env ?? []) env[name] = value;
  return env;
}
