"""The flow check: every flow the fleet needs (stacks/flows.py), walked through the plan record.

For each flow it finds, reading the recorded resources and nothing else, the route at every hop
(VPC route tables, Transit Gateway attachments and static routes, VPN tunnels with BGP sessions,
BGP advertisements) and the rule that admits it at every filter (security-group rule, NSG rule in
priority order, VPC firewall rule, load balancer source ranges, NetworkPolicy rules on both ends).
A hop that is missing fails the flow; ``python -m offline flows <stack>`` exits 1 naming each.

What it proves: the plan declares a route and an admitting rule for every flow, per the clouds'
documented semantics as modelled here. What it cannot: no packet is sent, so it cannot see a
tunnel that fails to negotiate, a BGP session that does not come up, MTU, the clouds' own
implicit rules beyond those modelled (EKS cluster-SG self reference, GKE's intra-VPC rule, Azure
AllowVnetInBound), cloud-controller-created LB firewall rules, or DNS answers.

Modelling choices (each stated where used): a link between two gateways counts with at least
``MIN_TUNNELS`` tunnels carrying BGP on both ends; transit through a third gateway is never
assumed (Transit Gateway re-advertisement between VPN attachments is UNVERIFIED).
"""

from __future__ import annotations

import ipaddress
import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from stacks.flows import FEDERATE_PORT, POD_LABELS, Flow, dest_ranges, required_flows, source_ranges
from stacks.spec import ClusterSpec, FleetSpec

from .report import cluster_of

Net = ipaddress.IPv4Network
MIN_TUNNELS = 2
ANY = ipaddress.IPv4Network("0.0.0.0/0")

TGW = "aws:ec2transitgateway/transitGateway:TransitGateway"
VPC_ATTACH = "aws:ec2transitgateway/vpcAttachment:VpcAttachment"
PEERING = "aws:ec2transitgateway/peeringAttachment:PeeringAttachment"
ACCEPTER = "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter"
TGW_ROUTE = "aws:ec2transitgateway/route:Route"
VPN_CONN = "aws:ec2/vpnConnection:VpnConnection"
CGW = "aws:ec2/customerGateway:CustomerGateway"
VPC = "aws:ec2/vpc:Vpc"
VPC_CIDR = "aws:ec2/vpcIpv4CidrBlockAssociation:VpcIpv4CidrBlockAssociation"
ROUTE_TABLE = "aws:ec2/routeTable:RouteTable"
ROUTE = "aws:ec2/route:Route"
SG_RULES = ("aws:ec2/securityGroupRule:SecurityGroupRule", "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule")
PREFIX_LIST = "aws:ec2/managedPrefixList:ManagedPrefixList"
EKS = "aws:eks/cluster:Cluster"
VNET = "azure-native:network:VirtualNetwork"
SUBNET = "azure-native:network:Subnet"
NSG = "azure-native:network:NetworkSecurityGroup"
NSG_RULE = "azure-native:network:SecurityRule"
VNG = "azure-native:network:VirtualNetworkGateway"
PIP = "azure-native:network:PublicIPAddress"
LNG = "azure-native:network:LocalNetworkGateway"
VNG_CONN = "azure-native:network:VirtualNetworkGatewayConnection"
GCP_NET = "gcp:compute/network:Network"
GCP_SUBNET = "gcp:compute/subnetwork:Subnetwork"
HA_VPN = "gcp:compute/haVpnGateway:HaVpnGateway"
ROUTER = "gcp:compute/router:Router"
ROUTER_NAT = "gcp:compute/routerNat:RouterNat"
ROUTER_IF = "gcp:compute/routerInterface:RouterInterface"
ROUTER_PEER = "gcp:compute/routerPeer:RouterPeer"
GCP_TUNNEL = "gcp:compute/vPNTunnel:VPNTunnel"
EXT_GW = "gcp:compute/externalVpnGateway:ExternalVpnGateway"
FIREWALL = "gcp:compute/firewall:Firewall"
GKE = "gcp:container/cluster:Cluster"
CODEBUILD = "aws:codebuild/project:Project"
AKS = "azure-native:containerservice:ManagedCluster"
EIP = "aws:ec2/eip:Eip"
GCP_ADDRESS = "gcp:compute/address:Address"
# A cluster's NAT and the public addresses it sends from.
EGRESS = ((EIP, "aws:ec2/natGateway:NatGateway"), (GCP_ADDRESS, "gcp:compute/routerNat:RouterNat"),
          (PIP, "azure-native:network:NatGateway"))
NAMESPACE = "kubernetes:core/v1:Namespace"
NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
RELEASE = "kubernetes:helm.sh/v3:Release"
EASTWEST_RELEASE = "istio-eastwestgateway"
SERVICE = "kubernetes:core/v1:Service"
SERVICE_EXPORT = "kubernetes:multicluster.x-k8s.io/v1alpha1:ServiceExport"
SCRAPE_CONFIG = "kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig"
FEDERATE_SERVICE, FEDERATE_NS = "prometheus-federate", "monitoring"


@dataclass(frozen=True)
class Hop:
    what: str
    ok: bool
    detail: str


@dataclass
class Result:
    flow: Flow
    hops: list[Hop] = field(default_factory=list)
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.skipped is not None or all(h.ok for h in self.hops)

    @property
    def missing(self) -> list[Hop]:
        return [h for h in self.hops if not h.ok]


