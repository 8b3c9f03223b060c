"""``python -m offline``: the offline plan and its outputs.

    python -m offline plan <stack> [--json FILE] [--manifests DIR] [--dot FILE] [--charts DIR [--admission]] [--policy]
    python -m offline flows <stack> [--verbose]
    python -m offline bootstrap <stack> [--targets FILE]
    python -m offline network <stack>
    python -m offline diff BASE.json HEAD.json
    python -m offline docs [--check]

Exit codes: 0 planned, 2 invalid config (every error listed, no traceback), 1 program error or a
chart that does not render or a flow with a missing hop, 3 admission rejects something or a mandatory policy is violated
(every violation listed).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from stacks.config import ConfigError
from stacks.loader import ROOT

from .report import cluster_of, component_of, write_dot, write_manifests

# Logs and CI are not terminals: give tables room instead of rich's 80-column default.
MANAGED_SERVICE = {"aws": "EKS", "azure": "AKS", "gcp": "GKE"}

console = Console(stderr=False, highlight=False, width=None if sys.stdout.isatty() else 160)
# Error lines are never wrapped: a key path cut at column 80 cannot be searched for.
err = Console(stderr=True, highlight=False, soft_wrap=True, emoji=False)


def _summary(plan: Any, seconds: float) -> None:
    spec = plan.spec
    console.print(f"[bold]archipelago[/] stack [bold]{plan.stack}[/] ({spec.environment}), address space {spec.address_space}")
    clusters = Table(title="Clusters", title_justify="left")
    for col in ("name", "cloud", "service", "region", "role", "k8s", "slot", "vpc", "pods", "services", "resources"):
        clusters.add_column(col)
    by_urn = plan.by_urn()
    per_cluster: Counter[str] = Counter()
    per_component: dict[str, Counter[str]] = defaultdict(Counter)
    for r in plan.resources:
        owner = cluster_of(r, by_urn) or "(fleet)"
        per_cluster[owner] += 1
        per_component[owner][component_of(r, by_urn)] += 1
    for c in spec.clusters:
        n = c.network
        clusters.add_row(c.name, c.cloud, MANAGED_SERVICE[c.cloud], c.region, c.role, c.kubernetes_version, str(n.slot if n.slot is not None else "-"),
                         str(n.vpc), str(n.pods), str(n.services), str(per_cluster.get(c.name, 0)))
    console.print(clusters)
    comps = Table(title="Resources per cluster and component", title_justify="left")
    comps.add_column("cluster")
    comps.add_column("component")
    comps.add_column("resources", justify="right")
    for owner in [c.name for c in spec.clusters] + ["(fleet)"]:
        for comp, count in sorted(per_component.get(owner, {}).items()):
            comps.add_row(owner, comp, str(count))
    console.print(comps)
    custom = sum(1 for r in plan.resources if r["custom"])
    console.print(
        f"[bold]{len(plan.resources)}[/] resources registered ({custom} custom, {len(plan.resources) - custom} components) "
        f"on {len(spec.clusters)} clusters in {seconds:.1f}s"
    )


def cmd_plan(args: argparse.Namespace) -> int:
    from .plan import run_plan

    root = Path(args.root).resolve() if args.root else ROOT
    start = time.perf_counter()
    try:
        plan = run_plan(args.stack, root)
    except ConfigError as exc:
        err.print(exc.render(), markup=False)
        return 2
    except FileNotFoundError as exc:
        err.print(str(exc), markup=False)
        return 2
    seconds = time.perf_counter() - start
    _summary(plan, seconds)
    releases = None
    if args.charts:  # render every Helm release with its real chart
        from .render import RenderError, print_releases, render_plan
        try:
            releases = render_plan(plan, Path(args.charts))
        except RenderError as exc:
            err.print("charts failed to render:\n  " + "\n  ".join(exc.problems), markup=False)
            return 1
        print_releases(releases, console)
    else:
        console.print("Helm charts not rendered (pass --charts DIR to render every release)")
    if args.json:
        Path(args.json).write_text(json.dumps(plan.to_json(), indent=1, sort_keys=True) + "\n")
        console.print(f"plan record: {args.json}")
    if args.manifests:
        n = write_manifests(plan, Path(args.manifests))
        if releases is not None:
            from .render import write_rendered
            n += write_rendered(releases, Path(args.manifests))
        console.print(f"{n} Kubernetes objects written under {args.manifests}/<cluster>/")
    if args.dot:
        write_dot(plan, Path(args.dot))
        console.print(f"component graph: {args.dot}")
    status = 0
    if args.admission:
        from .admission import check_plan, print_violations

        violations = check_plan(plan, releases or [])
        print_violations(violations, console, plan, releases or [])
        status = 3 if violations else status
    if getattr(args, "flows", False):
        from .flows import check_flows, print_results

        status = (1 if print_results(check_flows(plan.resources, plan.spec), console, verbose=args.verbose) else 0) or status
    if args.policy:
        from .policy import command as policy_command

        status = policy_command(plan.to_json()["resources"], console) or status
    return status


def _load_plan(args: argparse.Namespace) -> Any:
    """Plan ``args.stack``; None (after printing why) when the stack file is missing or invalid."""
    from .plan import run_plan

    root = Path(args.root).resolve() if getattr(args, "root", None) else ROOT
    try:
        return run_plan(args.stack, root)
    except (ConfigError, FileNotFoundError) as exc:
        err.print(exc.render() if isinstance(exc, ConfigError) else str(exc), markup=False)
        return None


def cmd_flows(args: argparse.Namespace) -> int:
    """Plan the stack, then check every flow the fleet needs against the plan record."""
    from .flows import check_flows, print_results, print_unused, unused_rules

    plan = _load_plan(args)
    if plan is None:
        return 2
    missing = print_results(check_flows(plan.resources, plan.spec), console, verbose=args.verbose)
    unused = print_unused(*unused_rules(plan.resources, plan.spec), console, checked=plan.spec.network.enabled, verbose=args.verbose)
    return 1 if missing or unused else 0


def cmd_bootstrap(args: argparse.Namespace) -> int:
    """Print the two bootstrap phases of a private fleet; --targets writes phase 1's URNs."""
    from .bootstrap import FLEET, RUNNER, phases, write_targets
    from .bringup import bootstrap_phases, estimate

    plan = _load_plan(args)
    if plan is None:
        return 2
    split = phases(plan.resources)
    console.print(f"phase 1 ({RUNNER}, hosted runner: the runner, its way out, and what fits beside it): {len(split[RUNNER])} resources")
    console.print(f"phase 2 ({FLEET}, from the runner inside the management network: everything else): {len(split[FLEET])} resources")
    b = estimate(plan.resources, bootstrap_phases(plan.resources))
    console.print(f"estimated bring-up: {b.fleet_minutes} min in one graph; bootstrapped "
                  f"{' + '.join(f'{m:g}' for m in b.phase_minutes) or b.fleet_minutes} = {b.phased_minutes} min; "
                  f"slowest cluster {b.slowest_cluster} {b.slowest_cluster_minutes} min "
                  f"({b.phased_minutes / b.slowest_cluster_minutes if b.slowest_cluster_minutes else 0:.3f}x); "
                  f"fabric done at {b.fabric_minutes} min; {len(b.violations)} independence violation(s)")
    if args.targets:
        n = write_targets(plan.resources, Path(args.targets))
        console.print(f"{n} phase-1 targets: {args.targets}")
    return 0


