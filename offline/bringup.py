"""Bring-up time of a fleet, estimated from the plan record's dependency graph.

``pulumi up`` creates a resource as soon as everything it waits on exists, with no limit on
parallel operations by default (``--parallel``: "Defaults to unbounded", pulumi CLI reference for
``pulumi up``). So the wall-clock time of a first ``up`` is the longest path through the graph,
each resource weighted by how long its create takes. This module builds that graph from the plan
record and weights it with :data:`DURATIONS`, typical create times per resource type, each with
where the number comes from.

Edges: a custom resource waits on
- its ``dependencies`` (explicit ``depends_on`` and every Output it references; the SDK expands a
  component in either into the component's custom descendants, ``pulumi/runtime/rpc.py``
  ``_add_dependency``, so the record already holds custom resources);
- its provider (a Kubernetes provider is configured from the cluster's kubeconfig);
- its parents' dependencies: the SDK registers a child only after its parent's URN resolves
  (``prepare_resource`` awaits ``opts.parent.urn``), and a parent registers only after its own
  dependencies exist, so a component's ``depends_on`` holds back everything under it;
- a custom parent itself.

The estimate is a model: durations are typical values from cloud docs, provider timeouts and
published apply logs, not measurements of this fleet. It answers which chain decides when the
fleet works and whether anything slow sits in front of something that does not need it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from .report import CLUSTER_COMPONENTS, is_component


@dataclass(frozen=True)
class Typical:
    minutes: float
    source: str


# Sources cited once and used by several rows.
_API_CALL = "one create call, no long-running operation: apply logs show seconds (subnets 10 s, route table associations 1 s, security group rules 2-5 s in terraform-aws-modules/terraform-aws-eks#2203 and hashicorp-education/learn-terraform-variables#6; resource groups 3-4 s in agones-dev/agones#2165)"
_LOCAL = "computed by the provider plugin on the deployer; no cloud call"
_K8S = "one Kubernetes API write; the provider waits only for workloads to become ready"
_ESTIMATE = "estimate (no measured source found): a create call plus a short provisioning poll"

MIN_API = 0.1  # six seconds

DURATIONS: dict[str, Typical] = {
    # --- managed Kubernetes ---
    "aws:eks/cluster:Cluster": Typical(12.0, "EKS control plane: 'averages 15 minutes' (aws/containers-roadmap#1227); eks:index:Cluster created in 748 s in pulumi/pulumi-eks#1819; provider create timeout 30 min (hashicorp/terraform-provider-aws internal/service/eks/cluster.go)"),
    "aws:eks/nodeGroup:NodeGroup": Typical(3.0, "managed node group created in 2m50s (umotif-public/terraform-aws-eks-node-group#7)"),
    "aws:eks/addon:Addon": Typical(1.5, "vpc-cni/kube-proxy ACTIVE once their pods are ready; coredns waits for nodes and can take up to 15 min (aws-ia/terraform-aws-eks-blueprints#642); create timeout 20 min (pulumi/pulumi-eks#1525)"),
    "aws:eks/accessEntry:AccessEntry": Typical(MIN_API, _API_CALL),
    "aws:eks/accessPolicyAssociation:AccessPolicyAssociation": Typical(MIN_API, _API_CALL),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": Typical(MIN_API, _API_CALL),
    "azure-native:containerservice:ManagedCluster": Typical(10.0, "AKS with its system pool: 'should be completed in 5-15 mins' (Azure/AKS#1017); slower periods reported in Azure/AKS#711 (~20 min)"),
    "azure-native:containerservice:AgentPool": Typical(4.0, _ESTIMATE + "; node VMs boot like an EKS managed node group (3 min)"),
    "gcp:container/cluster:Cluster": Typical(9.0, "regional GKE cluster: 'Creation complete after 8m49s' / 10m30s (GoogleCloudPlatform/cluster-toolkit#4215)"),
    "gcp:container/nodePool:NodePool": Typical(4.0, "GKE acceptance tests of a cluster with a node pool run ~270 s (hashicorp/terraform-provider-google#299); node VMs boot like an EKS managed node group"),
    # --- cluster networks ---
    "aws:ec2/natGateway:NatGateway": Typical(2.0, "NAT gateway pending -> available 'up to 5 min' (kubernetes/kops#944)"),
    "aws:ec2/vpc:Vpc": Typical(MIN_API, _API_CALL),
    "azure-native:network:NatGateway": Typical(0.5, _ESTIMATE),
    "azure-native:network:PublicIPAddress": Typical(0.2, _ESTIMATE),
    "azure-native:network:VirtualNetwork": Typical(0.2, _ESTIMATE),
    "gcp:compute/network:Network": Typical(1.0, "google_compute_network 'Creation complete after 58s' (turbot/steampipe-plugin-gcp#214)"),
    "gcp:compute/subnetwork:Subnetwork": Typical(0.5, _ESTIMATE + " (global compute operation)"),
    "gcp:compute/router:Router": Typical(0.3, _ESTIMATE + " (compute operation)"),
    "gcp:compute/routerNat:RouterNat": Typical(0.5, _ESTIMATE + " (compute operation)"),
    "gcp:compute/firewall:Firewall": Typical(0.3, _ESTIMATE + " (global compute operation)"),
    # --- data and keys ---
    "azure-native:keyvault:Vault": Typical(1.0, _ESTIMATE),
    "azure-native:storage:StorageAccount": Typical(0.5, _ESTIMATE),
    "azure-native:authorization:RoleAssignment": Typical(0.2, _API_CALL + "; Azure RBAC can take minutes more to take effect (not modelled)"),
    "aws:sqs/queue:Queue": Typical(0.2, _ESTIMATE),
    # --- in-cluster ---
    "kubernetes:helm.sh/v3:Release": Typical(2.0, "estimate: Helm installs with --wait until the chart's workloads are ready (image pulls, readiness); bounded by the release's timeout (pulumi_kubernetes helm.v3.Release 'timeout', 900 s here)"),
    # --- fabric (built when network.fabric is vpn) ---
    "azure-native:network:VirtualNetworkGateway": Typical(45.0, "Azure VPN gateway 'can take up to 45 minutes' (learn.microsoft.com/azure/vpn-gateway/vpn-gateway-about-vpngateways; ../shared/reference/network-fabric.md section 4)"),
    "azure-native:network:VirtualNetworkGatewayConnection": Typical(2.0, _ESTIMATE),
    "azure-native:network:LocalNetworkGateway": Typical(0.5, _ESTIMATE),
    "azure-native:network:VirtualNetworkPeering": Typical(0.5, _ESTIMATE),
    "aws:ec2transitgateway/transitGateway:TransitGateway": Typical(3.0, _ESTIMATE),
    "aws:ec2transitgateway/vpcAttachment:VpcAttachment": Typical(2.0, _ESTIMATE),
    "aws:ec2transitgateway/peeringAttachment:PeeringAttachment": Typical(3.0, _ESTIMATE),
    "aws:ec2transitgateway/peeringAttachmentAccepter:PeeringAttachmentAccepter": Typical(2.0, _ESTIMATE),
    "aws:ec2/vpnConnection:VpnConnection": Typical(5.0, _ESTIMATE),
    "aws:ec2/vpnGateway:VpnGateway": Typical(2.0, _ESTIMATE),
    "aws:route53/resolverEndpoint:ResolverEndpoint": Typical(3.0, _ESTIMATE),
    "gcp:compute/haVpnGateway:HaVpnGateway": Typical(0.5, _ESTIMATE),
    "gcp:compute/vpnTunnel:VpnTunnel": Typical(1.0, _ESTIMATE),
    "gcp:compute/routerPeer:RouterPeer": Typical(0.5, _ESTIMATE),
    "gcp:compute/routerInterface:RouterInterface": Typical(0.3, _ESTIMATE),
    "gcp:dns/managedZone:ManagedZone": Typical(0.3, _ESTIMATE),
}

# Types that make up the cross-cloud fabric (gateways, tunnels, transit, resolvers). They may be
# slow; nothing a cluster or its add-ons need may wait on them.
FABRIC_TYPE_PARTS = (
    ":ec2transitgateway/", "aws:ec2/vpnConnection:", "aws:ec2/vpnGateway:", "aws:ec2/customerGateway:",
    "aws:route53/resolver", "azure-native:network:VirtualNetworkGateway", "azure-native:network:LocalNetworkGateway",
    "azure-native:dnsresolver:", "gcp:compute/haVpnGateway:", "gcp:compute/externalVpnGateway:",
    "gcp:compute/vpnTunnel:", "gcp:compute/routerPeer:", "gcp:compute/routerInterface:",
)
# Components of the fabric: everything under them is fabric, whatever its type.
FABRIC_COMPONENT_PARTS = ("fabric", "gateway", "vpn", "peering", "transit")

# The resources that make a cluster work (see Graph.bring_up_set).
CLUSTER_TYPES = frozenset({
    "aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup", "azure-native:containerservice:ManagedCluster",
    "azure-native:containerservice:AgentPool", "gcp:container/cluster:Cluster", "gcp:container/nodePool:NodePool",
})
K8S_PROVIDER = "pulumi:providers:kubernetes"
BRING_UP_TYPES = CLUSTER_TYPES | {K8S_PROVIDER, "kubernetes:helm.sh/v3:Release", "kubernetes:core/v1:Namespace"}


def typical(typ: str) -> Typical:
    """The typical create duration of a resource type (defaults by package for the rest)."""
    hit = DURATIONS.get(typ)
    if hit is not None:
        return hit
    if typ.startswith("pulumi:providers:"):
        return Typical(0.0, "a provider is configured in the engine; nothing is created")
    if typ == SLEEP:
        return Typical(0.0, "waits its own createDuration (pulumiverse_time Sleep), read from the record")
    if typ.startswith(("tls:", "random:")):
        return Typical(0.0, _LOCAL)
    if typ.startswith("kubernetes:"):
        return Typical(0.05, _K8S)
    return Typical(MIN_API, _API_CALL)


SLEEP = "time:index/sleep:Sleep"
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s)")
_UNIT_MINUTES = {"h": 60.0, "m": 1.0, "s": 1 / 60, "ms": 1 / 60_000}


def minutes_of(record: dict[str, Any]) -> float:
    """How long one resource of the plan takes to create: its type's typical time, except a
    ``time`` Sleep, which waits exactly its ``createDuration`` (a Go duration such as ``120s``)."""
    if record["type"] == SLEEP:
        text = str(record.get("inputs", {}).get("createDuration") or "")
        return sum(float(n) * _UNIT_MINUTES[u] for n, u in _DURATION_PART.findall(text))
    return typical(record["type"]).minutes


@dataclass
class Graph:
    """The plan record as a graph of custom resources, each with what it waits on."""

    records: list[dict[str, Any]]
    by_urn: dict[str, dict[str, Any]] = field(init=False)
    waits: dict[str, tuple[str, ...]] = field(init=False)
    owner: dict[str, str | None] = field(init=False)

    def __post_init__(self) -> None:
        self.by_urn = {r["urn"]: r for r in self.records}
        children: dict[str, list[str]] = {}
        for r in self.records:
            if r.get("parent"):
                children.setdefault(r["parent"], []).append(r["urn"])

        expanded: dict[str, tuple[str, ...]] = {}

        def expand(urn: str) -> tuple[str, ...]:
            """A custom resource stands for itself; a component for its custom descendants
            (through components only, as the SDK expands them)."""
            r = self.by_urn.get(urn)
            if r is None:
                return ()
            if r["custom"]:
                return (urn,)
            if urn not in expanded:
                expanded[urn] = ()  # cycle guard
                out: list[str] = []
                for c in children.get(urn, ()):
                    out.extend(expand(c))
                expanded[urn] = tuple(out)
            return expanded[urn]

        self.waits = {}
        self.owner = {}
        for r in self.records:
            direct = list(r["dependencies"])
            if r.get("provider"):
                direct.append(r["provider"])
            owner = None
            p = r.get("parent")
            hops = 0
            while p and hops < 100:
                parent = self.by_urn.get(p)
                if parent is None:
                    break
                if parent["custom"]:
                    direct.append(p)
                else:
                    direct.extend(parent["dependencies"])
                if owner is None and is_component(parent, CLUSTER_COMPONENTS):
                    owner = parent["name"]
                p = parent.get("parent")
                hops += 1
            self.owner[r["urn"]] = owner
            if not r["custom"]:
                continue
            out: set[str] = set()
            for d in direct:
                out.update(expand(d))
            out.discard(r["urn"])
            self.waits[r["urn"]] = tuple(sorted(out))
        self._own_single_cluster_components(expand)

    def _own_single_cluster_components(self, expand: Any) -> None:
        """A cluster's add-on moved into a fleet-wide component (an IstioCluster in the IstioMesh,
        a Monitoring in FleetMetrics) is still that cluster's add-on: a component whose move alias
        names a URN under a cluster component, and whose custom descendants all use that one
        cluster's providers, belongs to it with everything under it. Links that never sat in a
        cluster (remote secrets, Submariner joins, the CAs) stay links."""
        def cluster_of_provider(urn: str) -> str | None:
            provider = r["provider"] if (r := self.by_urn.get(urn)) is not None else None
            return self.owner.get(provider) if provider else None

        def moved_out_of_a_cluster(r: dict[str, Any]) -> bool:
            return any(a.get("urn") and a["urn"].split("::")[2].split("$")[0].rsplit(":", 1)[-1] in CLUSTER_COMPONENTS
                       for a in r.get("aliases") or [])

        for r in self.records:
            if r["custom"] or self.owner.get(r["urn"]) is not None or not moved_out_of_a_cluster(r):
                continue
            clusters = {cluster_of_provider(u) for u in expand(r["urn"])}
            if len(clusters) != 1 or None in clusters:
                continue
            (cluster,) = clusters
            for u in expand(r["urn"]):
                if self.owner.get(u) is None:
                    self.owner[u] = cluster

    def on_cluster(self, urn: str) -> bool:
        """Whether ``urn`` is a cluster's own resource or waits on one (memoized)."""
        memo = self.__dict__.setdefault("_on_cluster", {})
        if urn not in memo:
            memo[urn] = self.owner[urn] is not None or any(self.owner[a] for a in self.ancestors(urn))
        return memo[urn]

    def custom(self) -> Iterable[str]:
        return self.waits.keys()

    def _walk(self, start: Iterable[str], step: dict[str, Any], stop_at: frozenset[str]) -> set[str]:
        """Everything reached from ``start`` along ``step`` (urn -> next urns); a resource of a
        type in ``stop_at`` is included but not walked through."""
        seen: set[str] = set()
        stack = list(start)
        while stack:
            u = stack.pop()
            if u in seen:
                continue
            seen.add(u)
            if self.by_urn[u]["type"] not in stop_at:
                stack.extend(step.get(u, ()))
        return seen

    def ancestors(self, urn: str, stop_at: frozenset[str] = frozenset()) -> set[str]:
        """Everything ``urn`` waits on, directly or not; a resource of a type in ``stop_at`` is
        included but not walked through."""
        return self._walk(self.waits.get(urn, ()), self.waits, stop_at)

    def downstream(self, roots: set[str], stop_at: frozenset[str] = frozenset()) -> set[str]:
        """Everything that waits on one of ``roots``, directly or not (roots excluded unless
        reached again); a resource of a type in ``stop_at`` is not walked through."""
        users: dict[str, list[str]] = self.__dict__.get("_users") or {}
        if not users:
            for u, ws in self.waits.items():
                for w in ws:
                    users.setdefault(w, []).append(u)
            self.__dict__["_users"] = users
        return self._walk((u for r in roots for u in users.get(r, ())), users, stop_at)

    def is_fabric(self, urn: str) -> bool:
        r = self.by_urn[urn]
        if any(part in r["type"] for part in FABRIC_TYPE_PARTS):
            return True
        p = r.get("parent")
        while p:
            parent = self.by_urn.get(p)
            if parent is None:
                break
            if not parent["custom"] and parent["type"].startswith("archipelago:") and any(
                    part in parent["type"].rsplit(":", 1)[-1].lower() for part in FABRIC_COMPONENT_PARTS):
                return True
            p = parent.get("parent")
        return False

    def bring_up_set(self, cluster: str) -> list[str]:
        """What makes ``cluster`` work: its control plane and node pools, its Kubernetes
        provider, and its own namespaces and Helm releases (the add-ons). Custom resources that
        join clusters (a hub's project listing its spokes, remote secrets) are links, not
        bring-up."""
        out = []
        for urn in self.custom():
            if self.owner[urn] == cluster and self.by_urn[urn]["type"] in BRING_UP_TYPES:
                out.append(urn)
        return out

    def clusters_under(self, urn: str) -> set[str]:
        """The clusters whose resources ``urn`` waits on, directly or not."""
        return {o for a in self.ancestors(urn) if (o := self.owner[a])}

    def clusters(self) -> list[str]:
        return sorted({o for o in self.owner.values() if o})


