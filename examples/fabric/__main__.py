"""A Fabric on its own: two AWS regions and an Azure VNet. The Fabric builds an AwsGateway per AWS
region, an AzureGateway, a PeeringLink (Transit Gateway peering) between the AWS regions and a
VpnLink from each AWS region to Azure, and wires them: each AWS region routes the other gateways'
cidrs to its Transit Gateway, the Azure gateway lists every tunnel's APIPA address.

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI and both clouds'
credentials, ``pulumi preview``.
"""

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native

from components.network.fabric import Fabric

AWS = {"eu-west-1": "10.10.0.0/16", "eu-central-1": "10.11.0.0/16"}
AZURE_REGION, AZURE_CIDR = "westeurope", "10.30.0.0/16"

azure = azure_native.Provider("azure")
rg = azure_native.resources.ResourceGroup("shop-rg", location=AZURE_REGION, opts=pulumi.ResourceOptions(provider=azure))
vnet = azure_native.network.VirtualNetwork(
    "shop-vnet", resource_group_name=rg.name, location=AZURE_REGION,
    address_space=azure_native.network.AddressSpaceArgs(address_prefixes=[AZURE_CIDR]), opts=pulumi.ResourceOptions(provider=azure),
)

gateways = []
for region, cidr in AWS.items():
    provider = aws.Provider(f"aws-{region}", region=region)
    on = pulumi.ResourceOptions(provider=provider)
    vpc = aws.ec2.Vpc(f"shop-{region}", cidr_block=cidr, opts=on)
    subnets = [aws.ec2.Subnet(f"shop-{region}-{z}", vpc_id=vpc.id, availability_zone=f"{region}{z}",
                              cidr_block=cidr.replace(".0.0/16", f".{i * 16}.0/20"), opts=on) for i, z in enumerate("ab")]
    table = aws.ec2.RouteTable(f"shop-{region}-private", vpc_id=vpc.id, opts=on)
    gateways.append({
        "key": f"aws/{region}", "region": region, "cidrs": [cidr], "aws_provider": provider,
        "aws": {"asn": 64610 + len(gateways),
                "vpcs": [{"name": f"shop-{region}", "vpc_id": vpc.id, "subnet_ids": [s.id for s in subnets],
                          "route_table_ids": [table.id]}]},
    })
gateways.append({
    "key": f"azure/{AZURE_REGION}", "region": AZURE_REGION, "cidrs": [AZURE_CIDR], "azure_provider": azure,
    "azure": {"asn": 64620, "location": AZURE_REGION, "resource_group_name": rg.name, "resource_group_id": rg.id,
              "virtual_network_name": vnet.name, "gateway_subnet_cidr": "10.30.255.0/27"},
})

fabric = Fabric("shop-fabric", {
    "gateways": gateways,  # type: ignore[typeddict-item]
    "links": [
        {"a": "aws/eu-west-1", "b": "aws/eu-central-1"},
        # Links to Azure take their /30s from 169.254.21.0-169.254.22.255 (Azure's APIPA range).
        {"a": "aws/eu-west-1", "b": f"azure/{AZURE_REGION}",
         "tunnel_cidrs": ["169.254.21.0/30", "169.254.21.4/30", "169.254.21.8/30", "169.254.21.12/30"]},
        {"a": "aws/eu-central-1", "b": f"azure/{AZURE_REGION}",
         "tunnel_cidrs": ["169.254.21.32/30", "169.254.21.36/30", "169.254.21.40/30", "169.254.21.44/30"]},
    ],
})

pulumi.export("gatewayAsns", fabric.gateway_asns)
pulumi.export("linkKinds", fabric.link_kinds)
pulumi.export("tunnelCidrs", fabric.tunnel_cidrs)
