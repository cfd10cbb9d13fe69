// EC2 security groups and their rules. Schema: ec2-network-migration.ts.

export interface SecurityGroupsTable {
  group_id: string;
  vpc_id: string;
  owner_id: string;
  group_name: string;
  description: string;
  created_at: number;
}

export interface SecurityGroupRulesTable {
  rule_id: string;
  group_id: string;
  /** 0/1 */
  is_egress: number;
  /** '-1' | 'tcp' | 'udp' | 'icmp' */
  ip_protocol: string;
  /** -1 for all ports / any ICMP type, as EC2 reports them. */
  from_port: number;
  to_port: number;
  /** Exactly one of cidr_ipv4 and referenced_group_id is set. */
  cidr_ipv4: string | null;
  referenced_group_id: string | null;
  description: string | null;
  created_at: number;
}

export interface SecurityGroupsTables {
  security_groups: SecurityGroupsTable;
  security_group_rules: SecurityGroupRulesTable;
}