def _net(text: Any) -> Net | None:
    try:
        return ipaddress.IPv4Network(str(text), strict=False)
    except ValueError:
        return None


def _covers(cidrs: Iterable[Any], nets: Iterable[Net]) -> bool:
    parsed = [n for n in (_net(c) for c in cidrs) if n is not None]
    return all(any(n.subnet_of(p) for p in parsed) for n in nets)


def _get(d: Any, path: str) -> Any:
    for part in path.split("."):
        if not isinstance(d, dict):
            return None
        d = d.get(part)
    return d


class Record:
    """The plan record, indexed: by urn, by type, by cluster, and by dependency."""

    def __init__(self, resources: list[dict[str, Any]]):
        self.resources = resources
        self.by_urn = {r["urn"]: r for r in resources}
        self.types: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.dependents: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in resources:
            self.types[r["type"]].append(r)
            for d in r.get("dependencies") or []:
                self.dependents[d].append(r)
        self._cluster = {r["urn"]: cluster_of(r, self.by_urn) for r in resources}

    def of(self, typ: str, cluster: str | None = None) -> list[dict[str, Any]]:
        return [r for r in self.types.get(typ, []) if cluster is None or self._cluster[r["urn"]] == cluster]

    def deps(self, r: dict[str, Any], typ: str) -> list[dict[str, Any]]:
        return [self.by_urn[d] for d in r.get("dependencies") or [] if d in self.by_urn and self.by_urn[d]["type"] == typ]

    def users(self, r: dict[str, Any], typ: str) -> list[dict[str, Any]]:
        return [x for x in self.dependents.get(r["urn"], []) if x["type"] == typ]

    def cluster(self, r: dict[str, Any]) -> str | None:
        return self._cluster.get(r["urn"])


@dataclass
class Gateway:
    urn: str
    cloud: str
    name: str
    record: dict[str, Any]


class Fabric:
    """Gateways, sessions and advertisements as the record declares them."""

    def __init__(self, rec: Record):
        self.rec = rec
        self.gateways: dict[str, Gateway] = {}
        for typ, cloud in ((TGW, "aws"), (VNG, "azure"), (HA_VPN, "gcp")):
            for r in rec.of(typ):
                self.gateways[r["urn"]] = Gateway(r["urn"], cloud, r["name"], r)
        self.pip_gateway = {d["urn"]: g for g in self.gateways.values() if g.cloud == "azure" for d in rec.deps(g.record, PIP)}
        self.ends: dict[str, Counter[str]] = {g: self._ends(self.gateways[g]) for g in self.gateways}

    # -- which gateway serves which cluster
    def gateway_of(self, c: ClusterSpec) -> Gateway | None:
        rec = self.rec
        if c.cloud == "aws":
            for vpc in rec.of(VPC, c.name):
                for att in rec.users(vpc, VPC_ATTACH):
                    for t in rec.deps(att, TGW):
                        return self.gateways[t["urn"]]
        elif c.cloud == "azure":
            for vnet in rec.of(VNET, c.name):
                for g in (g for g in self.gateways.values() if g.cloud == "azure"):
                    for sn in rec.deps(g.record, SUBNET):
                        if sn["inputs"].get("virtualNetworkName") == vnet["inputs"].get("virtualNetworkName") \
                                and sn["inputs"].get("resourceGroupName") == vnet["inputs"].get("resourceGroupName"):
                            return g
        else:
            for net in rec.of(GCP_NET, c.name):
                for ha in rec.users(net, HA_VPN):
                    return self.gateways[ha["urn"]]
        return None

    def _root(self, r: dict[str, Any]) -> str | None:
        """The gateway a peer-side resource stands for (HA VPN, Azure gateway via its public IP, TGW)."""
        if r["type"] in (TGW, HA_VPN, VNG):
            return r["urn"]
        if r["type"] == PIP:
            g = self.pip_gateway.get(r["urn"])
            return g.urn if g else None
        if r["type"] == VPN_CONN:
            t = self.rec.deps(r, TGW)
            return t[0]["urn"] if t else None
        return None

    def _peer_roots(self, r: dict[str, Any]) -> set[str]:
        return {root for d in r.get("dependencies") or [] if d in self.rec.by_urn
                for root in [self._root(self.rec.by_urn[d])] if root}

    def _ends(self, g: Gateway) -> Counter[str]:
        """Tunnel ends with BGP on gateway ``g``, per peer gateway."""
        rec, out = self.rec, Counter()
        if g.cloud == "aws":
            for conn in rec.users(g.record, VPN_CONN):
                if conn["inputs"].get("staticRoutesOnly") is True:
                    continue
                for cgw in rec.deps(conn, CGW):
                    for peer in self._peer_roots(cgw):
                        out[peer] += 2  # each VPN connection carries two tunnels
        elif g.cloud == "azure":
            for conn in rec.users(g.record, VNG_CONN):
                if not conn["inputs"].get("enableBgp"):
                    continue
                for lng in rec.deps(conn, LNG):
                    for peer in self._peer_roots(lng):
                        out[peer] += 1
        else:
            for tun in rec.users(g.record, GCP_TUNNEL):
                sessions = [p for i in rec.users(tun, ROUTER_IF) for p in rec.users(i, ROUTER_PEER)]
                if not sessions:
                    continue
                for ext in rec.deps(tun, EXT_GW):
                    for peer in self._peer_roots(ext):
                        out[peer] += 1
        return out

    def sessions(self, a: Gateway, b: Gateway) -> int:
        return min(self.ends[a.urn][b.urn], self.ends[b.urn][a.urn])

    # -- what a gateway advertises over BGP
    def advertised(self, g: Gateway) -> list[Net]:
        rec, out = self.rec, []
        if g.cloud == "aws":
            if g.record["inputs"].get("defaultRouteTablePropagation") != "enable":
                return []
            for att in rec.users(g.record, VPC_ATTACH):
                if att["inputs"].get("transitGatewayDefaultRouteTablePropagation") is False:
                    continue
                for vpc in rec.deps(att, VPC):
                    out += _vpc_ranges(rec, vpc)
        elif g.cloud == "azure":
            for sn in rec.deps(g.record, SUBNET):
                for vnet in rec.of(VNET):
                    if vnet["inputs"].get("virtualNetworkName") == sn["inputs"].get("virtualNetworkName"):
                        out += [n for n in map(_net, _get(vnet["inputs"], "addressSpace.addressPrefixes") or []) if n]
        else:
            for net in rec.deps(g.record, GCP_NET):
                for router in rec.users(net, ROUTER):
                    bgp = router["inputs"].get("bgp")
                    if not bgp:
                        continue
                    subnets = [n for s in rec.users(net, GCP_SUBNET) for n in [_net(s["inputs"].get("ipCidrRange"))] if n]
                    if bgp.get("advertiseMode") != "CUSTOM" or "ALL_SUBNETS" in (bgp.get("advertisedGroups") or []):
                        out += subnets
                    out += [n for n in (_net(x.get("range")) for x in bgp.get("advertisedIpRanges") or []) if n]
        return out

    def attached(self, g: Gateway, c: ClusterSpec) -> bool:
        """An AWS cluster's VPC is attached to TGW ``g`` with propagation (routes to it exist)."""
        rec = self.rec
        for vpc in rec.of(VPC, c.name):
            for att in rec.users(vpc, VPC_ATTACH):
                if any(t["urn"] == g.urn for t in rec.deps(att, TGW)) and g.record["inputs"].get("defaultRouteTablePropagation") == "enable":
                    return True
        return False

    def peering(self, a: Gateway, b: Gateway) -> dict[str, Any] | None:
        for p in self.rec.of(PEERING):
            if {t["urn"] for t in self.rec.deps(p, TGW)} == {a.urn, b.urn} and self.rec.users(p, ACCEPTER):
                return p
        return None

    def static_routes(self, g: Gateway, peering: dict[str, Any]) -> list[Net]:
        """Static routes on TGW ``g`` that point at ``peering`` (or its accepter)."""
        attachments = {peering["urn"]} | {a["urn"] for a in self.rec.users(peering, ACCEPTER)}
        return [n for r in self.rec.users(g.record, TGW_ROUTE) if attachments & set(r.get("dependencies") or [])
                for n in [_net(r["inputs"].get("destinationCidrBlock"))] if n]


