// The built-in registry: the OCI distribution API (/v2/ on the server's listener) and the ECR API
// over the same store and blob store, plus the periodic maintenance (lifecycle policies, garbage
// collection). Built once by `berth server`:
//   const registry = createRegistry({ store, blobDir, tokenKey, clock, scope, publicHost, logger });
//   gateway services += registry.ecrService; httpRoutes += registry.route
import type { HttpRoute } from "../api/gateway/gateway.js";
import type { JsonServiceModule } from "../api/service-module.js";
import { createEcrService, deleteImages } from "../api/ecr/index.js";
import type { EcrContext } from "../api/ecr/index.js";
import { principalExists } from "../api/iam/iam-shapes.js";
import type { AccountScope } from "../core/arn.js";
import type { Clock } from "../core/clock.js";
import type { Logger } from "../core/logger.js";
import type { Store } from "../store/index.js";
import { BlobStore } from "./blob-store.js";
import type { RegistryAuthorize } from "./distribution-route.js";
import { createDistributionRoute } from "./distribution-route.js";
import { DownloadUrls } from "./download-urls.js";
import { createEcrImageStore } from "./ecr-image-store.js";
import type { GarbageReport } from "./garbage-collector.js";
import { GarbageCollector } from "./garbage-collector.js";
import { applyAllLifecyclePolicies, applyLifecyclePolicy } from "./lifecycle.js";
import type { RegistryContext } from "./registry-context.js";
import { RegistryTokens } from "./registry-tokens.js";

export type { GarbageReport } from "./garbage-collector.js";
export type { RegistryAuthorize } from "./distribution-route.js";

const HOUR_MS = 3_600_000;

export interface RegistryOptions {
  readonly store: Store;
  /** Blobs, upload sessions and GC's trash (blob-store.ts): --blob-dir, which replicas of a store share. */
  readonly blobDir: string;
  /** The HMAC key of the registry's passwords: from the store, so a login on one replica is good on all. */
  readonly tokenKey: Buffer;
  readonly clock: Clock;
  readonly scope: AccountScope;
  /** host:port the registry is reached at, for repositoryUri and proxyEndpoint (known after listen). */
  readonly publicHost: () => string;
  readonly logger: Pick<Logger, "info" | "warn" | "error">;
  /**
   * The policy decision for a request to /v2/ made with a token issued to an IAM user or role
   * session (the root's and the agents' pull tokens are not asked). Without it such tokens open nothing.
   */
  readonly authorize?: RegistryAuthorize;
  /** Lifetime of GetAuthorizationToken passwords; ECR's is 12 hours. */
  readonly tokenTtlMs?: number;
  /** Lifetime of a task's pull credential; long enough for a slow pull of a large image. Default 1 h. */
  readonly pullCredentialTtlMs?: number;
  /** How often lifecycle policies and garbage collection run; 0 disables the loop. Default 1 h. */
  readonly maintenanceIntervalMs?: number;
  /** A pushed blob no manifest references is dropped after this long. Default 24 h. */
  readonly abandonedBlobMs?: number;
  /** An upload untouched this long is removed. Default 24 h. */
  readonly uploadMaxAgeMs?: number;
}

export interface PullCredentials {
  readonly username: string;
  readonly password: string;
  readonly expiresAt: number;
}

export interface Registry {
  readonly route: HttpRoute;
  readonly ecrService: JsonServiceModule;
  /**
   * Credentials a host agent pulls a task's images with (basic auth, user "AWS"): pull only, for
   * the named repositories, issued for the task's execution role, valid `pullCredentialTtlMs`.
   */
  issuePullCredentials(grant: { readonly repositories: readonly string[]; readonly roleArn: string }): PullCredentials;
  applyLifecyclePolicies(): Promise<void>;
  collectGarbage(): Promise<GarbageReport>;
  /** Stops the maintenance loop and waits for a pass in progress. */
  close(): Promise<void>;
}

