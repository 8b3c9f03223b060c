"""The ports the fleet opens between and inside its clusters: one table, no Pulumi.

``components/fleet/ports.py`` turns the ``fleet``-scoped rows into each cloud's firewall rules
(AWS cluster security group, Azure node-subnet NSG, GCP VPC firewall), admitting only the OTHER
clusters' fleet ranges (their VPC and pod CIDRs), never 0.0.0.0/0. The mesh and Submariner
components read their port numbers from here so that a chart value and the firewall never
disagree.

Scopes:
  ``fleet``          from every other cluster's VPC and pod ranges (cross-cluster traffic);
  ``control-plane``  from the cluster's own private control-plane range (webhooks the API server
                     calls). Only GKE keeps its control plane outside the node firewall; EKS
                     control-plane ENIs share the cluster security group and AKS reaches nodes
                     through its konnectivity tunnel, so they need no rule;
  ``submariner``     from the other clusters that join Submariner, on clusters that join (a cluster
                     whose dataplane Submariner does not support neither sends nor receives a cable);
  ``hub``            from the management cluster's ranges, on spokes whose Prometheus the hub
                     federates over the fabric (``stacks.flows.federation_paths``);
  ``cluster``        between the cluster's own nodes. Every cloud admits that already (EKS cluster
                     SG self-reference, Azure ``AllowVnetInBound``, GKE's own intra-VPC rule);
                     listed so the Submariner engineer sees the whole picture, never opened here.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from . import ipam
from .flows import federation_paths, source_ranges
from .sections.connectivity import submariner_clusters
from .spec import ClusterSpec, FleetSpec

Protocol = Literal["tcp", "udp"]
Scope = Literal["fleet", "submariner", "hub", "control-plane", "cluster"]


@dataclass(frozen=True)
class FleetPort:
    name: str  # DNS-label style; used in rule names
    protocol: Protocol
    port: int
    scope: Scope
    purpose: str
    # Only on clusters of these clouds (None: every cloud).
    clouds: frozenset[str] | None = None


FLEET_PORTS: tuple[FleetPort, ...] = (
    # The fleet's links call other clusters' API servers over their private endpoints: the Argo CD
    # hub its spokes, each istiod the other clusters (remote secrets), every Submariner join the
    # broker. EKS and AKS private endpoints sit behind the cluster SG / node-subnet NSG; GKE's are
    # admitted by master authorized networks (components/clusters/gke.py, same sources).
    # Only EKS puts its private endpoint behind the node firewall (the control-plane ENIs share the
    # cluster security group); AKS's VNet-integrated API server sits in its own delegated subnet and
    # GKE's private endpoint is filtered by master authorized networks, so a node rule for 443
    # there admits nothing any flow needs (the flow check's unused-rule report).
    FleetPort("kube-apiserver", "tcp", 443, "fleet", "API private endpoints: Argo CD hub to spokes, istiod to remote clusters, Submariner joins to the broker",
              clouds=frozenset({"aws"})),
    # Istio multi-primary, multi-network east-west gateway: cross-network traffic uses 15443 only.
    # The chart's other network-gateway ports, 15012 (istiod XDS/CA) and 15017 (webhooks), serve
    # remote clusters of a primary-remote mesh, which this fleet is not: every cluster runs its own
    # istiod (istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network: only
    # the cross-network gateway is exposed; primary-remote additionally exposes istiod).
    FleetPort("istio-mtls", "tcp", 15443, "fleet", "Istio east-west gateway: cross-network mTLS (AUTO_PASSTHROUGH)"),
    # Submariner gateway-to-gateway cable. Submariner 0.18.1 runs libreswan with --ikeport set to
    # the NAT-T port and forceUDPEncaps on (components/addons/submariner.py), so IKE and ESP both
    # ride UDP 4500 and UDP 500 carries nothing (submariner-io/submariner@v0.18.1
    # pkg/cable/libreswan/libreswan.go; pkg/port/ports.go for 4490/4500/4800). The same port
    # carries the wireguard and vxlan cable drivers (pkg/cable/wireguard/driver.go:73,141-150
    # listens on the NAT-T port; pkg/cable/vxlan/vxlan.go:45,78 on the endpoint's UDP port, 4500).
    FleetPort("subm-nat-t", "udp", 4500, "submariner", "Submariner cable: IKE and ESP in UDP on the NAT-T port"),
    FleetPort("subm-natt-disc", "udp", 4490, "submariner", "Submariner NAT-T discovery between gateways"),
    # The hub's Prometheus federating a spoke that Submariner does not join: the spoke's web port
    # behind an internal load balancer (mTLS with the fleet metrics CA; components/addons/metrics.py).
    FleetPort("prom-federate", "tcp", 9090, "hub", "Hub Prometheus to the spoke federation endpoint (mTLS)"),
    # GKE private control plane -> istiod sidecar-injection webhook on the nodes.
    FleetPort("istio-webhook-cp", "tcp", 15017, "control-plane", "API server to the istiod injection webhook (GKE private clusters)"),
    # Inside one cluster: non-gateway nodes reach the active gateway over VXLAN.
    FleetPort("subm-vxlan", "udp", 4800, "cluster", "Submariner intra-cluster VXLAN (vx-submariner) to the gateway node"),
)


def ports(scope: Scope, cloud: str | None = None) -> tuple[FleetPort, ...]:
    """The rows of ``scope`` (those that apply on ``cloud`` when given)."""
    return tuple(p for p in FLEET_PORTS if p.scope == scope and (cloud is None or p.clouds is None or cloud in p.clouds))


def port(name: str) -> int:
    """The port number of row ``name`` (for chart values)."""
    return next(p.port for p in FLEET_PORTS if p.name == name)


def scope_sources(fleet: FleetSpec, cluster: ClusterSpec, scope: Scope) -> list[ipaddress.IPv4Network]:
    """Who may send ``scope``'s traffic to ``cluster``; empty when ``cluster`` takes no part."""
    if scope == "fleet":
        return fleet_sources(fleet, cluster)
    if scope == "submariner":
        joined = set(submariner_clusters({c.name: c.cloud for c in fleet.clusters})[0])
        if cluster.name not in joined:
            return []
        # Gateway to gateway: the other joining clusters' node ranges (gateways are nodes).
        return [n for o in sorted(fleet.clusters, key=lambda c: c.name) if o.name in joined and o.name != cluster.name
                for n in source_ranges(o, "nodes")]
    if scope == "hub":
        return list(source_ranges(fleet.management, "pods")) if federation_paths(fleet).get(cluster.name) == "fabric" else []
    raise ValueError(f"no cross-cluster sources for scope {scope!r}")


