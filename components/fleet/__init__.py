"""Cross-cluster wiring: components whose resources join clusters (hub registrations, remote
secrets, the Submariner broker and joins, DR links, fleet firewall openings)."""

from __future__ import annotations

from dataclasses import dataclass

from components.handle import ClusterHandle
from stacks.spec import FleetSpec


@dataclass
class FleetArgs:
    """What a fleet-wide component takes: the resolved fleet and every cluster's handle."""

    fleet: FleetSpec
    handles: list[ClusterHandle]