export function createRegistry(options: RegistryOptions): Registry {
  const tokenTtlMs = options.tokenTtlMs ?? 12 * HOUR_MS;
  const blobs = new BlobStore(options.blobDir, () => options.clock.now());
  blobs.init();
  const tokens = new RegistryTokens(options.tokenKey, options.clock);
  const repositories = options.store.ecr;
  const collector = new GarbageCollector({
    repositories,
    blobs,
    now: () => options.clock.now(),
    abandonedLinkMs: options.abandonedBlobMs ?? 24 * HOUR_MS,
    uploadMaxAgeMs: options.uploadMaxAgeMs ?? 24 * HOUR_MS,
  });

  const downloads = new DownloadUrls(options.tokenKey, options.clock, options.scope.accountId);
  const context: RegistryContext = {
    repositories,
    blobs,
    clock: options.clock,
    scope: options.scope,
    publicHost: options.publicHost,
    logger: options.logger,
    deleteImages: (repositoryName, digests) => deleteImages(ecrContext, repositoryName, digests),
    applyLifecyclePolicy: async (repositoryName) => {
      const repository = await repositories.getRepository(repositoryName);
      if (repository) await applyLifecyclePolicy(context, repository);
    },
  };

  const ecrContext: EcrContext = {
    repositories,
    tags: options.store.tags,
    clock: options.clock,
    scope: options.scope,
    publicHost: options.publicHost,
    issueAuthorizationToken: (accountId, issuedTo) => {
      const identity = issuedTo?.identity.kind === "root" ? undefined : issuedTo?.identity;
      // A token from temporary credentials dies with them.
      const notAfter = issuedTo?.notAfter ?? Number.POSITIVE_INFINITY;
      const now = options.clock.now();
      const issued = tokens.issueUntil(accountId, Math.max(now, Math.min(now + tokenTtlMs, notAfter)), undefined, identity);
      return { authorizationToken: Buffer.from(`AWS:${issued.password}`).toString("base64"), expiresAt: issued.expiresAt };
    },
    releaseBlobs: async (digests) => void (await collector.release(digests)),
    images: createEcrImageStore(context, downloads),
    policies: options.store.ecrPolicies,
    principalExists: (arn) => principalExists(options.store.iam, options.scope, arn),
  };
  const maintenance = startMaintenance(options.maintenanceIntervalMs ?? HOUR_MS, options.logger, async () => {
    await applyAllLifecyclePolicies(context);
    const report = await collector.collect();
    if (report.blobsRemoved + report.linksRemoved + report.uploadsRemoved > 0) options.logger.info({ ...report }, "registry garbage collected");
  });

  return {
    route: createDistributionRoute({ context, tokens, downloads, ...(options.authorize ? { authorize: options.authorize } : {}) }),
    ecrService: createEcrService(ecrContext),
    issuePullCredentials(grant) {
      const issued = tokens.issue(options.scope.accountId, Math.min(options.pullCredentialTtlMs ?? HOUR_MS, tokenTtlMs), {
        repositories: grant.repositories,
        pullOnly: true,
        roleArn: grant.roleArn,
      });
      return { username: "AWS", password: issued.password, expiresAt: issued.expiresAt };
    },
    applyLifecyclePolicies: () => applyAllLifecyclePolicies(context),
    collectGarbage: () => collector.collect(),
    close: () => maintenance.close(),
  };
}

/**
 * Runs `pass` every `intervalMs` (0: never), one at a time; `close` stops the loop and waits for a
 * pass in progress. Level-triggered: each pass looks at everything afresh, so a crash mid-pass loses nothing.
 */
function startMaintenance(intervalMs: number, logger: Pick<Logger, "error">, pass: () => Promise<void>): { close(): Promise<void> } {
  let running: Promise<void> | undefined;
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  const schedule = (delayMs: number) => {
    if (closed || intervalMs <= 0) return;
    timer = setTimeout(() => {
      running = pass()
        .catch((error: unknown) => logger.error({ err: error }, "registry maintenance failed"))
        .finally(() => {
          running = undefined;
          schedule(intervalMs);
        });
    }, delayMs);
    timer.unref();
  };
  // The first pass soon after start clears what a crash left (orphan files, stale uploads).
  schedule(Math.min(intervalMs, 5_000));
  return {
    async close() {
      closed = true;
      if (timer) clearTimeout(timer);
      await running;
    },
  };
}
