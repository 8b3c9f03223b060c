"""The private network fabric: one gateway per cloud and region, one link per pair of gateways.

Each piece is a component of its own, taking plain values and Inputs (``<Component>Args``):

- :class:`AwsGateway`: a Transit Gateway with ECMP over VPN, default route table association and
  propagation (VPC and VPN attachments propagate, so BGP-learned ranges and the attached VPCs meet
  in one table); the given VPCs attached, and each of their private route tables sends the remote
  ranges to the TGW.
- :class:`AzureGateway`: ``GatewaySubnet`` + two zone-redundant Standard public IPs + an
  active-active ``VpnGw2AZ`` gateway with BGP and the custom APIPA addresses of every tunnel.
- :class:`GcpGateway`: an HA VPN gateway and a Cloud Router whose BGP sessions advertise the VPC's
  subnets (``ALL_SUBNETS``) plus custom ranges (the fleet adds the pod range and the control plane's
  private /28, neither documented as part of ``ALL_SUBNETS``).
- :class:`VpnLink`: site-to-site IPsec with BGP between two gateways of different clouds, per the
  HA recipes in ../shared/reference/network-fabric.md 1.9 (GCP-AWS: two VPN connections on the TGW to
  two customer gateways, a four-interface external gateway on GCP; AWS-Azure: a customer gateway
  per Azure public IP, four local network gateways; Azure-GCP: a two-interface external gateway,
  two local network gateways).
- :class:`PeeringLink`: two regions of one cloud, joined the cloud's way: TGW peering with static
  routes (AWS), global VNet peering (Azure), VPC peering (GCP).
- :class:`Fabric`: gateways and links together; it derives what the pieces need from each other
  (each AWS gateway's remote ranges, each Azure gateway's APIPA addresses, the links' gateway ids).

The fleet composes them with :func:`fabric_args` (below), from the allocation in
:mod:`stacks.fabric` (ASNs, inside /30s, tunnel interfaces, decided there as data). Gateways take
only their networks' outputs, so clusters never wait on the fabric.

Every tunnel has its own pre-shared key, a secret: given, or a ``pulumi_random`` password restricted
to the character set all three clouds accept ([A-Za-z0-9], not starting with ``0``; AWS
``VpnTunnelOptionsSpecification``). Every cloud resource is protected with ``protect`` (the fleet
sets it where the baseline protects stateful resources: prod).
"""

# No `from __future__ import annotations`: the package analyzer reads these annotations as objects.

import ipaddress
import re
from collections.abc import Callable
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_azure_native.network as azn
import pulumi_gcp as gcp
import pulumi_random as random

# The provider types under names no args field shadows (FabricGatewayArgs has fields aws, azure, gcp).
from pulumi_aws import Provider as AwsProvider
from pulumi_azure_native import Provider as AzureProvider
from pulumi_gcp import Provider as GcpProvider

from components.handle import ClusterHandle
from components.tokens import component_type, renamed_from
from stacks import ipam
from stacks.fabric import (
    AZURE_APIPA,
    PEERING,
    TUNNELS,
    FabricPlan,
    Gateway,
    Link,
    Tunnel,
    asn_problem,
    link_key,
    tunnel_cidr_problem,
    tunnels_of,
)

PSK_LENGTH = 40
# The PSK characters all three clouds accept (../shared/reference/network-fabric.md 1.7): AWS 8-64
# of [A-Za-z0-9._], not starting with 0; Azure printable ASCII but space, - and ~; GCP: any.
PSK_PATTERN = re.compile(r"[A-Za-z1-9][A-Za-z0-9]{31,63}")
AZURE_VPN_SKU = "VpnGw2AZ"
# Azure VPN gateways take 45 minutes or more to create (learn.microsoft.com/azure/vpn-gateway/
# vpn-gateway-howto-aws-bgp); deleting and recreating one about an hour.
AZURE_GATEWAY_TIMEOUTS = pulumi.CustomTimeouts(create="90m", update="90m", delete="90m")
GCP_KEEPALIVE_SECONDS = 20
BGP_PRIORITY = 100
CLOUDS = ("aws", "azure", "gcp")


def slug(text: str) -> str:
    return text.replace("/", "-").replace("~", "--").replace(".", "-")


def psk_text(p: str) -> str:
    """AWS rejects a pre-shared key that starts with ``0``."""
    return "k" + p[1:] if p.startswith("0") else p


def _fail(field: str, value: Any, problem: str) -> None:
    raise ValueError(f"{field}: {value!r} {problem}")


def _check_asn(field: str, cloud: str, asn: int) -> None:
    problem = asn_problem(cloud, asn)
    if problem:
        _fail(field, asn, problem)


def _check_cidr(field: str, cidr: str) -> None:
    try:
        ipaddress.IPv4Network(cidr)
    except ValueError:
        _fail(field, cidr, "is not an IPv4 network")


def _check_count(field: str, values: list[Any], n: int) -> None:
    if len(values) != n:
        raise ValueError(f"{field}: {len(values)} given, {n} needed")


def _child(parent: pulumi.Resource, protect: bool, **kwargs: Any) -> pulumi.ResourceOptions:
    """A child's options: the parent's providers (inherited), protected when asked."""
    return pulumi.ResourceOptions(parent=parent, protect=protect, **kwargs)


# -- AWS ------------------------------------------------------------------------------------------


class AwsGatewayVpcArgs(TypedDict):
    """A VPC attached to the Transit Gateway, and the route tables that reach the fabric through it."""

    vpc_id: pulumi.Input[str]
    """The VPC's id."""
    subnet_ids: list[pulumi.Input[str]]
    """Subnets of the attachment, one per zone (the TGW places an interface in each)."""
    route_table_ids: NotRequired[list[pulumi.Input[str]]]
    """Route tables that send every remote range to the TGW (one route per table and range).
    Default: none."""
    name: NotRequired[str]
    """Names the attachment (<name>-tgw-attachment, tagged <name>-fabric) and its routes
    (<name>-rt<i>-fabric-<range>). Unique in the program. Default: <component name>-vpc<i>."""


class AwsGatewayArgs(TypedDict):
    """Inputs of an AwsGateway: the Transit Gateway's ASN and the VPCs it joins to the fabric."""

    asn: int
    """The TGW's BGP ASN (amazon_side_asn): 64512-65534 or 4200000000-4294967294, and no other
    gateway's. Cannot change while BGP attachments exist."""
    vpcs: list[AwsGatewayVpcArgs]
    """The VPCs of the region to attach; at least one."""
    remote_cidrs: NotRequired[list[str]]
    """The ranges of the other networks in the fabric, routed to the TGW from every route table.
    A Fabric sets them (the other gateways' cidrs). Default: none."""
    display_name: NotRequired[str]
    """The TGW's Name tag. Default: the component's name."""
    description: NotRequired[str]
    """The TGW's description. Default: archipelago fabric <component name>."""
    protect: NotRequired[bool]
    """Pulumi-protect every resource (the fleet does in prod). Default: false."""


def _check_aws_gateway(args: AwsGatewayArgs) -> None:
    _check_asn("asn", "aws", args["asn"])
    if not args["vpcs"]:
        raise ValueError("vpcs: at least one VPC is needed")
    for i, cidr in enumerate(args.get("remote_cidrs") or []):
        _check_cidr(f"remoteCidrs[{i}]", cidr)