def _vpc_ranges(rec: Record, vpc: dict[str, Any]) -> list[Net]:
    nets = [_net(vpc["inputs"].get("cidrBlock"))]
    nets += [_net(a["inputs"].get("cidrBlock")) for a in rec.users(vpc, VPC_CIDR)]
    return [n for n in nets if n]


class Checker:
    def __init__(self, resources: list[dict[str, Any]], spec: FleetSpec):
        self.rec = Record(resources)
        self.spec = spec
        self.fabric = Fabric(self.rec)
        self.used: set[str] = set()  # ids of the allow rules some flow's hop relies on

    # -- routes inside a cluster's own network
    def _private_tables(self, c: ClusterSpec) -> list[dict[str, Any]]:
        return [t for t in self.rec.of(ROUTE_TABLE, c.name)
                if not any(r.get("gatewayId") for r in t["inputs"].get("routes") or [])]

    def _table_routes(self, table: dict[str, Any]) -> list[dict[str, Any]]:
        inline = [{"inputs": {"destinationCidrBlock": r.get("cidrBlock"), **r}, "dependencies": []}
                  for r in table["inputs"].get("routes") or []]
        return inline + self.rec.users(table, ROUTE)

    def vpc_route(self, c: ClusterSpec, dests: tuple[Net, ...], via: Gateway | None, what: str) -> Hop:
        """Cluster ``c``'s network sends ``dests`` towards ``via`` (None: to the internet via NAT)."""
        if c.cloud == "aws":
            tables = self._private_tables(c)
            if not tables:
                return Hop(what, False, f"{c.name}: no private route table in the record")
            bad = []
            for t in tables:
                routes = self._table_routes(t)
                if via is None:
                    ok = any(_net(r["inputs"].get("destinationCidrBlock")) == ANY and r["inputs"].get("natGatewayId") for r in routes)
                else:
                    ok = all(any(via.urn in (r.get("dependencies") or []) and _covers([r["inputs"].get("destinationCidrBlock")], (d,))
                                 for r in routes) for d in dests)
                if not ok:
                    bad.append(t["name"])
            target = "NAT gateway" if via is None else via.name
            return Hop(what, not bad, f"{c.name} route tables -> {target} for {_show(dests)}" + (f"; missing in {bad}" if bad else ""))
        if via is None:
            if c.cloud == "azure":
                ok = any(sn["inputs"].get("natGateway") for sn in self.rec.of(SUBNET, c.name) if sn["inputs"].get("subnetName") == "nodes")
                return Hop(what, ok, f"{c.name} node subnet egress through its NAT gateway" + ("" if ok else ": no NAT gateway"))
            ok = bool(self.rec.of(ROUTER_NAT, c.name))
            return Hop(what, ok, f"{c.name} egress through Cloud NAT" + ("" if ok else ": no Cloud NAT"))
        # Azure: BGP-learned routes reach every subnet of the gateway's VNet; GCP: the Cloud Router
        # installs learned routes as dynamic routes of the VPC.
        return Hop(what, True, f"{c.name} learns {_show(dests)} from {via.name} over BGP")

    # -- the path between two clusters
    def path(self, a: ClusterSpec, b: ClusterSpec, dst: tuple[Net, ...], src: tuple[Net, ...]) -> list[Hop]:
        if a.name == b.name:
            return [Hop("route", True, f"inside {a.name}'s own network")]
        fab = self.fabric
        ga, gb = fab.gateway_of(a), fab.gateway_of(b)
        if ga is None or gb is None:
            missing = [c.name for c, g in ((a, ga), (b, gb)) if g is None]
            return [Hop("gateway", False, f"no fabric gateway serves {missing}")]
        hops = [self.vpc_route(a, dst, ga, "route (source)")]
        if ga.urn == gb.urn:
            ok = fab.attached(ga, b)
            hops.append(Hop("transit gateway", ok, f"{ga.name} propagates {b.name}'s VPC" + ("" if ok else ": not attached/propagated")))
        elif ga.cloud == gb.cloud == "aws":
            p = fab.peering(ga, gb)
            if p is None:
                return hops + [Hop("link", False, f"no accepted TGW peering {ga.name} <-> {gb.name}")]
            there, back = fab.static_routes(ga, p), fab.static_routes(gb, p)
            hops.append(Hop("link", True, f"TGW peering {p['name']}"))
            hops.append(Hop("route (peering out)", _covers(there, dst), f"{ga.name} static routes to peering cover {_show(dst)}"))
            hops.append(Hop("route (peering back)", _covers(back, src), f"{gb.name} static routes to peering cover {_show(src)}"))
            hops.append(Hop("transit gateway", fab.attached(gb, b), f"{gb.name} propagates {b.name}'s VPC"))
        else:
            n = fab.sessions(ga, gb)
            hops.append(Hop("link", n >= MIN_TUNNELS, f"{ga.name} <-> {gb.name}: {n} tunnels with BGP on both ends (need {MIN_TUNNELS})"))
            hops.append(Hop("advertisement", _covers(fab.advertised(gb), dst), f"{gb.name} advertises {_show(dst)}"))
            hops.append(Hop("advertisement (return)", _covers(fab.advertised(ga), src), f"{ga.name} advertises {_show(src)}"))
        hops.append(self.vpc_route(b, src, gb, "route (return)"))
        return hops

    # -- filters
    def cloud_firewall(self, b: ClusterSpec, a: ClusterSpec, src: tuple[Net, ...], port: int, proto: str, what: str,
                       src_sg: str | None = None) -> Hop:
        if a.name == b.name and src_sg is None:
            return Hop(what, True, f"{b.name} admits its own members (cloud default)")
        rec = self.rec
        if b.cloud == "aws":
            # The cluster's rules, and rules elsewhere on its cluster security group (the runner's).
            eks = {e["urn"] for e in rec.of(EKS, b.name)}
            rules = [r for t in SG_RULES for r in rec.of(t)
                     if rec.cluster(r) == b.name or eks & set(r.get("dependencies") or [])]
            admitting = []
            for r in rules:
                i = r["inputs"]
                if i.get("type", "ingress") != "ingress" or str(i.get("protocol") or i.get("ipProtocol")).lower() not in (proto, "-1"):
                    continue
                lo, hi = int(i.get("fromPort", -1)), int(i.get("toPort", -1))
                cidrs = list(i.get("cidrBlocks") or []) + ([i["cidrIpv4"]] if i.get("cidrIpv4") else [])
                cidrs += [e.get("cidr") for pl in rec.deps(r, PREFIX_LIST) for e in pl["inputs"].get("entries") or []]
                by_group = (src_sg is not None and (i.get("sourceSecurityGroupId") or i.get("referencedSecurityGroupId"))
                            and src_sg in (r.get("dependencies") or []))
                if lo <= port <= hi and (by_group or (cidrs and _covers(cidrs, src))):
                    admitting.append(r)
            if admitting:  # AWS unions a group's rules: every rule that admits the flow is in use
                self.used.update(r["urn"] for r in admitting)
                return Hop(what, True, f"security group rule {admitting[0]['name']}")
            return Hop(what, False, f"no security group rule on {b.name} admits {_show(src)} {proto}/{port}")
        if b.cloud == "azure":
            return self._nsg(b, src, port, proto, what)
        admitting = []
        for r in rec.of(FIREWALL, b.name):
            i = r["inputs"]
            if i.get("direction", "INGRESS") != "INGRESS" or not _covers(i.get("sourceRanges") or [], src):
                continue
            if any(allow.get("protocol") in (proto, "all") and (not allow.get("ports") or _port_in(port, allow["ports"]))
                   for allow in i.get("allows") or []):
                admitting.append(r)
        if admitting:
            self.used.update(r["urn"] for r in admitting)
            return Hop(what, True, f"VPC firewall rule {admitting[0]['name']}")
        return Hop(what, False, f"no VPC firewall rule on {b.name} admits {_show(src)} {proto}/{port}")

    def _nsg(self, b: ClusterSpec, src: tuple[Net, ...], port: int, proto: str, what: str, nsg: str | None = None) -> Hop:
        rules = sorted((r for r in self.rec.of(NSG_RULE, b.name) if r["inputs"].get("direction") == "Inbound"
                        and (nsg is None or r["inputs"].get("networkSecurityGroupName") == nsg)),
                       key=lambda r: r["inputs"].get("priority", 65000))
        for r in rules:
            i = r["inputs"]
            if str(i.get("protocol")).lower() not in (proto, "*"):
                continue
            ports = [i.get("destinationPortRange")] if i.get("destinationPortRange") else i.get("destinationPortRanges") or []
            if not _port_in(port, ports):
                continue
            prefixes = i.get("sourceAddressPrefixes") or ([i["sourceAddressPrefix"]] if i.get("sourceAddressPrefix") else [])
            if "*" not in prefixes and not _covers(prefixes, src):
                continue
            ok = i.get("access") == "Allow"
            self.used.add(r["urn"])  # first match wins: this rule decides
            return Hop(what, ok, f"NSG rule {r['name']} (priority {i.get('priority')}) {'allows' if ok else 'denies'} {_show(src)} {proto}/{port}")
        # Azure's default AllowVnetInBound (65000) admits the VNet and every range learned over
        # the gateway; nothing recorded overrides it for this source.
        return Hop(what, True, f"{b.name} NSG default AllowVnetInBound")

    def _runner(self, c: ClusterSpec) -> tuple[tuple[Net, ...], str | None] | None:
        """The CodeBuild runner in ``c``'s VPC: its subnets' ranges and its security group."""
        for p in self.rec.of(CODEBUILD):
            if not p["inputs"].get("vpcConfig"):
                continue
            nets = tuple(n for s in self.rec.deps(p, "aws:ec2/subnet:Subnet") if self.rec.cluster(s) == c.name
                         for n in [_net(s["inputs"].get("cidrBlock"))] if n)
            sgs = self.rec.deps(p, "aws:ec2/securityGroup:SecurityGroup")
            if nets:
                return nets, (sgs[0]["urn"] if sgs else None)
        return None

    def _public_aks(self, b: ClusterSpec) -> dict[str, Any] | None:
        """``b``'s AKS cluster record when its API server is public (limited to authorized ranges)."""
        if b.cloud != "azure":
            return None
        aks = self.rec.of(AKS, b.name)
        if aks and _get(aks[0]["inputs"], "apiServerAccessProfile.enablePrivateCluster") is False:
            return aks[0]
        return None

    def egress_addresses(self, a: ClusterSpec) -> list[dict[str, Any]]:
        """The public addresses ``a``'s NAT sends from (EIPs, a reserved GCP address, Azure's NAT IP)."""
        return [addr for typ, nat in EGRESS for addr in self.rec.of(typ, a.name) if self.rec.users(addr, nat)]

    def internet_path(self, a: ClusterSpec, b: ClusterSpec, aks: dict[str, Any]) -> list[Hop]:
        """``a`` to ``b``'s public API server: out through ``a``'s NAT, admitted by authorized IP
        ranges built from ``a``'s NAT addresses (the record's dependencies say where they come from)."""
        hops = [self.vpc_route(a, (ANY,), None, "route (egress)")]
        addrs = self.egress_addresses(a)
        ranges = [str(x) for x in _get(aks["inputs"], "apiServerAccessProfile.authorizedIPRanges") or []]
        deps = set(aks.get("dependencies") or [])
        ok = bool(addrs) and all(x["urn"] in deps for x in addrs) and bool(ranges) and "0.0.0.0/0" not in ranges
        names = ", ".join(x["name"] for x in addrs) or "none"
        hops.append(Hop("API endpoint", ok, f"{b.name} authorized IP ranges ({len(ranges)}) " + ("come from" if ok else "do not hold")
                        + f" {a.name}'s NAT addresses ({names})"))
        return hops

    def api_filter(self, a: ClusterSpec, b: ClusterSpec, src: tuple[Net, ...], src_sg: str | None = None) -> Hop:
        if b.cloud == "gcp":
            # GKE's private endpoint admits master authorized networks only.
            gke = self.rec.of(GKE, b.name)
            blocks = [x.get("cidrBlock") for x in _get(gke[0]["inputs"], "masterAuthorizedNetworksConfig.cidrBlocks") or []] if gke else []
            ok = _covers(blocks, src)
            return Hop("API endpoint", ok, f"{b.name} master authorized networks " + ("admit" if ok else "do not admit") + f" {_show(src)}")
        if b.cloud == "azure":
            # API server VNet integration: the API's internal load balancer sits in the subnet
            # delegated to AKS; only that subnet's NSG (if any) filters it.
            subnets = [sn for sn in self.rec.of(SUBNET, b.name)
                       if any(d.get("serviceName") == "Microsoft.ContainerService/managedClusters" for d in sn["inputs"].get("delegations") or [])]
            if subnets:
                nsg = _get(subnets[0]["inputs"], "networkSecurityGroup.id")
                if not nsg:
                    return Hop("API endpoint", True, f"{b.name} API server subnet {subnets[0]['inputs'].get('addressPrefix')} has no NSG")
                return self._nsg(b, src, 443, "tcp", "API endpoint", nsg.rsplit("/", 1)[-1])
        return self.cloud_firewall(b, a, src, 443, "tcp", "API endpoint", src_sg)

    def lb_sources(self, b: ClusterSpec, src: tuple[Net, ...]) -> Hop:
        rels = [r for r in self.rec.of(RELEASE, b.name) if r["inputs"].get("name") == EASTWEST_RELEASE]
        if not rels:
            return Hop("load balancer", False, f"no east-west gateway release on {b.name}")
        ranges = _get(rels[0]["inputs"], "values.service.loadBalancerSourceRanges") or []
        ok = _covers(ranges, src)
        return Hop("load balancer", ok, f"{b.name} east-west Service loadBalancerSourceRanges " + ("admit" if ok else "do not admit") + f" {_show(src)}")

    # -- federation: the hub's ScrapeConfig, the spoke's Service and its NetworkPolicy
    def scrape_target(self, a: ClusterSpec, b: ClusterSpec, dst: tuple[Net, ...]) -> Hop:
        want = {f"{n.network_address}:{FEDERATE_PORT}" for n in dst}
        for r in self.rec.of(SCRAPE_CONFIG, a.name):
            targets = {t for sc in _get(r["inputs"], "spec.staticConfigs") or [] for t in sc.get("targets") or []}
            if _get(r["inputs"], "spec.jobName") == f"federate-{b.name}" and want & targets:
                return Hop("scrape target", True, f"{a.name} ScrapeConfig federate-{b.name} targets {min(want & targets)}")
        return Hop("scrape target", False, f"no ScrapeConfig on {a.name} targets {b.name}'s load balancer {sorted(want)}")

    def _federate_service(self, b: ClusterSpec) -> dict[str, Any] | None:
        return next((r for r in self.rec.of(SERVICE, b.name) if _get(r["inputs"], "metadata.name") == FEDERATE_SERVICE
                     and _get(r["inputs"], "metadata.namespace") == FEDERATE_NS), None)

    def federate_lb(self, b: ClusterSpec, src: tuple[Net, ...]) -> Hop:
        svc = self._federate_service(b)
        if svc is None or _get(svc["inputs"], "spec.type") != "LoadBalancer":
            return Hop("load balancer", False, f"no {FEDERATE_SERVICE} LoadBalancer Service on {b.name}")
        ranges = _get(svc["inputs"], "spec.loadBalancerSourceRanges") or []
        ok = _covers(ranges, src) and ANY not in [_net(x) for x in ranges]
        return Hop("load balancer", ok, f"{b.name} {FEDERATE_SERVICE} loadBalancerSourceRanges " + ("admit" if ok else "do not admit") + f" {_show(src)}")

    def federate_export(self, b: ClusterSpec) -> Hop:
        ok = any(_get(r["inputs"], "metadata.name") == FEDERATE_SERVICE for r in self.rec.of(SERVICE_EXPORT, b.name))
        return Hop("Submariner export", ok, f"{b.name} exports {FEDERATE_SERVICE} to the clusterset" + ("" if ok else ": no ServiceExport"))

    def _federate_ingress(self, b: ClusterSpec, src: tuple[Net, ...]) -> Hop:
        ns, labels = POD_LABELS["federate"]
        return self.netpol(b.name, ns, "ingress", {"ranges": src}, FEDERATE_PORT, "tcp", pod_labels=labels)

    # -- NetworkPolicy
    def _ns_labels(self, c: str, ns: str) -> dict[str, str]:
        labels = {"kubernetes.io/metadata.name": ns}
        for r in self.rec.of(NAMESPACE, c):
            if _get(r["inputs"], "metadata.name") == ns:
                labels.update(_get(r["inputs"], "metadata.labels") or {})
        return labels

    def netpol(self, cluster: str, ns: str, direction: str, peer: dict[str, Any], port: int, proto: str,
               pod_labels: dict[str, str] | None = None) -> Hop:
        """Do ``ns``'s policies let an (unlabelled) application pod send/receive to/from ``peer``?
        ``peer``: {"ns": name, "labels": {...}} in the same cluster, or {"ranges": (...)} outside it."""
        kind = "Egress" if direction == "egress" else "Ingress"
        what = f"NetworkPolicy {direction} ({ns}@{cluster})"
        pols = [r for r in self.rec.of(NETPOL, cluster) if _get(r["inputs"], "metadata.namespace") == ns]
        # Policies whose podSelector selects the pods (``pod_labels``; an application pod has none).
        selecting = [p for p in pols if all((pod_labels or {}).get(k) == v for k, v in (_get(p["inputs"], "spec.podSelector.matchLabels") or {}).items())
                     and kind in (_get(p["inputs"], "spec.policyTypes") or [])]
        if not selecting:
            return Hop(what, True, "no policy isolates the pods")
        key, peers_key = ("egress", "to") if kind == "Egress" else ("ingress", "from")
        admitting = []
        for p in selecting:
            for n, rule in enumerate(_get(p["inputs"], f"spec.{key}") or []):
                ports = rule.get("ports") or []
                port_ok = not ports or any(str(pp.get("protocol", "TCP")).lower() == proto and pp.get("port") in (None, port) for pp in ports)
                peers = rule.get(peers_key) or []
                if port_ok and (not peers or any(self._peer_match(cluster, ns, x, peer) for x in peers)):
                    admitting.append((p, n))
        if admitting:  # policies are additive: every admitting rule is in use
            self.used.update(f"{p['urn']}#{key}[{n}]" for p, n in admitting)
            return Hop(what, True, f"{_get(admitting[0][0]['inputs'], 'metadata.name')} admits it")
        names = sorted(_get(p["inputs"], "metadata.name") for p in selecting)
        return Hop(what, False, f"no rule of {names} admits {proto}/{port or 'app port'} {'to' if kind == 'Egress' else 'from'} {_peer_text(peer)}")

    def _peer_match(self, cluster: str, ns: str, rule_peer: dict[str, Any], peer: dict[str, Any]) -> bool:
        if "ipBlock" in rule_peer:
            return bool(peer.get("ranges")) and _covers([rule_peer["ipBlock"].get("cidr")], peer["ranges"])
        if "ns" not in peer:
            return False
        want_ns = _get(rule_peer, "namespaceSelector.matchLabels")
        if "namespaceSelector" in rule_peer:
            labels = self._ns_labels(cluster, peer["ns"])
            if not all(labels.get(k) == v for k, v in (want_ns or {}).items()):
                return False
        elif peer["ns"] != ns:
            return False
        want_pod = _get(rule_peer, "podSelector.matchLabels") or {}
        return all(peer.get("labels", {}).get(k) == v for k, v in want_pod.items())

    # -- one flow
    def check(self, flow: Flow) -> Result:
        spec = self.spec
        a, b = spec.cluster(flow.src), spec.cluster(flow.dst)
        res = Result(flow)
        if not spec.network.enabled and flow.kind == "deployer-api":
            res.skipped = "network.fabric is 'none': the deployer uses public endpoints limited to security.apiAllowedCidrs"
            return res
        if flow.cross_cluster and not spec.network.enabled:
            res.skipped = "network.fabric is 'none': no private path between clusters"
            return res
        if flow.target.startswith("ns:") or flow.target in ("istiod", "kube-dns"):
            res.hops = self._in_cluster(flow)
            return res
        src_sg = None
        if flow.sender == "runner":
            runner = self._runner(a)
            if runner is None:
                res.hops = [Hop("runner", False, f"no pulumi up runner inside {a.name}'s network in the record")]
                return res
            src, src_sg = runner
        else:
            src = source_ranges(a, "nodes" if flow.sender == "nodes" else "pods")
        dst = dest_ranges(b, flow.target)
        aks = self._public_aks(b) if flow.target == "api" else None
        if aks is not None:
            # Over the internet, not the fabric: no routes or filters of the fabric are crossed.
            res.hops = self.internet_path(a, b, aks)
            if flow.sender.startswith("ns:"):
                res.hops.insert(0, self.netpol(a.name, flow.sender[3:], "egress", {"ranges": (ANY,)}, flow.port, flow.protocol))
            return res
        res.hops = self.path(a, b, dst, src)
        if flow.sender.startswith("ns:"):
            res.hops.insert(0, self.netpol(a.name, flow.sender[3:], "egress", {"ranges": dst}, flow.port, flow.protocol))
        if flow.kind == "federation-submariner":
            res.hops = [self.federate_export(b), self._federate_ingress(b, src)]
            return res
        if flow.target == "api":
            res.hops.append(self.api_filter(a, b, src, src_sg))
        elif flow.target == "federate":
            res.hops.append(self.scrape_target(a, b, dst))
            res.hops.append(self.federate_lb(b, src))
            res.hops.append(self.cloud_firewall(b, a, src, flow.port, flow.protocol, "node firewall"))
            res.hops.append(self._federate_ingress(b, src))
        elif flow.target == "eastwest":
            res.hops.append(self.lb_sources(b, src))
            res.hops.append(self.cloud_firewall(b, a, src, flow.port, flow.protocol, "node firewall"))
        else:
            res.hops.append(self.cloud_firewall(b, a, src, flow.port, flow.protocol, "node firewall"))
        return res

    def _in_cluster(self, flow: Flow) -> list[Hop]:
        hops = [Hop("route", True, f"pod network of {flow.src}")]
        if flow.sender.startswith("ns:") and flow.target.startswith("ns:"):  # sidecar to sidecar
            src_ns, dst_ns = flow.sender[3:], flow.target[3:]
            hops.append(self.netpol(flow.src, src_ns, "egress", {"ns": dst_ns, "labels": {}}, flow.port, flow.protocol))
            hops.append(self.netpol(flow.dst, dst_ns, "ingress", {"ns": src_ns, "labels": {}}, flow.port, flow.protocol))
        elif flow.sender.startswith("ns:"):
            ns, labels = POD_LABELS[flow.target]
            hops.append(self.netpol(flow.src, flow.sender[3:], "egress", {"ns": ns, "labels": labels}, flow.port, flow.protocol))
            hops.append(self.netpol(flow.dst, ns, "ingress", {"ns": flow.sender[3:], "labels": {}}, flow.port, flow.protocol))
        else:  # the east-west gateway delivering to a namespace's sidecars
            ns, labels = POD_LABELS["eastwest"]
            hops.append(self.netpol(flow.dst, flow.target[3:], "ingress", {"ns": ns, "labels": labels}, flow.port, flow.protocol))
        return hops


