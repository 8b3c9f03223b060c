"""What every managed-cluster component shares: the node-pool args type, option presets, and the
finish that turns a cluster's own outputs into a secret kubeconfig and a Kubernetes provider.

``ManagedCluster`` is a base class, never used alone: ``EksCluster``, ``AksCluster`` and
``GkeCluster`` each declare their own args and outputs (the package analyzer reads descriptions
from the class itself, so nothing public is declared here).
"""

# No `from __future__ import annotations`: the package analyzer reads these TypedDicts' annotations
# as objects.

import datetime as dt
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from components.clusters import kubeconfig
from components.declared import register_declared_outputs
from stacks.sections.maintenance import WEEK_DAYS

if TYPE_CHECKING:
    from stacks.sections.maintenance import MaintenanceConfig
    from stacks.spec import ClusterSpec

POOL_LABEL = "archipelago.io/pool"


class NodePoolArgs(TypedDict):
    """The cluster's system node pool: machine size and autoscaling bounds."""

    instance_type: pulumi.Input[str]
    """Machine type of every node: an EC2 instance type on EKS, a VM size on AKS, a machine type
    on GKE. Must exist in the cluster's zones."""
    min_size: int
    """Fewest nodes (cluster-wide total). At least 1."""
    desired_size: int
    """Nodes at creation (cluster-wide total); the autoscaler owns the count afterwards. Between
    minSize and maxSize."""
    max_size: int
    """Most nodes (cluster-wide total). At least desiredSize."""
    disk_size_gb: NotRequired[int]
    """Root disk of each node in GB, 20-2048. Default: 50."""


DEFAULT_DISK_GB = 50


def check_node_pool(pool: NodePoolArgs) -> None:
    """Refuse sizes no cloud accepts, naming the field and value."""
    lo, want, hi = pool["min_size"], pool["desired_size"], pool["max_size"]
    if lo < 1:
        raise ValueError(f"nodePool.minSize: {lo} is below 1")
    if not lo <= want <= hi:
        raise ValueError(f"nodePool.desiredSize: {want} is not between minSize {lo} and maxSize {hi}")
    disk = pool.get("disk_size_gb", DEFAULT_DISK_GB)
    if not 20 <= disk <= 2048:
        raise ValueError(f"nodePool.diskSizeGb: {disk} is not between 20 and 2048")


def check_choice(field: str, value: str, allowed: tuple[str, ...] | list[str]) -> str:
    if value not in allowed:
        raise ValueError(f"{field}: {value!r} is not one of {', '.join(allowed)}")
    return value


