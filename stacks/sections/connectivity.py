"""Config of cross-cluster connectivity: Submariner.

``archipelago:submariner`` in a stack file::

    submariner:
      cableDriver: libreswan        # libreswan (IPsec, default) | wireguard | vxlan (unencrypted)
      natTraversal: true            # gateways reach each other through NAT / public IPs
      globalnet:
        enabled: false              # only for fleets with overlapping pod/service ranges
        cidr: 242.0.0.0/8           # shared Globalnet range, cut into one slice per cluster
        clusterPrefix: 16           # size of each cluster's slice

Lighthouse service discovery (``clusterset.local``) is always on: it is why the fleet runs
Submariner at all. The cross-field rules are in :func:`check_submariner`, registered with
``stacks.validate.SECTION_VALIDATORS``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from stacks import ipam
from stacks.core import ClusterConfig, ConfigIssue, Model, _cidr

if TYPE_CHECKING:
    from stacks.config import FleetConfig
    from stacks.spec import ClusterSpec, FleetSpec

Net = ipaddress.IPv4Network

# The cable drivers the Submariner 0.18 operator accepts (Submariner CRD: cableDriver).
CableDriver = Literal["libreswan", "wireguard", "vxlan"]

# Label that makes a node eligible to run the Submariner gateway (the operator's nodeSelector).
# Every cluster puts it on its system node pool (EKS node group, AKS system agent pool, GKE node
# pool labels): no extra VMs, the candidates span the zones, and the gateway pods elect one active
# gateway among them, so losing a node or a zone fails the tunnel over.
GATEWAY_NODE_LABELS: dict[str, str] = {"submariner.io/gateway": "true"}

@dataclass(frozen=True)
class SubmarinerSupport:
    """Whether Submariner 0.18.1 supports a cloud's cluster as the fleet builds it, and how
    ``clusterset.local`` reaches Lighthouse there."""

    dataplane: str  # the pod network the cluster component configures
    supported: bool
    # How the cluster DNS forwards clusterset.local to Lighthouse's CoreDNS:
    #   "coredns"         the operator edits the ``coredns`` Corefile (between lighthouse-start/-end);
    #   "coredns-custom"  the operator writes ``lighthouse.server`` into a ConfigMap CoreDNS imports;
    #   "kube-dns"        kube-dns stub domain to a program-made Service of fixed ClusterIP.
    dns: str
    reason: str


# One row per cloud, for the clusters this program builds (components/clusters/*). Submariner
# 0.18.1's route agent knows kube-proxy/iptables CNIs and OVN; it has no Cilium support, and
# Cilium's BPF host routing bypasses the routes the route agent installs (submariner-io/submariner
# issues 3168, 3159, 4105). Sources: submariner-operator controllers/servicediscovery @v0.18.1.
SUBMARINER_SUPPORT: dict[str, SubmarinerSupport] = {
    "aws": SubmarinerSupport(
        "Amazon VPC CNI + kube-proxy (iptables)", True, "coredns",
        "generic CNI: kube-proxy iptables, pod and service CIDRs stated explicitly"),
    "azure": SubmarinerSupport(
        "Azure CNI overlay powered by Cilium", False, "coredns-custom",
        "Submariner 0.18.1 does not support the Cilium dataplane (AKS networkDataplane=cilium)"),
    "gcp": SubmarinerSupport(
        "GKE Dataplane V2 (Cilium)", False, "kube-dns",
        "Submariner 0.18.1 does not support GKE Dataplane V2, which is Cilium"),
}

# AKS CoreDNS imports every ``*.server`` key of this ConfigMap; edits to ``coredns`` are reverted.
AKS_COREDNS_CUSTOM = {"configMapName": "coredns-custom", "namespace": "kube-system"}
# Offset in the service CIDR of the fixed ClusterIP kube-dns forwards clusterset.local to: inside
# the band Kubernetes keeps for static ClusterIPs (the lower 1/16 of the range, at least 16).
LIGHTHOUSE_DNS_OFFSET = 53


def lighthouse_dns_ip(services: Net) -> str:
    """A static ClusterIP for the Lighthouse DNS Service that kube-dns stub domains name."""
    band = min(max(16, services.num_addresses // 16), 256)
    if LIGHTHOUSE_DNS_OFFSET >= band:
        raise ValueError(f"service range {services} is too small for a static Lighthouse DNS address")
    return str(services.network_address + LIGHTHOUSE_DNS_OFFSET)


def submariner_clusters(clouds: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """(clusters that join, {cluster: why it does not}) for {cluster: cloud}."""
    joined = [n for n, c in clouds.items() if SUBMARINER_SUPPORT[c].supported]
    skipped = {n: SUBMARINER_SUPPORT[c].reason for n, c in clouds.items() if not SUBMARINER_SUPPORT[c].supported}
    return joined, skipped


# Submariner's own default Globalnet range.
DEFAULT_GLOBALNET_CIDR = ipaddress.IPv4Network("242.0.0.0/8")


class GlobalnetConfig(Model):
    """Globalnet gives every cluster a slice of a shared range and NATs to it, so clusters with
    overlapping ranges can talk. Off by default: the fleet address plan keeps ranges disjoint."""

    enabled: bool = Field(default=False, description="Only for overlapping ranges; the address plan keeps them disjoint, so off.")
    cidr: Net = Field(default=DEFAULT_GLOBALNET_CIDR, description="Shared Globalnet range; must not overlap addressSpace.")
    cluster_prefix: int = Field(
        default=16, ge=8, le=28,
        description="Prefix length of each cluster's slice, placed by its address-plan slot (stable).")

    _check = field_validator("cidr", mode="before")(_cidr)


class SubmarinerConfig(Model):
    """Submariner on every cluster: direct pod/service routing and clusterset.local discovery."""

    cable_driver: CableDriver = Field(
        default="libreswan", description="libreswan (IPsec), wireguard, or vxlan (unencrypted; dev only).")
    nat_traversal: bool = Field(default=True, description="Gateways reach each other through NAT (public IPs discovered on UDP 4490).")
    globalnet: GlobalnetConfig = Field(default=GlobalnetConfig(), description="Globalnet for overlapping ranges.")

    @property
    def service_discovery(self) -> bool:
        return True


MODELS = (GlobalnetConfig, SubmarinerConfig)


def _key(name: str, slot: int | None, space: Net) -> int:
    """A cluster's stable position: its address-plan slot (pinned or hashed from its name, as
    stacks.ipam resolves it), so Globalnet slices never move when clusters come and go."""
    if slot is not None:
        return slot
    return ipam.hashed_slot(name, max(ipam.block_count(space), 1))


def _slices(g: GlobalnetConfig) -> int:
    return 2 ** (g.cluster_prefix - g.cidr.prefixlen) if g.cluster_prefix >= g.cidr.prefixlen else 0


def _slice(g: GlobalnetConfig, key: int) -> Net:
    size = 2 ** (32 - g.cluster_prefix)
    index = key % _slices(g)
    return ipaddress.IPv4Network((int(g.cidr.network_address) + index * size, g.cluster_prefix))


def global_cidr(cfg: SubmarinerConfig, cluster: ClusterSpec, fleet: FleetSpec) -> Net | None:
    """The cluster's Globalnet slice, or None when Globalnet is off."""
    if not cfg.globalnet.enabled:
        return None
    return _slice(cfg.globalnet, _key(cluster.name, cluster.network.slot, fleet.address_space))


