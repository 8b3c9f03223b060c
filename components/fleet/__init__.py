"""Cross-cluster wiring: components whose resources join clusters (hub registrations, remote
secrets, the Submariner broker and joins, DR links, fleet firewall openings)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pulumi

from components.handle import ClusterHandle
from stacks.config import DNS_LABEL
from stacks.spec import FleetSpec


@dataclass
class FleetArgs:
    """What a fleet-wide component takes: the resolved fleet and every cluster's handle."""

    fleet: FleetSpec
    handles: list[ClusterHandle]


def previous_child_urns(cluster: pulumi.Resource, name: str, legacy_type: str) -> list[pulumi.Input[str]]:
    """The URNs a cluster's add-on ``name`` of type ``legacy_type`` had as a child of the cluster
    component: under the cluster's current type and under the ``archipelago:clusters:<Class>`` it
    was deployed under before the one token scheme (``components/tokens.py``). A per-cluster child
    of a fleet-wide component aliases both, so a stack deployed from either keeps it and (by the
    parent's aliases) its children."""
    parents = [pulumi.create_urn(cluster.pulumi_resource_name, t) for t in
               (cluster.pulumi_resource_type, f"archipelago:clusters:{type(cluster).__name__}")]
    return [pulumi.create_urn(name, legacy_type, parent=p) for p in parents]


def moved_child_opts(parent: pulumi.Resource, previous_urns: list[pulumi.Input[str]] | None) -> pulumi.ResourceOptions:
    """Options of a fleet-wide component's per-cluster child, aliased to the URNs it had before."""
    return pulumi.ResourceOptions(parent=parent, aliases=list(previous_urns) if previous_urns else None)


def check_cluster_entries(clusters: Sequence[Mapping[str, Any]], labels: tuple[str, ...] = ("name",)) -> None:
    """Refuse per-cluster entries whose ``labels`` are not DNS-1123 labels or whose names repeat,
    naming the field (``clusters[1].name: 'a' appears twice``)."""
    seen: set[str] = set()
    for i, c in enumerate(clusters):
        for key in labels:
            if not re.fullmatch(DNS_LABEL, c[key]) or len(c[key]) > 63:
                raise ValueError(f"clusters[{i}].{key}: {c[key]!r} is not a DNS-1123 label")
        if c["name"] in seen:
            raise ValueError(f"clusters[{i}].name: {c['name']!r} appears twice")
        seen.add(c["name"])