class AwsGateway(pulumi.ComponentResource):
    """An AWS region's fabric gateway: a Transit Gateway (ECMP over VPN, default route table
    association and propagation) with the region's VPCs attached and their route tables pointing
    the remote ranges at it. The AWS provider comes from the resource options."""

    transit_gateway_id: pulumi.Output[str]
    """The Transit Gateway's id, for VPN connections and peering attachments."""
    route_table_id: pulumi.Output[str]
    """The TGW's default association route table (static routes of peering attachments go here)."""
    attachment_ids: pulumi.Output[list[str]]
    """Ids of the VPC attachments, in the order of vpcs."""

    def __init__(self, name: str, args: AwsGatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(AwsGateway), name, None, renamed_from("archipelago:network:AwsGateway", opts))
        _check_aws_gateway(args)
        o = _child(self, bool(args.get("protect", False)))
        self.tgw = aws.ec2transitgateway.TransitGateway(
            f"{name}-tgw",
            amazon_side_asn=args["asn"],
            vpn_ecmp_support="enable",
            default_route_table_association="enable",
            default_route_table_propagation="enable",
            dns_support="enable",
            description=args.get("description") or f"archipelago fabric {name}",
            tags={"Name": args.get("display_name") or name},
            opts=o,
        )
        self.attachments: list[aws.ec2transitgateway.VpcAttachment] = []
        for v, vpc in enumerate(args["vpcs"]):
            vname = vpc.get("name") or f"{name}-vpc{v}"
            att = aws.ec2transitgateway.VpcAttachment(
                f"{vname}-tgw-attachment",
                transit_gateway_id=self.tgw.id,
                vpc_id=vpc["vpc_id"],
                subnet_ids=vpc["subnet_ids"],
                tags={"Name": f"{vname}-fabric"},
                opts=o,
            )
            self.attachments.append(att)
            for i, table in enumerate(vpc.get("route_table_ids") or []):
                for net in args.get("remote_cidrs") or []:
                    aws.ec2.Route(
                        f"{vname}-rt{i}-fabric-{slug(net)}",
                        route_table_id=table,
                        destination_cidr_block=net,
                        transit_gateway_id=self.tgw.id,
                        opts=pulumi.ResourceOptions.merge(o, pulumi.ResourceOptions(depends_on=[att])),
                    )
        self.transit_gateway_id = self.tgw.id
        self.route_table_id = self.tgw.association_default_route_table_id
        self.attachment_ids = pulumi.Output.all(*[a.id for a in self.attachments]).apply(list)
        self.register_outputs({"transitGatewayId": self.transit_gateway_id, "routeTableId": self.route_table_id,
                               "attachmentIds": self.attachment_ids})


# -- Azure ----------------------------------------------------------------------------------------


class AzureGatewayArgs(TypedDict):
    """Inputs of an AzureGateway: where the VPN gateway goes and its BGP identity."""

    asn: int
    """The gateway's BGP ASN: 64512-65514 or 65521-65534 (Azure reserves 65515 and 65517-65520),
    and no other gateway's."""
    location: str
    """Azure region of the VNet, e.g. westeurope."""
    resource_group_name: pulumi.Input[str]
    """Resource group of the VNet; the gateway and its public IPs go there too."""
    resource_group_id: pulumi.Input[str]
    """ARM id of that resource group: the gateway names its ip configurations' ids from it before it exists."""
    virtual_network_name: pulumi.Input[str]
    """The VNet to put the gateway in (one VPN gateway per VNet)."""
    gateway_subnet_cidr: str
    """Range of the GatewaySubnet created in the VNet: inside the VNet, unused, /29 or larger (/27
    recommended); nothing else may live in it."""
    bgp_addresses: NotRequired[list[list[str]]]
    """Custom APIPA BGP addresses of the two gateway instances ([instance 0's, instance 1's]),
    each in 169.254.21.0-169.254.22.255: this side's inside address of every tunnel to the gateway
    (Azure needs them all up front). A Fabric sets them from its links. Default: none."""
    cloud_name_prefix: NotRequired[str]
    """Prefix of the names Azure sees: gateway <prefix>-vpn, public IPs <prefix>-vpn-0 and -1.
    Default: the component's name."""
    protect: NotRequired[bool]
    """Pulumi-protect every resource (the fleet does in prod). Default: false."""


def _check_azure_gateway(args: AzureGatewayArgs) -> None:
    _check_asn("asn", "azure", args["asn"])
    _check_cidr("gatewaySubnetCidr", args["gateway_subnet_cidr"])
    if ipaddress.IPv4Network(args["gateway_subnet_cidr"]).prefixlen > 29:
        _fail("gatewaySubnetCidr", args["gateway_subnet_cidr"], "is smaller than /29 (the smallest GatewaySubnet Azure accepts)")
    addresses = args.get("bgp_addresses") or [[], []]
    _check_count("bgpAddresses", addresses, 2)
    for i, ips in enumerate(addresses):
        for j, ip in enumerate(ips):
            try:
                address = ipaddress.IPv4Address(ip)
            except ValueError:
                raise ValueError(f"bgpAddresses[{i}][{j}]: {ip!r} is not an IPv4 address") from None
            if not any(address in r for r in AZURE_APIPA):
                _fail(f"bgpAddresses[{i}][{j}]", ip, "is outside 169.254.21.0-169.254.22.255 (Azure's custom APIPA BGP range)")


class AzureGateway(pulumi.ComponentResource):
    """An Azure VNet's fabric gateway: an active-active, zone-redundant route-based VPN gateway
    (VpnGw2AZ, generation 2) with BGP, in a GatewaySubnet of the VNet, on two Standard public IPs.
    The azure-native provider comes from the resource options."""

    gateway_id: pulumi.Output[str]
    """The virtual network gateway's id."""
    public_ip_addresses: pulumi.Output[list[str]]
    """The two instances' public IPs (the peers' tunnel endpoints), instance 0 first."""
    ip_configuration_ids: pulumi.Output[list[str]]
    """ARM ids of the two instances' ip configurations (connections name their BGP address by them)."""

    def __init__(self, name: str, args: AzureGatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(AzureGateway), name, None, renamed_from("archipelago:network:AzureGateway", opts))
        _check_azure_gateway(args)
        o = _child(self, bool(args.get("protect", False)))
        rg = args["resource_group_name"]
        prefix = args.get("cloud_name_prefix") or name
        self.resource_group = rg
        self.location = args["location"]
        subnet = azn.Subnet(
            f"{name}-subnet",
            resource_group_name=rg,
            virtual_network_name=args["virtual_network_name"],
            subnet_name="GatewaySubnet",  # the name Azure requires; nothing else may live in it
            address_prefix=args["gateway_subnet_cidr"],
            opts=o,
        )
        self.public_ips = [
            azn.PublicIPAddress(
                f"{name}-ip{i}",
                resource_group_name=rg,
                location=self.location,
                public_ip_address_name=f"{prefix}-vpn-{i}",
                public_ip_allocation_method=azn.IPAllocationMethod.STATIC,
                sku=azn.PublicIPAddressSkuArgs(name=azn.PublicIPAddressSkuName.STANDARD),
                zones=["1", "2", "3"],
                opts=o,
            )
            for i in range(2)
        ]
        gw_name = f"{prefix}-vpn"
        # Python callers take these per instance (a VpnLink's ipConfigurationIds).
        self.ip_config_ids: list[pulumi.Output[str]] = [
            pulumi.Output.concat(args["resource_group_id"], "/providers/Microsoft.Network/virtualNetworkGateways/",
                                 gw_name, f"/ipConfigurations/vpn-{i}")
            for i in range(2)
        ]
        apipa = args.get("bgp_addresses") or [[], []]
        self.gateway = azn.VirtualNetworkGateway(
            f"{name}-vpn",
            resource_group_name=rg,
            location=self.location,
            virtual_network_gateway_name=gw_name,
            gateway_type=azn.VirtualNetworkGatewayType.VPN,
            vpn_type=azn.VpnType.ROUTE_BASED,
            vpn_gateway_generation=azn.VpnGatewayGeneration.GENERATION2,
            sku=azn.VirtualNetworkGatewaySkuArgs(name=AZURE_VPN_SKU, tier=AZURE_VPN_SKU),
            active_active=True,
            enable_bgp=True,
            ip_configurations=[
                azn.VirtualNetworkGatewayIPConfigurationArgs(
                    name=f"vpn-{i}", private_ip_allocation_method=azn.IPAllocationMethod.DYNAMIC,
                    public_ip_address=azn.SubResourceArgs(id=pip.id), subnet=azn.SubResourceArgs(id=subnet.id),
                )
                for i, pip in enumerate(self.public_ips)
            ],
            bgp_settings=azn.BgpSettingsArgs(
                asn=args["asn"],
                bgp_peering_addresses=[
                    azn.IPConfigurationBgpPeeringAddressArgs(ipconfiguration_id=cfg, custom_bgp_ip_addresses=apipa[i])
                    for i, cfg in enumerate(self.ip_config_ids)
                ],
            ),
            opts=pulumi.ResourceOptions.merge(o, pulumi.ResourceOptions(custom_timeouts=AZURE_GATEWAY_TIMEOUTS)),
        )
        self.gateway_id = self.gateway.id
        self.public_ip_addresses = pulumi.Output.all(*[p.ip_address for p in self.public_ips]).apply(list)
        self.ip_configuration_ids = pulumi.Output.all(*self.ip_config_ids).apply(list)
        self.register_outputs({"gatewayId": self.gateway_id, "publicIpAddresses": self.public_ip_addresses,
                               "ipConfigurationIds": self.ip_configuration_ids})