@dataclass
class Estimate:
    minutes: float
    path: list[tuple[str, float]]  # (urn, minutes of that step), first to last
    finish: dict[str, float]


def longest_path(graph: Graph, allowed: set[str] | None = None, targets: Iterable[str] | None = None) -> Estimate:
    """Earliest finish of every custom resource (restricted to ``allowed`` if given: edges to
    anything else are ignored) and the critical path to the latest of ``targets`` (default: all)."""
    finish: dict[str, float] = {}
    best_pred: dict[str, str | None] = {}
    nodes = [u for u in graph.custom() if allowed is None or u in allowed]
    for root in nodes:
        if root in finish:
            continue
        stack: list[tuple[str, bool]] = [(root, False)]
        on_stack: set[str] = set()
        while stack:
            urn, done = stack.pop()
            if done:
                on_stack.discard(urn)
                start, pred = 0.0, None
                for w in graph.waits[urn]:
                    if (allowed is None or w in allowed) and w in finish and finish[w] > start:
                        start, pred = finish[w], w
                finish[urn] = start + minutes_of(graph.by_urn[urn])
                best_pred[urn] = pred
                continue
            if urn in finish or urn in on_stack:
                continue
            on_stack.add(urn)
            stack.append((urn, True))
            for w in graph.waits[urn]:
                if (allowed is None or w in allowed) and w not in finish and w not in on_stack:
                    stack.append((w, False))
    pool = [u for u in (targets if targets is not None else finish) if u in finish]
    if not pool:
        return Estimate(0.0, [], finish)
    # Ties broken by urn so the reported path is the same run to run.
    end = max(pool, key=lambda u: (finish[u], u))
    path: list[tuple[str, float]] = []
    cur: str | None = end
    while cur is not None:
        path.append((cur, minutes_of(graph.by_urn[cur])))
        cur = best_pred[cur]
    path.reverse()
    return Estimate(round(finish[end], 2), path, finish)


