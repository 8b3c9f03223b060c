"""GCP network for one GKE cluster: custom-mode VPC, a VPC-native subnetwork with secondary ranges
for pods and services, Private Google Access, and Cloud Router + Cloud NAT for private nodes."""

# No `from __future__ import annotations`: the package analyzer reads the args' annotations as objects.

import re
from typing import TYPE_CHECKING, NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp

from components.clusters.base import check_choice
from components.declared import register_declared_outputs
from components.network.cidrs import cidr, disjoint
from components.tokens import component_type, renamed_from
from stacks import ipam

if TYPE_CHECKING:
    from stacks.spec import ClusterSpec

PODS_RANGE = "pods"
SERVICES_RANGE = "services"
# Choices the provider documents (pulumi_gcp 10.2.0 compute/_inputs.py: SubnetworkLogConfigArgs,
# RouterNatLogConfigArgs).
FLOW_LOG_INTERVALS = ("INTERVAL_5_SEC", "INTERVAL_30_SEC", "INTERVAL_1_MIN", "INTERVAL_5_MIN", "INTERVAL_10_MIN", "INTERVAL_15_MIN")
FLOW_LOG_METADATA = ("INCLUDE_ALL_METADATA", "EXCLUDE_ALL_METADATA")
NAT_LOG_FILTERS = ("ERRORS_ONLY", "TRANSLATIONS_ONLY", "ALL")
# The smallest subnet primary range (cloud.google.com/vpc/docs/subnets, "IPv4 subnet ranges": /29).
SMALLEST = 29
# Secondary range names are RFC 1035 labels (compute v1 Subnetwork.secondaryIpRanges[].rangeName).
RANGE_NAME = re.compile(r"[a-z]([-a-z0-9]{0,61}[a-z0-9])?")


class GcpNetworkArgs(TypedDict):
    """Inputs of a GcpNetwork: its region, the subnetwork's primary and secondary ranges, flow logs
    and NAT logging."""

    region: str
    """GCP region of the subnetwork, router and NAT, e.g. europe-west1."""
    node_subnet_cidr: str
    """Primary range of the subnetwork (node addresses), /29 or larger, e.g. 10.30.0.0/20."""
    pod_cidr: str
    """Secondary range for pod addresses (VPC-native cluster), e.g. 100.64.0.0/16; must not
    overlap the other ranges."""
    service_cidr: str
    """Secondary range for Service addresses, e.g. 172.20.0.0/20; must not overlap the other ranges."""
    cluster_name: NotRequired[str]
    """Name of the GKE cluster that will use this network: the VPC is <name>-vpc, the subnetwork
    <name>-nodes, the router <name>-router and the NAT <name>-nat. Default: the component's name."""
    pods_range_name: NotRequired[str]
    """Name of the pod secondary range (an RFC 1035 label; the cluster refers to it). Default: pods."""
    services_range_name: NotRequired[str]
    """Name of the Service secondary range (an RFC 1035 label). Default: services."""
    flow_logs: NotRequired[bool]
    """VPC Flow Logs on the subnetwork. Default: true."""
    flow_log_interval: NotRequired[str]
    """Aggregation interval of the flow logs: INTERVAL_5_SEC, INTERVAL_30_SEC, INTERVAL_1_MIN,
    INTERVAL_5_MIN, INTERVAL_10_MIN or INTERVAL_15_MIN. Default: INTERVAL_5_SEC."""
    flow_log_sampling: NotRequired[float]
    """Share of flows reported, above 0 and at most 1. Default: 0.5."""
    flow_log_metadata: NotRequired[str]
    """INCLUDE_ALL_METADATA or EXCLUDE_ALL_METADATA in the flow logs. Default: INCLUDE_ALL_METADATA."""
    nat_log_filter: NotRequired[str]
    """What Cloud NAT logs: ERRORS_ONLY, TRANSLATIONS_ONLY or ALL. Default: ERRORS_ONLY."""


def _check(args: GcpNetworkArgs) -> None:
    ranges = [("nodeSubnetCidr", cidr("nodeSubnetCidr", args["node_subnet_cidr"], smallest=SMALLEST)),
              ("podCidr", cidr("podCidr", args["pod_cidr"])), ("serviceCidr", cidr("serviceCidr", args["service_cidr"]))]
    disjoint(ranges)
    names = {f: args.get(k, default) for f, k, default in (("podsRangeName", "pods_range_name", PODS_RANGE),
                                                           ("servicesRangeName", "services_range_name", SERVICES_RANGE))}
    for field, value in names.items():
        if not RANGE_NAME.fullmatch(value):
            raise ValueError(f"{field}: {value!r} is not an RFC 1035 label (lowercase letters, digits, '-', at most 63)")
    if len(set(names.values())) < len(names):
        raise ValueError(f"servicesRangeName: {names['servicesRangeName']!r} is also podsRangeName")
    check_choice("flowLogInterval", args.get("flow_log_interval", "INTERVAL_5_SEC"), FLOW_LOG_INTERVALS)
    check_choice("flowLogMetadata", args.get("flow_log_metadata", "INCLUDE_ALL_METADATA"), FLOW_LOG_METADATA)
    check_choice("natLogFilter", args.get("nat_log_filter", "ERRORS_ONLY"), NAT_LOG_FILTERS)
    sampling = args.get("flow_log_sampling", 0.5)
    if not 0 < sampling <= 1:
        raise ValueError(f"flowLogSampling: {sampling} is not above 0 and at most 1")