class ManagedCluster(pulumi.ComponentResource):
    """Base of EksCluster, AksCluster and GkeCluster (never registered on its own)."""

    def __init__(self, type_: str, name: str, args: Mapping[str, Any], package: str, opts: pulumi.ResourceOptions | None):
        """Register the component; ``package`` is the cloud's Pulumi package (aws, azure-native, gcp)."""
        if type(self) is ManagedCluster:
            raise TypeError("ManagedCluster is a base class: use EksCluster, AksCluster or GkeCluster")
        super().__init__(type_, name, None, opts)
        self._name = name
        self._cluster_name: str = args.get("cluster_name") or name
        # The cloud provider passed in the resource options (providers=[...]), or None for the
        # default one. Children inherit it through their parent; the fleet's workload identities,
        # parented elsewhere, name it explicitly.
        self._cloud_provider = self.get_provider(f"{package}::")
        self.child_opts = pulumi.ResourceOptions(parent=self)
        # Keys, vaults and the like: protected when asked (the fleet asks in prod).
        self.stateful_opts = pulumi.ResourceOptions(parent=self, protect=bool(args.get("protect_stateful", False)))
        # Filled by each cloud's constructor, read by the fleet's ClusterHandle (Python only).
        self.cloud_outputs: dict[str, Any] = {}
        self.lb_annotations: dict[str, dict[str, str]] = {}
        self._deployer_path_ready: pulumi.Input[str] | None = args.get("deployer_path_ready")
        # The annotation pinning an internal load balancer's private address, where the cloud's
        # controller takes it from one (None: from the Service's spec.loadBalancerIP).
        self.lb_address_annotation: str | None = None
        # Where that annotation names a reserved address (GKE): reserve (name, address, parent) -> its name.
        self.reserve_lb_address: Callable[[str, str, pulumi.Resource], pulumi.Input[str]] | None = None
        # Node facts that node agents (CNI plugins) need: where the node keeps CNI binaries when not
        # in /opt/cni/bin, and whether pods of the system-*-critical priority classes need a
        # ResourceQuota that admits them outside kube-system.
        self.node_cni_bin_dir: str | None = None
        self.critical_pods_need_quota = False

    def invoke_opts(self) -> pulumi.InvokeOutputOptions:
        return pulumi.InvokeOutputOptions(provider=self._cloud_provider, parent=self)

    def name_suffix(self) -> pulumi.Output[str]:
        """Four lowercase letters/digits, stable in state and new after a destroy: for names a
        cloud keeps reserved after deletion (Key Vault soft delete, GCP key rings)."""
        provider = random.Provider(f"{self._name}-random", opts=pulumi.ResourceOptions(parent=self))
        return random.RandomString(
            f"{self._name}-name-suffix", length=4, special=False, upper=False,
            opts=pulumi.ResourceOptions(parent=self, provider=provider),
        ).result

    def register_declared_outputs(self) -> None:
        """Register every output the class declares (its annotated attributes), by schema name."""
        register_declared_outputs(self)

    def _connect(
        self,
        cluster_name: str,
        *,
        endpoint: pulumi.Input[str],
        ca_data: pulumi.Input[str],
        exec_config: dict[str, Any],
        provider_depends_on: list[pulumi.Resource] | None = None,
    ) -> pulumi.Output[str]:
        """The kubeconfig (secret, exec plugin) and the cluster's own Kubernetes provider
        (server-side apply), kept as ``self.k8s_provider``; returns the kubeconfig."""
        config = kubeconfig.build(cluster_name, endpoint, ca_data, exec_config)
        ready = self._deployer_path_ready
        # The deployer reaches the API server only once its network path exists: the provider's
        # kubeconfig carries that path's resources as dependencies (same text).
        gated = config if ready is None else pulumi.Output.all(config, ready).apply(lambda v: v[0])
        # The provider object, for Python programs that create objects through it.
        self.k8s_provider = k8s.Provider(
            f"{self._name}-k8s",
            kubeconfig=gated,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self, depends_on=provider_depends_on or []),
        )
        return config


def node_pool_args(cluster: "ClusterSpec") -> NodePoolArgs:
    """The fleet's node settings of one cluster as a component's node pool."""
    n = cluster.nodes
    return NodePoolArgs(instance_type=cluster.instance_type, min_size=n.min_size, desired_size=n.desired_size,
                        max_size=n.max_size, disk_size_gb=n.disk_size_gb)


class MaintenanceWindowArgs(TypedDict):
    """A weekly window in which the cloud may upgrade the cluster and its nodes."""

    day: str
    """Day of the week the window opens: Monday ... Sunday."""
    start_utc: str
    """Start of the window, HH:MM in UTC."""
    duration_hours: int
    """Length of the window in hours, 12-24 (GKE needs 48 h of availability in any 32 days; AKS
    accepts at most 24)."""


def check_maintenance(window: MaintenanceWindowArgs) -> MaintenanceWindowArgs:
    check_choice("maintenance.day", window["day"], WEEK_DAYS)
    start = window["start_utc"]
    try:
        dt.time.fromisoformat(start)
        ok = len(start) == 5
    except ValueError:
        ok = False
    if not ok:
        raise ValueError(f"maintenance.startUtc: {start!r} is not a time of day HH:MM (UTC)")
    if not 12 <= window["duration_hours"] <= 24:
        raise ValueError(f"maintenance.durationHours: {window['duration_hours']} is not between 12 and 24")
    return window


def maintenance_args(cluster_maintenance: "MaintenanceConfig") -> MaintenanceWindowArgs:
    """The fleet's maintenance section as a component's window."""
    m = cluster_maintenance
    return MaintenanceWindowArgs(day=m.day, start_utc=m.start_utc, duration_hours=m.duration_hours)
