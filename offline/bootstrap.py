"""The bootstrap order of a private fleet, computed from the plan record.

A prod fleet's API servers are private, so its first `pulumi up` cannot run from a hosted CI
machine. It runs in two phases:

1. ``runner``: only what the runner inside the management network needs before it can take a job:
   the CodeBuild project and webhook, its role, security group and subnets, and the subnets' way
   out (NAT) to GitHub and the cloud APIs. Runs on a GitHub-hosted runner with the stack's OIDC
   identities; no cluster, no fabric, no Kubernetes API.
2. ``fleet``: everything else, in one graph, from that runner: clusters, the fabric and everything
   in-cluster. Each cluster's Kubernetes provider waits for the resources on the runner's path to
   its API server (components/fleet/deployer.py ``path_to``), so each cluster's add-ons start when
   that cluster and that path are ready, not when the whole fabric is.

Phase 1 is the runner's resources that wait on no cluster (its rule on the management cluster's
security group is on that cluster's path, so phase 2), closed under their dependencies, providers
and parents, plus what can be created alongside without making phase 1 longer (``_alongside``); ``python -m offline bootstrap <stack> --targets FILE`` writes its URNs for
``pulumi up --target``. On later runs phase 1 is a no-op subset of phase 2.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .report import CLUSTER_COMPONENTS, is_component

RUNNER, FLEET = "runner", "fleet"
RUNNER_COMPONENTS = frozenset({"DeployerRunner"})


def _waits(r: dict[str, Any], by_urn: dict[str, dict[str, Any]]) -> list[str]:
    """What ``r`` needs to exist first: dependencies, provider, custom parent."""
    out = list(r.get("dependencies") or [])
    if r.get("provider"):
        out.append(r["provider"])
    p = by_urn.get(r.get("parent") or "")
    if p is not None and p["custom"]:
        out.append(p["urn"])
    return out


def _under(r: dict[str, Any], by_urn: dict[str, dict[str, Any]], classes: frozenset[str]) -> bool:
    p = by_urn.get(r.get("parent") or "")
    while p is not None:
        if is_component(p, classes):
            return True
        p = by_urn.get(p.get("parent") or "")
    return False


def _closure(seeds: list[str], by_urn: dict[str, dict[str, Any]]) -> set[str]:
    seen: set[str] = set()
    stack = list(seeds)
    while stack:
        u = stack.pop()
        if u in seen or u not in by_urn:
            continue
        seen.add(u)
        stack.extend(_waits(by_urn[u], by_urn))
    return seen


def phases(resources: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The custom resources of each phase (``runner`` empty when the fleet has no runner: then
    everything is one ``fleet`` phase)."""
    by_urn = {r["urn"]: r for r in resources}
    runner = [r["urn"] for r in resources if r["custom"] and _under(r, by_urn, RUNNER_COMPONENTS)]
    # Runner resources that wait on a cluster belong to that cluster's path, not to the runner.
    on_cluster = {u for u in _closure(runner, by_urn)
                  if is_component(by_urn[u], CLUSTER_COMPONENTS) or _under(by_urn[u], by_urn, CLUSTER_COMPONENTS)}
    seeds = [u for u in runner if not (_closure([u], by_urn) & on_cluster)]
    first = _closure(seeds, by_urn) if seeds else set()
    if first:
        first |= _alongside(resources, first)
    out: dict[str, list[dict[str, Any]]] = {RUNNER: [], FLEET: []}
    for r in resources:
        if r["custom"]:
            out[RUNNER if r["urn"] in first else FLEET].append(r)
    return out


def _alongside(resources: list[dict[str, Any]], first: set[str]) -> set[str]:
    """Resources the hosted runner creates in parallel with the runner without making phase 1
    longer: they wait on no Kubernetes API, no cluster control plane or node pool and no part of
    the fabric, and (estimated with offline.bringup's durations) finish no later than the runner
    does. IAM roles, keys and network pieces the clusters start from: phase 2 then begins with the
    control planes themselves."""
    from .bringup import CLUSTER_TYPES, Graph, longest_path

    g = Graph(resources)
    bad = {u for u in g.custom() if g.is_fabric(u) or g.by_urn[u]["type"] in CLUSTER_TYPES
           or g.by_urn[u]["type"].startswith(("kubernetes:", "pulumi:providers:kubernetes"))}
    candidates = {u for u in g.custom() if u not in first and not ((g.ancestors(u) | {u}) & bad)}
    allowed = first | candidates
    est = longest_path(g, allowed=allowed, targets=first)
    return {u for u in candidates if est.finish.get(u, float("inf")) <= est.minutes}


def targets(resources: list[dict[str, Any]]) -> list[str]:
    """Phase 1 URNs: its resources and the components above them (a target's parent must exist)."""
    by_urn = {r["urn"]: r for r in resources}
    urns: set[str] = set()
    for r in phases(resources)[RUNNER]:
        cur: dict[str, Any] | None = r
        while cur is not None and cur["urn"] not in urns:
            urns.add(cur["urn"])
            cur = by_urn.get(cur.get("parent") or "")
    return sorted(urns)


def write_targets(resources: list[dict[str, Any]], path: Path) -> int:
    urns = targets(resources)
    path.write_text("\n".join(urns) + "\n")
    return len(urns)
