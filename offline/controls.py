"""The security controls walked over a plan record, and rendered for docs/security.md.

The controls themselves are the policy pack's (:mod:`policy.controls`): the pack checks each
resource's properties; this walk runs the same per-resource check over a whole plan record and
adds what only a plan-wide view can: every cluster of a control's cloud must have at least one
such resource (a removed resource fails the walk).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from policy.controls import (  # noqa: F401  (re-exported: the tests and docs read them here)
    AKS,
    CONTROLS,
    CRB,
    EKS,
    NETPOL,
    PROD,
    RB,
    ROLE,
    Control,
    _fmt,
    _matches,
    applies,
    by_policy,
    set_at,
    values_at,
    violations,
)
from stacks.baseline import DEV_RELAXES
from stacks.ports import FLEET_PORTS

from .report import cluster_of


def check(control: Control, resources: Sequence[dict[str, Any]], clusters: dict[str, str], environment: str) -> list[str]:
    """Violations of one control in a plan record. ``clusters`` maps cluster name -> cloud."""
    if not applies(control, environment):
        return []
    by_urn = {r["urn"]: r for r in resources}
    seen: set[str] = set()
    errors = []
    for r in resources:
        if r["type"] != control.type or not _matches(r, control.where):
            continue
        cluster = cluster_of(r, by_urn) or "(fleet)"
        seen.add(cluster)
        errors += [f"{cluster}: {control.what}: {r['name']} {why}" for why in violations(control, r["type"], r, environment)]
    if control.required:
        want = [n for n, cloud in clusters.items() if control.cloud in ("all", cloud)]
        errors += [f"{n}: {control.what}: no {control.type}" + (f" with {dict(control.where)}" if control.where else "")
                   for n in want if n not in seen]
    return errors


def check_plan(resources: Sequence[dict[str, Any]], clusters: dict[str, str], environment: str,
               controls: Sequence[Control] = CONTROLS) -> list[str]:
    """Every violation of every control over one plan record."""
    return [e for c in controls for e in check(c, resources, clusters, environment)]


# --- the docs tables ----------------------------------------------------------------------------

def _dev_cell(control: Control) -> str:
    from stacks.baseline import DEV

    if control.relaxed_by and not applies(control, "dev"):
        return f"relaxed: `{control.relaxed_by}`"
    if "dev" not in control.envs:
        return "prod only (needs prod config)"
    prod, dev = control.expect.describe(PROD), control.expect.describe(DEV)
    if prod != dev:
        field = getattr(control.expect, "field", None)
        return f"{dev} (relaxed: `{field}`)"
    return "same"


def render_markdown() -> str:
    """The generated tables of docs/security.md: the controls, what dev relaxes, and the fleet ports."""
    lines = ["| Cloud | Control | Resource | Property | prod / staging | dev | policy |", "|---|---|---|---|---|---|---|"]
    for c in CONTROLS:
        where = "".join(f" ({p}=`{v}`)" for p, v in c.where)
        lines.append(f"| {c.cloud} | {c.what} | `{c.type}`{where} | `{c.path}` | {c.expect.describe(PROD)} | {_dev_cell(c)} "
                     f"| `{c.policy_name}` |")
    lines += ["", "What dev relaxes (stacks/baseline.py `DEV_RELAXES`), and nothing else:", "",
              "| Baseline field | prod | dev | why |", "|---|---|---|---|"]
    for name, (value, why) in DEV_RELAXES.items():
        lines.append(f"| `{name}` | `{_fmt(getattr(PROD, name))}` | `{_fmt(value)}` | {why} |")
    lines += ["", ("Ports between clusters (stacks/ports.py), opened only from the other clusters' VPC and pod ranges "
                   "(on AWS: the fleet's address space minus the cluster's own block, see docs/input-safety.md):"), "",
              "| Port | Protocol | Scope | Purpose |", "|---|---|---|---|"]
    for p in FLEET_PORTS:
        lines.append(f"| {p.port} | {p.protocol} | {p.scope} | {p.purpose} |")
    return "\n".join(lines)


def render_policies() -> str:
    """The policy pack's policies: name, level, what it checks (control groups: how many controls)."""
    from policy import rules

    lines = ["| policy | level | checks |", "|---|---|---|"]
    for cp in rules.CONTROL_POLICIES:
        lines.append(f"| `{cp.name}` | {cp.level} | {cp.description} ({len(cp.controls)} control{'s' if len(cp.controls) != 1 else ''} in the table above) |")
    for pol in (*rules.RESOURCE_POLICIES, *rules.PROVIDER_POLICIES, *rules.STACK_POLICIES):
        lines.append(f"| `{pol.name}` | {pol.level} | {pol.description} |")
    return "\n".join(lines)


if __name__ == "__main__":  # python -m offline.controls prints the tables (python -m offline docs writes them)
    print(render_markdown())
