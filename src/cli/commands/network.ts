// `berth network`: prints the default VPC, its subnets (id, AZ, CIDR) and security groups, one per
// line, asking the server with a SigV4-signed request made from the usual AWS credential sources
// (environment, shared credentials/config files with AWS_PROFILE, …).
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { describeDefaultNetwork } from "../default-network-client.js";
import { parseCommandLine } from "../command-line.js";

const USAGE = "usage: berth network [--endpoint URL] [--region REGION]\n  --endpoint  the Berth server (default http://127.0.0.1:8470)\n  --region    signing region (default $AWS_REGION or us-east-1)";

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("network", USAGE, { args: argv, options: { endpoint: { type: "string", default: "http://127.0.0.1:8470" }, region: { type: "string" }, help: { type: "boolean" } } });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  const endpoint = new URL(values.endpoint!);
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
  let answer;
  try {
    answer = await describeDefaultNetwork({ endpoint: endpoint.toString(), region, credentials: defaultProvider() });
  } catch (error) {
    process.stderr.write(`berth network: ${(error as Error).message}\n`);
    return 1;
  }
  const lines = [
    `vpc\t${answer.vpc.vpcId}\t${answer.vpc.cidrBlock}\tdefault`,
    ...answer.subnets.map((subnet) => `subnet\t${subnet.subnetId}\t${subnet.availabilityZone}\t${subnet.cidrBlock}`),
    ...answer.securityGroups.map((group) => `security-group\t${group.groupId}\t${group.groupName}\t${group.vpcId}`),
  ];
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}
