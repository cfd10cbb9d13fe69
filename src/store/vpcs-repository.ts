// EC2 VPCs, their subnets and EC2 tags (the ec2_tags table holds the tags of every EC2 resource:
// vpc, subnet, sg, sgr, eni). Rows and column encodings stay here; callers see records.
// Schema: ec2-network-migration.ts.

export interface VpcsTable {
  vpc_id: string;
  owner_id: string;
  cidr_block: string;
  /** 0/1 */
  is_default: number;
  state: string;
  /** VXLAN network identifier, 1..16777215, unique. */
  vni: number;
  instance_tenancy: string;
  created_at: number;
}

export interface SubnetsTable {
  subnet_id: string;
  vpc_id: string;
  owner_id: string;
  cidr_block: string;
  availability_zone: string;
  /** 0/1 */
  default_for_az: number;
  /** 0/1 */
  map_public_ip_on_launch: number;
  state: string;
  created_at: number;
}

export interface Ec2TagsTable {
  resource_id: string;
  key: string;
  value: string;
}

export interface VpcsTables {
  vpcs: VpcsTable;
  subnets: SubnetsTable;
  ec2_tags: Ec2TagsTable;
}
