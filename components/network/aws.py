"""AWS network for one EKS cluster: VPC over 2-3 AZs, private node subnets, public NAT subnets,
pod subnets on a secondary CIDR (VPC CNI custom networking), NAT, and the EKS/ELB/Karpenter tags."""

# No `from __future__ import annotations`: the package analyzer reads the args' annotations as objects.

from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.declared import register_declared_outputs
from components.network.cidrs import cidr, disjoint, inside, per_zone, zone_list
from components.tokens import component_type, renamed_from
from stacks import ipam

if TYPE_CHECKING:
    from stacks.spec import ClusterSpec, FleetSpec

# The block sizes a VPC (primary or secondary CIDR) and a subnet may have: /16 to /28
# (https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html, "VPC CIDR blocks";
# subnet-sizing.html for subnets).
LARGEST, SMALLEST = 16, 28
# The default carving (stacks/ipam.py) has three node quarters: more zones need explicit subnets.
DEFAULT_MAX_ZONES = 3


class AwsNetworkArgs(TypedDict):
    """Inputs of an AwsNetwork: the VPC's ranges, its zones, how its subnets are carved, and NAT."""

    vpc_cidr: str
    """Primary IPv4 CIDR of the VPC, /16 to /28, e.g. 10.10.0.0/16. Nodes, NAT and load balancers
    take addresses from it."""
    zones: list[str]
    """Availability zones, e.g. [eu-west-1a, eu-west-1b]: one public, one private and (with
    podCidr) one pod subnet each. At most 3 unless the subnets are given explicitly."""
    cluster_name: NotRequired[str]
    """Name of the EKS cluster that will use this network: the subnets carry
    kubernetes.io/cluster/<name> and karpenter.sh/discovery=<name>, and the Name tags start with
    it. Default: the component's name."""
    pod_cidr: NotRequired[str]
    """Secondary VPC CIDR for pod addresses (VPC CNI custom networking), /16 to /28, e.g.
    100.64.0.0/16; must not overlap vpcCidr. Default: none, no pod subnets (pods take node-subnet
    addresses)."""
    private_subnet_cidrs: NotRequired[list[str]]
    """Node subnet per zone (in the zones' order), inside vpcCidr. Default: the VPC's first three
    quarters, one quarter per zone."""
    public_subnet_cidrs: NotRequired[list[str]]
    """Public subnet per zone (NAT gateways, internet-facing load balancers), inside vpcCidr.
    Default: the first sixteenths of the VPC's last quarter."""
    pod_subnet_cidrs: NotRequired[list[str]]
    """Pod subnet per zone, inside podCidr (only with podCidr). Default: podCidr's quarters, one per zone."""
    nat_per_zone: NotRequired[bool]
    """One NAT gateway per zone, so no zone's egress depends on another; false shares the first
    zone's (cheaper, for non-production). Default: true."""


def _check(args: AwsNetworkArgs) -> tuple[list[str], list[ipam.Net], list[ipam.Net], list[ipam.Net]]:
    """The zones and the (private, public, pod) subnets, checked."""
    zones = zone_list(args["zones"])
    vpc = cidr("vpcCidr", args["vpc_cidr"], smallest=SMALLEST, largest=LARGEST)
    explicit = "private_subnet_cidrs" in args and "public_subnet_cidrs" in args
    if len(zones) > DEFAULT_MAX_ZONES and not explicit:
        raise ValueError(f"zones: {len(zones)} zones need privateSubnetCidrs and publicSubnetCidrs (the default carving has {DEFAULT_MAX_ZONES})")
    limits = {"smallest": SMALLEST, "largest": LARGEST}
    private = per_zone("privateSubnetCidrs", args.get("private_subnet_cidrs") or [str(n) for n in ipam.private_subnets(vpc, len(zones))],
                       zones, **limits)
    public = per_zone("publicSubnetCidrs", args.get("public_subnet_cidrs") or [str(n) for n in ipam.public_subnets(vpc, len(zones))],
                      zones, **limits)
    ranges = [(f"privateSubnetCidrs[{i}]", n) for i, n in enumerate(private)] + [(f"publicSubnetCidrs[{i}]", n) for i, n in enumerate(public)]
    for f, n in ranges:
        inside(f, n, vpc, "vpcCidr")
    pods: list[ipam.Net] = []
    if "pod_cidr" in args:
        pod = cidr("podCidr", args["pod_cidr"], smallest=SMALLEST, largest=LARGEST)
        disjoint([("vpcCidr", vpc), ("podCidr", pod)])
        pods = per_zone("podSubnetCidrs", args.get("pod_subnet_cidrs") or [str(n) for n in ipam.pod_subnets(pod, len(zones))], zones, **limits)
        pod_ranges = [(f"podSubnetCidrs[{i}]", n) for i, n in enumerate(pods)]
        for f, n in pod_ranges:
            inside(f, n, pod, "podCidr")
        ranges += pod_ranges
    elif "pod_subnet_cidrs" in args:
        raise ValueError("podSubnetCidrs: given without podCidr")
    disjoint(ranges)
    return zones, private, public, pods