def check_submariner(raw: dict[str, Any], fleet: FleetConfig, parsed: dict[int, ClusterConfig]) -> list[ConfigIssue]:
    """Cross-field rules of ``submariner`` (field-level ones, such as an unknown cable driver, are
    reported by the model itself)."""

    issues: list[ConfigIssue] = []
    if fleet.submariner.cable_driver == "vxlan" and fleet.environment != "dev":
        # Pod traffic between clouds would cross the network unencrypted.
        issues.append(ConfigIssue("submariner.cableDriver", "vxlan",
                                  f"is unencrypted; use libreswan or wireguard in {fleet.environment}"))
    if fleet.submariner.cable_driver == "vxlan" and fleet.submariner.nat_traversal:
        # submariner-io/submariner@v0.18.1 pkg/cable/vxlan/vxlan.go:74-76: the vxlan driver
        # supports no NAT between gateways (it only logs a warning and builds the tunnel anyway).
        issues.append(ConfigIssue("submariner.natTraversal", True,
                                  "must be false with cableDriver vxlan: Submariner's vxlan driver works only without NAT"))
    g = fleet.submariner.globalnet
    if not g.enabled:
        # Without Globalnet, pod and service ranges must be disjoint across the fleet: the
        # address plan already rejects any overlap (stacks.validate), so nothing to add here.
        return issues
    if g.cluster_prefix < g.cidr.prefixlen:
        issues.append(ConfigIssue("submariner.globalnet.clusterPrefix", g.cluster_prefix,
                                  f"must be /{g.cidr.prefixlen} or longer (a slice of globalnet.cidr {g.cidr})"))
        return issues
    if g.cidr.overlaps(fleet.address_space):
        issues.append(ConfigIssue("submariner.globalnet.cidr", g.cidr, f"overlaps addressSpace {fleet.address_space}"))
    if len(parsed) > _slices(g):
        issues.append(ConfigIssue("submariner.globalnet.clusterPrefix", g.cluster_prefix,
                                  f"leaves {_slices(g)} slices of {g.cidr} for {len(parsed)} clusters"))
        return issues
    issues += _slice_collisions(g, fleet.address_space, ((i, c.name, c.network.slot) for i, c in sorted(parsed.items())))
    return issues


def _slice_collisions(g: GlobalnetConfig, space: Net, clusters: Iterable[tuple[int, str, int | None]]) -> list[ConfigIssue]:

    issues = []
    owner: dict[Net, tuple[int, str]] = {}
    for i, name, slot in clusters:
        s = _slice(g, _key(name, slot, space))
        if s in owner:
            j, other = owner[s]
            issues.append(ConfigIssue(f"clusters[{i}].network.slot", slot,
                                      f"gives cluster '{name}' the Globalnet slice {s} of clusters[{j}] ('{other}'); "
                                      "pin another slot or widen submariner.globalnet"))
        else:
            owner[s] = (i, name)
    return issues
