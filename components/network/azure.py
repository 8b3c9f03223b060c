"""Azure network for one AKS cluster: resource group, VNet, node subnet, and a NAT gateway that
gives the private nodes egress (AKS ``outboundType: userAssignedNATGateway``)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network, resources

from stacks import ipam
from stacks.spec import ClusterSpec


@dataclass
class AzureNetworkArgs:
    cluster: ClusterSpec
    provider: pulumi.ProviderResource


class AzureNetwork(pulumi.ComponentResource):
    resource_group_name: pulumi.Output[str]
    resource_group_id: pulumi.Output[str]
    vnet_id: pulumi.Output[str]
    node_subnet_id: pulumi.Output[str]
    node_nsg_name: pulumi.Output[str]

    def __init__(self, name: str, args: AzureNetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:network:AzureNetwork", name, None, opts)
        c = args.cluster
        child = pulumi.ResourceOptions(parent=self, provider=args.provider)
        tags = {"archipelago-cluster": c.name}

        rg = resources.ResourceGroup(f"{name}-rg", resource_group_name=f"rg-{c.name}", location=c.region, tags=tags, opts=child)
        pip = network.PublicIPAddress(
            f"{name}-nat-ip",
            resource_group_name=rg.name,
            location=c.region,
            public_ip_address_name=f"{c.name}-nat-ip",
            public_ip_allocation_method=network.IPAllocationMethod.STATIC,
            sku=network.PublicIPAddressSkuArgs(name=network.PublicIPAddressSkuName.STANDARD),
            zones=list(c.zones),
            tags=tags,
            opts=child,
        )
        nat = network.NatGateway(
            f"{name}-nat",
            resource_group_name=rg.name,
            location=c.region,
            nat_gateway_name=f"{c.name}-nat",
            sku=network.NatGatewaySkuArgs(name=network.NatGatewaySkuName.STANDARD),
            public_ip_addresses=[network.SubResourceArgs(id=pip.id)],
            idle_timeout_in_minutes=4,
            tags=tags,
            opts=child,
        )
        vnet = network.VirtualNetwork(
            f"{name}-vnet",
            resource_group_name=rg.name,
            location=c.region,
            virtual_network_name=f"{c.name}-vnet",
            address_space=network.AddressSpaceArgs(address_prefixes=[str(c.network.vpc)]),
            tags=tags,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["subnets"])),
        )
        # The node subnet's own NSG: Azure's default rules (VNet and load balancer in, internet
        # denied) plus the fleet's cross-cluster ports, which components/fleet/ports.py adds as
        # standalone rules (so no rules are declared inline here).
        nsg = network.NetworkSecurityGroup(
            f"{name}-nodes-nsg",
            resource_group_name=rg.name,
            location=c.region,
            network_security_group_name=f"{c.name}-nodes",
            tags=tags,
            opts=child,
        )
        subnet = network.Subnet(
            f"{name}-nodes",
            resource_group_name=rg.name,
            virtual_network_name=vnet.name,
            subnet_name="nodes",
            address_prefix=str(ipam.node_subnet(c.network.vpc)),
            nat_gateway=network.SubResourceArgs(id=nat.id),
            network_security_group=network.NetworkSecurityGroupArgs(id=nsg.id),
            default_outbound_access=False,
            opts=child,
        )
        # API server VNet integration: a /28 delegated to AKS (the VPC's last /28, which no other
        # subnet uses). The control plane's identity has Network Contributor on the VNet.
        apiserver = network.Subnet(
            f"{name}-apiserver",
            resource_group_name=rg.name,
            virtual_network_name=vnet.name,
            subnet_name="apiserver",
            address_prefix=str(c.network.control_plane),
            delegations=[network.DelegationArgs(name="aks-apiserver", service_name="Microsoft.ContainerService/managedClusters")],
            default_outbound_access=False,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[subnet])),
        )
        self.apiserver_subnet_id = apiserver.id
        self.resource_group_name = rg.name
        self.resource_group_id = rg.id
        self.vnet_id = vnet.id
        self.vnet_name = vnet.name
        self.node_subnet_id = subnet.id
        self.node_nsg_name = nsg.name
        self.register_outputs({"resourceGroup": rg.name, "vnetId": vnet.id, "nodeSubnetId": subnet.id})