class GcpNetwork(pulumi.ComponentResource):
    """A custom-mode VPC network for one GKE cluster: a regional subnetwork with Private Google
    Access, secondary ranges for pods and Services (VPC-native), flow logs, and a Cloud Router with
    Cloud NAT so private nodes reach the internet."""

    network_id: pulumi.Output[str]
    """ID of the VPC network."""
    network_name: pulumi.Output[str]
    """Name of the VPC network."""
    subnetwork_id: pulumi.Output[str]
    """ID of the subnetwork."""
    subnetwork_name: pulumi.Output[str]
    """Name of the subnetwork."""
    pods_range_name: pulumi.Output[str]
    """Name of the pod secondary range (for the cluster's IP allocation policy)."""
    services_range_name: pulumi.Output[str]
    """Name of the Service secondary range."""
    router_name: pulumi.Output[str]
    """Name of the Cloud Router (other programs may add BGP peers or NAT to it)."""

    def __init__(self, name: str, args: GcpNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(GcpNetwork), name, None, renamed_from("archipelago:network:GcpNetwork", opts))
        _check(args)
        cname = args.get("cluster_name") or name
        region = args["region"]
        pods_range, services_range = args.get("pods_range_name", PODS_RANGE), args.get("services_range_name", SERVICES_RANGE)
        child = pulumi.ResourceOptions(parent=self)
        vpc = gcp.compute.Network(
            f"{name}-vpc",
            name=f"{cname}-vpc",
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            opts=child,
        )
        subnet = gcp.compute.Subnetwork(
            f"{name}-nodes",
            name=f"{cname}-nodes",
            network=vpc.id,
            region=region,
            ip_cidr_range=args["node_subnet_cidr"],
            private_ip_google_access=True,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=pods_range, ip_cidr_range=args["pod_cidr"]),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=services_range, ip_cidr_range=args["service_cidr"]),
            ],
            log_config=gcp.compute.SubnetworkLogConfigArgs(
                aggregation_interval=args.get("flow_log_interval", "INTERVAL_5_SEC"),
                flow_sampling=args.get("flow_log_sampling", 0.5),
                metadata=args.get("flow_log_metadata", "INCLUDE_ALL_METADATA"),
            ) if args.get("flow_logs", True) else None,
            opts=child,
        )
        router = gcp.compute.Router(f"{name}-router", name=f"{cname}-router", network=vpc.id, region=region, opts=child)
        # A reserved address (not AUTO_ONLY): what the internet sees of this network is known, so an
        # API server that admits only the fleet's egress addresses can name it
        # (components/fleet/deployer.py fleet_egress_cidrs).
        nat_ip = gcp.compute.Address(f"{name}-nat-ip", name=f"{cname}-nat", region=region, address_type="EXTERNAL", opts=child)
        gcp.compute.RouterNat(
            f"{name}-nat",
            name=f"{cname}-nat",
            router=router.name,
            region=region,
            nat_ip_allocate_option="MANUAL_ONLY",
            nat_ips=[nat_ip.self_link],
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter=args.get("nat_log_filter", "ERRORS_ONLY")),
            opts=child,
        )
        self.network_id = vpc.id
        self.network_name = vpc.name
        self.subnetwork_id = subnet.id
        self.subnetwork_name = subnet.name
        self.pods_range_name = pulumi.Output.from_input(pods_range)
        self.services_range_name = pulumi.Output.from_input(services_range)
        self.router_name = router.name
        self.egress_ips = [nat_ip.address]  # Python only: the NAT's public address
        register_declared_outputs(self)


def gcp_network_args(cluster: "ClusterSpec") -> GcpNetworkArgs:
    """The fleet's cluster as a GcpNetwork's args: its address plan (stacks/ipam.py), the node
    subnetwork on the VPC range's first half."""
    net = cluster.network
    return GcpNetworkArgs(
        region=cluster.region,
        node_subnet_cidr=str(ipam.node_subnet(net.vpc)),
        pod_cidr=str(net.pods),
        service_cidr=str(net.services),
        cluster_name=cluster.name,
    )
