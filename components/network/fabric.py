"""The fleet's private network fabric: one gateway per cloud and region, one link per pair.

Built from :class:`stacks.fabric.FabricPlan` (ASNs, inside-tunnel /30s, tunnel interfaces are all
decided there, as data). Gateways take only their clusters' network outputs (VPC, subnets, route
tables), so clusters never wait on the fabric; only the fabric waits on the clusters' networks.

- AWS (:class:`AwsGateway`): a Transit Gateway per region with ECMP over VPN, default route table
  association and propagation (VPC and VPN attachments propagate, so BGP-learned ranges and the
  attached VPCs meet in one table); every VPC of the region attached, and each private route table
  sends the other gateways' ranges to the TGW.
- Azure (:class:`AzureGateway`): ``GatewaySubnet`` + two zone-redundant Standard public IPs +
  an active-active ``VpnGw2AZ`` gateway with BGP and the custom APIPA addresses of every tunnel.
- GCP (:class:`GcpGateway`): an HA VPN gateway and a Cloud Router whose BGP sessions advertise
  the node subnet (``ALL_SUBNETS``) plus the pod range and the control plane's private /28 as
  custom ranges (neither is documented as part of ``ALL_SUBNETS``).
- Links (:class:`VpnLink`): per the HA recipes in ../shared/reference/network-fabric.md 1.9 (GCP-AWS:
  two VPN connections on the TGW to two customer gateways, a four-interface external gateway on GCP;
  AWS-Azure: a customer gateway per Azure public IP, four local network gateways; Azure-GCP: a
  two-interface external gateway, two local network gateways). Same-cloud links across regions
  (:class:`PeeringLink`): TGW peering with static routes (AWS), global VNet peering (Azure), VPC
  peering (GCP).

Every tunnel has its own pre-shared key, a ``pulumi_random`` secret restricted to the character set
all three clouds accept ([A-Za-z0-9], not starting with ``0``; AWS ``VpnTunnelOptionsSpecification``).
Every cloud resource here is protected where the baseline protects stateful resources (prod).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_azure_native.network as azn
import pulumi_gcp as gcp
import pulumi_random as random

from components.handle import ClusterHandle
from stacks import ipam
from stacks.fabric import FabricPlan, Gateway, Link, remote_ranges

PSK_LENGTH = 40
AZURE_VPN_SKU = "VpnGw2AZ"
# Azure VPN gateways take 45 minutes or more to create (learn.microsoft.com/azure/vpn-gateway/
# vpn-gateway-howto-aws-bgp); deleting and recreating one about an hour.
AZURE_GATEWAY_TIMEOUTS = pulumi.CustomTimeouts(create="90m", update="90m", delete="90m")
GCP_KEEPALIVE_SECONDS = 20
BGP_PRIORITY = 100


def slug(text: str) -> str:
    return text.replace("/", "-").replace("~", "--").replace(".", "-")


def psk_text(p: str) -> str:
    """AWS rejects a pre-shared key that starts with ``0``."""
    return "k" + p[1:] if p.startswith("0") else p


@dataclass
class FabricArgs:
    plan: FabricPlan
    handles: list[ClusterHandle]
    protect: bool


class AwsGateway(pulumi.ComponentResource):
    def __init__(self, name: str, gw: Gateway, handles: list[ClusterHandle], plan: FabricPlan, protect: bool,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:network:AwsGateway", name, None, opts)
        o = handles[0].cloud_opts(self, protect=protect)
        self.tgw = aws.ec2transitgateway.TransitGateway(
            f"{name}-tgw",
            amazon_side_asn=gw.asn,
            vpn_ecmp_support="enable",
            default_route_table_association="enable",
            default_route_table_propagation="enable",
            dns_support="enable",
            description=f"archipelago fabric {gw.key}",
            tags={"Name": f"fabric-{gw.region}"},
            opts=o,
        )
        self.attachments = []
        for h in handles:
            att = aws.ec2transitgateway.VpcAttachment(
                f"{h.name}-tgw-attachment",
                transit_gateway_id=self.tgw.id,
                vpc_id=h.cloud_outputs["vpcId"],
                subnet_ids=h.cloud_outputs["privateSubnetIds"],
                tags={"Name": f"{h.name}-fabric"},
                opts=o,
            )
            self.attachments.append(att)
            for i, table in enumerate(h.cloud_outputs["privateRouteTableIds"]):
                for net in remote_ranges(plan, gw.key):
                    aws.ec2.Route(
                        f"{h.name}-rt{i}-fabric-{slug(str(net))}",
                        route_table_id=table,
                        destination_cidr_block=str(net),
                        transit_gateway_id=self.tgw.id,
                        opts=pulumi.ResourceOptions.merge(o, pulumi.ResourceOptions(depends_on=[att])),
                    )
        self.register_outputs({"transitGatewayId": self.tgw.id})


class AzureGateway(pulumi.ComponentResource):
    def __init__(self, name: str, gw: Gateway, h: ClusterHandle, plan: FabricPlan, protect: bool,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:network:AzureGateway", name, None, opts)
        o = h.cloud_opts(self, protect=protect)
        rg = h.cloud_outputs["resourceGroupName"]
        self.resource_group = rg
        self.location = h.region
        subnet = azn.Subnet(
            f"{name}-subnet",
            resource_group_name=rg,
            virtual_network_name=h.cloud_outputs["vnetName"],
            subnet_name="GatewaySubnet",  # the name Azure requires; nothing else may live in it
            address_prefix=str(ipam.gateway_subnet(h.network.vpc)),
            opts=o,
        )
        self.public_ips = [
            azn.PublicIPAddress(
                f"{name}-ip{i}",
                resource_group_name=rg,
                location=h.region,
                public_ip_address_name=f"{h.name}-vpn-{i}",
                public_ip_allocation_method=azn.IPAllocationMethod.STATIC,
                sku=azn.PublicIPAddressSkuArgs(name=azn.PublicIPAddressSkuName.STANDARD),
                zones=["1", "2", "3"],
                opts=o,
            )
            for i in range(2)
        ]
        gw_name = f"{h.name}-vpn"
        self.ip_configuration_ids = [
            pulumi.Output.concat(h.cloud_outputs["resourceGroupId"], "/providers/Microsoft.Network/virtualNetworkGateways/",
                                 gw_name, f"/ipConfigurations/vpn-{i}")
            for i in range(2)
        ]
        apipa = plan.azure_bgp_addresses(gw.key)
        self.gateway = azn.VirtualNetworkGateway(
            f"{name}-vpn",
            resource_group_name=rg,
            location=h.region,
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
                asn=gw.asn,
                bgp_peering_addresses=[
                    azn.IPConfigurationBgpPeeringAddressArgs(ipconfiguration_id=cfg, custom_bgp_ip_addresses=apipa[i])
                    for i, cfg in enumerate(self.ip_configuration_ids)
                ],
            ),
            opts=pulumi.ResourceOptions.merge(o, pulumi.ResourceOptions(custom_timeouts=AZURE_GATEWAY_TIMEOUTS)),
        )
        self.register_outputs({"gatewayId": self.gateway.id, "publicIps": [p.ip_address for p in self.public_ips]})


class GcpGateway(pulumi.ComponentResource):
    def __init__(self, name: str, gw: Gateway, h: ClusterHandle, protect: bool, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:network:GcpGateway", name, None, opts)
        o = h.cloud_opts(self, protect=protect)
        self.region = h.region
        self.ha_vpn = gcp.compute.HaVpnGateway(
            f"{name}-ha-vpn", name=f"{h.name}-ha-vpn", network=h.cloud_outputs["networkId"], region=h.region, opts=o
        )
        self.router = gcp.compute.Router(
            f"{name}-router",
            name=f"{h.name}-vpn-router",
            network=h.cloud_outputs["networkId"],
            region=h.region,
            bgp=gcp.compute.RouterBgpArgs(
                asn=gw.asn,
                advertise_mode="CUSTOM",
                advertised_groups=["ALL_SUBNETS"],
                advertised_ip_ranges=[
                    gcp.compute.RouterBgpAdvertisedIpRangeArgs(range=str(h.network.pods), description="pods"),
                    # The private endpoint of the GKE control plane (master_ipv4_cidr_block).
                    gcp.compute.RouterBgpAdvertisedIpRangeArgs(range=str(h.network.control_plane), description="control plane"),
                ],
                keepalive_interval=GCP_KEEPALIVE_SECONDS,
            ),
            opts=o,
        )
        self.register_outputs({"haVpnGatewayId": self.ha_vpn.id, "routerId": self.router.id})

    def interface_ip(self, i: int) -> pulumi.Output[str]:
        """External address GCP gave HA VPN interface ``i`` at creation."""
        return self.ha_vpn.vpn_interfaces.apply(lambda ifs: ifs[i].ip_address or "")

    def bgp(self, parent: pulumi.Resource, prefix: str, tunnel: gcp.compute.VPNTunnel, gw: Gateway, t: Any, peer_asn: int,
            opts: pulumi.ResourceOptions) -> None:
        """Router interface (this side's inside /30) and BGP peer on one tunnel."""
        iface = gcp.compute.RouterInterface(
            f"{prefix}-if", name=f"{prefix}-if", router=self.router.name, region=self.region,
            ip_range=f"{t.address(gw.key)}/30", vpn_tunnel=tunnel.name, opts=opts,
        )
        gcp.compute.RouterPeer(
            f"{prefix}-bgp", name=f"{prefix}-bgp", router=self.router.name, region=self.region, interface=iface.name,
            peer_ip_address=t.peer_address(gw.key), peer_asn=peer_asn, advertised_route_priority=BGP_PRIORITY, opts=opts,
        )

    def tunnel(self, prefix: str, t: Any, peer: pulumi.Input[str], peer_interface: int, psk: pulumi.Input[str],
               opts: pulumi.ResourceOptions) -> gcp.compute.VPNTunnel:
        return gcp.compute.VPNTunnel(
            prefix, name=prefix, region=self.region, vpn_gateway=self.ha_vpn.id, vpn_gateway_interface=t.interface,
            peer_external_gateway=peer, peer_external_gateway_interface=peer_interface, shared_secret=psk,
            router=self.router.id, ike_version=2, opts=opts,
        )


class AzureSide:
    """Azure half of a tunnel: a local network gateway for the peer and a BGP connection."""

    @staticmethod
    def connect(az: AzureGateway, prefix: str, gw: Gateway, t: Any, peer_ip: pulumi.Input[str], peer_asn: int,
                psk: pulumi.Input[str], opts: pulumi.ResourceOptions) -> None:
        lng = azn.LocalNetworkGateway(
            f"{prefix}-lng", resource_group_name=az.resource_group, location=az.location,
            local_network_gateway_name=prefix, gateway_ip_address=peer_ip,
            # With BGP the address space stays empty: the peer's ranges arrive over BGP.
            bgp_settings=azn.BgpSettingsArgs(asn=peer_asn, bgp_peering_address=t.peer_address(gw.key)),
            opts=opts,
        )
        azn.VirtualNetworkGatewayConnection(
            f"{prefix}-conn", resource_group_name=az.resource_group, location=az.location,
            virtual_network_gateway_connection_name=prefix,
            connection_type=azn.VirtualNetworkGatewayConnectionType.IPSEC,
            connection_protocol=azn.VirtualNetworkGatewayConnectionProtocol.IK_EV2,
            virtual_network_gateway1=azn.VirtualNetworkGatewayArgs(id=az.gateway.id),
            local_network_gateway2=azn.LocalNetworkGatewayArgs(id=lng.id),
            shared_key=psk, enable_bgp=True,
            gateway_custom_bgp_ip_addresses=[azn.GatewayCustomBgpIpAddressIpConfigurationArgs(
                ip_configuration_id=az.ip_configuration_ids[t.interface], custom_bgp_ip_address=t.address(gw.key))],
            opts=opts,
        )


class VpnLink(pulumi.ComponentResource):
    """Site-to-site IPsec with BGP between two gateways of different clouds."""

    def __init__(self, name: str, link: Link, gateways: dict[str, Any], plan: FabricPlan, protect: bool,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:network:VpnLink", name, None, opts)
        a, b = plan.gateway(link.a), plan.gateway(link.b)
        by_cloud = {a.cloud: a, b.cloud: b}
        self.psks = []
        for t in link.tunnels:
            pw = random.RandomPassword(f"{name}-psk{t.index}", length=PSK_LENGTH, special=False,
                                       opts=pulumi.ResourceOptions(parent=self, protect=protect))
            self.psks.append(pulumi.Output.secret(pw.result.apply(psk_text)))

        def opts_of(g: Gateway) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=gateways[g.key].opts_provider, protect=protect)

        clouds = frozenset(by_cloud)
        if clouds == {"aws", "gcp"}:
            self._aws_gcp(name, link, by_cloud["aws"], by_cloud["gcp"], gateways, opts_of)
        elif clouds == {"aws", "azure"}:
            self._aws_azure(name, link, by_cloud["aws"], by_cloud["azure"], gateways, opts_of)
        else:
            self._azure_gcp(name, link, by_cloud["azure"], by_cloud["gcp"], gateways, opts_of)
        self.register_outputs({"tunnels": len(link.tunnels)})

    def _aws_connections(self, name: str, link: Link, aws_gw: Gateway, tgw: AwsGateway, peer_asn: int,
                         peer_ips: list[pulumi.Output[str]] | list[pulumi.Output[str | None]], o: pulumi.ResourceOptions) -> list[aws.ec2.VpnConnection]:
        conns = []
        for c, ip in enumerate(peer_ips):
            cgw = aws.ec2.CustomerGateway(f"{name}-cgw{c}", bgp_asn=str(peer_asn), ip_address=ip, type="ipsec.1",
                                          tags={"Name": f"{name}-{c}"}, opts=o)
            t1, t2 = link.tunnels[2 * c], link.tunnels[2 * c + 1]
            conns.append(aws.ec2.VpnConnection(
                f"{name}-vpn{c}",
                customer_gateway_id=cgw.id,
                transit_gateway_id=tgw.tgw.id,
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

    def _aws_gcp(self, name, link, aws_gw, gcp_gw, gateways, opts_of) -> None:
        tgw: AwsGateway = gateways[aws_gw.key].component
        g: GcpGateway = gateways[gcp_gw.key].component
        conns = self._aws_connections(name, link, aws_gw, tgw, gcp_gw.asn, [g.interface_ip(0), g.interface_ip(1)], opts_of(aws_gw))
        og = opts_of(gcp_gw)
        outside = [conns[0].tunnel1_address, conns[0].tunnel2_address, conns[1].tunnel1_address, conns[1].tunnel2_address]
        peer = gcp.compute.ExternalVpnGateway(
            f"{name}-peer", name=f"{name}-peer", redundancy_type="FOUR_IPS_REDUNDANCY",
            interfaces=[gcp.compute.ExternalVpnGatewayInterfaceArgs(id=i, ip_address=ip) for i, ip in enumerate(outside)],
            opts=og,
        )
        for t in link.tunnels:
            tun = g.tunnel(f"{name}-t{t.index}", t, peer.id, t.index, self.psks[t.index], og)
            g.bgp(self, f"{name}-t{t.index}", tun, gcp_gw, t, aws_gw.asn, og)

    def _aws_azure(self, name, link, aws_gw, az_gw, gateways, opts_of) -> None:
        tgw: AwsGateway = gateways[aws_gw.key].component
        az: AzureGateway = gateways[az_gw.key].component
        conns = self._aws_connections(name, link, aws_gw, tgw, az_gw.asn, [p.ip_address for p in az.public_ips], opts_of(aws_gw))
        for t in link.tunnels:
            conn = conns[t.index // 2]
            outside = conn.tunnel1_address if t.index % 2 == 0 else conn.tunnel2_address
            AzureSide.connect(az, f"{name}-t{t.index}", az_gw, t, outside, aws_gw.asn, self.psks[t.index], opts_of(az_gw))

    def _azure_gcp(self, name, link, az_gw, gcp_gw, gateways, opts_of) -> None:
        az: AzureGateway = gateways[az_gw.key].component
        g: GcpGateway = gateways[gcp_gw.key].component
        og = opts_of(gcp_gw)
        peer = gcp.compute.ExternalVpnGateway(
            f"{name}-peer", name=f"{name}-peer", redundancy_type="TWO_IPS_REDUNDANCY",
            interfaces=[gcp.compute.ExternalVpnGatewayInterfaceArgs(id=i, ip_address=p.ip_address) for i, p in enumerate(az.public_ips)],
            opts=og,
        )
        for t in link.tunnels:
            tun = g.tunnel(f"{name}-t{t.index}", t, peer.id, t.interface, self.psks[t.index], og)
            g.bgp(self, f"{name}-t{t.index}", tun, gcp_gw, t, az_gw.asn, og)
            AzureSide.connect(az, f"{name}-t{t.index}", az_gw, t, g.interface_ip(t.interface), gcp_gw.asn,
                              self.psks[t.index], opts_of(az_gw))


class PeeringLink(pulumi.ComponentResource):
    """Two regions of one cloud, joined the cloud's own way."""

    def __init__(self, name: str, link: Link, gateways: dict[str, Any], plan: FabricPlan, protect: bool,
                 opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:network:PeeringLink", name, None, opts)
        a, b = plan.gateway(link.a), plan.gateway(link.b)
        sa, sb = gateways[a.key], gateways[b.key]
        oa = pulumi.ResourceOptions(parent=self, provider=sa.opts_provider, protect=protect)
        ob = pulumi.ResourceOptions(parent=self, provider=sb.opts_provider, protect=protect)
        if link.kind == "tgw-peering":
            peering = aws.ec2transitgateway.PeeringAttachment(
                f"{name}-peering", transit_gateway_id=sa.component.tgw.id, peer_transit_gateway_id=sb.component.tgw.id,
                peer_region=b.region, tags={"Name": name}, opts=oa,
            )
            accepter = aws.ec2transitgateway.PeeringAttachmentAccepter(
                f"{name}-accept", transit_gateway_attachment_id=peering.id, tags={"Name": name}, opts=ob,
            )
            # Peering attachments never propagate: each side routes the other's ranges statically.
            for side, other, o in ((sa, b, oa), (sb, a, ob)):
                for net in other.ranges:
                    aws.ec2transitgateway.Route(
                        f"{name}-{slug(side.gateway.region)}-to-{slug(str(net))}",
                        destination_cidr_block=str(net),
                        transit_gateway_attachment_id=accepter.transit_gateway_attachment_id,
                        transit_gateway_route_table_id=side.component.tgw.association_default_route_table_id,
                        opts=o,
                    )
        elif link.kind == "vnet-peering":
            for side, other, o in ((sa, sb, oa), (sb, sa, ob)):
                azn.VirtualNetworkPeering(
                    f"{name}-{slug(side.gateway.region)}",
                    resource_group_name=side.handle.cloud_outputs["resourceGroupName"],
                    virtual_network_name=side.handle.cloud_outputs["vnetName"],
                    virtual_network_peering_name=f"to-{other.handle.name}",
                    remote_virtual_network=azn.SubResourceArgs(id=other.handle.cloud_outputs["vnetId"]),
                    allow_virtual_network_access=True, allow_forwarded_traffic=False,
                    opts=o,
                )
        else:
            for side, other, o in ((sa, sb, oa), (sb, sa, ob)):
                gcp.compute.NetworkPeering(
                    f"{name}-{slug(side.gateway.region)}", name=f"to-{other.handle.name}",
                    network=side.handle.cloud_outputs["networkId"], peer_network=other.handle.cloud_outputs["networkId"],
                    opts=o,
                )
        self.register_outputs({"kind": link.kind})


@dataclass
class _Built:
    gateway: Gateway
    handle: ClusterHandle
    component: Any
    opts_provider: pulumi.ProviderResource


class Fabric(pulumi.ComponentResource):
    """Every gateway and link of the fleet's fabric."""

    def __init__(self, name: str, args: FabricArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:network:Fabric", name, None, opts)
        plan = args.plan
        by_name = {h.name: h for h in args.handles}
        self.gateways: dict[str, _Built] = {}
        for gw in plan.gateways:
            hs = [by_name[n] for n in gw.clusters]
            gname = f"fabric-{slug(gw.key)}"
            child = pulumi.ResourceOptions(parent=self)
            if gw.cloud == "aws":
                comp: Any = AwsGateway(gname, gw, hs, plan, args.protect, child)
            elif gw.cloud == "azure":
                comp = AzureGateway(gname, gw, hs[0], plan, args.protect, child)
            else:
                comp = GcpGateway(gname, gw, hs[0], args.protect, child)
            self.gateways[gw.key] = _Built(gw, hs[0], comp, hs[0].cloud_provider)
        self.links = []
        rand = random.Provider(f"{name}-random", opts=pulumi.ResourceOptions(parent=self))
        for lk in plan.links:
            cls = VpnLink if lk.kind == "vpn" else PeeringLink
            self.links.append(cls(f"fabric-{slug(lk.key)}", lk, self.gateways, plan, args.protect,
                                  pulumi.ResourceOptions(parent=self, providers={"random": rand})))
        self.summary = {
            "gateways": {g.key: {"asn": g.asn, "clusters": list(g.clusters), "ranges": [str(r) for r in g.ranges]} for g in plan.gateways},
            "links": {lk.key: {"kind": lk.kind, "tunnels": [str(t.cidr) for t in lk.tunnels]} for lk in plan.links},
        }
        self.register_outputs({"summary": self.summary})


def build_fabric(plan: FabricPlan | None, handles: list[ClusterHandle], protect: bool) -> Fabric | None:
    if plan is None:
        return None
    return Fabric("fabric", FabricArgs(plan=plan, handles=handles, protect=protect))