# -- GCP ------------------------------------------------------------------------------------------


class GcpAdvertisedRangeArgs(TypedDict):
    """A range the Cloud Router advertises to its BGP peers beyond the VPC's subnets."""

    cidr: str
    """The range, e.g. a GKE cluster's pod range or its control plane's private /28."""
    description: NotRequired[str]
    """What it is. Default: none."""


class GcpGatewayArgs(TypedDict):
    """Inputs of a GcpGateway: the VPC network and what its Cloud Router advertises."""

    asn: int
    """The Cloud Router's BGP ASN: an RFC 6996 private ASN (64512-65534 or 4200000000-4294967294),
    and no other gateway's."""
    region: str
    """GCP region of the HA VPN gateway and the Cloud Router, e.g. asia-southeast1."""
    network_id: pulumi.Input[str]
    """The VPC network."""
    advertised_ranges: NotRequired[list[GcpAdvertisedRangeArgs]]
    """Custom ranges advertised on every BGP session besides the subnets. Default: none."""
    advertise_all_subnets: NotRequired[bool]
    """Advertise every subnet of the VPC (ALL_SUBNETS). Default: true."""
    cloud_name_prefix: NotRequired[str]
    """Prefix of the names GCP sees: HA VPN gateway <prefix>-ha-vpn, router <prefix>-vpn-router.
    Default: the component's name."""
    protect: NotRequired[bool]
    """Pulumi-protect every resource (the fleet does in prod). Default: false."""


def _check_gcp_gateway(args: GcpGatewayArgs) -> None:
    _check_asn("asn", "gcp", args["asn"])
    for i, r in enumerate(args.get("advertised_ranges") or []):
        _check_cidr(f"advertisedRanges[{i}].cidr", r["cidr"])


class GcpGateway(pulumi.ComponentResource):
    """A GCP VPC's fabric gateway: an HA VPN gateway (two interfaces) and a Cloud Router whose BGP
    sessions advertise the VPC's subnets and the given ranges (keepalive 20 s). The GCP provider
    comes from the resource options."""

    ha_vpn_gateway_id: pulumi.Output[str]
    """The HA VPN gateway's id."""
    router_id: pulumi.Output[str]
    """The Cloud Router's id."""
    router_name: pulumi.Output[str]
    """The Cloud Router's name (router interfaces and BGP peers name it)."""
    interface_ips: pulumi.Output[list[str]]
    """External addresses of the HA VPN gateway's two interfaces, interface 0 first."""

    def __init__(self, name: str, args: GcpGatewayArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(GcpGateway), name, None, renamed_from("archipelago:network:GcpGateway", opts))
        _check_gcp_gateway(args)
        o = _child(self, bool(args.get("protect", False)))
        prefix = args.get("cloud_name_prefix") or name
        self.region = args["region"]
        self.ha_vpn = gcp.compute.HaVpnGateway(
            f"{name}-ha-vpn", name=f"{prefix}-ha-vpn", network=args["network_id"], region=self.region, opts=o
        )
        self.router = gcp.compute.Router(
            f"{name}-router",
            name=f"{prefix}-vpn-router",
            network=args["network_id"],
            region=self.region,
            bgp=gcp.compute.RouterBgpArgs(
                asn=args["asn"],
                advertise_mode="CUSTOM",
                advertised_groups=["ALL_SUBNETS"] if args.get("advertise_all_subnets", True) else [],
                advertised_ip_ranges=[
                    gcp.compute.RouterBgpAdvertisedIpRangeArgs(range=r["cidr"], description=r.get("description"))
                    for r in args.get("advertised_ranges") or []
                ],
                keepalive_interval=GCP_KEEPALIVE_SECONDS,
            ),
            opts=o,
        )
        self.ha_vpn_gateway_id = self.ha_vpn.id
        self.router_id = self.router.id
        self.router_name = self.router.name
        self.interface_ips = pulumi.Output.all(self.interface_ip(0), self.interface_ip(1)).apply(list)
        self.register_outputs({"haVpnGatewayId": self.ha_vpn_gateway_id, "routerId": self.router_id,
                               "routerName": self.router_name, "interfaceIps": self.interface_ips})

    def interface_ip(self, i: int) -> pulumi.Output[str]:
        """External address GCP gave HA VPN interface ``i`` at creation."""
        return self.ha_vpn.vpn_interfaces.apply(lambda ifs: ifs[i].ip_address or "")


# -- VPN links ------------------------------------------------------------------------------------


class VpnLinkAwsSideArgs(TypedDict):
    """The AWS end of a VPN link: a Transit Gateway."""

    asn: int
    """The TGW's BGP ASN (its amazonSideAsn)."""
    transit_gateway_id: pulumi.Input[str]
    """The Transit Gateway the VPN connections attach to."""


class VpnLinkAzureSideArgs(TypedDict):
    """The Azure end of a VPN link: an active-active VPN gateway."""

    asn: int
    """The gateway's BGP ASN."""
    gateway_id: pulumi.Input[str]
    """The virtual network gateway's id."""
    resource_group_name: pulumi.Input[str]
    """Resource group of the gateway; local network gateways and connections go there."""
    location: str
    """Azure region of the gateway."""
    public_ips: list[pulumi.Input[str]]
    """The two instances' public IPs, instance 0 first."""
    ip_configuration_ids: list[pulumi.Input[str]]
    """The two instances' ip configuration ids, instance 0 first. The gateway must list this side's
    inside address of every tunnel among that instance's custom APIPA BGP addresses."""


