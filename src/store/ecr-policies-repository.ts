// ECR's resource policies: a repository's (SetRepositoryPolicy) and the registry's
// (PutRegistryPolicy). A repository's policy is stored with the creation time of the repository it
// was set on and read only for that repository: once the repository is deleted the row names
// nothing (a new repository of that name starts with no policy) and the next set replaces it.
// Portable Kysely SQL.
import type { Kysely } from "kysely";

export interface EcrRepositoryPoliciesTable {
  repository_name: string;
  repository_created_at: number;
  policy_text: string;
}

export interface EcrRegistryPoliciesTable {
  registry_id: string;
  policy_text: string;
}

export interface EcrPoliciesTables {
  ecr_repository_policies: EcrRepositoryPoliciesTable;
  ecr_registry_policies: EcrRegistryPoliciesTable;
}

/** The repository a policy belongs to: its name and when it was created. */
export interface PolicyRepository {
  readonly name: string;
  readonly createdAt: number;
}

export interface EcrPoliciesRepository {
  repositoryPolicy(repository: PolicyRepository): Promise<string | undefined>;
  setRepositoryPolicy(repository: PolicyRepository, policyText: string): Promise<void>;
  /** Whether there was a policy to delete. */
  deleteRepositoryPolicy(repository: PolicyRepository): Promise<boolean>;
  registryPolicy(registryId: string): Promise<string | undefined>;
  setRegistryPolicy(registryId: string, policyText: string): Promise<void>;
  deleteRegistryPolicy(registryId: string): Promise<boolean>;
}

export function createEcrPoliciesRepository(db: Kysely<EcrPoliciesTables>): EcrPoliciesRepository {
  const forRepository = (repository: PolicyRepository) =>
    db
      .selectFrom("ecr_repository_policies")
      .select("policy_text")
      .where("repository_name", "=", repository.name)
      .where("repository_created_at", "=", repository.createdAt);
  return {
    async repositoryPolicy(repository) {
      return (await forRepository(repository).executeTakeFirst())?.policy_text;
    },
    async setRepositoryPolicy(repository, policyText) {
      await db
        .insertInto("ecr_repository_policies")
        .values({ repository_name: repository.name, repository_created_at: repository.createdAt, policy_text: policyText })
        .onConflict((oc) => oc.column("repository_name").doUpdateSet({ repository_created_at: repository.createdAt, policy_text: policyText }))
        .execute();
    },
    async deleteRepositoryPolicy(repository) {
      const result = await db
        .deleteFrom("ecr_repository_policies")
        .where("repository_name", "=", repository.name)
        .where("repository_created_at", "=", repository.createdAt)
        .executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
    async registryPolicy(registryId) {
      return (await db.selectFrom("ecr_registry_policies").select("policy_text").where("registry_id", "=", registryId).executeTakeFirst())?.policy_text;
    },
    async setRegistryPolicy(registryId, policyText) {
      await db
        .insertInto("ecr_registry_policies")
        .values({ registry_id: registryId, policy_text: policyText })
        .onConflict((oc) => oc.column("registry_id").doUpdateSet({ policy_text: policyText }))
        .execute();
    },
    async deleteRegistryPolicy(registryId) {
      const result = await db.deleteFrom("ecr_registry_policies").where("registry_id", "=", registryId).executeTakeFirst();
      return Number(result.numDeletedRows) > 0;
    },
  };
}
