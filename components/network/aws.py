"""AWS network for one EKS cluster: VPC over 2-3 AZs, private node subnets, public NAT subnets,
pod subnets on a secondary CIDR (VPC CNI custom networking), NAT, and the EKS/ELB/Karpenter tags."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from stacks import ipam
from stacks.spec import ClusterSpec


@dataclass
class AwsNetworkArgs:
    cluster: ClusterSpec
    provider: pulumi.ProviderResource
    nat_per_zone: bool = True  # one NAT gateway per AZ (no cross-AZ dependency); dev may share one


class AwsNetwork(pulumi.ComponentResource):
    vpc_id: pulumi.Output[str]
    private_subnet_ids: list[pulumi.Output[str]]
    public_subnet_ids: list[pulumi.Output[str]]
    pod_subnet_ids: list[pulumi.Output[str]]

    def __init__(self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:network:AwsNetwork", name, None, opts)
        c = args.cluster
        net = c.network
        zones = list(c.zones)
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        cluster_tag = {f"kubernetes.io/cluster/{c.name}": "shared"}

        vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=str(net.vpc),
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"{c.name}-vpc", **cluster_tag},
            opts=child,
        )
        pods_cidr = aws.ec2.VpcIpv4CidrBlockAssociation(
            f"{name}-pods-cidr", vpc_id=vpc.id, cidr_block=str(net.pods), opts=child
        )
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags={"Name": f"{c.name}-igw"}, opts=child)

        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={"Name": f"{c.name}-public"},
            opts=child,
        )

        public, private, pods, nats, tables = [], [], [], [], []
        for i, (zone, pub_cidr) in enumerate(zip(zones, ipam.public_subnets(net.vpc, len(zones)))):
            sn = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=vpc.id,
                cidr_block=str(pub_cidr),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": f"{c.name}-public-{zone}", "kubernetes.io/role/elb": "1", **cluster_tag},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-public-{zone}", subnet_id=sn.id, route_table_id=public_rt.id, opts=child)
            public.append(sn)
            if args.nat_per_zone or i == 0:
                eip = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc", tags={"Name": f"{c.name}-nat-{zone}"}, opts=child)
                nats.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{zone}",
                        allocation_id=eip.id,
                        subnet_id=sn.id,
                        tags={"Name": f"{c.name}-nat-{zone}"},
                        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[igw])),
                    )
                )

        for i, (zone, node_cidr, pod_cidr) in enumerate(
            zip(zones, ipam.private_subnets(net.vpc, len(zones)), ipam.pod_subnets(net.pods, len(zones)))
        ):
            nat = nats[i] if args.nat_per_zone else nats[0]
            # Routes are separate resources (no inline ``routes``): the fabric adds its own to
            # these tables, and a table that owned inline routes would delete them on its next update.
            rt = aws.ec2.RouteTable(f"{name}-private-{zone}", vpc_id=vpc.id, tags={"Name": f"{c.name}-private-{zone}"}, opts=child)
            aws.ec2.Route(f"{name}-private-{zone}-default", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0",
                          nat_gateway_id=nat.id, opts=child)
            tables.append(rt)
            sn = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=vpc.id,
                cidr_block=str(node_cidr),
                availability_zone=zone,
                tags={
                    "Name": f"{c.name}-private-{zone}",
                    "kubernetes.io/role/internal-elb": "1",
                    "karpenter.sh/discovery": c.name,
                    **cluster_tag,
                },
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-private-{zone}", subnet_id=sn.id, route_table_id=rt.id, opts=child)
            private.append(sn)
            psn = aws.ec2.Subnet(
                f"{name}-pods-{zone}",
                vpc_id=pods_cidr.vpc_id,
                cidr_block=str(pod_cidr),
                availability_zone=zone,
                tags={"Name": f"{c.name}-pods-{zone}", "archipelago/purpose": "pods", **cluster_tag},
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[pods_cidr])),
            )
            aws.ec2.RouteTableAssociation(f"{name}-pods-{zone}", subnet_id=psn.id, route_table_id=rt.id, opts=child)
            pods.append(psn)

        self.vpc_id = vpc.id
        self.private_subnet_ids = [s.id for s in private]
        self.public_subnet_ids = [s.id for s in public]
        self.pod_subnet_ids = [s.id for s in pods]
        self.pod_subnet_zones = zones
        self.private_route_table_ids = [t.id for t in tables]
        self.register_outputs(
            {"vpcId": self.vpc_id, "privateSubnetIds": self.private_subnet_ids, "podSubnetIds": self.pod_subnet_ids}
        )
