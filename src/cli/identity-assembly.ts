// The identity parts of the control plane, wired together: the Authorizer over the IAM store, the
// temporary-credentials issuer (STS and tasks' roles), and the gateway's policy enforcement with
// each service's resource table.
import type { GatewayAuthorization } from "../api/gateway/gateway.js";
import { ECS_RESOURCES } from "../api/authorization/ecs-resources.js";
import type { ResourceTable } from "../api/authorization/request-authorizer.js";
import { contextAuthorize, createRequestAuthorizer } from "../api/authorization/request-authorizer.js";
import {
  ACM_RESOURCES,
  ec2Resources,
  ecrResources,
  ELBV2_RESOURCES,
  LOGS_RESOURCES,
  SSM_RESOURCES,
  secretsResources,
} from "../api/authorization/service-resources.js";
import { iamResources } from "../api/authorization/iam-resources.js";
import { resourceTagsReader } from "../api/authorization/resource-tags.js";
import { findSecret } from "../api/secretsmanager/secrets.js";
import { defaultVpcId } from "../api/ec2/security-group-lookup.js";
import type { AccountScope } from "../core/arn.js";
import { systemClock } from "../core/clock.js";
import { Authorizer } from "../control/authorizer.js";
import { RoleSessions } from "../control/role-sessions.js";
import type { Store } from "../store/index.js";
import type { RegistryAuthorize } from "../registry/index.js";
import type { SecretBox } from "./root-credentials.js";

export interface IdentityParts {
  readonly authorizer: Authorizer;
  readonly sessions: RoleSessions;
  readonly authorization: GatewayAuthorization;
  /** The built-in registry's decision for a request made with a token issued to a user or role session. */
  readonly registryAuthorize: RegistryAuthorize;
  /** An ECR repository's policy by name (decisions on the repository include it). */
  readonly repositoryPolicyOf: (name: string) => Promise<string | undefined>;
}

export function assembleIdentity(store: Store, box: SecretBox, scope: AccountScope): IdentityParts {
  const now = () => systemClock.now();
  const authorizer = new Authorizer(store.iam, now);
  const sessions = new RoleSessions({ sessions: store.roleSessions, iam: store.iam, authorizer, sealer: box, now });
  const secretArnOf = async (secretId: string) => {
    try {
      return (await findSecret({ secrets: store.secrets, scope, clock: systemClock, sealer: box }, secretId)).arn;
    } catch {
      return undefined;
    }
  };
  const groupIdByName = async (name: string) => {
    const vpcId = await defaultVpcId(store);
    return vpcId === undefined ? undefined : (await store.securityGroups.findByName(vpcId, name))?.groupId;
  };
  // A repository's policy (SetRepositoryPolicy), for the repository that has that name now.
  const repositoryPolicyOf = async (name: string) => {
    const repository = await store.ecr.getRepository(name);
    return repository === undefined ? undefined : store.ecrPolicies.repositoryPolicy(repository);
  };
  const tables = new Map<string, ResourceTable>([
    ["ecs", ECS_RESOURCES],
    ["logs", LOGS_RESOURCES],
    ["ecr", ecrResources(repositoryPolicyOf)],
    ["ssm", SSM_RESOURCES],
    ["iam", iamResources(store.iam)],
    ["ec2", ec2Resources(groupIdByName)],
    ["secretsmanager", secretsResources(secretArnOf)],
    ["elasticloadbalancing", ELBV2_RESOURCES],
    ["acm", ACM_RESOURCES],
  ]);
  const check = createRequestAuthorizer(authorizer, tables, resourceTagsReader(store));
  const registryAuthorize: RegistryAuthorize = async (caller, action, resource, sourceIp) => {
    const name = /^arn:[^:]+:ecr:[^:]*:\d{12}:repository\/(.+)$/.exec(resource)?.[1];
    const resourcePolicy = name === undefined ? undefined : await repositoryPolicyOf(name);
    const query = resourcePolicy === undefined ? { action, resources: [resource], sourceIp } : { action, resources: [resource], sourceIp, resourcePolicy };
    return (await authorizer.denial(caller, query))?.message;
  };
  return {
    authorizer,
    sessions,
    authorization: { check, forHandler: (context) => contextAuthorize(authorizer, context) },
    registryAuthorize,
    repositoryPolicyOf,
  };
}