@dataclass
class BringUp:
    fleet_minutes: float          # every cluster and its add-ons, and the links between clusters
    fleet_path: list[tuple[str, float]]
    fabric_minutes: float         # the fabric and what needs it (0 without a fabric)
    total_minutes: float          # everything
    cluster_minutes: dict[str, float]  # each cluster with its add-ons, on its own
    slowest_cluster: str
    violations: list[str]
    # A first `up` run in sequential phases (offline.bootstrap: the runner, then everything else
    # from it): each phase starts when the previous one has finished; the last phase counts until
    # the fleet works (its clusters and add-ons), as fleet_minutes does for one graph.
    phase_minutes: list[float] = field(default_factory=list)
    phased_path: list[tuple[str, float]] = field(default_factory=list)

    @property
    def phased_minutes(self) -> float:
        return round(sum(self.phase_minutes), 2) if self.phase_minutes else self.fleet_minutes

    @property
    def slowest_cluster_minutes(self) -> float:
        return self.cluster_minutes.get(self.slowest_cluster, 0.0)

    def summary(self, by_urn: dict[str, dict[str, Any]]) -> dict[str, Any]:
        def show(path: list[tuple[str, float]]) -> list[str]:
            return [f"{by_urn[u]['type'].split(':')[-1]} {by_urn[u]['name']} ({m:g})" for u, m in path]

        return {
            "bringUpMinutes": self.fleet_minutes,
            "slowestClusterMinutes": self.slowest_cluster_minutes,
            "slowestCluster": self.slowest_cluster,
            "fabricMinutes": self.fabric_minutes,
            "totalMinutes": self.total_minutes,
            "criticalPath": show(self.fleet_path),
            "violations": len(self.violations),
            "phaseMinutes": self.phase_minutes,
            "phasedMinutes": self.phased_minutes,
            "phasedCriticalPath": show(self.phased_path),
        }