def cmd_network(args: argparse.Namespace) -> int:
    """The network picture of a stack, from its plan record (Markdown with a Mermaid graph)."""
    from .netmap import render

    plan = _load_plan(args)
    if plan is None:
        return 2
    sys.stdout.write(render(plan.resources, plan.spec))
    return 0


def cmd_diff(args: argparse.Namespace) -> int:
    from .diff import command

    return command(args.base, args.head, args.base_label, args.head_label)


def cmd_docs(args: argparse.Namespace) -> int:
    from .docs import command

    return command(args.check)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline", description="Archipelago fleet tools (offline).")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("plan", help="run the program under the mock engine and summarise what it registers")
    p.add_argument("stack", help="stack name: reads Pulumi.<stack>.yaml")
    p.add_argument("--json", metavar="FILE", help="write the plan record (every resource, secrets masked)")
    p.add_argument("--manifests", metavar="DIR", help="write every Kubernetes object as YAML, one folder per cluster")
    p.add_argument("--dot", metavar="FILE", help="write the component tree as Graphviz")
    p.add_argument("--policy", action="store_true", help="evaluate the policy pack (policy/) offline; exit 3 on a mandatory violation")
    p.add_argument("--charts", metavar="DIR", help="render every Helm release with its chart from DIR (folder per chart)")
    p.add_argument("--admission", action="store_true", help="check what lands in each cluster (needs --charts)")
    p.add_argument("--flows", action="store_true", help="check every flow the fleet needs against the plan; exit 1 on a missing hop")
    p.add_argument("--verbose", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--root", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_plan)
    f = sub.add_parser("flows", help="every flow the fleet needs, with its route and admitting rule at each hop")
    f.add_argument("stack")
    f.add_argument("--verbose", action="store_true", help="show every hop of every flow")
    f.add_argument("--root", help=argparse.SUPPRESS)
    f.set_defaults(func=cmd_flows)
    b = sub.add_parser("bootstrap", help="the bootstrap phases of a private fleet (cloud APIs first, then in-cluster)")
    b.add_argument("stack")
    b.add_argument("--targets", metavar="FILE", help="write phase 1's URNs, one a line, for pulumi up --target")
    b.set_defaults(func=cmd_bootstrap)
    n = sub.add_parser("network", help="the network picture from the plan: clouds, gateways, tunnels, ranges")
    n.add_argument("stack")
    n.set_defaults(func=cmd_network)
    d = sub.add_parser("diff", help="Markdown diff of two plan records (--json files), grouped by cluster")
    d.add_argument("base")
    d.add_argument("head")
    d.add_argument("--base-label")
    d.add_argument("--head-label")
    d.set_defaults(func=cmd_diff)
    g = sub.add_parser("docs", help="regenerate docs/config-reference.md and the generated tables in docs/")
    g.add_argument("--check", action="store_true", help="only report stale pages (exit 1)")
    g.set_defaults(func=cmd_docs)
    args = parser.parse_args(argv)
    if getattr(args, "admission", False) and not args.charts:
        parser.error("--admission needs --charts DIR: what lands includes every rendered chart")
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
