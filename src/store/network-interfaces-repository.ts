// Elastic network interfaces (a task's ENI) and their security groups.
// Schema: ec2-network-migration.ts.

export interface NetworkInterfacesTable {
  eni_id: string;
  vpc_id: string;
  subnet_id: string;
  availability_zone: string;
  owner_id: string;
  private_ipv4: string;
  mac_address: string;
  description: string;
  interface_type: string;
  /** 'in-use' | 'available' */
  status: string;
  requester_id: string;
  /** 0/1 */
  requester_managed: number;
  attachment_id: string;
  task_arn: string | null;
  host_id: string | null;
  public_ipv4: string | null;
  created_at: number;
}

export interface NetworkInterfaceGroupsTable {
  eni_id: string;
  group_id: string;
  /** The group's place in the ENI's list (0-based), as the caller gave them. */
  position: number;
}

export interface NetworkInterfacesTables {
  network_interfaces: NetworkInterfacesTable;
  network_interface_groups: NetworkInterfaceGroupsTable;
}