def fleet_sources(fleet: FleetSpec, cluster: ClusterSpec) -> list[ipaddress.IPv4Network]:
    """Where cross-cluster traffic into ``cluster`` may come from: every other cluster's VPC and pod
    ranges (gateways run on nodes; pods on VPC-routed CNIs keep their pod address), ordered by
    cluster name so that reordering the clusters list changes no rule."""
    out: list[ipaddress.IPv4Network] = []
    for other in sorted(fleet.clusters, key=lambda c: c.name):
        if other.name != cluster.name:
            out += [other.network.vpc, other.network.pods]
    return out


def fleet_space_sources(fleet: FleetSpec, cluster: ClusterSpec,
                        admitted: Iterable[ipaddress.IPv4Network] | None = None) -> list[ipaddress.IPv4Network]:
    """The fleet's address space minus this cluster's own ranges: the sources of the AWS fleet rules
    and of GKE's master authorized networks.

    Every other cluster's VPC and pod ranges lie in ``addressSpace`` (validation enforces it), so
    this covers them all in at most ``16 - prefix`` CIDRs (8 for a /8) instead of two per cluster.
    Adding or removing a cluster changes another cluster's rules only when it is the first or
    last cluster in a piece (a rule added or removed, never replaced), and the rule count does not grow with the fleet:
    4 fleet and Submariner ports x 8 CIDRs = 32 inbound rules at any fleet size, under the default quota of 60
    inbound rules per security group (docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html
    "Inbound or outbound rules per security group"), where one rule per cluster range would need
    4 x 2 x 47 = 376 at 48 clusters. (The federation port is never opened on AWS: EKS spokes join
    Submariner.) GKE's master authorized networks take the same list, where two entries per other
    cluster came to 95 at 48 clusters: the GKE API reference caps ``cidrBlocks`` at 50 external
    networks (cloud.google.com/python/docs/reference/container/latest, MasterAuthorizedNetworksConfig),
    100 for private ranges on a private endpoint (GKE authorized-networks page: UNVERIFIED here). Pieces
    that hold no other cluster are left out: every rule admits at least one cluster's traffic, and
    what else a piece spans is unallocated space of the fleet's own (docs/input-safety.md).

    A block-allocated cluster gives up its whole /16 block (its spare quarter included) unless
    another cluster's explicit range sits in it; otherwise only its VPC and pod ranges leave.
    """
    space = fleet.address_space
    n = cluster.network
    own = [n.vpc, n.pods]
    if n.slot is not None:
        blk = ipam.block(space, n.slot)
        theirs = [r for other in fleet.clusters if other.name != cluster.name for r in (other.network.vpc, other.network.pods)]
        if not any(r.overlaps(blk) for r in theirs):
            own = [blk]
    nets = [space]
    for mine in own:
        if not mine.subnet_of(space):
            continue
        nets = [piece for net in nets for piece in (net.address_exclude(mine) if mine.subnet_of(net) else [net])]
    # Only the pieces that hold another cluster: a piece of unallocated space carries no flow, so
    # it gets no rule (the flow check's unused-rule report stays empty). A cluster added in an
    # empty piece adds that piece to the others' rules; one removed takes its piece's rules with it.
    # ``admitted`` narrows that to the ranges a row admits (Submariner's: its members only).
    others = list(admitted) if admitted is not None else [
        r for o in fleet.clusters if o.name != cluster.name for r in (o.network.vpc, o.network.pods)]
    return [net for net in sorted(ipaddress.collapse_addresses(nets)) if any(r.overlaps(net) for r in others)]