class AwsNetwork(pulumi.ComponentResource):
    """A VPC for one EKS cluster: per zone a public subnet (NAT gateway, tagged for internet-facing
    load balancers), a private node subnet (tagged for internal load balancers and Karpenter
    discovery) with its own route table, and optionally a pod subnet on a secondary CIDR; an
    internet gateway; NAT per zone or shared. Routes are separate resources, so other programs may
    add their own to the private route tables."""

    vpc_id: pulumi.Output[str]
    """ID of the VPC."""
    private_subnet_ids: pulumi.Output[list[str]]
    """Node subnets, one per zone in the zones' order (for the cluster's control plane and nodes)."""
    public_subnet_ids: pulumi.Output[list[str]]
    """Public subnets, one per zone in the zones' order."""
    pod_subnet_ids: pulumi.Output[list[str]]
    """Pod subnets, one per zone in the zones' order; empty without podCidr."""
    private_route_table_ids: pulumi.Output[list[str]]
    """Route table of each zone's private (and pod) subnet, in the zones' order."""
    nat_gateway_ids: pulumi.Output[list[str]]
    """NAT gateways: one per zone, or one with natPerZone false."""

    def __init__(self, name: str, args: AwsNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(AwsNetwork), name, None, renamed_from("archipelago:network:AwsNetwork", opts))
        zones, private_cidrs, public_cidrs, pod_cidrs = _check(args)
        cname = args.get("cluster_name") or name
        nat_per_zone = args.get("nat_per_zone", True)
        child = pulumi.ResourceOptions(parent=self)
        cluster_tag = {f"kubernetes.io/cluster/{cname}": "shared"}

        self.vpc = aws.ec2.Vpc(
            f"{name}-vpc",
            cidr_block=args["vpc_cidr"],
            enable_dns_hostnames=True,
            enable_dns_support=True,
            tags={"Name": f"{cname}-vpc", **cluster_tag},
            opts=child,
        )
        pods_cidr = aws.ec2.VpcIpv4CidrBlockAssociation(
            f"{name}-pods-cidr", vpc_id=self.vpc.id, cidr_block=args.get("pod_cidr"), opts=child
        ) if pod_cidrs else None
        igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=self.vpc.id, tags={"Name": f"{cname}-igw"}, opts=child)

        public_rt = aws.ec2.RouteTable(
            f"{name}-public-rt",
            vpc_id=self.vpc.id,
            routes=[aws.ec2.RouteTableRouteArgs(cidr_block="0.0.0.0/0", gateway_id=igw.id)],
            tags={"Name": f"{cname}-public"},
            opts=child,
        )

        # Python handles (resource objects): the subnets and route tables, zone by zone.
        self.public_subnets: list[aws.ec2.Subnet] = []
        self.private_subnets: list[aws.ec2.Subnet] = []
        self.private_route_tables: list[aws.ec2.RouteTable] = []
        self.pod_subnets: dict[str, aws.ec2.Subnet] = {}
        # Python only (not declared outputs): the private subnets' way out (default routes to NAT,
        # table associations), which a build in them needs to reach GitHub and cloud APIs, and
        # the NAT gateways' public addresses, what the internet sees of this VPC.
        self.egress: list[pulumi.Resource] = []
        self.egress_ips: list[pulumi.Output[str]] = []
        nats = self._public_side(name, cname, zones, public_cidrs, nat_per_zone, igw, public_rt, cluster_tag)
        self._private_side(name, cname, zones, private_cidrs, pod_cidrs, nats, nat_per_zone, pods_cidr, cluster_tag)

        self.vpc_id = self.vpc.id
        self.private_subnet_ids = _ids(self.private_subnets)
        self.public_subnet_ids = _ids(self.public_subnets)
        self.pod_subnet_ids = _ids(list(self.pod_subnets.values()))
        self.private_route_table_ids = _ids(self.private_route_tables)
        self.nat_gateway_ids = _ids(nats)
        register_declared_outputs(self)

    def _public_side(self, name: str, cname: str, zones: list[str], public_cidrs: list[Any], nat_per_zone: bool,
                     igw: aws.ec2.InternetGateway, public_rt: aws.ec2.RouteTable, cluster_tag: dict[str, str]) -> list[aws.ec2.NatGateway]:
        """Public subnets (load balancers) and the NAT gateways in them, one per zone or one in all."""
        child = pulumi.ResourceOptions(parent=self)
        nats: list[aws.ec2.NatGateway] = []
        for i, (zone, pub_cidr) in enumerate(zip(zones, public_cidrs)):
            sn = aws.ec2.Subnet(
                f"{name}-public-{zone}",
                vpc_id=self.vpc.id,
                cidr_block=str(pub_cidr),
                availability_zone=zone,
                map_public_ip_on_launch=False,
                tags={"Name": f"{cname}-public-{zone}", "kubernetes.io/role/elb": "1", **cluster_tag},
                opts=child,
            )
            aws.ec2.RouteTableAssociation(f"{name}-public-{zone}", subnet_id=sn.id, route_table_id=public_rt.id, opts=child)
            self.public_subnets.append(sn)
            if nat_per_zone or i == 0:
                eip = aws.ec2.Eip(f"{name}-nat-{zone}", domain="vpc", tags={"Name": f"{cname}-nat-{zone}"}, opts=child)
                self.egress_ips.append(eip.public_ip)
                nats.append(
                    aws.ec2.NatGateway(
                        f"{name}-nat-{zone}",
                        allocation_id=eip.id,
                        subnet_id=sn.id,
                        tags={"Name": f"{cname}-nat-{zone}"},
                        opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[igw])),
                    )
                )

        return nats

    def _private_side(self, name: str, cname: str, zones: list[str], private_cidrs: list[Any], pod_cidrs: list[Any],
                      nats: list[aws.ec2.NatGateway], nat_per_zone: bool,
                      pods_cidr: aws.ec2.VpcIpv4CidrBlockAssociation | None, cluster_tag: dict[str, str]) -> None:
        """Per zone: the private route table with its default route to NAT, the node subnet and,
        with a pod range, the pod subnet on the same table."""
        child = pulumi.ResourceOptions(parent=self)
        for i, (zone, node_cidr) in enumerate(zip(zones, private_cidrs)):
            nat = nats[i] if nat_per_zone else nats[0]
            # Routes are separate resources (no inline ``routes``): the fabric adds its own to
            # these tables, and a table that owned inline routes would delete them on its next update.
            rt = aws.ec2.RouteTable(f"{name}-private-{zone}", vpc_id=self.vpc.id, tags={"Name": f"{cname}-private-{zone}"}, opts=child)
            self.egress.append(aws.ec2.Route(f"{name}-private-{zone}-default", route_table_id=rt.id, destination_cidr_block="0.0.0.0/0",
                                             nat_gateway_id=nat.id, opts=child))
            self.private_route_tables.append(rt)
            sn = aws.ec2.Subnet(
                f"{name}-private-{zone}",
                vpc_id=self.vpc.id,
                cidr_block=str(node_cidr),
                availability_zone=zone,
                tags={
                    "Name": f"{cname}-private-{zone}",
                    "kubernetes.io/role/internal-elb": "1",
                    "karpenter.sh/discovery": cname,
                    **cluster_tag,
                },
                opts=child,
            )
            self.egress.append(aws.ec2.RouteTableAssociation(f"{name}-private-{zone}", subnet_id=sn.id, route_table_id=rt.id, opts=child))
            self.private_subnets.append(sn)
            if pods_cidr is None:
                continue
            psn = aws.ec2.Subnet(
                f"{name}-pods-{zone}",
                vpc_id=pods_cidr.vpc_id,
                cidr_block=str(pod_cidrs[i]),
                availability_zone=zone,
                tags={"Name": f"{cname}-pods-{zone}", "archipelago/purpose": "pods", **cluster_tag},
                opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[pods_cidr])),
            )
            aws.ec2.RouteTableAssociation(f"{name}-pods-{zone}", subnet_id=psn.id, route_table_id=rt.id, opts=child)
            self.pod_subnets[zone] = psn


def _ids(resources: "list[aws.ec2.Subnet] | list[aws.ec2.RouteTable] | list[aws.ec2.NatGateway]") -> pulumi.Output[list[str]]:
    return pulumi.Output.all(*[r.id for r in resources])


def aws_network_args(cluster: "ClusterSpec", fleet: "FleetSpec") -> AwsNetworkArgs:
    """The fleet's cluster as an AwsNetwork's args: its address plan (stacks/ipam.py) carved per
    zone, NAT per zone unless the baseline shares one."""
    net, n = cluster.network, len(cluster.zones)
    return AwsNetworkArgs(
        vpc_cidr=str(net.vpc),
        zones=list(cluster.zones),
        cluster_name=cluster.name,
        pod_cidr=str(net.pods),
        private_subnet_cidrs=[str(s) for s in ipam.private_subnets(net.vpc, n)],
        public_subnet_cidrs=[str(s) for s in ipam.public_subnets(net.vpc, n)],
        pod_subnet_cidrs=[str(s) for s in ipam.pod_subnets(net.pods, n)],
        nat_per_zone=fleet.baseline.nat_per_zone,
    )
