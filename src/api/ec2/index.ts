// The EC2 service module (AWS query protocol, ec2 flavour, API version 2016-11-15, signing name
// "ec2"). One file per resource exports its handlers; this file only gathers them.
//
// To add operations: write them in a file of this folder (vpcs.ts, subnets.ts, security-groups.ts,
// …) as `(input: <Op>Request, context: RequestContext) => Promise<<Op>Result>` (bound to whatever
// state they need by a `<resource>Operations(options)` factory), and spread that object into
// `handlers` below. jsonOperations checks each handler's input and answer against the SDK's types;
// the gateway decodes requests and encodes answers with the SDK's own schemas.
import * as ec2Sdk from "@aws-sdk/client-ec2";
import type { QueryServiceModule, SdkOperations } from "../service-module.js";
import { jsonOperations } from "../service-module.js";
import { describeAvailabilityZones } from "./availability-zones.js";
import { networkOperations } from "./network-operations.js";
import type { SecurityGroupOperationsOptions } from "./security-group-operations.js";
import { securityGroupOperations } from "./security-group-operations.js";

/** EC2's operations by name, with the request and response shapes of the SDK in package.json. */
export type Ec2Operations = SdkOperations<typeof ec2Sdk>;

export const EC2_API_VERSION = "2016-11-15";

/** What the operations that keep state need: the store and the clock. */
export type Ec2ServiceOptions = SecurityGroupOperationsOptions;

/** The EC2 module; without options only the stateless operations (DescribeAvailabilityZones) are offered. */
export function createEc2Service(options?: Ec2ServiceOptions): QueryServiceModule {
  return {
    protocol: "ec2",
    signingName: "ec2",
    apiVersion: EC2_API_VERSION,
    xmlNamespace: `http://ec2.amazonaws.com/doc/${EC2_API_VERSION}/`,
    schemas: ec2Sdk as unknown as Record<string, unknown>,
    operations: jsonOperations<Ec2Operations>()({
      DescribeAvailabilityZones: describeAvailabilityZones,
      ...(options ? securityGroupOperations(options) : {}),
      ...(options ? networkOperations(options) : {}),
    }),
  };
}
