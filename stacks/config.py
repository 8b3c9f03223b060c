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
from .sections.maintenance import MaintenanceConfig
from .sections.mesh import MeshConfig


class FleetConfig(Model):
    """Top-level keys of the ``archipelago`` config namespace."""

    environment: Environment
    address_space: ipaddress.IPv4Network
    clusters: list[dict[str, Any]] = Field(min_length=1)
    gcp_project: str | None = Field(default=None, pattern=r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")
    security: SecurityConfig = SecurityConfig()
    # -- add-on sections --
    node_provisioning: NodeProvisioningConfig = Field(default_factory=lambda: NodeProvisioningConfig())
    argocd: ArgoCDConfig = Field(default_factory=lambda: ArgoCDConfig())
    backup: BackupConfig = Field(default_factory=lambda: BackupConfig())

    # -- mesh and connectivity sections --
    submariner: SubmarinerConfig = Field(default_factory=lambda: SubmarinerConfig())
    mesh: MeshConfig = Field(default_factory=lambda: MeshConfig())
    # When AKS and GKE may upgrade clusters (one weekly window).
    maintenance: MaintenanceConfig = Field(default_factory=lambda: MaintenanceConfig())

    _check = field_validator("address_space", mode="before")(_cidr)


EXTRA_MODELS.append(FleetConfig)
