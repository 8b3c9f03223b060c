"""The bootstrap order of a private fleet, computed from the plan record.

A prod fleet's API servers are private, so the first `pulumi up` cannot run in one go from a
hosted CI machine. It runs in two phases:

1. ``cloud``: every resource that talks only to cloud APIs (networks, clusters, the fabric, IAM,
   keys, the deployer runner in the management VPC). Runs on a GitHub-hosted runner with the
   stack's OIDC identities; needs no route to any API server.
2. ``in-cluster``: the rest (everything on a Kubernetes provider, and whatever depends on it).
   Runs on the runner inside the management VPC, which reaches every private API server directly
   or over the fabric.

Phase 1 is the set of resources that neither are Kubernetes resources nor depend, directly or
through their parents, on one; ``python -m offline bootstrap <stack> --targets FILE`` writes its
URNs for ``pulumi up --target``. On later runs phase 1 is a no-op subset of phase 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CLOUD, IN_CLUSTER = "cloud", "in-cluster"


def _is_kubernetes(r: dict[str, Any]) -> bool:
    return r["type"].startswith("kubernetes:") or r["type"] == "pulumi:providers:kubernetes"


def phases(resources: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_urn = {r["urn"]: r for r in resources}
    memo: dict[str, bool] = {}

    def needs_cluster(urn: str, stack: tuple[str, ...] = ()) -> bool:
        if urn in memo:
            return memo[urn]
        r = by_urn.get(urn)
        if r is None or urn in stack:
            return False
        edges = list(r.get("dependencies") or [])
        if r.get("provider"):
            edges.append(r["provider"])
        out = _is_kubernetes(r) or any(needs_cluster(d, stack + (urn,)) for d in edges)
        memo[urn] = out
        return out

    out: dict[str, list[dict[str, Any]]] = {CLOUD: [], IN_CLUSTER: []}
    for r in resources:
        if r["custom"]:
            out[IN_CLUSTER if needs_cluster(r["urn"]) else CLOUD].append(r)
    return out


def targets(resources: list[dict[str, Any]]) -> list[str]:
    """Phase 1 URNs: its resources and the components above them (a target's parent must exist)."""
    by_urn = {r["urn"]: r for r in resources}
    urns: set[str] = set()
    for r in phases(resources)[CLOUD]:
        while r is not None and r["urn"] not in urns:
            urns.add(r["urn"])
            r = by_urn.get(r.get("parent") or "")
    return sorted(urns)


def write_targets(resources: list[dict[str, Any]], path: Path) -> int:
    urns = targets(resources)
    path.write_text("\n".join(urns) + "\n")
    return len(urns)
