// The control plane's task secrets (src/control/task-secrets.ts) over the services' own reads:
// Secrets Manager's findSecret/readValue (GetSecretValue) and SSM's getParameters with
// WithDecryption, so an injected value is read, chosen and unsealed exactly as the API answers it.
import type { AccountScope } from "../core/arn.js";
import type { Clock } from "../core/clock.js";
import type { KeySealer } from "../core/envelope-seal.js";
import type { Logger } from "../core/logger.js";
import { findSecret, readValue } from "../api/secretsmanager/secrets.js";
import { getParameters } from "../api/ssm/parameters.js";
import { parameterArn, parseSelector } from "../api/ssm/parameter-names.js";
import type { RolePermissionCheck } from "../control/authorizer.js";
import type { SecretSources, TaskSecretsOptions } from "../control/task-secrets.js";
import { TaskSecrets } from "../control/task-secrets.js";
import type { ParametersRepository, SecretsRepository, TasksRepository } from "../store/index.js";

export interface TaskSecretsParts {
  readonly store: { readonly tasks: Pick<TasksRepository, "get">; readonly secrets: SecretsRepository; readonly parameters: ParametersRepository };
  readonly sealer: KeySealer;
  readonly scope: AccountScope;
  readonly clock: Clock;
  readonly permissions: RolePermissionCheck;
  readonly logger: Pick<Logger, "error">;
  /** The execution role's pull and awslogs checks, answered before any secret is read. */
  readonly grants?: TaskSecretsOptions["grants"];
}

export function secretSources(parts: Omit<TaskSecretsParts, "permissions" | "logger">): SecretSources {
  const secretsContext = { secrets: parts.store.secrets, clock: parts.clock, scope: parts.scope, sealer: parts.sealer };
  const parametersContext = { parameters: parts.store.parameters, clock: parts.clock, scope: parts.scope, sealer: parts.sealer };
  return {
    async secretArn(secretId) {
      try {
        return (await findSecret(secretsContext, secretId)).arn;
      } catch {
        return undefined; // not found (or not a valid id): the permission check names the id as given
      }
    },
    async secretValue(input) {
      const secret = await findSecret(secretsContext, input.secretId);
      const answer = await readValue(secretsContext, secret, input.versionId, input.versionStage);
      return answer.SecretString !== undefined ? { secretString: answer.SecretString } : {};
    },
    parameterArn(nameOrArn) {
      let names: readonly string[] | undefined;
      try {
        names = parseSelector(parts.scope, nameOrArn)?.names;
      } catch {
        names = undefined; // an invalid name: GetParameters refuses it after the check
      }
      const name = names?.[0];
      if (name !== undefined) return parameterArn(parts.scope, name);
      return nameOrArn.startsWith("arn:") ? nameOrArn : parameterArn(parts.scope, nameOrArn);
    },
    async parameterValue(nameOrArn) {
      const answer = await getParameters(parametersContext, { Names: [nameOrArn], WithDecryption: true });
      return answer.Parameters?.[0]?.Value;
    },
  };
}

export function createTaskSecrets(parts: TaskSecretsParts): TaskSecrets {
  return new TaskSecrets({
    tasks: parts.store.tasks,
    sources: secretSources(parts),
    permissions: parts.permissions,
    logger: parts.logger,
    ...(parts.grants ? { grants: parts.grants } : {}),
  });
}
