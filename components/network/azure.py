"""Azure network for one AKS cluster: resource group, VNet, node subnet, and a NAT gateway that
gives the private nodes egress (AKS ``outboundType: userAssignedNATGateway``)."""

# No `from __future__ import annotations`: the package analyzer reads the args' annotations as objects.

import ipaddress
from typing import TYPE_CHECKING, NotRequired, TypedDict

import pulumi
from pulumi_azure_native import network, resources

from components.declared import register_declared_outputs
from components.network.cidrs import cidr, disjoint, inside, zone_list
from components.tokens import component_type, renamed_from
from stacks import ipam

if TYPE_CHECKING:
    from stacks.spec import ClusterSpec

# The API server subnet: at least a /28 (learn.microsoft.com/azure/aks/api-server-vnet-integration,
# "the minimum supported API server subnet size is a /28"). Azure keeps 5 addresses of every
# subnet, so /29 is the smallest subnet (learn.microsoft.com/azure/virtual-network/
# virtual-networks-faq, "How small and how large can virtual networks and subnets be?").
APISERVER_SMALLEST, SUBNET_SMALLEST = 28, 29
# NAT gateway idle timeout bounds, minutes (learn.microsoft.com/azure/nat-gateway/nat-gateway-resource,
# "TCP idle timeout": 4 to 120).
NAT_IDLE_MINUTES = (4, 120)


class AzureNetworkArgs(TypedDict):
    """Inputs of an AzureNetwork: its region, the VNet's ranges and the NAT gateway."""

    region: str
    """Azure region (location) of the resource group and every network resource, e.g. westeurope."""
    vnet_cidr: str
    """Address space of the virtual network, e.g. 10.20.0.0/16."""
    zones: list[str]
    """Availability zones of the NAT gateway's public IP, e.g. ["1", "2", "3"] (zone-redundant)."""
    cluster_name: NotRequired[str]
    """Name of the AKS cluster that will use this network: the resource group is rg-<name>, the
    VNet <name>-vnet, the NAT gateway <name>-nat, the node NSG <name>-nodes, and every resource is
    tagged archipelago-cluster=<name>. Default: the component's name."""
    node_subnet_cidr: NotRequired[str]
    """Subnet of the nodes, inside vnetCidr, /29 or larger (with Azure CNI overlay the pods do not
    take addresses from it). Default: the VNet's first half."""
    apiserver_subnet_cidr: NotRequired[str]
    """Subnet delegated to Microsoft.ContainerService/managedClusters for API server VNet
    integration, inside vnetCidr, /28 or larger. Default: the VNet's last /28."""
    nat_idle_timeout_minutes: NotRequired[int]
    """TCP idle timeout of the NAT gateway, 4-120 minutes. Default: 4."""


def _check(args: AzureNetworkArgs) -> tuple[list[str], ipam.Net, ipam.Net]:
    """The zones and the (node, API server) subnets, checked."""
    zones = zone_list(args["zones"])
    vnet = cidr("vnetCidr", args["vnet_cidr"], smallest=SUBNET_SMALLEST)
    nodes = cidr("nodeSubnetCidr", args.get("node_subnet_cidr") or str(ipam.node_subnet(vnet)), smallest=SUBNET_SMALLEST)
    last_28 = ipaddress.IPv4Network((int(vnet.broadcast_address) - 15, 28)) if vnet.prefixlen <= 28 else vnet
    apiserver = cidr("apiserverSubnetCidr", args.get("apiserver_subnet_cidr") or str(last_28), smallest=APISERVER_SMALLEST)
    inside("nodeSubnetCidr", nodes, vnet, "vnetCidr")
    inside("apiserverSubnetCidr", apiserver, vnet, "vnetCidr")
    disjoint([("nodeSubnetCidr", nodes), ("apiserverSubnetCidr", apiserver)])
    lo, hi = NAT_IDLE_MINUTES
    idle = args.get("nat_idle_timeout_minutes", 4)
    if not lo <= idle <= hi:
        raise ValueError(f"natIdleTimeoutMinutes: {idle} is not between {lo} and {hi}")
    return zones, nodes, apiserver


