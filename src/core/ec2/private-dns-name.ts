// EC2's private DNS name of an address (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-dns.html):
// ip-10-0-1-4.ec2.internal in us-east-1, ip-10-0-1-4.<region>.compute.internal elsewhere. The
// control plane shows it in DescribeTasks from placement on; the agent reports the same name.
export function privateDnsName(ipv4: string, region: string): string {
  const host = `ip-${ipv4.replace(/\./g, "-")}`;
  return region === "us-east-1" ? `${host}.ec2.internal` : `${host}.${region}.compute.internal`;
}
