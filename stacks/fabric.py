"""The fleet's private network fabric as data: gateways, links, ASNs, inside-tunnel addresses.

Pure functions, no Pulumi (like :mod:`stacks.ipam`). With ``network.fabric: vpn``:

- one *gateway* per cloud and region that holds clusters, keyed ``"<cloud>/<region>"``: an AWS
  Transit Gateway (every VPC of the region attached), an Azure active-active VPN gateway in the
  cluster's VNet, a GCP HA VPN gateway + Cloud Router in the cluster's VPC;
- one *link* per pair of gateways, keyed ``"<gw>~<gw>"`` (sorted): across clouds a site-to-site
  IPsec link with BGP over every tunnel (4 tunnels AWS-GCP and AWS-Azure, 2 Azure-GCP: the counts
  each cloud documents for its HA topology); inside one cloud the cloud's own mechanism (Transit
  Gateway peering with static routes on AWS, global VNet peering on Azure, VPC peering on GCP).
  Every gateway links to every other directly, so no gateway has to transit another's routes.

Stable keys, as in the address plan: a gateway's private ASN and a link's /27 of inside-tunnel
addresses are pinned in config or hashed from the key, so adding a region never moves another
link. Collisions and each cloud's reserved values are config errors naming key and value.

Sources (see ../shared/reference/network-fabric.md):
- ASNs: AWS ``amazon_side_asn`` 64512-65534 / 4200000000-4294967294 (pulumi-aws 7.51.1
  ``TransitGateway`` docstring); Azure reserves 65515, 65517-65520 and accepts 64512-65514,
  65521-65534 (learn.microsoft.com/azure/vpn-gateway/vpn-gateway-vpn-faq, BGP section); GCP
  Cloud Router needs an RFC 6996 private ASN (pulumi-gcp 10.2.0 ``Router`` docstring).
- Inside /30s: AWS rejects 169.254.0.0/30 ... 169.254.5.0/30 and 169.254.169.252/30 (AWS API
  ``VpnTunnelOptionsSpecification.TunnelInsideCidr``); Azure custom APIPA BGP addresses must lie in
  169.254.21.0-169.254.22.255 (learn.microsoft.com/azure/vpn-gateway/vpn-gateway-howto-aws-bgp),
  so every link that touches Azure takes its /27 from there. AWS takes the first host of a /30,
  the peer the second (same page); on Azure-GCP links Azure takes the first.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING, Any

from . import ipam
from .core import ConfigIssue
from .sections.fabric import FabricConfig

if TYPE_CHECKING:
    from .spec import ClusterSpec, FleetSpec

Net = ipaddress.IPv4Network

LINK_LOCAL = ipaddress.IPv4Network("169.254.0.0/16")
AWS_RESERVED_INSIDE = tuple(ipaddress.IPv4Network(n) for n in (
    "169.254.0.0/30", "169.254.1.0/30", "169.254.2.0/30", "169.254.3.0/30", "169.254.4.0/30",
    "169.254.5.0/30", "169.254.169.252/30"))
AZURE_APIPA = (ipaddress.IPv4Network("169.254.21.0/24"), ipaddress.IPv4Network("169.254.22.0/24"))
LINK_BLOCK_PREFIX = 27  # 8 /30s per link; links use up to 4

# BGP ASNs each cloud accepts for its own side (inclusive ranges), and the hashed pool: the
# 16-bit private ASNs every cloud accepts.
CLOUD_ASNS: dict[str, tuple[tuple[int, int], ...]] = {
    "aws": ((64512, 65534), (4200000000, 4294967294)),
    "azure": ((64512, 65514), (65521, 65534)),
    "gcp": ((64512, 65534), (4200000000, 4294967294)),
}
ASN_RULES = {
    "aws": "AWS accepts 64512-65534 or 4200000000-4294967294",
    "azure": "Azure reserves 65515 and 65517-65520 and accepts 64512-65514 or 65521-65534",
    "gcp": "GCP Cloud Router needs an RFC 6996 private ASN (64512-65534 or 4200000000-4294967294)",
}
ASN_POOL = range(64512, 65515)

# Tunnels per cross-cloud link (HA topologies: GCP-AWS 4, GCP-Azure 2, AWS-Azure 4).
TUNNELS: dict[frozenset[str], int] = {
    frozenset({"aws", "gcp"}): 4, frozenset({"aws", "azure"}): 4, frozenset({"azure", "gcp"}): 2,
}
# Same-cloud links between regions.
PEERING = {"aws": "tgw-peering", "azure": "vnet-peering", "gcp": "vpc-peering"}
# Which side takes the first host of a tunnel's /30: the earlier cloud in this order.
FIRST_HOST_ORDER = ("aws", "azure", "gcp")


@dataclass(frozen=True)
class Tunnel:
    index: int
    cidr: Net
    # gateway key -> that side's inside address; and which interface / connection / instance of
    # each side the tunnel uses (AWS VPN connection, Azure gateway instance, GCP HA VPN interface).
    addresses: tuple[tuple[str, str], ...]
    interface: int

    def address(self, gateway: str) -> str:
        return dict(self.addresses)[gateway]

    def peer_address(self, gateway: str) -> str:
        return next(ip for k, ip in self.addresses if k != gateway)


@dataclass(frozen=True)
class Gateway:
    key: str
    cloud: str
    region: str
    asn: int
    clusters: tuple[str, ...]
    # What this gateway's networks make reachable: node/VPC ranges, pod ranges where routable.
    ranges: tuple[Net, ...] = ()


@dataclass(frozen=True)
class Link:
    key: str
    a: str
    b: str
    kind: str  # "vpn" | "tgw-peering" | "vnet-peering" | "vpc-peering"
    slot: int | None = None
    tunnels: tuple[Tunnel, ...] = ()

    def other(self, gateway: str) -> str:
        return self.b if gateway == self.a else self.a


@dataclass(frozen=True)
class FabricPlan:
    gateways: tuple[Gateway, ...]
    links: tuple[Link, ...]

    def gateway(self, key: str) -> Gateway:
        return next(g for g in self.gateways if g.key == key)

    def gateway_of(self, cluster: str) -> Gateway:
        return next(g for g in self.gateways if cluster in g.clusters)

    def links_of(self, key: str) -> tuple[Link, ...]:
        return tuple(lk for lk in self.links if key in (lk.a, lk.b))

    def summary(self) -> dict[str, Any]:
        """What the fleet exports as ``fabric``: each gateway's ASN, clusters and ranges, each link's kind and tunnels."""
        return {
            "gateways": {g.key: {"asn": g.asn, "clusters": list(g.clusters), "ranges": [str(r) for r in g.ranges]} for g in self.gateways},
            "links": {lk.key: {"kind": lk.kind, "tunnels": [str(t.cidr) for t in lk.tunnels]} for lk in self.links},
        }


def gateway_key(cloud: str, region: str) -> str:
    return f"{cloud}/{region}"


def link_key(a: str, b: str) -> str:
    return "~".join(sorted((a, b)))


def routable_ranges(c: ClusterSpec) -> tuple[Net, ...]:
    """Ranges of a cluster that other networks can reach: node/VPC everywhere; pods on AWS (VPC
    CNI pods hold VPC addresses) and GCP (VPC-native alias ranges), GKE's private control-plane
    range (master global access on), never AKS overlay pods
    (learn.microsoft.com/azure/aks/concepts-network-azure-cni-overlay: outside endpoints cannot
    reach overlay pods)."""
    n = c.network
    if c.cloud == "aws":
        return (n.vpc, n.pods)
    if c.cloud == "gcp":
        # The private control-plane /28 too: other clusters call the GKE API on its private IP.
        return (ipam.node_subnet(n.vpc), n.pods, n.control_plane)
    return (n.vpc,)


def _blocks(pool: Iterable[Net]) -> list[Net]:
    return [b for net in pool for b in net.subnets(new_prefix=LINK_BLOCK_PREFIX)]


def _pool(cfg: FabricConfig, clouds: frozenset[str]) -> list[Net]:
    if "azure" in clouds:
        return _blocks(AZURE_APIPA)
    inside = cfg.inside_cidr
    ok = inside.subnet_of(LINK_LOCAL) and inside.prefixlen <= LINK_BLOCK_PREFIX
    return _blocks((inside,)) if ok else []  # a bad insideCidr is reported on its own


def _asn_ok(cloud: str, asn: int) -> bool:
    return any(lo <= asn <= hi for lo, hi in CLOUD_ASNS[cloud])


def asn_problem(cloud: str, asn: int) -> str | None:
    """Why ``asn`` cannot be the BGP ASN of a ``cloud`` gateway, or None when it can."""
    return None if _asn_ok(cloud, asn) else f"is not usable here: {ASN_RULES[cloud]}"


def tunnel_cidr_problem(cidr: str, clouds: frozenset[str]) -> str | None:
    """Why ``cidr`` cannot be the inside /30 of a tunnel between ``clouds``, or None when it can:
    the rules :func:`allocate` applies to the pools it cuts /30s from, for one /30."""
    try:
        net = ipaddress.IPv4Network(cidr)
    except ValueError:
        return "is not an IPv4 network"
    if net.prefixlen != 30:
        return "must be a /30 (one address per side)"
    if not net.subnet_of(LINK_LOCAL):
        return "must lie inside 169.254.0.0/16 (tunnel inside addresses are link-local)"
    if "aws" in clouds:
        hit = [str(r) for r in AWS_RESERVED_INSIDE if r.overlaps(net)]
        if hit:
            return f"is an AWS-reserved tunnel range {hit[0]}"
    if "azure" in clouds and not any(net.subnet_of(r) for r in AZURE_APIPA):
        return "must lie inside 169.254.21.0-169.254.22.255 (Azure's custom APIPA BGP range)"
    return None


def tunnels_of(a: str, ca: str, b: str, cb: str, cidrs: Sequence[Net]) -> tuple[Tunnel, ...]:
    """The tunnels of a VPN link between side ``a`` (cloud ``ca``) and ``b`` (cloud ``cb``), one
    per inside /30: the earlier cloud of :data:`FIRST_HOST_ORDER` takes the first host, and the
    first half of the tunnels use interface/connection/instance 0 of each side, the rest 1."""
    first, second = (a, b) if FIRST_HOST_ORDER.index(ca) < FIRST_HOST_ORDER.index(cb) else (b, a)
    n = len(cidrs)
    tunnels = []
    for t, net in enumerate(cidrs):
        hosts = list(net.hosts())
        tunnels.append(Tunnel(t, net, ((first, str(hosts[0])), (second, str(hosts[1]))), interface=t * 2 // n))
    return tuple(tunnels)


ClusterRef = tuple[str, str, str]  # name, cloud, region


def _gateways(clusters: Sequence[ClusterRef]) -> dict[str, tuple[str, str, list[str]]]:
    out: dict[str, tuple[str, str, list[str]]] = {}
    for name, cloud, region in clusters:
        out.setdefault(gateway_key(cloud, region), (cloud, region, []))[2].append(name)
    return dict(sorted(out.items()))


def allocate(cfg: FabricConfig, clusters: Sequence[ClusterRef]) -> tuple[FabricPlan, list[ConfigIssue]]:
    """Gateways and links of a fleet, and every config problem found on the way."""
    issues: list[ConfigIssue] = []
    gws = _gateways(clusters)

    # -- inside-tunnel pool for links that do not touch Azure
    inside = cfg.inside_cidr
    if not inside.subnet_of(LINK_LOCAL):
        issues.append(ConfigIssue("network.insideCidr", inside, "must lie inside 169.254.0.0/16 (tunnel inside addresses are link-local)"))
    elif inside.prefixlen > LINK_BLOCK_PREFIX:
        issues.append(ConfigIssue("network.insideCidr", inside, f"must be /{LINK_BLOCK_PREFIX} or larger (one /27 per link)"))
    else:
        hit = [str(r) for r in AWS_RESERVED_INSIDE if r.overlaps(inside)]
        if hit:
            issues.append(ConfigIssue("network.insideCidr", inside, f"overlaps AWS-reserved tunnel ranges {hit}"))
        if any(r.overlaps(inside) for r in AZURE_APIPA):
            issues.append(ConfigIssue("network.insideCidr", inside,
                                      "overlaps 169.254.21.0-169.254.22.255, which links to Azure use (its APIPA BGP range)"))

    # -- one network per Azure/GCP gateway: the VPN gateway sits in the cluster's own VNet/VPC
    if cfg.enabled:
        for i, (name, cloud, region) in enumerate(clusters):
            others = gws[gateway_key(cloud, region)][2]
            if cloud in ("azure", "gcp") and others[0] != name:
                issues.append(ConfigIssue(f"clusters[{i}].region", region,
                                          f"holds a second {cloud} cluster ('{name}' after '{others[0]}'): the fabric "
                                          f"puts one VPN gateway in each {cloud} cluster's own network; use another region"))

    # -- ASNs
    asns: dict[str, int] = {}
    owner: dict[int, str] = {}
    for key, asn in cfg.asns.items():
        if key not in gws:
            issues.append(ConfigIssue(f"network.asns.{key}", asn, f"names no gateway of this fleet (gateways: {', '.join(gws) or 'none'})"))
            continue
        cloud = gws[key][0]
        problem = asn_problem(cloud, asn)
        if problem:
            issues.append(ConfigIssue(f"network.asns.{key}", asn, problem))
            continue
        if asn in owner:
            issues.append(ConfigIssue(f"network.asns.{key}", asn, f"is already the ASN of gateway '{owner[asn]}'"))
            continue
        asns[key], owner[asn] = asn, key
    for key in gws:
        if key in asns or key in cfg.asns:
            continue
        asn = ASN_POOL[ipam.hashed_slot(key, len(ASN_POOL))]
        if asn in owner:
            free = next(a for a in ASN_POOL if a not in owner)
            issues.append(ConfigIssue("network.asns", key, f"hashes to ASN {asn} of gateway '{owner[asn]}'; pin network.asns.{key} (free: {free})"))
            continue
        asns[key], owner[asn] = asn, key

    # -- links and their inside /27s
    pairs = [(a, b) for a, b in combinations(gws, 2)]
    kinds = {link_key(a, b): ("vpn" if gws[a][0] != gws[b][0] else PEERING[gws[a][0]]) for a, b in pairs}
    for key, slot in cfg.tunnel_slots.items():
        if kinds.get(key) != "vpn":
            vpn = [k for k, v in kinds.items() if v == "vpn"]
            issues.append(ConfigIssue(f"network.tunnelSlots.{key}", slot, f"names no VPN link of this fleet (links: {', '.join(vpn) or 'none'})"))
    slots: dict[str, int] = {}
    taken: dict[tuple[bool, int], str] = {}
    vpn_links = sorted((k for k, v in kinds.items() if v == "vpn"), key=lambda k: (k not in cfg.tunnel_slots, k))
    for key in vpn_links:
        a, b = key.split("~")
        clouds = frozenset({gws[a][0], gws[b][0]})
        azure = "azure" in clouds
        size = len(_pool(cfg, clouds))
        if size == 0:
            continue
        pinned = cfg.tunnel_slots.get(key)
        if pinned is not None and not 0 <= pinned < size:
            issues.append(ConfigIssue(f"network.tunnelSlots.{key}", pinned, f"is outside its pool ({size} /27 blocks: 0 to {size - 1})"))
            continue
        slot = pinned if pinned is not None else ipam.hashed_slot(key, max(size, 1))
        if (azure, slot) in taken:
            free = next((s for s in range(size) if (azure, s) not in taken), None)
            path = f"network.tunnelSlots.{key}" if pinned is not None else "network.tunnelSlots"
            issues.append(ConfigIssue(path, pinned if pinned is not None else key,
                                      f"gives link '{key}' the tunnel block of '{taken[(azure, slot)]}'; pin another slot (free: {free})"))
            continue
        slots[key], taken[(azure, slot)] = slot, key

    links: list[Link] = []
    for a, b in pairs:
        key = link_key(a, b)
        if kinds[key] != "vpn":
            links.append(Link(key, a, b, kinds[key]))
        elif key in slots:
            links.append(_vpn_link(cfg, key, a, b, gws[a][0], gws[b][0], slots[key]))
    gateways = tuple(Gateway(k, c, r, asns.get(k, 0), tuple(names)) for k, (c, r, names) in gws.items())
    return FabricPlan(gateways, tuple(links)), issues


def _vpn_link(cfg: FabricConfig, key: str, a: str, b: str, ca: str, cb: str, slot: int) -> Link:
    clouds = frozenset({ca, cb})
    n = TUNNELS[clouds]
    blk = _pool(cfg, clouds)[slot]
    return Link(key, a, b, "vpn", slot, tunnels_of(a, ca, b, cb, list(blk.subnets(new_prefix=30))[:n]))


def check(cfg: FabricConfig, clusters: Sequence[tuple[str, str, str, str]]) -> list[ConfigIssue]:
    if not cfg.enabled:
        set_keys = [k for k, v in (("network.asns", cfg.asns), ("network.tunnelSlots", cfg.tunnel_slots)) if v]
        return [ConfigIssue(k, getattr(cfg, "asns" if k.endswith("asns") else "tunnel_slots"),
                            "has no effect with network.fabric 'none'") for k in set_keys]
    return allocate(cfg, [(n, c, r) for n, c, r, _ in clusters])[1]


def fabric_plan(fleet: FleetSpec) -> FabricPlan | None:
    """The fleet's fabric, or None with ``fabric: none`` (or a single network: nothing to join)."""
    cfg = fleet.network
    if not cfg.enabled:
        return None
    plan, issues = allocate(cfg, [(c.name, c.cloud, c.region) for c in fleet.clusters])
    if issues:  # validation reports these first; reaching here is a programming error
        raise ValueError("; ".join(str(i) for i in issues))
    if len(plan.gateways) < 2:
        return None
    gateways = tuple(
        Gateway(g.key, g.cloud, g.region, g.asn, g.clusters,
                tuple(r for name in g.clusters for r in routable_ranges(fleet.cluster(name))))
        for g in plan.gateways
    )
    return FabricPlan(gateways, plan.links)


def remote_ranges(plan: FabricPlan, key: str) -> tuple[Net, ...]:
    """Every range a gateway's networks must route into the fabric: the other gateways' ranges."""
    return tuple(r for g in plan.gateways if g.key != key for r in g.ranges)
