"""The fleet configuration: the contract of ``Pulumi.<stack>.yaml``.

Every key under the ``archipelago:`` namespace is parsed into the pydantic models below.
Parsing is strict (unknown keys are errors) and complete: :func:`parse_fleet` collects every
problem in the whole file, each with its key path and bad value, and raises one
:class:`ConfigError` holding all of them, before any resource is registered.

Cross-field rules (unique names, one management cluster, regions, versions, address ranges)
live in :mod:`stacks.validate`; the address plan itself in :mod:`stacks.ipam`.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import Field, field_validator

# The base models and errors are re-exported: ``stacks.config`` is the config's public module.
from .core import (  # noqa: F401
    DEFAULT_INSTANCE_TYPES,
    DNS_LABEL,
    EXTRA_MODELS,
    MAX_CLUSTER_NAME,
    PROJECT,
    Cloud,
    ClusterConfig,
    ConfigError,
    ConfigIssue,
    Environment,
    GroupBinding,
    Model,
    NetworkConfig,
    NodesConfig,
    Role,
    SecurityConfig,
    _cidr,
    format_path,
    issues_from,
)
from .sections.argocd import ArgoCDConfig
from .sections.autoscaling import NodeProvisioningConfig
from .sections.backup import BackupConfig
from .sections.connectivity import SubmarinerConfig
from .sections.dns import DnsConfig
from .sections.fabric import FabricConfig
from .sections.maintenance import MaintenanceConfig
from .sections.mesh import MeshConfig
from .sections.metrics import MetricsConfig, VpaConfig


class FleetConfig(Model):
    """Top-level keys of the ``archipelago`` config namespace."""

    environment: Environment = Field(
        description="Selects the security baseline (stacks/baseline.py): prod and staging strict, dev relaxes only DEV_RELAXES.")
    address_space: ipaddress.IPv4Network = Field(
        description="Private range of the whole fleet (RFC 1918 or 100.64.0.0/10), cut into /16 blocks, one per cluster.")
    clusters: list[dict[str, Any]] = Field(
        min_length=1, description="The fleet's clusters; exactly one has role management. Each is parsed as clusters[] below.")
    gcp_project: str | None = Field(
        default=None, pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$",
        description="GCP project id of the fleet's GCP resources; required when any cluster is on gcp.")
    security: SecurityConfig = Field(default=SecurityConfig(), description="Fleet-wide security settings.")
    # -- add-on sections --
    node_provisioning: NodeProvisioningConfig = Field(
        default_factory=lambda: NodeProvisioningConfig(),
        description="Workload node provisioning on every cluster (Karpenter on EKS, node auto-provisioning on AKS and GKE).")
    argocd: ArgoCDConfig = Field(default_factory=lambda: ArgoCDConfig(), description="Argo CD hub and spokes.")
    backup: BackupConfig = Field(default_factory=lambda: BackupConfig(), description="Velero on every cluster.")

    # -- mesh and connectivity sections --
    submariner: SubmarinerConfig = Field(
        default_factory=lambda: SubmarinerConfig(), description="Submariner pod/service connectivity between the clusters.")
    mesh: MeshConfig = Field(default_factory=lambda: MeshConfig(), description="The fleet's Istio mesh (multi-primary, multi-network).")
    maintenance: MaintenanceConfig = Field(
        default_factory=lambda: MaintenanceConfig(),
        description="The weekly window in which AKS and GKE may upgrade clusters and nodes.")
    # -- private network fabric between clouds and regions --
    network: FabricConfig = Field(
        default_factory=lambda: FabricConfig(),
        description="Private network fabric between clouds and regions: site-to-site VPN with BGP (docs/network.md).")

    # -- DNS failover, fleet metrics, right-sizing --
    dns: DnsConfig = Field(
        default_factory=lambda: DnsConfig(),
        description="external-dns on every cluster into one Route 53 zone, and failover/weighted names between clusters.")
    metrics: MetricsConfig = Field(
        default_factory=lambda: MetricsConfig(),
        description="kube-prometheus-stack on every cluster; the hub federates every spoke over the fabric.")
    vpa: VpaConfig = Field(default_factory=lambda: VpaConfig(),
                           description="Vertical Pod Autoscaler (managed on GKE/AKS, the chart on EKS) and the platform's own VPAs.")

    _check = field_validator("address_space", mode="before")(_cidr)


EXTRA_MODELS.append(FleetConfig)