class VpnLinkGcpSideArgs(TypedDict):
    """The GCP end of a VPN link: an HA VPN gateway and its Cloud Router."""

    asn: int
    """The Cloud Router's BGP ASN."""
    region: str
    """Region of the HA VPN gateway and the router."""
    ha_vpn_gateway_id: pulumi.Input[str]
    """The HA VPN gateway's id."""
    router_id: pulumi.Input[str]
    """The Cloud Router's id (the tunnels' router)."""
    router_name: pulumi.Input[str]
    """The Cloud Router's name (router interfaces and BGP peers)."""
    interface_ips: list[pulumi.Input[str]]
    """External addresses of the HA VPN gateway's two interfaces, interface 0 first."""


class VpnLinkArgs(TypedDict):
    """Inputs of a VpnLink: its two ends (exactly two of aws, azure, gcp) and its tunnels."""

    tunnel_cidrs: list[str]
    """Inside /30 of each tunnel: 4 on AWS-GCP and AWS-Azure links, 2 on Azure-GCP. Each inside
    169.254.0.0/16, none of AWS's reserved ones (169.254.0.0/30 ... 169.254.5.0/30,
    169.254.169.252/30) on links to AWS, inside 169.254.21.0-169.254.22.255 on links to Azure, no two
    alike. The AWS side takes the first host, then Azure, then GCP; the first half of the tunnels
    use each side's connection/instance/interface 0, the rest 1."""
    aws: NotRequired[VpnLinkAwsSideArgs]
    """The AWS end. Default: none."""
    azure: NotRequired[VpnLinkAzureSideArgs]
    """The Azure end. Default: none."""
    gcp: NotRequired[VpnLinkGcpSideArgs]
    """The GCP end. Default: none."""
    preshared_keys: NotRequired[list[pulumi.Input[str]]]
    """Pre-shared key of each tunnel (kept secret): 32-64 of [A-Za-z0-9], not starting with 0, the
    set all three clouds accept. Default: a random 40-character key per tunnel."""
    protect: NotRequired[bool]
    """Pulumi-protect every resource (the fleet does in prod). Default: false."""


def _check_tunnels(pair: frozenset[str], cidrs: list[str], keys: list[Any] | None) -> None:
    """A VPN link's tunnel /30s and pre-shared keys, for the two clouds ``pair``."""
    _check_count("tunnelCidrs", cidrs, TUNNELS[pair])
    for i, cidr in enumerate(cidrs):
        problem = tunnel_cidr_problem(cidr, pair)
        if problem:
            _fail(f"tunnelCidrs[{i}]", cidr, problem)
        if cidrs.index(cidr) != i:
            _fail(f"tunnelCidrs[{i}]", cidr, f"is tunnelCidrs[{cidrs.index(cidr)}] too")
    if keys is not None:
        _check_count("presharedKeys", keys, len(cidrs))
        for i, k in enumerate(keys):
            if isinstance(k, str) and not PSK_PATTERN.fullmatch(k):
                raise ValueError(f"presharedKeys[{i}]: not 32-64 of [A-Za-z0-9] starting with a character other than 0")


def _check_vpn_link(args: VpnLinkArgs) -> list[str]:
    """The link's two clouds, in FIRST_HOST_ORDER, after refusing bad values naming the field."""
    clouds = [c for c in CLOUDS if c in args]
    if len(clouds) != 2:
        raise ValueError(f"aws/azure/gcp: exactly two ends needed, {len(clouds)} given ({', '.join(clouds) or 'none'})")
    asns: dict[int, str] = {}
    for c in clouds:
        side: Any = args[c]
        _check_asn(f"{c}.asn", c, side["asn"])
        if side["asn"] in asns:
            _fail(f"{c}.asn", side["asn"], f"is the {asns[side['asn']]} end's ASN too (each end needs its own)")
        asns[side["asn"]] = c
    if "azure" in args:
        _check_count("azure.publicIps", args["azure"]["public_ips"], 2)
        _check_count("azure.ipConfigurationIds", args["azure"]["ip_configuration_ids"], 2)
    if "gcp" in args:
        _check_count("gcp.interfaceIps", args["gcp"]["interface_ips"], 2)
    _check_tunnels(frozenset(clouds), args["tunnel_cidrs"], args.get("preshared_keys"))
    return clouds


