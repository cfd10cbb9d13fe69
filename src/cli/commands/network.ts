// `berth network`: prints the default VPC, its subnets (id, AZ, CIDR) and its default security
// group, one per line, as the server's EC2 store holds them now (subnets created in the default VPC
// included), asking with a SigV4-signed request made from the usual AWS credential sources
// (environment, shared credentials/config files with AWS_PROFILE, …). An account whose default VPC
// was deleted has none (AWS does not make it again either): it says so and how to go on.
import { clientTls } from "../client-tls.js";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { NO_DEFAULT_VPC_CODE } from "../../api/network-service.js";
import { describeDefaultNetwork, NetworkServiceError } from "../default-network-client.js";
import { parseCommandLine } from "../command-line.js";

const USAGE =
  "usage: berth network [--endpoint URL] [--region REGION] [--ca-bundle FILE] [--data-dir DIR]\n  --endpoint   the Berth server (default http://127.0.0.1:8470)\n  --region     signing region (default $AWS_REGION or us-east-1)\n" +
  "  --ca-bundle  CA certificate(s) for an https:// endpoint (default $AWS_CA_BUNDLE, else <data-dir>/ca.pem when present)\n  --data-dir   the server's data dir (default /var/lib/berth)";

export async function run(argv: string[]): Promise<number> {
  const parsed = parseCommandLine("network", USAGE, {
    args: argv,
    options: {
      endpoint: { type: "string", default: "http://127.0.0.1:8470" },
      region: { type: "string" },
      "ca-bundle": { type: "string" },
      "data-dir": { type: "string", default: "/var/lib/berth" },
      help: { type: "boolean" },
    },
  });
  if (typeof parsed === "number") return parsed;
  const { values } = parsed;
  const endpoint = new URL(values.endpoint!);
  const region = values.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1";
  let answer;
  try {
    const tls = clientTls({ endpoint: endpoint.toString(), caBundle: values["ca-bundle"], dataDir: values["data-dir"], env: process.env });
    answer = await describeDefaultNetwork({ endpoint: endpoint.toString(), region, credentials: defaultProvider(), fetchInit: tls.fetchInit });
  } catch (error) {
    if (error instanceof NetworkServiceError && error.code === NO_DEFAULT_VPC_CODE) {
      process.stderr.write(
        "berth network: this account has no default VPC (it was deleted, and Berth, like AWS, does not make it again): " +
          "list the VPCs with `aws ec2 describe-vpcs` and their subnets with `aws ec2 describe-subnets`\n",
      );
      return 1;
    }
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
