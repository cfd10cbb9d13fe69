// The `secrets` call: an agent about to start a task asks the control plane for the task's secrets,
// resolved with the task's execution role (container `secrets`, `repositoryCredentials`,
// `logConfiguration.secretOptions`). The values travel only in this answer: the control plane
// never stores them with the task, and the agent puts them only into the container's runtime
// config (mode 0600), never into its state files, reports or logs. A task the execution role may
// not read a secret for gets `failure` instead: the ResourceInitializationError text the task
// stops with, which never holds a value.
//
// Additive to protocol version 1: an older agent never makes the call (it would start a task
// without its secrets, so run the agent of the server's release), and an older server answers it
// 404 (UnknownCall), which fails the task's start.
import Type from "typebox";
import type { Static } from "typebox";
import { MAX_ARN_CHARS, MAX_NAME_CHARS } from "./task-status.js";
import { compileCheck } from "./schema-check.js";
import type { Checked } from "./schema-check.js";

/** Longest value carried: Secrets Manager's SecretString is at most 65,536 bytes. */
export const MAX_SECRET_VALUE_CHARS = 65_536;
/** Most containers a task has (ECS: 10 per task definition), with room. */
export const MAX_SECRET_CONTAINERS = 100;
/** Most secrets (or log secret options) one container carries. */
export const MAX_SECRETS_PER_CONTAINER = 1_000;

const NamedValue = () =>
  Type.Immutable(
    Type.Object({ name: Type.String({ minLength: 1, maxLength: 255, pattern: "^[^=\\u0000]+$" }), value: Type.String({ maxLength: MAX_SECRET_VALUE_CHARS }) }),
  );

export const ContainerSecretsSchema = Type.Immutable(
  Type.Object({
    containerName: Type.String({ maxLength: MAX_NAME_CHARS }),
    /** Environment variables from `secrets`, in the definition's order. */
    env: Type.Immutable(Type.Array(NamedValue(), { maxItems: MAX_SECRETS_PER_CONTAINER })),
    /** From `repositoryCredentials.credentialsParameter` (a secret holding {"username","password"}). */
    repositoryCredentials: Type.Optional(
      Type.Immutable(
        Type.Object({ username: Type.String({ maxLength: MAX_SECRET_VALUE_CHARS }), password: Type.String({ maxLength: MAX_SECRET_VALUE_CHARS }) }),
      ),
    ),
    /** From `logConfiguration.secretOptions`: log driver options by name. */
    logSecretOptions: Type.Optional(Type.Immutable(Type.Array(NamedValue(), { maxItems: MAX_SECRETS_PER_CONTAINER }))),
  }),
);
export type ContainerSecrets = Static<typeof ContainerSecretsSchema>;

export const TaskSecretsAnswerSchema = Type.Immutable(
  Type.Object({
    containers: Type.Immutable(Type.Array(ContainerSecretsSchema, { maxItems: MAX_SECRET_CONTAINERS })),
    /** Present when the task must not start: its stoppedReason ("ResourceInitializationError: ..."). */
    failure: Type.Optional(Type.String({ maxLength: 4096 })),
  }),
);
export type TaskSecretsAnswer = Static<typeof TaskSecretsAnswerSchema>;

export const TaskSecretsBodySchema = Type.Object({
  hostId: Type.Optional(Type.String({ maxLength: 255 })),
  taskArn: Type.String({ minLength: 1, maxLength: MAX_ARN_CHARS }),
});
export type TaskSecretsBody = Static<typeof TaskSecretsBodySchema>;

const bodyCheck = compileCheck(TaskSecretsBodySchema);
const answerCheck = compileCheck(TaskSecretsAnswerSchema);

export const parseTaskSecretsBody = (body: unknown): Checked<TaskSecretsBody> => bodyCheck.parse(body);
export const parseTaskSecretsAnswer = (answer: unknown): Checked<TaskSecretsAnswer> => answerCheck.parse(answer);
