"""AwsGateway, GcpGateway and the VpnLink between them, on their own: an AWS VPC and a GCP VPC
joined by four IPsec tunnels with BGP (GCP HA VPN's 99.99% topology), each side reaching the other.

Each piece takes the previous ones' outputs, as a program in any language would. Planned under the
mock engine by tests/test_package.py; with the Pulumi CLI and both clouds' credentials,
``pulumi config set project <id> && pulumi preview``.
"""

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp

from components.network.fabric import AwsGateway, GcpGateway, VpnLink

AWS_REGION, GCP_REGION = "eu-west-1", "europe-west1"
AWS_CIDR, GCP_CIDR = "10.10.0.0/16", "10.20.0.0/20"
AWS_ASN, GCP_ASN = 64601, 64602
project = pulumi.Config().get("project") or "shop-example"

aws_provider = aws.Provider("aws", region=AWS_REGION)
gcp_provider = gcp.Provider("gcp", project=project, region=GCP_REGION)
on_aws, on_gcp = pulumi.ResourceOptions(provider=aws_provider), pulumi.ResourceOptions(provider=gcp_provider)

vpc = aws.ec2.Vpc("shop-vpc", cidr_block=AWS_CIDR, opts=on_aws)
subnets = [aws.ec2.Subnet(f"shop-private-{zone}", vpc_id=vpc.id, availability_zone=zone, cidr_block=f"10.10.{i * 16}.0/20", opts=on_aws)
           for i, zone in enumerate([f"{AWS_REGION}a", f"{AWS_REGION}b"])]
table = aws.ec2.RouteTable("shop-private", vpc_id=vpc.id, opts=on_aws)
net = gcp.compute.Network("shop-net", name="shop", auto_create_subnetworks=False, opts=on_gcp)
gcp.compute.Subnetwork("shop-subnet", name="shop", network=net.id, region=GCP_REGION, ip_cidr_range=GCP_CIDR, opts=on_gcp)

tgw = AwsGateway("shop-aws", {
    "asn": AWS_ASN,
    "vpcs": [{"name": "shop", "vpc_id": vpc.id, "subnet_ids": [s.id for s in subnets], "route_table_ids": [table.id]}],
    "remote_cidrs": [GCP_CIDR],
}, pulumi.ResourceOptions(providers=[aws_provider]))

hub = GcpGateway("shop-gcp", {"asn": GCP_ASN, "region": GCP_REGION, "network_id": net.id},
                 pulumi.ResourceOptions(providers=[gcp_provider]))

link = VpnLink("shop-link", {
    "aws": {"asn": AWS_ASN, "transit_gateway_id": tgw.transit_gateway_id},
    "gcp": {"asn": GCP_ASN, "region": GCP_REGION, "ha_vpn_gateway_id": hub.ha_vpn_gateway_id, "router_id": hub.router_id,
            "router_name": hub.router_name, "interface_ips": [hub.interface_ips.apply(lambda ips, i=i: ips[i]) for i in (0, 1)]},
    # Four /30s of one link-local /27: the AWS side takes each one's first address, GCP the second.
    "tunnel_cidrs": ["169.254.100.0/30", "169.254.100.4/30", "169.254.100.8/30", "169.254.100.12/30"],
}, pulumi.ResourceOptions(providers=[aws_provider, gcp_provider]))

pulumi.export("transitGatewayId", tgw.transit_gateway_id)
pulumi.export("gcpInterfaceIps", hub.interface_ips)
pulumi.export("tunnelCidrs", link.tunnel_cidrs)