class VpnLink(pulumi.ComponentResource):
    """Site-to-site IPsec (IKEv2) with BGP over every tunnel between two gateways of different
    clouds, in each pair's HA topology: AWS-GCP 4 tunnels (two VPN connections on the TGW, a
    four-interface external gateway on GCP), AWS-Azure 4 (a customer gateway per Azure instance, a
    local network gateway and connection per tunnel), Azure-GCP 2. Each end's resources use that
    cloud's provider from the resource options (``providers=[...]``)."""

    tunnel_cidrs: pulumi.Output[list[str]]
    """The tunnels' inside /30s, in tunnel order."""
    preshared_keys: pulumi.Output[list[str]]
    """The tunnels' pre-shared keys (secret), in tunnel order."""

    def __init__(self, name: str, args: VpnLinkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(VpnLink), name, None, renamed_from("archipelago:network:VpnLink", opts))
        ca, cb = _check_vpn_link(args)
        protect = bool(args.get("protect", False))
        self._o = _child(self, protect)
        self._name = name
        tunnels = tunnels_of(ca, ca, cb, cb, [ipaddress.IPv4Network(c) for c in args["tunnel_cidrs"]])
        given = args.get("preshared_keys")
        self.psks: list[pulumi.Output[str]] = []
        for t in tunnels:
            if given is not None:
                self.psks.append(pulumi.Output.secret(given[t.index]))
                continue
            pw = random.RandomPassword(f"{name}-psk{t.index}", length=PSK_LENGTH, special=False, opts=self._o)
            self.psks.append(pulumi.Output.secret(pw.result.apply(psk_text)))
        pair, ends = frozenset({ca, cb}), dict[str, Any](args)  # the two ends _check_vpn_link found
        if pair == {"aws", "gcp"}:
            self._aws_gcp(ends["aws"], ends["gcp"], tunnels)
        elif pair == {"aws", "azure"}:
            self._aws_azure(ends["aws"], ends["azure"], tunnels)
        else:
            self._azure_gcp(ends["azure"], ends["gcp"], tunnels)
        self.tunnel_cidrs = pulumi.Output.from_input(list(args["tunnel_cidrs"]))
        self.preshared_keys = pulumi.Output.secret(pulumi.Output.all(*self.psks).apply(list))
        self.register_outputs({"tunnelCidrs": self.tunnel_cidrs, "presharedKeys": self.preshared_keys})

    def _aws_connections(self, side: VpnLinkAwsSideArgs, tunnels: tuple[Tunnel, ...], peer_asn: int,
                         peer_ips: list[pulumi.Input[str]]) -> list[aws.ec2.VpnConnection]:
        name, o = self._name, self._o
        conns = []
        for c, ip in enumerate(peer_ips):
            cgw = aws.ec2.CustomerGateway(f"{name}-cgw{c}", bgp_asn=str(peer_asn), ip_address=ip, type="ipsec.1",
                                          tags={"Name": f"{name}-{c}"}, opts=o)
            t1, t2 = tunnels[2 * c], tunnels[2 * c + 1]
            conns.append(aws.ec2.VpnConnection(
                f"{name}-vpn{c}",
                customer_gateway_id=cgw.id,
                transit_gateway_id=side["transit_gateway_id"],
                type="ipsec.1",
                static_routes_only=False,
                tunnel1_inside_cidr=str(t1.cidr), tunnel2_inside_cidr=str(t2.cidr),
                tunnel1_preshared_key=self.psks[t1.index], tunnel2_preshared_key=self.psks[t2.index],
                # One IKE version; GCP Cloud VPN advises IKEv2 with AWS.
                tunnel1_ike_versions=["ikev2"], tunnel2_ike_versions=["ikev2"],
                tags={"Name": f"{name}-{c}"},
                opts=o,
            ))
        return conns

    def _gcp_tunnel(self, g: VpnLinkGcpSideArgs, t: Tunnel, peer: pulumi.Input[str], peer_interface: int, peer_asn: int) -> None:
        """A tunnel from the HA VPN gateway, its router interface (this side's inside /30) and BGP peer."""
        prefix, o, region = f"{self._name}-t{t.index}", self._o, g["region"]
        tunnel = gcp.compute.VPNTunnel(
            prefix, name=prefix, region=region, vpn_gateway=g["ha_vpn_gateway_id"], vpn_gateway_interface=t.interface,
            peer_external_gateway=peer, peer_external_gateway_interface=peer_interface, shared_secret=self.psks[t.index],
            router=g["router_id"], ike_version=2, opts=o,
        )
        iface = gcp.compute.RouterInterface(
            f"{prefix}-if", name=f"{prefix}-if", router=g["router_name"], region=region,
            ip_range=f"{t.address('gcp')}/30", vpn_tunnel=tunnel.name, opts=o,
        )
        gcp.compute.RouterPeer(
            f"{prefix}-bgp", name=f"{prefix}-bgp", router=g["router_name"], region=region, interface=iface.name,
            peer_ip_address=t.peer_address("gcp"), peer_asn=peer_asn, advertised_route_priority=BGP_PRIORITY, opts=o,
        )

    def _azure_tunnel(self, az: VpnLinkAzureSideArgs, t: Tunnel, peer_ip: pulumi.Input[str], peer_asn: int) -> None:
        """The Azure half of a tunnel: a local network gateway for the peer and a BGP connection."""
        prefix, o = f"{self._name}-t{t.index}", self._o
        lng = azn.LocalNetworkGateway(
            f"{prefix}-lng", resource_group_name=az["resource_group_name"], location=az["location"],
            local_network_gateway_name=prefix, gateway_ip_address=peer_ip,
            # With BGP the address space stays empty: the peer's ranges arrive over BGP.
            bgp_settings=azn.BgpSettingsArgs(asn=peer_asn, bgp_peering_address=t.peer_address("azure")),
            opts=o,
        )
        azn.VirtualNetworkGatewayConnection(
            f"{prefix}-conn", resource_group_name=az["resource_group_name"], location=az["location"],
            virtual_network_gateway_connection_name=prefix,
            connection_type=azn.VirtualNetworkGatewayConnectionType.IPSEC,
            connection_protocol=azn.VirtualNetworkGatewayConnectionProtocol.IK_EV2,
            virtual_network_gateway1=azn.VirtualNetworkGatewayArgs(id=az["gateway_id"]),
            local_network_gateway2=azn.LocalNetworkGatewayArgs(id=lng.id),
            shared_key=self.psks[t.index], enable_bgp=True,
            gateway_custom_bgp_ip_addresses=[azn.GatewayCustomBgpIpAddressIpConfigurationArgs(
                ip_configuration_id=az["ip_configuration_ids"][t.interface], custom_bgp_ip_address=t.address("azure"))],
            opts=o,
        )

    def _aws_gcp(self, a: VpnLinkAwsSideArgs, g: VpnLinkGcpSideArgs, tunnels: tuple[Tunnel, ...]) -> None:
        conns = self._aws_connections(a, tunnels, g["asn"], g["interface_ips"])
        outside = [conns[0].tunnel1_address, conns[0].tunnel2_address, conns[1].tunnel1_address, conns[1].tunnel2_address]
        peer = gcp.compute.ExternalVpnGateway(
            f"{self._name}-peer", name=f"{self._name}-peer", redundancy_type="FOUR_IPS_REDUNDANCY",
            interfaces=[gcp.compute.ExternalVpnGatewayInterfaceArgs(id=i, ip_address=ip) for i, ip in enumerate(outside)],
            opts=self._o,
        )
        for t in tunnels:
            self._gcp_tunnel(g, t, peer.id, t.index, a["asn"])

    def _aws_azure(self, a: VpnLinkAwsSideArgs, az: VpnLinkAzureSideArgs, tunnels: tuple[Tunnel, ...]) -> None:
        conns = self._aws_connections(a, tunnels, az["asn"], az["public_ips"])
        for t in tunnels:
            conn = conns[t.index // 2]
            self._azure_tunnel(az, t, conn.tunnel1_address if t.index % 2 == 0 else conn.tunnel2_address, a["asn"])

    def _azure_gcp(self, az: VpnLinkAzureSideArgs, g: VpnLinkGcpSideArgs, tunnels: tuple[Tunnel, ...]) -> None:
        peer = gcp.compute.ExternalVpnGateway(
            f"{self._name}-peer", name=f"{self._name}-peer", redundancy_type="TWO_IPS_REDUNDANCY",
            interfaces=[gcp.compute.ExternalVpnGatewayInterfaceArgs(id=i, ip_address=ip) for i, ip in enumerate(az["public_ips"])],
            opts=self._o,
        )
        for t in tunnels:
            self._gcp_tunnel(g, t, peer.id, t.interface, az["asn"])
            self._azure_tunnel(az, t, g["interface_ips"][t.interface], g["asn"])


# -- peering links --------------------------------------------------------------------------------


class PeeringLinkSideArgs(TypedDict):
    """One end of a PeeringLink: what the link's kind needs of it."""

    name: str
    """The end's network name: the other end's peering is named to-<name> (VNet and VPC peering)."""
    region: str
    """The end's region; its resources are named <link>-<region>."""
    cidrs: NotRequired[list[str]]
    """tgw-peering: the ranges this end makes reachable; the other end routes them statically to
    the peering attachment. Default: none."""
    transit_gateway_id: NotRequired[pulumi.Input[str]]
    """tgw-peering: the end's Transit Gateway."""
    route_table_id: NotRequired[pulumi.Input[str]]
    """tgw-peering: the TGW route table that gets the static routes to the other end."""
    resource_group_name: NotRequired[pulumi.Input[str]]
    """vnet-peering: the VNet's resource group."""
    virtual_network_name: NotRequired[pulumi.Input[str]]
    """vnet-peering: the VNet's name."""
    virtual_network_id: NotRequired[pulumi.Input[str]]
    """vnet-peering: the VNet's id."""
    network_id: NotRequired[pulumi.Input[str]]
    """vpc-peering: the VPC network."""


class PeeringLinkArgs(TypedDict):
    """Inputs of a PeeringLink: its kind and two ends."""

    kind: str
    """tgw-peering (two AWS Transit Gateways), vnet-peering (two Azure VNets, global peering) or
    vpc-peering (two GCP VPC networks)."""
    a: PeeringLinkSideArgs
    """The requesting end; its resources use the link's provider from the resource options."""
    b: PeeringLinkSideArgs
    """The accepting end; its resources use the peer provider of the cloud."""
    aws_peer_provider: NotRequired[AwsProvider]
    """AWS provider of end b's region (tgw-peering). Default: the link's AWS provider."""
    azure_peer_provider: NotRequired[AzureProvider]
    """azure-native provider of end b (vnet-peering, e.g. another subscription). Default: the link's."""
    gcp_peer_provider: NotRequired[GcpProvider]
    """GCP provider of end b (vpc-peering, e.g. another project). Default: the link's GCP provider."""
    protect: NotRequired[bool]
    """Pulumi-protect every resource (the fleet does in prod). Default: false."""


PEERING_NEEDS: dict[str, tuple[str, ...]] = {
    "tgw-peering": ("transit_gateway_id", "route_table_id"),
    "vnet-peering": ("resource_group_name", "virtual_network_name", "virtual_network_id"),
    "vpc-peering": ("network_id",),
}


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(w.title() for w in rest)


def _check_peering(args: PeeringLinkArgs) -> None:
    kind = args["kind"]
    if kind not in PEERING_NEEDS:
        _fail("kind", kind, f"is not one of {', '.join(PEERING_NEEDS)}")
    for end in ("a", "b"):
        side: Any = args[end]
        for key in PEERING_NEEDS[kind]:
            if side.get(key) is None:
                raise ValueError(f"{end}.{_camel(key)}: needed for {kind}")
        for i, cidr in enumerate(side.get("cidrs") or []):
            _check_cidr(f"{end}.cidrs[{i}]", cidr)
    if args["a"]["region"] == args["b"]["region"]:
        _fail("b.region", args["b"]["region"], "is end a's region too (a peering joins two regions)")


class PeeringLink(pulumi.ComponentResource):
    """Two regions of one cloud joined the cloud's way: Transit Gateway peering with static routes
    both ways (peering attachments never propagate), global VNet peering both ways (forwarded
    traffic refused), or VPC network peering both ways."""

    kind: pulumi.Output[str]
    """The link's kind, as given."""
    peering_ids: pulumi.Output[list[str]]
    """Ids of the peering resources: the attachment and its acceptance, or each end's peering."""

    def __init__(self, name: str, args: PeeringLinkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(PeeringLink), name, None, renamed_from("archipelago:network:PeeringLink", opts))
        _check_peering(args)
        protect = bool(args.get("protect", False))
        kind = args["kind"]
        a, b = dict[str, Any](args["a"]), dict[str, Any](args["b"])  # what the kind needs is there (_check_peering)
        package = {"tgw-peering": "aws", "vnet-peering": "azure-native", "vpc-peering": "gcp"}[kind]
        peer_provider = {"aws": args.get("aws_peer_provider"), "azure-native": args.get("azure_peer_provider"),
                         "gcp": args.get("gcp_peer_provider")}[package]
        oa = _child(self, protect)
        ob = _child(self, protect, provider=peer_provider or self.get_provider(f"{package}::"))
        made: list[pulumi.CustomResource] = []
        if kind == "tgw-peering":
            peering = aws.ec2transitgateway.PeeringAttachment(
                f"{name}-peering", transit_gateway_id=a["transit_gateway_id"], peer_transit_gateway_id=b["transit_gateway_id"],
                peer_region=b["region"], tags={"Name": name}, opts=oa,
            )
            accepter = aws.ec2transitgateway.PeeringAttachmentAccepter(
                f"{name}-accept", transit_gateway_attachment_id=peering.id, tags={"Name": name}, opts=ob,
            )
            made += [peering, accepter]
            # Peering attachments never propagate: each end routes the other's ranges statically.
            for side, other, o in ((a, b, oa), (b, a, ob)):
                for net in other.get("cidrs") or []:
                    aws.ec2transitgateway.Route(
                        f"{name}-{slug(side['region'])}-to-{slug(net)}",
                        destination_cidr_block=net,
                        transit_gateway_attachment_id=accepter.transit_gateway_attachment_id,
                        transit_gateway_route_table_id=side["route_table_id"],
                        opts=o,
                    )
        elif kind == "vnet-peering":
            for side, other, o in ((a, b, oa), (b, a, ob)):
                made.append(azn.VirtualNetworkPeering(
                    f"{name}-{slug(side['region'])}",
                    resource_group_name=side["resource_group_name"],
                    virtual_network_name=side["virtual_network_name"],
                    virtual_network_peering_name=f"to-{other['name']}",
                    remote_virtual_network=azn.SubResourceArgs(id=other["virtual_network_id"]),
                    allow_virtual_network_access=True, allow_forwarded_traffic=False,
                    opts=o,
                ))
        else:
            for side, other, o in ((a, b, oa), (b, a, ob)):
                made.append(gcp.compute.NetworkPeering(
                    f"{name}-{slug(side['region'])}", name=f"to-{other['name']}",
                    network=side["network_id"], peer_network=other["network_id"],
                    opts=o,
                ))
        self.kind = pulumi.Output.from_input(kind)
        self.peering_ids = pulumi.Output.all(*[r.id for r in made]).apply(list)
        self.register_outputs({"kind": self.kind, "peeringIds": self.peering_ids})


# -- the fabric -----------------------------------------------------------------------------------


class FabricGatewayArgs(TypedDict):
    """One gateway of a Fabric: its key, what it reaches, and exactly one of aws, azure, gcp."""

    key: str
    """Names the gateway in links and in its children (<fabric>-<key>, / and . as -), e.g. aws/us-east-1."""
    region: str
    """The gateway's region (peering links across regions name it)."""
    cidrs: NotRequired[list[str]]
    """What the gateway's networks make reachable: AWS gateways route the other gateways' cidrs to
    their TGW, TGW peerings route them statically. Default: none."""
    aws: NotRequired[AwsGatewayArgs]
    """An AWS Transit Gateway (remoteCidrs is set by the Fabric)."""
    azure: NotRequired[AzureGatewayArgs]
    """An Azure VPN gateway (bgpAddresses is set by the Fabric from the links)."""
    gcp: NotRequired[GcpGatewayArgs]
    """A GCP HA VPN gateway and Cloud Router."""
    virtual_network_id: NotRequired[pulumi.Input[str]]
    """Azure: the VNet's id, needed when another Azure gateway peers with this one. Default: none."""
    aws_provider: NotRequired[AwsProvider]
    """The AWS provider of the gateway's region. Default: the Fabric's."""
    azure_provider: NotRequired[AzureProvider]
    """The azure-native provider of the gateway. Default: the Fabric's."""
    gcp_provider: NotRequired[GcpProvider]
    """The GCP provider of the gateway. Default: the Fabric's."""


class FabricLinkArgs(TypedDict):
    """A link between two gateways of a Fabric: a VpnLink across clouds, a PeeringLink within one."""

    a: str
    """Key of one gateway."""
    b: str
    """Key of the other gateway."""
    tunnel_cidrs: NotRequired[list[str]]
    """Across clouds: the tunnels' inside /30s (see VpnLink tunnelCidrs). Not for peering links."""
    preshared_keys: NotRequired[list[pulumi.Input[str]]]
    """Across clouds: the tunnels' pre-shared keys (see VpnLink). Default: random, secret."""


class FabricArgs(TypedDict):
    """Inputs of a Fabric: its gateways and the links between them."""

    gateways: list[FabricGatewayArgs]
    """The gateways; keys unique, ASNs unique."""
    links: list[FabricLinkArgs]
    """The links; each joins two different gateways, at most one link per pair. Azure and GCP
    gateways need no transit: link every pair that must talk."""
    protect: NotRequired[bool]
    """Pulumi-protect every resource (the fleet does in prod). Default: false."""


def _cloud_of(g: FabricGatewayArgs, i: int) -> str:
    clouds = [c for c in CLOUDS if c in g]
    if len(clouds) != 1:
        raise ValueError(f"gateways[{i}]: exactly one of aws, azure, gcp needed, {len(clouds)} given")
    return clouds[0]


def _prefixed(path: str, check: Callable[..., None], *args: Any) -> None:
    """Check a piece's args; a bad value is reported under the Fabric field that holds it."""
    try:
        check(*args)
    except ValueError as e:
        raise ValueError(f"{path}.{e}") from None


GATEWAY_CHECKS: dict[str, Callable[[Any], None]] = {
    "aws": _check_aws_gateway, "azure": _check_azure_gateway, "gcp": _check_gcp_gateway,
}


def _check_fabric(args: FabricArgs) -> dict[str, str]:
    """Gateway key -> cloud, after refusing bad values naming the field."""
    clouds: dict[str, str] = {}
    asns: dict[int, str] = {}
    for i, g in enumerate(args["gateways"]):
        cloud = _cloud_of(g, i)
        if g["key"] in clouds:
            _fail(f"gateways[{i}].key", g["key"], "names another gateway too")
        side: Any = g[cloud]
        if side["asn"] in asns:
            _fail(f"gateways[{i}].{cloud}.asn", side["asn"], f"is already the ASN of gateway '{asns[side['asn']]}'")
        set_by_fabric = {"aws": "remote_cidrs", "azure": "bgp_addresses"}.get(cloud)
        if set_by_fabric and set_by_fabric in side:
            raise ValueError(f"gateways[{i}].{cloud}.{_camel(set_by_fabric)}: set by the Fabric, leave it out")
        for j, cidr in enumerate(g.get("cidrs") or []):
            _check_cidr(f"gateways[{i}].cidrs[{j}]", cidr)
        _prefixed(f"gateways[{i}].{cloud}", GATEWAY_CHECKS[cloud], side)
        clouds[g["key"]], asns[side["asn"]] = cloud, g["key"]
    pairs: set[str] = set()
    by_key = {g["key"]: g for g in args["gateways"]}
    for i, lk in enumerate(args["links"]):
        for end in ("a", "b"):
            if lk[end] not in clouds:
                _fail(f"links[{i}].{end}", lk[end], f"names no gateway (gateways: {', '.join(clouds) or 'none'})")
        if lk["a"] == lk["b"]:
            _fail(f"links[{i}].b", lk["b"], "is end a too")
        key = link_key(lk["a"], lk["b"])
        if key in pairs:
            _fail(f"links[{i}]", key, "joins the same gateways as another link")
        pairs.add(key)
        if clouds[lk["a"]] == clouds[lk["b"]]:
            if "tunnel_cidrs" in lk or "preshared_keys" in lk:
                raise ValueError(f"links[{i}]: tunnelCidrs/presharedKeys are for links across clouds, not {PEERING[clouds[lk['a']]]}")
            ends = [by_key[lk["a"]], by_key[lk["b"]]]
            if ends[0]["region"] == ends[1]["region"]:
                _fail(f"links[{i}].b", lk["b"], f"is in end a's region {ends[0]['region']} too (a peering joins two regions)")
            for end, g in zip("ab", ends, strict=True):
                if clouds[g["key"]] == "azure" and g.get("virtual_network_id") is None:
                    raise ValueError(f"links[{i}].{end}: gateway '{g['key']}' needs virtualNetworkId for VNet peering")
        if clouds[lk["a"]] != clouds[lk["b"]]:
            if "tunnel_cidrs" not in lk:
                raise ValueError(f"links[{i}].tunnelCidrs: needed for a link across clouds")
            pair = frozenset({clouds[lk["a"]], clouds[lk["b"]]})
            _prefixed(f"links[{i}]", _check_tunnels, pair, lk["tunnel_cidrs"], lk.get("preshared_keys"))
    return clouds




class Fabric(pulumi.ComponentResource):
    """A private network across clouds and regions: the given gateways (AwsGateway, AzureGateway,
    GcpGateway) and the links between them (VpnLink across clouds, PeeringLink within one). It
    routes each AWS gateway's remote ranges (the other gateways' cidrs), lists each Azure gateway's
    APIPA addresses from its links' tunnels, and wires each link to its gateways' outputs."""

    gateway_asns: pulumi.Output[dict[str, int]]
    """Gateway key -> its BGP ASN."""
    link_kinds: pulumi.Output[dict[str, str]]
    """Link key (the two gateway keys, sorted, joined by ~) -> vpn, tgw-peering, vnet-peering or vpc-peering."""
    tunnel_cidrs: pulumi.Output[dict[str, list[str]]]
    """VPN link key -> its tunnels' inside /30s."""

    def __init__(self, name: str, args: FabricArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(Fabric), name, None, renamed_from("archipelago:network:Fabric", opts))
        clouds = _check_fabric(args)
        protect = bool(args.get("protect", False))
        gws = {g["key"]: g for g in args["gateways"]}
        tunnels = {link_key(lk["a"], lk["b"]): tunnels_of(lk["a"], clouds[lk["a"]], lk["b"], clouds[lk["b"]],
                                                          [ipaddress.IPv4Network(c) for c in lk.get("tunnel_cidrs") or []])
                   for lk in args["links"] if clouds[lk["a"]] != clouds[lk["b"]]}
        self.gateways: dict[str, Any] = {}
        self._gateway_names: dict[str, str] = {}
        self._gateway_providers: dict[str, pulumi.ProviderResource | None] = {}
        for g in args["gateways"]:
            key, cloud = g["key"], clouds[g["key"]]
            provider = g.get(f"{cloud}_provider")  # type: ignore[misc]
            self._gateway_providers[key] = provider
            child = pulumi.ResourceOptions(parent=self, providers=[provider] if provider else None)
            gname = f"{name}-{slug(key)}"
            self._gateway_names[key] = gname
            side: Any = {**g[cloud], "protect": protect}  # type: ignore[misc]
            if cloud == "aws":
                side["remote_cidrs"] = [c for o in args["gateways"] if o["key"] != key for c in o.get("cidrs") or []]
                self.gateways[key] = AwsGateway(gname, side, child)
            elif cloud == "azure":
                # Every tunnel's address on this side, per instance: the gateway lists them all up front.
                apipa: list[list[str]] = [[], []]
                for lk in args["links"]:
                    if key in (lk["a"], lk["b"]):
                        for t in tunnels.get(link_key(lk["a"], lk["b"]), ()):
                            apipa[t.interface].append(t.address(key))
                side["bgp_addresses"] = apipa
                self.gateways[key] = AzureGateway(gname, side, child)
            else:
                self.gateways[key] = GcpGateway(gname, side, child)
        rand = random.Provider(f"{name}-random", opts=pulumi.ResourceOptions(parent=self))
        self.links: list[VpnLink | PeeringLink] = []
        self._links_by_key: dict[str, VpnLink | PeeringLink] = {}
        for lk in args["links"]:
            key = link_key(lk["a"], lk["b"])
            ends = [lk["a"], lk["b"]]
            given = [p for p in (self._gateway_providers[e] for e in ends) if p is not None]
            lname = f"{name}-{slug(key)}"
            if key in tunnels:
                vpn: Any = {"tunnel_cidrs": list(lk.get("tunnel_cidrs") or []), "protect": protect,
                            **{clouds[e]: self._vpn_side(e, clouds[e], gws[e]) for e in ends}}
                if "preshared_keys" in lk:
                    vpn["preshared_keys"] = lk["preshared_keys"]
                lopts = pulumi.ResourceOptions(parent=self, providers=[rand, *given])
                self.links.append(VpnLink(lname, vpn, lopts))
                self._links_by_key[key] = self.links[-1]
            else:
                cloud = clouds[lk["a"]]
                peering: Any = {"kind": PEERING[cloud], "protect": protect,
                                "a": self._peering_side(lk["a"], gws[lk["a"]], cloud),
                                "b": self._peering_side(lk["b"], gws[lk["b"]], cloud)}
                if self._gateway_providers[lk["b"]] is not None:
                    peering[f"{cloud}_peer_provider"] = self._gateway_providers[lk["b"]]
                pa = self._gateway_providers[lk["a"]]
                lopts = pulumi.ResourceOptions(parent=self, providers=[rand, pa] if pa else [rand])
                self.links.append(PeeringLink(lname, peering, lopts))
                self._links_by_key[key] = self.links[-1]
        self.gateway_asns = pulumi.Output.from_input({g["key"]: g[clouds[g["key"]]]["asn"] for g in args["gateways"]})  # type: ignore[misc]
        kinds = {link_key(lk["a"], lk["b"]): "vpn" if clouds[lk["a"]] != clouds[lk["b"]] else PEERING[clouds[lk["a"]]]
                 for lk in args["links"]}
        self.link_kinds = pulumi.Output.from_input(kinds)
        self.tunnel_cidrs = pulumi.Output.from_input({k: [str(t.cidr) for t in ts] for k, ts in tunnels.items()})
        self.register_outputs({"gatewayAsns": self.gateway_asns, "linkKinds": self.link_kinds, "tunnelCidrs": self.tunnel_cidrs})

    def path(self, a: str, b: str) -> list[pulumi.Resource]:
        """The components traffic crosses from gateway ``a``'s networks to gateway ``b``'s: both
        gateways and the link joining them directly (every gateway links to every other). A
        dependency on a component is one on every resource under it."""
        out: list[pulumi.Resource] = [self.gateways[a]]
        if a != b:
            out.append(self.gateways[b])
            link = self._links_by_key.get(link_key(a, b))
            if link is not None:
                out.append(link)
        return out

    def _vpn_side(self, key: str, cloud: str, g: FabricGatewayArgs) -> dict[str, Any]:
        comp = self.gateways[key]
        side: Any = g[cloud]  # type: ignore[misc]
        if cloud == "aws":
            return {"asn": side["asn"], "transit_gateway_id": comp.tgw.id}
        if cloud == "azure":
            return {"asn": side["asn"], "gateway_id": comp.gateway.id, "resource_group_name": comp.resource_group,
                    "location": comp.location, "public_ips": [p.ip_address for p in comp.public_ips],
                    "ip_configuration_ids": comp.ip_config_ids}
        return {"asn": side["asn"], "region": comp.region, "ha_vpn_gateway_id": comp.ha_vpn.id, "router_id": comp.router.id,
                "router_name": comp.router.name, "interface_ips": [comp.interface_ip(0), comp.interface_ip(1)]}

    def _peering_side(self, key: str, g: FabricGatewayArgs, cloud: str) -> dict[str, Any]:
        comp = self.gateways[key]
        side: Any = g[cloud]  # type: ignore[misc]
        out: dict[str, Any] = {"name": side.get("cloud_name_prefix") or self._gateway_names[key], "region": g["region"],
                               "cidrs": list(g.get("cidrs") or [])}
        if cloud == "aws":
            out |= {"transit_gateway_id": comp.tgw.id, "route_table_id": comp.tgw.association_default_route_table_id}
        elif cloud == "azure":
            out |= {"resource_group_name": side["resource_group_name"], "virtual_network_name": side["virtual_network_name"],
                    "virtual_network_id": g.get("virtual_network_id")}
        else:
            out["network_id"] = side["network_id"]
        return out


# -- the fleet's composition ------------------------------------------------------------------------


def gateway_args(gw: Gateway, handles: list[ClusterHandle]) -> FabricGatewayArgs:
    """One gateway of the fleet's allocation as Fabric args: the ASN and ranges allocated in
    stacks/fabric.py, the clusters' network outputs, the region's provider, and cloud names
    from the (first) cluster's name, as deployed stacks have them."""
    h = handles[0]
    out = h.cloud_outputs
    g = FabricGatewayArgs(key=gw.key, region=gw.region, cidrs=[str(r) for r in gw.ranges])
    if gw.cloud == "aws":
        g["aws"] = AwsGatewayArgs(
            asn=gw.asn, display_name=f"fabric-{gw.region}", description=f"archipelago fabric {gw.key}",
            vpcs=[AwsGatewayVpcArgs(name=x.name, vpc_id=x.cloud_outputs["vpcId"], subnet_ids=x.cloud_outputs["privateSubnetIds"],
                                    route_table_ids=x.cloud_outputs["privateRouteTableIds"]) for x in handles],
        )
        g["aws_provider"] = h.cloud_provider  # type: ignore[typeddict-item]
    elif gw.cloud == "azure":
        g["azure"] = AzureGatewayArgs(
            asn=gw.asn, location=h.region, resource_group_name=out["resourceGroupName"], resource_group_id=out["resourceGroupId"],
            virtual_network_name=out["vnetName"], gateway_subnet_cidr=str(ipam.gateway_subnet(h.network.vpc)),
            cloud_name_prefix=h.name,
        )
        g["virtual_network_id"] = out["vnetId"]
        g["azure_provider"] = h.cloud_provider  # type: ignore[typeddict-item]
    else:
        g["gcp"] = GcpGatewayArgs(
            asn=gw.asn, region=h.region, network_id=out["networkId"], cloud_name_prefix=h.name,
            advertised_ranges=[
                GcpAdvertisedRangeArgs(cidr=str(h.network.pods), description="pods"),
                # The private endpoint of the GKE control plane (master_ipv4_cidr_block).
                GcpAdvertisedRangeArgs(cidr=str(h.network.control_plane), description="control plane"),
            ],
        )
        g["gcp_provider"] = h.cloud_provider  # type: ignore[typeddict-item]
    return g


def _link_args(lk: Link) -> FabricLinkArgs:
    out = FabricLinkArgs(a=lk.a, b=lk.b)
    if lk.kind == "vpn":
        out["tunnel_cidrs"] = [str(t.cidr) for t in lk.tunnels]
    return out


def fabric_args(plan: FabricPlan, handles: list[ClusterHandle], protect: bool) -> FabricArgs:
    """The fleet's allocation (stacks.fabric.fabric_plan) and its clusters' handles as Fabric args."""
    by_name = {h.name: h for h in handles}
    return FabricArgs(
        gateways=[gateway_args(gw, [by_name[n] for n in gw.clusters]) for gw in plan.gateways],
        links=[_link_args(lk) for lk in plan.links],
        protect=protect,
    )


def build_fabric(plan: FabricPlan | None, handles: list[ClusterHandle], protect: bool) -> Fabric | None:
    if plan is None:
        return None
    return Fabric("fabric", fabric_args(plan, handles, protect))