def _port_in(port: int, ranges: Iterable[Any]) -> bool:
    for r in ranges:
        text = str(r)
        if text == "*":
            return True
        lo, _, hi = text.partition("-")
        if lo.isdigit() and int(lo) <= port <= int(hi or lo):
            return True
    return False


def _show(nets: Iterable[Net]) -> str:
    return ", ".join(str(n) for n in nets)


def _peer_text(peer: dict[str, Any]) -> str:
    return _show(peer["ranges"]) if "ranges" in peer else f"{peer['labels'] or 'pods'} in {peer['ns']}"


def check_flows(resources: list[dict[str, Any]], spec: FleetSpec) -> list[Result]:
    checker = Checker(resources, spec)
    return [checker.check(f) for f in required_flows(spec)]


@dataclass(frozen=True)
class Rule:
    id: str  # urn, or urn#ingress[i] / urn#egress[i] for a NetworkPolicy rule
    cluster: str | None
    name: str


# Allow rules that no modelled flow uses, each kept on purpose: (rule-name pattern, reason).
JUSTIFIED = (
    (re.compile(r"-fleet-istio-webhook-cp$"),
     ("GKE's private control plane calls the istiod injection webhook (TCP 15017): an in-cluster flow "
      "the check does not model")),
)


def all_rules(resources: list[dict[str, Any]]) -> list[Rule]:
    """Every allow rule the plan declares: security-group ingress rules, NSG inbound allows, VPC
    firewall ingress rules, and each ingress/egress rule of each NetworkPolicy."""
    rec, out = Record(resources), []
    for r in resources:
        i, t = r["inputs"], r["type"]
        allow = ((t in SG_RULES and i.get("type", "ingress") == "ingress")
                 or (t == NSG_RULE and i.get("direction") == "Inbound" and i.get("access") == "Allow")
                 or (t == FIREWALL and i.get("direction", "INGRESS") == "INGRESS" and bool(i.get("allows"))))
        if allow:
            out.append(Rule(r["urn"], rec.cluster(r), r["name"]))
        elif t == NETPOL:
            for key in ("ingress", "egress"):
                out += [Rule(f"{r['urn']}#{key}[{n}]", rec.cluster(r), f"{r['name']}#{key}[{n}]")
                        for n in range(len(_get(i, f"spec.{key}") or []))]
    return out


