// Registry pull credentials at hand-over: when a task goes to an agent (a poll answer), every
// container image that names this server's own registry gets a pull credential issued for the
// task's execution role — scoped to the task's repositories, pull only, expiring — so hosts pull
// from the built-in registry without the user configuring anything. As on Fargate, the execution
// role is what the platform pulls with: a task without one gets no credential, and its pull is
// refused (CannotPullContainerError), as an ECR image without an execution role is on AWS.
// Credentials are issued per hand-over and never stored with the task. A task held to its execution
// role's policies (execution-role-grants.ts) gets none when the role may not start it: its agent
// learns why from the `secrets` call before it pulls.
import { normalizeImageReference } from "../core/image-reference.js";
import type { RegistryPullCredential, TaskSpec } from "../protocol/index.js";
import type { ExecutionRoleGrants } from "./execution-role-grants.js";

export interface PullCredentialIssuer {
  /** The host[:port] names under which images reach this server's registry. */
  readonly registryHosts: () => readonly string[];
  readonly issue: (grant: { readonly repositories: readonly string[]; readonly roleArn: string }) => {
    readonly username: string;
    readonly password: string;
    readonly expiresAt: number;
  };
}

/** The repositories of this server's registry (`registryHosts`) that the task's images name, by registry host as the images spell it. */
export function ownRegistryRepositories(spec: TaskSpec, registryHosts: readonly string[]): Map<string, Set<string>> {
  const ours = new Set(registryHosts.map((host) => host.toLowerCase()));
  const byRegistry = new Map<string, Set<string>>();
  for (const container of spec.taskDefinition.containerDefinitions ?? []) {
    let reference;
    try {
      reference = normalizeImageReference(container.image ?? "");
    } catch {
      continue; // an unparsable image fails at the pull with the parser's message
    }
    if (!ours.has(reference.registry.toLowerCase())) continue;
    const repositories = byRegistry.get(reference.registry) ?? new Set<string>();
    repositories.add(reference.repository);
    byRegistry.set(reference.registry, repositories);
  }
  return byRegistry;
}

/** The spec with `credentials.registryAuth` for the images in this server's registry. */
export function withRegistryPullCredentials(spec: TaskSpec, issuer: PullCredentialIssuer): TaskSpec {
  const roleArn = spec.credentials.executionRoleArn;
  if (!roleArn) return spec;
  const repositoriesByRegistry = ownRegistryRepositories(spec, issuer.registryHosts());
  if (repositoriesByRegistry.size === 0) return spec;
  const registryAuth: RegistryPullCredential[] = [...repositoriesByRegistry].map(([registry, repositories]) => {
    const issued = issuer.issue({ repositories: [...repositories].sort(), roleArn });
    return { registry, username: issued.username, password: issued.password, expiresAtMs: issued.expiresAt };
  });
  return { ...spec, credentials: { ...spec.credentials, registryAuth } };
}

/** The hand-over: pull credentials only for a task whose execution role was found to allow its start. */
export async function withCheckedPullCredentials(
  spec: TaskSpec,
  issuer: PullCredentialIssuer,
  grants: Pick<ExecutionRoleGrants, "grantFor">,
): Promise<TaskSpec> {
  return (await grants.grantFor(spec)).failure !== undefined ? spec : withRegistryPullCredentials(spec, issuer);
}