def phase_minutes(g: Graph, phases: list[set[str]], last_targets: set[str] | None = None) -> list[float]:
    """Longest path inside each phase; edges into earlier phases are already met. The last
    phase counts to ``last_targets`` if given (what must work), else to all its resources."""
    return [e.minutes for e in _phase_estimates(g, phases, last_targets)]


def _phase_estimates(g: Graph, phases: list[set[str]], last_targets: set[str] | None) -> list[Estimate]:
    out = []
    for i, phase in enumerate(phases):
        targets = phase & last_targets if last_targets is not None and i == len(phases) - 1 else None
        out.append(longest_path(g, allowed=phase, targets=targets))
    return out


def bootstrap_phases(records: list[dict[str, Any]]) -> list[set[str]]:
    """The phases of a first ``up`` as the fleet's bootstrap defines them (``offline.bootstrap``),
    or none when the tree has no bootstrap order."""
    try:
        from . import bootstrap  # pyright: ignore[reportAttributeAccessIssue]
    except ImportError:
        return []
    split = bootstrap.phases(records)
    return [{r["urn"] for r in group} for group in split.values() if group]


def needs_fabric(g: Graph, fabric: set[str]) -> set[str]:
    """The fabric and what waits on it, except through a Kubernetes provider: a provider waits
    for the deployer's path to its API server (which may cross the fabric) and its cluster's
    objects wait for the provider, but they do not need the fabric to work; and except a
    cluster's bring-up, which must never need it (see independence_violations)."""
    bring_up = {u for c in g.clusters() for u in g.bring_up_set(c)}
    return fabric | (g.downstream(fabric, stop_at=frozenset({K8S_PROVIDER})) - bring_up)


