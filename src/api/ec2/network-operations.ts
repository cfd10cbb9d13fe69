// The VPC, subnet, network interface, tag and account-attribute operations bound to the store and
// clock, as the EC2 module (index.ts) spreads them into its operation table.
import type * as ec2Sdk from "@aws-sdk/client-ec2";
import type { RequestContext } from "../service-module.js";
import { describeNetworkInterfaces, modifyNetworkInterfaceAttribute } from "./network-interfaces.js";
import { createSubnet, deleteSubnet, describeSubnets, modifySubnetAttribute } from "./subnets.js";
import { createTags, deleteTags, describeTags } from "./tags.js";
import type { Ec2NetworkOperationsOptions } from "./vpcs.js";
import { createVpc, deleteVpc, describeAccountAttributes, describeVpcs } from "./vpcs.js";

export function networkOperations(options: Ec2NetworkOperationsOptions) {
  return {
    DescribeVpcs: (input: ec2Sdk.DescribeVpcsRequest) => describeVpcs(options, input),
    CreateVpc: (input: ec2Sdk.CreateVpcRequest, context: RequestContext) => createVpc(options, input, context),
    DeleteVpc: (input: ec2Sdk.DeleteVpcRequest) => deleteVpc(options, input),
    DescribeSubnets: (input: ec2Sdk.DescribeSubnetsRequest, context: RequestContext) => describeSubnets(options, input, context),
    CreateSubnet: (input: ec2Sdk.CreateSubnetRequest, context: RequestContext) => createSubnet(options, input, context),
    DeleteSubnet: (input: ec2Sdk.DeleteSubnetRequest) => deleteSubnet(options, input),
    ModifySubnetAttribute: (input: ec2Sdk.ModifySubnetAttributeRequest) => modifySubnetAttribute(options, input),
    DescribeAccountAttributes: (input: ec2Sdk.DescribeAccountAttributesRequest) => describeAccountAttributes(options, input),
    DescribeNetworkInterfaces: (input: ec2Sdk.DescribeNetworkInterfacesRequest) => describeNetworkInterfaces(options, input),
    ModifyNetworkInterfaceAttribute: (input: ec2Sdk.ModifyNetworkInterfaceAttributeRequest) => modifyNetworkInterfaceAttribute(options, input),
    CreateTags: (input: ec2Sdk.CreateTagsRequest) => createTags(options, input),
    DeleteTags: (input: ec2Sdk.DeleteTagsRequest) => deleteTags(options, input),
    DescribeTags: (input: ec2Sdk.DescribeTagsRequest) => describeTags(options, input),
  };
}
