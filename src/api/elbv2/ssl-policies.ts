// DescribeSSLPolicies: AWS's predefined security policies Berth knows (Application Load Balancer
// guide, "Security policies"): ELBSecurityPolicy-2016-08, the default of HTTPS listeners created
// through the API, and ELBSecurityPolicy-TLS13-1-2-2021-06, the console's recommended TLS 1.3 one.
// The protocols and ciphers (in the server's order) are what DescribeSSLPolicies lists for them.
import type { DescribeSSLPoliciesOutput, SslPolicy } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { OperationHandlers } from "../service-module.js";
import { sslPolicyNotFound, validationError } from "./elbv2-errors.js";
import type { Elbv2Operations } from "./elbv2-operations.js";
import { page } from "./elbv2-shapes.js";

const ciphers = (names: readonly string[]) => names.map((Name, index) => ({ Name, Priority: index + 1 }));

const TLS12_CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES128-SHA256",
  "ECDHE-RSA-AES128-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-AES256-SHA384",
  "ECDHE-RSA-AES256-SHA384",
];

export const SSL_POLICIES: readonly SslPolicy[] = [
  {
    Name: "ELBSecurityPolicy-2016-08",
    SslProtocols: ["TLSv1", "TLSv1.1", "TLSv1.2"],
    Ciphers: ciphers([
      "ECDHE-ECDSA-AES128-GCM-SHA256",
      "ECDHE-RSA-AES128-GCM-SHA256",
      "ECDHE-ECDSA-AES128-SHA256",
      "ECDHE-RSA-AES128-SHA256",
      "ECDHE-ECDSA-AES128-SHA",
      "ECDHE-RSA-AES128-SHA",
      "ECDHE-ECDSA-AES256-GCM-SHA384",
      "ECDHE-RSA-AES256-GCM-SHA384",
      "ECDHE-ECDSA-AES256-SHA384",
      "ECDHE-RSA-AES256-SHA384",
      "ECDHE-RSA-AES256-SHA",
      "ECDHE-ECDSA-AES256-SHA",
      "AES128-GCM-SHA256",
      "AES128-SHA256",
      "AES128-SHA",
      "AES256-GCM-SHA384",
      "AES256-SHA256",
      "AES256-SHA",
    ]),
    SupportedLoadBalancerTypes: ["application", "network"],
  },
  {
    Name: "ELBSecurityPolicy-TLS13-1-2-2021-06",
    SslProtocols: ["TLSv1.2", "TLSv1.3"],
    Ciphers: ciphers(["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256", ...TLS12_CIPHERS]),
    SupportedLoadBalancerTypes: ["application", "network"],
  },
];

export function sslPolicyHandlers(): OperationHandlers<Elbv2Operations> {
  return {
    DescribeSSLPolicies: async (input): Promise<DescribeSSLPoliciesOutput> => {
      const names = input.Names ?? [];
      if (input.LoadBalancerType !== undefined && !["application", "network", "gateway"].includes(input.LoadBalancerType)) {
        throw validationError(`Load balancer type '${String(input.LoadBalancerType).slice(0, 32)}' is not valid`);
      }
      const missing = names.find((name) => !SSL_POLICIES.some((policy) => policy.Name === name));
      if (missing !== undefined) throw sslPolicyNotFound(missing.slice(0, 64));
      const wanted = SSL_POLICIES.filter(
        (policy) =>
          (names.length === 0 || names.includes(policy.Name ?? "")) &&
          (input.LoadBalancerType === undefined || (policy.SupportedLoadBalancerTypes ?? []).includes(input.LoadBalancerType)),
      );
      const { items, nextMarker } = page(wanted, input.Marker, input.PageSize);
      return { SslPolicies: items, NextMarker: nextMarker };
    },
  };
}