def estimate(records: list[dict[str, Any]], phases: list[set[str]] | None = None) -> BringUp:
    g = Graph(records)
    custom = list(g.custom())
    fabric = {u for u in custom if g.is_fabric(u)}
    full = longest_path(g)
    fab = needs_fabric(g, fabric)
    works = [u for u in custom if u not in fab]
    fleet = longest_path(g, targets=works)
    fabric_minutes = max((full.finish[u] for u in fab), default=0.0)

    # Each cluster on its own: its resources plus fleet-wide ones that depend on no cluster and
    # are not fabric (providers, the mesh root CA, ...); edges to anything else are cut, the
    # deployer's path over the fabric among them.
    shared = {u for u in custom if u not in fab and not g.on_cluster(u)}
    cluster_minutes: dict[str, float] = {}
    for c in g.clusters():
        own = {u for u in custom if g.owner[u] == c and u not in fab}
        cluster_minutes[c] = longest_path(g, allowed=own | shared, targets=own).minutes
    slowest = max(cluster_minutes, key=lambda c: (cluster_minutes[c], c)) if cluster_minutes else ""
    phased = _phase_estimates(g, phases, set(works)) if phases and len(phases) > 1 else []
    return BringUp(
        fleet_minutes=fleet.minutes, fleet_path=fleet.path, fabric_minutes=round(fabric_minutes, 2),
        total_minutes=full.minutes, cluster_minutes=cluster_minutes, slowest_cluster=slowest,
        violations=independence_violations(g, fabric),
        phase_minutes=[e.minutes for e in phased], phased_path=[step for e in phased for step in e.path],
    )


