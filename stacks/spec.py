"""The resolved fleet: what components receive.

A :class:`FleetSpec` is the validated config with every default applied and every address
range allocated. Components never read stack config; they get these objects.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from typing import Any

from .baseline import Baseline
from .config import Cloud, Environment, NodesConfig, Role, SecurityConfig
from .ipam import NetworkPlan
from .sections.argocd import ArgoCDConfig
from .sections.autoscaling import NodeProvisioningConfig
from .sections.backup import BackupConfig
from .sections.connectivity import SubmarinerConfig
from .sections.dns import DnsConfig
from .sections.fabric import FabricConfig
from .sections.maintenance import MaintenanceConfig
from .sections.mesh import MeshConfig
from .sections.metrics import MetricsConfig, VpaConfig


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    cloud: Cloud
    region: str
    role: Role
    kubernetes_version: str
    zones: tuple[str, ...]
    nodes: NodesConfig
    instance_type: str
    network: NetworkPlan

    @property
    def is_management(self) -> bool:
        return self.role == "management"

    def summary(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "cloud": self.cloud,
            "region": self.region,
            "role": self.role,
            "kubernetesVersion": self.kubernetes_version,
            "slot": self.network.slot,
            **{k: str(v) for k, v in self.network.ranges().items()},
        }


@dataclass(frozen=True)
class FleetSpec:
    stack: str
    environment: Environment
    address_space: ipaddress.IPv4Network
    clusters: tuple[ClusterSpec, ...]
    baseline: Baseline
    security: SecurityConfig
    gcp_project: str | None = None
    submariner: SubmarinerConfig = field(default_factory=SubmarinerConfig)
    mesh: MeshConfig = field(default_factory=MeshConfig)
    argocd: ArgoCDConfig = field(default_factory=ArgoCDConfig)
    backup: BackupConfig = field(default_factory=BackupConfig)
    node_provisioning: NodeProvisioningConfig = field(default_factory=NodeProvisioningConfig)
    maintenance: MaintenanceConfig = field(default_factory=MaintenanceConfig)
    dns: DnsConfig = field(default_factory=DnsConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    vpa: VpaConfig = field(default_factory=VpaConfig)
    network: FabricConfig = field(default_factory=FabricConfig)  # the private fabric (stacks/fabric.py)

    @property
    def management(self) -> ClusterSpec:
        return next(c for c in self.clusters if c.is_management)

    @property
    def workloads(self) -> tuple[ClusterSpec, ...]:
        return tuple(c for c in self.clusters if not c.is_management)

    @property
    def is_prod(self) -> bool:
        return self.environment == "prod"

    @property
    def public_api_cidrs(self) -> list[str]:
        """CIDRs the public API endpoint admits; empty = private endpoint only. Only a baseline that
        allows a public endpoint (dev) opens one; validation rejects CIDRs anywhere else."""
        if not self.baseline.public_api_endpoint:
            return []
        return [str(n) for n in self.security.api_allowed_cidrs]

    def cluster(self, name: str) -> ClusterSpec:
        return next(c for c in self.clusters if c.name == name)