def unused_rules(resources: list[dict[str, Any]], spec: FleetSpec) -> tuple[list[Rule], list[tuple[Rule, str]]]:
    """(rules no flow uses and nothing justifies, [(rule, reason)] justified in ``JUSTIFIED``)."""
    checker = Checker(resources, spec)
    for f in required_flows(spec):
        checker.check(f)
    unused, justified = [], []
    for rule in all_rules(resources):
        if rule.id in checker.used:
            continue
        reason = next((why for pat, why in JUSTIFIED if pat.search(rule.name)), None)
        if reason is None:
            unused.append(rule)
        else:
            justified.append((rule, reason))
    return unused, justified


def print_results(results: list[Result], console: Any, *, verbose: bool = False) -> int:
    """Print the flows; return the number of flows with a missing hop."""
    from rich.table import Table

    failed = [r for r in results if not r.ok]
    skipped = [r for r in results if r.skipped]
    table = Table(title="Flows", title_justify="left")
    for col in ("flow", "status", "hops" if verbose else "missing hop"):
        table.add_column(col)
    for r in results:
        if r.skipped:
            status, text = "skipped", r.skipped
        elif r.ok:
            status, text = "ok", " | ".join(h.detail for h in r.hops) if verbose else ""
        else:
            status, text = "MISSING", "; ".join(f"{h.what}: {h.detail}" for h in r.missing)
        if verbose or status != "ok":
            table.add_row(r.flow.name, status, text)
    if table.row_count:
        console.print(table)
    checked = len(results) - len(skipped)
    console.print(f"[bold]{checked - len(failed)}[/] of {checked} flows routed and admitted, {len(failed)} missing"
                  + (f", {len(skipped)} skipped (no private fabric)" if skipped else ""))
    for r in failed:
        console.print(f"MISSING {r.flow.name}: " + "; ".join(f"{h.what}: {h.detail}" for h in r.missing), markup=False)
    return len(failed)


def print_unused(unused: list[Rule], justified: list[tuple[Rule, str]], console: Any, *, checked: bool, verbose: bool = False) -> int:
    """Print the allow rules no flow uses; return how many count (0 without a fabric: the
    cross-cluster flows are skipped there, so their rules cannot be judged)."""
    if not checked:
        console.print("unused rules: not judged (network.fabric is 'none': cross-cluster flows are skipped)")
        return 0
    console.print(f"[bold]{len(unused)}[/] allow rules no flow uses, {len(justified)} kept with a reason (offline/flows.py JUSTIFIED)")
    for r in unused:
        console.print(f"UNUSED {r.cluster or '(fleet)'} {r.name}", markup=False)
    if verbose:
        for r, why in justified:
            console.print(f"kept {r.name}: {why}", markup=False)
    return len(unused)