# Gateways that take long to create (Azure's VPN gateway: up to 45 minutes). A cluster's
# Kubernetes provider may wait for the deployer's path over the fabric (a TGW peering, a VPN link
# of minutes), never for one of these.
SLOW_MINUTES = 10.0


def is_slow_gateway(g: Graph, urn: str) -> bool:
    return g.is_fabric(urn) and minutes_of(g.by_urn[urn]) >= SLOW_MINUTES


def independence_violations(g: Graph, fabric: set[str] | None = None) -> list[str]:
    """Every place where a cluster's bring-up (control plane, nodes, provider, add-ons) waits on
    another cluster's resources, on a cross-cluster link, or on the fabric. The one allowance:
    the cluster's Kubernetes provider waits for the deployer's network path to its API server,
    which may cross the fabric, but never a slow gateway (``SLOW_MINUTES``); everything else of
    the cluster reaches the fabric only through its provider."""
    fabric = fabric if fabric is not None else {u for u in g.custom() if g.is_fabric(u)}
    providers = frozenset({K8S_PROVIDER})
    out: list[str] = []
    for c in g.clusters():
        for urn in g.bring_up_set(c):
            is_provider = g.by_urn[urn]["type"] == K8S_PROVIDER
            for a in sorted(g.ancestors(urn) if is_provider else g.ancestors(urn, stop_at=providers)):
                owner = g.owner[a]
                why = None
                if a in fabric and (not is_provider or is_slow_gateway(g, a)):
                    why = "a slow gateway of the fabric" if is_provider else "the fabric"
                elif owner is not None and owner != c:
                    why = f"cluster {owner}"
                elif owner is None and g.on_cluster(a) and g.clusters_under(a) - {c}:
                    why = "a cross-cluster link"
                if why:
                    r, w = g.by_urn[urn], g.by_urn[a]
                    out.append(f"{c}: {r['type']} {r['name']} waits on {why} ({w['type']} {w['name']})")
    return out
