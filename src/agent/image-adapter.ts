// ImagePort over the host's image store (src/images): pulls with the agent's pull behaviour
// (ECS_IMAGE_PULL_BEHAVIOR's choices) and the registry credentials the agent holds for the image.
import type { CredentialsReference, TaskPlatform } from "../protocol/index.js";
import type { ImagePullPolicy, ImageStore, RegistryCredentials } from "../images/index.js";
import type { ImagePort, PulledImageInfo } from "./ports.js";

export type RegistryCredentialsFor = (image: string, credentials: CredentialsReference) => Promise<RegistryCredentials | undefined>;

export class HostImageAdapter implements ImagePort {
  constructor(
    private readonly store: ImageStore,
    private readonly options: { readonly policy: ImagePullPolicy; readonly credentialsFor?: RegistryCredentialsFor },
  ) {}

  async pull(image: string, options: { platform: TaskPlatform; credentials: CredentialsReference }): Promise<PulledImageInfo> {
    const credentials = await this.options.credentialsFor?.(image, options.credentials);
    const pulled = await this.store.pull(image, {
      platform: { os: options.platform.os, architecture: options.platform.architecture },
      policy: this.options.policy,
      ...(credentials ? { credentials } : {}),
    });
    return { digest: pulled.manifestDigest, ...(pulled.config.stopSignal ? { stopSignal: pulled.config.stopSignal } : {}) };
  }
}
