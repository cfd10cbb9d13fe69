// ImagePort over the host's image store (src/images): pulls with the agent's pull behaviour
// (ECS_IMAGE_PULL_BEHAVIOR's choices) and the registry credentials for the image: the pull
// credential the control plane handed over with the task for its own registry (issued for the
// execution role), else the container's `repositoryCredentials` as the control plane resolved them
// (task-secrets-fetch.ts), else whatever the operator's `credentialsFor` hook provides.
import type { CredentialsReference, TaskPlatform } from "../protocol/index.js";
import { normalizeImageReference } from "../images/index.js";
import type { ImagePullPolicy, ImageStore, RegistryCredentials } from "../images/index.js";
import type { ImagePort, PulledImageInfo, RegistryLogin } from "./ports.js";

/** The operator's own credentials for a registry (tests, `berth demo`), for images nothing else logs in to. */
export type RegistryCredentialsFor = (image: string, credentials: CredentialsReference) => Promise<RegistryCredentials | undefined>;

/** The handed-over credential for the image's registry, if the task carries one. */
export function handedOverCredentials(image: string, credentials: CredentialsReference): RegistryCredentials | undefined {
  if (!credentials.registryAuth?.length) return undefined;
  let registry: string;
  try {
    registry = normalizeImageReference(image).registry.toLowerCase();
  } catch {
    return undefined;
  }
  const found = credentials.registryAuth.find((auth) => auth.registry.toLowerCase() === registry);
  return found ? { username: found.username, password: found.password } : undefined;
}

/**
 * The host's image garbage collection (ImageStore.collectGarbage), run after each pull: images no
 * task of the host uses go, least recently used first, once the store passes its high-water mark.
 */
export interface ImageCollection {
  /** Manifest digests of the images of every task the agent holds. */
  readonly inUse: () => ReadonlySet<string>;
  readonly highWaterBytes: number;
  readonly onError: (error: unknown) => void;
}

export class HostImageAdapter implements ImagePort {
  constructor(
    private readonly store: ImageStore,
    private readonly options: { readonly policy: ImagePullPolicy; readonly credentialsFor?: RegistryCredentialsFor; readonly collection?: ImageCollection },
  ) {}

  /** Started after a pull, not awaited by it: the task goes on while old images are removed. */
  private collectSoon(): void {
    const collection = this.options.collection;
    if (!collection) return;
    setImmediate(() => {
      this.store.collectGarbage({ inUse: collection.inUse(), highWaterBytes: collection.highWaterBytes }).catch(collection.onError);
    });
  }

  async pull(
    image: string,
    options: { platform: TaskPlatform; credentials: CredentialsReference; registryCredentials?: RegistryLogin },
  ): Promise<PulledImageInfo> {
    const credentials =
      handedOverCredentials(image, options.credentials) ?? options.registryCredentials ?? (await this.options.credentialsFor?.(image, options.credentials));
    const pulled = await this.store.pull(image, {
      platform: { os: options.platform.os, architecture: options.platform.architecture },
      policy: this.options.policy,
      ...(credentials ? { credentials } : {}),
    });
    this.collectSoon();
    return { digest: pulled.manifestDigest, ...(pulled.config.stopSignal ? { stopSignal: pulled.config.stopSignal } : {}) };
  }
}