class AzureNetwork(pulumi.ComponentResource):
    """A resource group and VNet for one AKS cluster: a node subnet with its own network security
    group (Azure's default rules; other programs add theirs as standalone rules) and a zone-redundant
    NAT gateway for egress (no default outbound access), and a subnet delegated to AKS for API
    server VNet integration."""

    resource_group_name: pulumi.Output[str]
    """Name of the resource group (rg-<clusterName>) holding the network; the cluster goes there too."""
    resource_group_id: pulumi.Output[str]
    """ID of the resource group."""
    vnet_id: pulumi.Output[str]
    """ID of the virtual network."""
    vnet_name: pulumi.Output[str]
    """Name of the virtual network."""
    node_subnet_id: pulumi.Output[str]
    """ID of the node subnet."""
    apiserver_subnet_id: pulumi.Output[str]
    """ID of the subnet delegated to AKS for the API server."""
    node_security_group_name: pulumi.Output[str]
    """Name of the node subnet's network security group."""
    nat_gateway_id: pulumi.Output[str]
    """ID of the NAT gateway."""

    def __init__(self, name: str, args: AzureNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(AzureNetwork), name, None, renamed_from("archipelago:network:AzureNetwork", opts))
        zones, node_cidr, apiserver_cidr = _check(args)
        cname = args.get("cluster_name") or name
        region = args["region"]
        child = pulumi.ResourceOptions(parent=self)
        tags = {"archipelago-cluster": cname}

        rg = resources.ResourceGroup(f"{name}-rg", resource_group_name=f"rg-{cname}", location=region, tags=tags, opts=child)
        pip = network.PublicIPAddress(
            f"{name}-nat-ip",
            resource_group_name=rg.name,
            location=region,
            public_ip_address_name=f"{cname}-nat-ip",
            public_ip_allocation_method=network.IPAllocationMethod.STATIC,
            sku=network.PublicIPAddressSkuArgs(name=network.PublicIPAddressSkuName.STANDARD),
            zones=zones,
            tags=tags,
            opts=child,
        )
        nat = network.NatGateway(
            f"{name}-nat",
            resource_group_name=rg.name,
            location=region,
            nat_gateway_name=f"{cname}-nat",
            sku=network.NatGatewaySkuArgs(name=network.NatGatewaySkuName.STANDARD),
            public_ip_addresses=[network.SubResourceArgs(id=pip.id)],
            idle_timeout_in_minutes=args.get("nat_idle_timeout_minutes", 4),
            tags=tags,
            opts=child,
        )
        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            resource_group_name=rg.name,
            location=region,
            virtual_network_name=f"{cname}-vnet",
            address_space=network.AddressSpaceArgs(address_prefixes=[args["vnet_cidr"]]),
            tags=tags,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["subnets"])),
        )
        # The node subnet's own NSG: Azure's default rules (VNet and load balancer in, internet
        # denied) plus the fleet's cross-cluster ports, which components/fleet/ports.py adds as
        # standalone rules (so no rules are declared inline here).
        nsg = network.NetworkSecurityGroup(
            f"{name}-nodes-nsg",
            resource_group_name=rg.name,
            location=region,
            network_security_group_name=f"{cname}-nodes",
            tags=tags,
            opts=child,
        )
        subnet = network.Subnet(
            f"{name}-nodes",
            resource_group_name=rg.name,
            virtual_network_name=vnet.name,
            subnet_name="nodes",
            address_prefix=str(node_cidr),
            nat_gateway=network.SubResourceArgs(id=nat.id),
            network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
            default_outbound_access=False,
            opts=child,
        )
        # API server VNet integration: a subnet delegated to AKS. The control plane's identity gets
        # Network Contributor on the VNet (the cluster component's job).
        apiserver = network.Subnet(
            f"{name}-apiserver",
            resource_group_name=rg.name,
            virtual_network_name=vnet.name,
            subnet_name="apiserver",
            address_prefix=str(apiserver_cidr),
            delegations=[network.DelegationArgs(name="aks-apiserver", service_name="Microsoft.ContainerService/managedClusters")],
            default_outbound_access=False,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[subnet])),
        )
        self.resource_group_name = rg.name
        self.resource_group_id = rg.id
        self.vnet_id = vnet.id
        self.vnet_name = vnet.name
        self.node_subnet_id = subnet.id
        self.apiserver_subnet_id = apiserver.id
        self.node_security_group_name = nsg.name
        self.egress_ips = [pip.ip_address.apply(lambda a: a or "")]  # Python only: the NAT gateway's public address
        self.nat_gateway_id = nat.id
        register_declared_outputs(self)


def azure_network_args(cluster: "ClusterSpec") -> AzureNetworkArgs:
    """The fleet's cluster as an AzureNetwork's args: its address plan (stacks/ipam.py), the
    API server on the VNet's last /28 (the range a GKE control plane takes on GCP)."""
    net = cluster.network
    return AzureNetworkArgs(
        region=cluster.region,
        vnet_cidr=str(net.vpc),
        zones=list(cluster.zones),
        cluster_name=cluster.name,
        node_subnet_cidr=str(ipam.node_subnet(net.vpc)),
        apiserver_subnet_cidr=str(net.control_plane),
    )
