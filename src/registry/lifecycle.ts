// Applies ECR lifecycle policies: per repository, the images its policy expires are deleted and
// their blobs released. Runs after each tagged push (for that repository) and periodically (for
// all). Children of an index are never candidates on their own while the index exists: expiring
// one would break the index; once the index goes they are ordinary untagged images.
import { imagesExpiredByPolicy, parseLifecyclePolicy } from "../api/ecr/index.js";
import type { EcrRepositoryRecord } from "../store/ecr-repository.js";
import type { RegistryContext } from "./registry-context.js";

export async function applyLifecyclePolicy(context: RegistryContext, repository: EcrRepositoryRecord): Promise<string[]> {
  if (repository.lifecyclePolicyText === null) return [];
  const policy = parseLifecyclePolicy(repository.lifecyclePolicyText);
  const images = await context.repositories.listImages(repository.name, {});
  const parents = await context.repositories.manifestParents(
    repository.name,
    images.map((image) => image.digest),
  );
  const candidates = images.filter((image) => !parents.has(image.digest));
  const now = context.clock.now();
  const expired = imagesExpiredByPolicy(policy, candidates, now);
  await context.deleteImages(repository.name, expired);
  await context.repositories.setLifecycleEvaluatedAt(repository.name, now);
  if (expired.length > 0) context.logger.info({ repository: repository.name, expired }, "lifecycle policy expired images");
  return expired;
}

export async function applyAllLifecyclePolicies(context: RegistryContext): Promise<void> {
  for (const repository of await context.repositories.repositoriesWithLifecyclePolicy()) {
    try {
      await applyLifecyclePolicy(context, repository);
    } catch (error) {
      context.logger.error({ err: error, repository: repository.name }, "lifecycle policy failed");
    }
  }
}
