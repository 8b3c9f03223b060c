"""The flows a fleet needs, as data derived from the spec (no Pulumi, no plan).

Each :class:`Flow` names a source (a cluster and what sends: its nodes, its pods, or the pods of an
application namespace), a destination (a cluster and what serves: its API server, east-west
gateway, Submariner gateway nodes, istiod, cluster DNS, or the sidecars of a namespace), a port and
a protocol. ``offline/flows.py`` walks the plan record for each one.

What a remote network sees as the source address (../shared/reference/network-fabric.md 2.1): EKS
pods leaving the VPC are SNATed to the node (VPC CNI default), AKS overlay pods always to the node,
GKE pods keep their pod address (ip-masq-agent leaves RFC 1918 destinations alone).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from .ipam import node_subnet
from .sections.connectivity import submariner_clusters
from .spec import ClusterSpec, FleetSpec

Net = ipaddress.IPv4Network

ISTIOD_PORT = 15012
EASTWEST_PORT = 15443
API_PORT = 443
SUBMARINER_PORTS = ((4500, "udp"), (4490, "udp"))  # cable (IKE + ESP in UDP), NAT discovery
DNS_PORT = 53
FEDERATE_PORT = 9090  # a spoke Prometheus's web port (components/addons/metrics.py PORT)

# Pod labels of the in-cluster endpoints flows reach (chart templates: istiod deployment
# ``app: istiod``; gateway chart labels set in components/addons/istio.py; CoreDNS ``k8s-app``).
POD_LABELS = {
    "istiod": ("istio-system", {"app": "istiod", "istio": "pilot"}),
    "eastwest": ("istio-system", {"istio": "eastwestgateway", "app": "istio-eastwestgateway"}),
    "kube-dns": ("kube-system", {"k8s-app": "kube-dns"}),
    # The operator's labels on the Prometheus pods it generates (the federate Service selects them).
    "federate": ("monitoring", {"app.kubernetes.io/name": "prometheus", "operator.prometheus.io/name": "kps-prometheus"}),
}


@dataclass(frozen=True)
class Flow:
    kind: str  # deployer-api | hub-api | istiod-api | broker-api | sidecar-istiod | sidecar-eastwest | eastwest-sidecar | submariner | dns
    #         | sidecar-sidecar | federation-submariner | federation-fabric
    src: str  # cluster
    sender: str  # "runner" (pulumi up) | "nodes" | "pods" | "ns:<namespace>" (application pods) | "eastwest"
    dst: str  # cluster
    target: str  # "api" | "eastwest" | "gateway-nodes" | "federate" | "istiod" | "kube-dns" | "ns:<namespace>"
    port: int
    protocol: str  # tcp | udp

    @property
    def name(self) -> str:
        return f"{self.kind}: {self.sender}@{self.src} -> {self.target}@{self.dst} {self.protocol}/{self.port}"

    @property
    def cross_cluster(self) -> bool:
        return self.src != self.dst


def source_ranges(c: ClusterSpec, sender: str) -> tuple[Net, ...]:
    """The addresses another network sees for ``sender`` of cluster ``c``."""
    nodes = node_subnet(c.network.vpc) if c.cloud == "gcp" else c.network.vpc
    if sender == "nodes" or c.cloud != "gcp":
        return (nodes,)
    return (c.network.pods,)


def dest_ranges(c: ClusterSpec, target: str) -> tuple[Net, ...]:
    """Where ``target`` of cluster ``c`` listens: API private endpoints (EKS ENIs in the VPC's
    subnets, the AKS API server's internal load balancer in its VNet-integrated subnet, GKE's
    private endpoint in its control-plane /28), internal load balancers and gateway nodes in the
    node range."""
    if target == "api" and c.cloud == "gcp":
        return (c.network.control_plane,)
    if target == "federate":
        return (ipaddress.IPv4Network(federate_address(c)),)
    return source_ranges(c, "nodes")


def federate_address(c: ClusterSpec) -> ipaddress.IPv4Address:
    """The fixed private address of a spoke's federation load balancer: near the top of its node
    subnet, clear of the addresses each cloud reserves at the end of a subnet (Azure the last one,
    GCP the last two) and of nodes, which both clouds number from the bottom."""
    return node_subnet(c.network.vpc).broadcast_address - 5


def federation_paths(fleet: FleetSpec) -> dict[str, str]:
    """How the hub's Prometheus reaches each spoke it federates: ``submariner`` (the spoke joins and
    exports its Prometheus as a clusterset Service) or ``fabric`` (an internal load balancer reached
    over the VPN fabric). A spoke missing here is not federated (no private path: no fabric and no join)."""
    joined = set(submariner_clusters({c.name: c.cloud for c in fleet.clusters})[0])
    out = {}
    for c in fleet.clusters:
        if c.is_management:
            continue
        if c.name in joined and fleet.management.name in joined:
            out[c.name] = "submariner"
        elif fleet.network.enabled:
            out[c.name] = "fabric"
    return out


def required_flows(fleet: FleetSpec) -> list[Flow]:
    mgmt = fleet.management
    namespaces = fleet.mesh.injected_namespaces()
    # Submariner flows only between the clusters that join (stacks/sections/connectivity.py).
    joined = set(submariner_clusters({c.name: c.cloud for c in fleet.clusters})[0])
    out: list[Flow] = []
    federated = federation_paths(fleet)
    for c in fleet.clusters:
        if c.name in federated:
            out.append(Flow(f"federation-{federated[c.name]}", mgmt.name, "ns:monitoring", c.name, "federate", FEDERATE_PORT, "tcp"))
        # `pulumi up` runs on a runner inside the management cluster's network (docs/network.md).
        out.append(Flow("deployer-api", mgmt.name, "runner", c.name, "api", API_PORT, "tcp"))
        if c.name != mgmt.name:
            out.append(Flow("hub-api", mgmt.name, "pods", c.name, "api", API_PORT, "tcp"))
        if c.name in joined:
            out.append(Flow("broker-api", c.name, "pods", mgmt.name, "api", API_PORT, "tcp"))
        for ns in namespaces:
            out.append(Flow("sidecar-istiod", c.name, f"ns:{ns}", c.name, "istiod", ISTIOD_PORT, "tcp"))
            out.append(Flow("eastwest-sidecar", c.name, "eastwest", c.name, f"ns:{ns}", 0, "tcp"))
            # Sidecar to sidecar inside the cluster, between every pair of injected namespaces.
            out += [Flow("sidecar-sidecar", c.name, f"ns:{ns}", c.name, f"ns:{to}", 0, "tcp") for to in namespaces]
            out += [Flow("dns", c.name, f"ns:{ns}", c.name, "kube-dns", DNS_PORT, p) for p in ("udp", "tcp")]
        for o in fleet.clusters:
            if o.name == c.name:
                continue
            out.append(Flow("istiod-api", c.name, "pods", o.name, "api", API_PORT, "tcp"))
            out += [Flow("sidecar-eastwest", c.name, f"ns:{ns}", o.name, "eastwest", EASTWEST_PORT, "tcp") for ns in namespaces]
            if {c.name, o.name} <= joined:
                out += [Flow("submariner", c.name, "nodes", o.name, "gateway-nodes", p, proto) for p, proto in SUBMARINER_PORTS]
    return out
