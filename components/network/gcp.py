"""GCP network for one GKE cluster: custom-mode VPC, a VPC-native subnetwork with secondary ranges
for pods and services, Private Google Access, and Cloud Router + Cloud NAT for private nodes."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_gcp as gcp

from stacks import ipam
from stacks.spec import ClusterSpec

PODS_RANGE = "pods"
SERVICES_RANGE = "services"


@dataclass
class GcpNetworkArgs:
    cluster: ClusterSpec
    provider: pulumi.ProviderResource


class GcpNetwork(pulumi.ComponentResource):
    network_id: pulumi.Output[str]
    network_name: pulumi.Output[str]
    subnetwork_id: pulumi.Output[str]

    def __init__(self, name: str, args: GcpNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:network:GcpNetwork", name, None, opts)
        c = args.cluster
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        vpc = gcp.compute.Network(
            f"{name}-vpc",
            name=f"{c.name}-vpc",
            auto_create_subnetworks=False,
            routing_mode="REGIONAL",
            opts=child,
        )
        subnet = gcp.compute.Subnetwork(
            f"{name}-nodes",
            name=f"{c.name}-nodes",
            network=vpc.id,
            region=c.region,
            ip_cidr_range=str(ipam.node_subnet(c.network.vpc)),
            private_ip_google_access=True,
            secondary_ip_ranges=[
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=PODS_RANGE, ip_cidr_range=str(c.network.pods)),
                gcp.compute.SubnetworkSecondaryIpRangeArgs(range_name=SERVICES_RANGE, ip_cidr_range=str(c.network.services)),
            ],
            log_config=gcp.compute.SubnetworkLogConfigArgs(
                aggregation_interval="INTERVAL_5_SEC", flow_sampling=0.5, metadata="INCLUDE_ALL_METADATA"
            ),
            opts=child,
        )
        router = gcp.compute.Router(f"{name}-router", name=f"{c.name}-router", network=vpc.id, region=c.region, opts=child)
        gcp.compute.RouterNat(
            f"{name}-nat",
            name=f"{c.name}-nat",
            router=router.name,
            region=c.region,
            nat_ip_allocate_option="AUTO_ONLY",
            source_subnetwork_ip_ranges_to_nat="ALL_SUBNETWORKS_ALL_IP_RANGES",
            log_config=gcp.compute.RouterNatLogConfigArgs(enable=True, filter="ERRORS_ONLY"),
            opts=child,
        )
        self.network_id = vpc.id
        self.network_name = vpc.name
        self.subnetwork_id = subnet.id
        self.register_outputs({"networkId": vpc.id, "subnetworkId": subnet.id})
