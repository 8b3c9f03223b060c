"""``nodeProvisioning``: how every cluster adds and removes nodes beyond its managed system pool.

One cloud-neutral model drives Karpenter on EKS, node auto-provisioning (managed Karpenter) on AKS
and node auto-provisioning on GKE. Defaults follow the reference design: spot first with
on-demand fallback, amd64, 1000 CPU and 1000Gi of memory per cluster.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from stacks.core import Model

CapacityType = Literal["spot", "on-demand"]
Architecture = Literal["amd64", "arm64"]
ConsolidationPolicy = Literal["WhenEmpty", "WhenEmptyOrUnderutilized"]

# Karpenter's duration format (NodePool expireAfter / consolidateAfter): 30s, 10m, 720h, 1h30m, Never.
DURATION = r"^(([0-9]+(s|m|h))+|Never)$"
_MEMORY = re.compile(r"^([1-9][0-9]*)(Gi|Ti)$")


def _unique(values: list[str]) -> list[str]:
    dupes = sorted({v for v in values if values.count(v) > 1})
    if dupes:
        raise ValueError(f"lists {', '.join(dupes)} more than once")
    return values


class ProvisioningLimits(Model):
    """Ceiling on what the provisioner may add to one cluster (the system pool is not counted)."""

    cpu: int = Field(default=1000, ge=1, le=100_000, description="vCPUs.")
    memory: str = Field(default="1000Gi", description="Kubernetes quantity in Gi or Ti, e.g. 1000Gi.")

    @field_validator("memory")
    @classmethod
    def _memory(cls, v: str) -> str:
        if not _MEMORY.match(v):
            raise ValueError("must be a whole number of Gi or Ti, e.g. 1000Gi")
        return v

    @property
    def memory_gib(self) -> int:
        number, unit = _MEMORY.match(self.memory).groups()  # type: ignore[union-attr]
        return int(number) * (1024 if unit == "Ti" else 1)


class InstanceFamilies(Model):
    """Which machine families the provisioner may choose from, in each cloud's own vocabulary.

    GKE node auto-provisioning has no cluster-wide family filter; it picks machine types per
    workload, so there is no ``gcp`` entry.
    """

    aws: list[str] = Field(default=["c", "m", "r"], min_length=1, description="karpenter.k8s.aws/instance-category values.")
    azure: list[str] = Field(default=["D", "E", "F"], min_length=1, description="karpenter.azure.com/sku-family values.")

    @field_validator("aws", "azure")
    @classmethod
    def _families(cls, v: list[str], info: ValidationInfo) -> list[str]:
        pattern, example = _FAMILY_FORMAT[info.field_name or ""]
        bad = [x for x in v if not re.fullmatch(pattern, x)]
        if bad:
            raise ValueError(f"{bad[0]!r} is not {example}")
        return _unique(v)


_FAMILY_FORMAT = {
    "aws": (r"[a-z]+", "an EC2 instance category (lowercase letters, e.g. c, m, r)"),
    "azure": (r"[A-Z]+", "an Azure VM SKU family (uppercase letters, e.g. D, E, F)"),
}


class NodeProvisioningConfig(Model):
    """Workload capacity beyond each cluster's managed system pool, one model for every cloud."""

    capacity_types: list[CapacityType] = Field(
        default=["spot", "on-demand"], min_length=1,
        description="Spot is always tried first; [on-demand] turns spot off.")
    architectures: list[Architecture] = Field(default=["amd64"], min_length=1, description="CPU architectures of new nodes.")
    instance_families: InstanceFamilies = Field(
        default=InstanceFamilies(), description="Machine families per cloud (none for GKE, which picks per workload).")
    limits: ProvisioningLimits = Field(default=ProvisioningLimits(), description="Ceiling per cluster.")
    consolidation_policy: ConsolidationPolicy = Field(
        default="WhenEmptyOrUnderutilized",
        description="When nodes are removed; on GKE WhenEmptyOrUnderutilized maps to OPTIMIZE_UTILIZATION, WhenEmpty to BALANCED.")
    consolidate_after: str = Field(default="1m", description="Karpenter duration a node must qualify before it is consolidated.")
    expire_after: str = Field(default="720h", description="Node lifetime before replacement (Karpenter duration or Never).")
    eks_ami_version: str = Field(
        default="latest", pattern=r"^(latest|v\d{8})$",
        description="EKS optimized AL2023 AMI release for the EC2NodeClass: latest drifts nodes on every release; "
                    "pin vYYYYMMDD to roll node AMIs deliberately.")
    aws_spot_service_linked_role: Literal["create", "existing"] = Field(
        default="create",
        description="EC2 Spot service-linked role: create (an account that never ran Spot has none, and spot "
                    "launches then fail) or existing (the account has it; adopt it with pulumi import, see docs/clusters.md).")

    _unique_lists = field_validator("capacity_types", "architectures")(_unique)

    @field_validator("consolidate_after", "expire_after")
    @classmethod
    def _duration(cls, v: str) -> str:
        if not re.fullmatch(DURATION, v):
            raise ValueError("is not a Karpenter duration (e.g. 30s, 10m, 720h, 1h30m or Never)")
        return v

    @property
    def spot(self) -> bool:
        return "spot" in self.capacity_types

    @property
    def ordered_capacity_types(self) -> list[str]:
        """Spot before on-demand, whatever order the config lists them in."""
        return sorted(self.capacity_types, key=lambda t: t != "spot")
