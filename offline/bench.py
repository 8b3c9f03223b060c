"""``make bench``: how plan cost grows with the fleet.

For fleets of 4, 12, 24 and 48 clusters (the prod stack's clusters replicated, each copy with its
own name and pinned address-plan slot) the offline plan runs in a fresh process and reports:
- resources registered, plan wall and CPU time (best of five) and peak RSS;
- per-cluster plan CPU time and memory (the plan's peak Python heap, traced with ``tracemalloc``
  in one more, untimed plan of the same fleet), each also relative to the smallest fleet;
- the estimated bring-up time of a first ``pulumi up`` in minutes and its critical path
  (:mod:`offline.bringup`), next to the slowest single cluster with its own add-ons;
- the ratio of plan time to the *SDK floor* (best of five as well): the time the Pulumi SDK needs
  to register the same resources (same types, names and inputs) under the same mock engine,
  with none of the program's logic, measured in the same process right after the plan.

    python -m offline.bench [--sizes 4,12,24,48] [--json out/bench.json] [--markdown out/bench.md]
    python -m offline.bench --savings 24   # what each overhead saving is worth
"""

from __future__ import annotations

import argparse
import copy
import gc
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Self

from stacks.loader import ROOT
from stacks.tuning import tune_runtime

from . import pki
from .bringup import bootstrap_phases, estimate
from .plan import load_raw

DEFAULT_SIZES = (4, 12, 24, 48)
REPEATS = 5


def fleet_of(size: int, stack: str = "prod") -> dict[str, Any]:
    """The stack's clusters replicated to ``size`` clusters (one management cluster)."""
    raw = copy.deepcopy(load_raw(stack)[0])
    base = raw["clusters"]
    clusters = []
    for i in range(size):
        c = copy.deepcopy(base[i % len(base)])
        c["name"] = f"{c['name'][:12]}-{i:02d}"
        c["role"] = "management" if i == 0 else "workload"
        c["network"] = {"slot": 10 + i}
        clusters.append(c)
    raw["clusters"] = clusters
    # Replicas share their base's regions, and the network fabric takes one Azure/GCP cluster per
    # region (docs/network.md): the bench measures every size without it, so sizes compare.
    raw.pop("network", None)
    # DR peers follow the replication: copy i's peer is the same-round copy of its base peer.
    peers = (raw.get("backup") or {}).get("drPeers")
    if peers:
        index = {c["name"]: j for j, c in enumerate(base)}
        new_peers = {}
        for i, c in enumerate(clusters):
            b = i % len(base)
            peer = peers.get(base[b]["name"])
            if peer is None:
                continue
            j = i - b + index[peer]
            if j >= size:
                j = index[peer]
            new_peers[c["name"]] = clusters[j]["name"]
        raw["backup"]["drPeers"] = new_peers
    # DNS records name clusters too: each member becomes the first copy of its base cluster.
    first = {base[b]["name"]: clusters[b]["name"] for b in range(min(len(base), size))}
    for rec in (raw.get("dns") or {}).get("records") or []:
        for key in ("primary", "secondary"):
            if key in rec:
                rec[key] = first.get(rec[key], rec[key])
        if "weights" in rec:
            rec["weights"] = {first.get(k, k): v for k, v in rec["weights"].items()}
    return raw


def _floor(records: list[dict[str, Any]], stack: str) -> tuple[float, float]:
    """Register the same resources with the bare SDK under the same mock engine; wall and CPU
    seconds."""
    import pulumi
    from pulumi.runtime import settings as pulumi_settings
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await

    from .mocks import FleetMocks, RecordingMonitor

    class ReplayMocks(FleetMocks):
        """The fleet's mock engine; where a replayed resource lacks an input that the plan had as
        a secret (masked in the record), its state is just its inputs."""

        def new_resource(self, args):  # type: ignore[no-untyped-def]
            try:
                return super().new_resource(args)
            except (KeyError, ValueError, TypeError):
                return f"{args.name}-id", dict(args.inputs)

    mocks = ReplayMocks()
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project="archipelago", stack=stack, preview=False, monitor=RecordingMonitor(mocks))

    def program() -> None:
        for i, r in enumerate(records):
            inputs = {k: v for k, v in r["inputs"].items() if v != "[secret]"}
            if r["custom"]:
                pulumi.CustomResource(r["type"], f"{r['name']}-{i}", inputs)
            else:
                pulumi.ComponentResource(r["type"], f"{r['name']}-{i}")

    wall, cpu = time.perf_counter(), time.process_time()
    _sync_await(run_pulumi_func(program))
    return time.perf_counter() - wall, time.process_time() - cpu


class GcClock:
    """CPU seconds spent in the cyclic collector while installed (``gc.callbacks``)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._start = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._start = time.process_time()
        else:
            self.seconds += time.process_time() - self._start

    def __enter__(self) -> Self:
        self.seconds = 0.0
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)


def child(size: int) -> dict[str, Any]:
    """One measurement, in a fresh process."""
    from .plan import run_plan

    # A first, untimed plan loads every module the program touches (the provider SDKs load their
    # submodules lazily), so the timed run measures registration, as the floor does.
    start = time.perf_counter()
    run_plan("prod", raw=fleet_of(4))
    warmup = time.perf_counter() - start
    raw = fleet_of(size)
    # The warm-up loaded modules after the program's own gc.freeze (stacks/tuning.py); freeze them
    # too, as a fresh process would have them frozen, so the timed plan's start-up collection does
    # not walk them once. Plan and floor each start from a collected heap and a cold mock CA cache,
    # so neither pays for the other's garbage or mock work. CPU time (all threads of this process)
    # is the fair measure on a shared machine; wall time is reported too.
    # Best of REPEATS for plan and floor alike: the machine is shared.
    gc.collect()
    gc.freeze()
    seconds = cpu = gc_cpu = float("inf")
    plan = None
    for _ in range(REPEATS):
        plan = None
        gc.collect()
        pki.cluster_ca_b64.cache_clear()
        start, start_cpu = time.perf_counter(), time.process_time()
        with GcClock() as clock:
            plan = run_plan("prod", raw=raw)
        used = time.process_time() - start_cpu
        seconds = min(seconds, time.perf_counter() - start)
        cpu, gc_cpu = min((cpu, gc_cpu), (used, clock.seconds))
    assert plan is not None
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    records = plan.resources
    by_urn = plan.by_urn()
    del plan
    floor = floor_cpu = floor_gc_cpu = float("inf")
    for _ in range(REPEATS):
        pki.cluster_ca_b64.cache_clear()
        # The floor runs under the program's own process settings (collected, frozen, its
        # thresholds, the SDK hooks of stacks/tuning.py; the plan already installed the hooks).
        tune_runtime()
        with GcClock() as clock:
            wall, used = _floor(records, "prod")
        floor = min(floor, wall)
        floor_cpu, floor_gc_cpu = min((floor_cpu, floor_gc_cpu), (used, clock.seconds))
    bring_up = estimate(records, bootstrap_phases(records))
    heap_mib = _traced_peak_mib(raw)
    return {
        "clusters": size,
        "warmupSeconds": round(warmup, 3),
        "resources": len(records),
        "seconds": round(seconds, 3),
        "peakRssMiB": round(rss_mb, 1),
        "cpuSecondsPerCluster": round(cpu / size, 4),
        "heapMiB": round(heap_mib, 1),
        "heapMiBPerCluster": round(heap_mib / size, 2),
        "resourcesPerCluster": round(len(records) / size, 1),
        "cpuSeconds": round(cpu, 3),
        "gcCpuSeconds": round(gc_cpu, 3),  # of cpuSeconds, in the cyclic collector
        "sdkFloorGcCpuSeconds": round(floor_gc_cpu, 3),
        "sdkFloorSeconds": round(floor, 3),
        "sdkFloorCpuSeconds": round(floor_cpu, 3),
        "ratioToFloor": round(cpu / floor_cpu, 2) if floor_cpu else None,
        "wallRatioToFloor": round(seconds / floor, 2) if floor else None,
        **bring_up.summary(by_urn),
        "bringUpVsSlowestCluster": round(bring_up.fleet_minutes / bring_up.slowest_cluster_minutes, 3)
        if bring_up.slowest_cluster_minutes else None,
        "loadAverage": [round(x, 2) for x in os.getloadavg()],
    }


def _traced_peak_mib(raw: dict[str, Any]) -> float:
    """Peak Python heap of one more plan of the same fleet, traced (slower, hence not timed)."""
    import gc
    import tracemalloc

    from .plan import run_plan

    gc.collect()
    tracemalloc.start()
    try:
        run_plan("prod", raw=raw)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


SAVINGS = {"aliases": "alias deferral", "gc": "GC tuning", "yaml": "libyaml kubeconfigs",
           "unknowns": "acyclic unknown checks", "middle": "middle-generation GC threshold"}


def savings_case(size: int, off: set[str], repeats: int = 2) -> float:
    """Plan CPU seconds of one fleet with the named overhead savings turned off (best of
    ``repeats``, after a warm-up, in this fresh process)."""
    import yaml

    from components.clusters import kubeconfig
    from stacks import tuning

    from .plan import run_plan

    if "aliases" in off:
        tuning.defer_alias_urns = lambda: None
    if "gc" in off:
        tuning.tune_gc = lambda: None  # CPython's default collector settings
    if "yaml" in off:
        kubeconfig.DUMPER = yaml.SafeDumper
    if "unknowns" in off:
        tuning.acyclic_unknown_checks = lambda: None
    if "middle" in off:
        tuning.GC_THRESHOLDS = (*tuning.GC_THRESHOLDS[:1], 20, *tuning.GC_THRESHOLDS[2:])  # CPython's default
    raw = fleet_of(size)
    run_plan("prod", raw=fleet_of(4))
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        gc.freeze()
        pki.cluster_ca_b64.cache_clear()
        start = time.process_time()
        run_plan("prod", raw=raw)
        best = min(best, time.process_time() - start)
    return best


def savings(size: int) -> list[dict[str, Any]]:
    """Each case in a fresh process: all savings, without each one, without any."""
    cases = [("all savings", set())] + [(f"without {label}", {key}) for key, label in SAVINGS.items()] + [
        ("none", set(SAVINGS))]
    rows = []
    for label, off in cases:
        proc = subprocess.run([sys.executable, "-m", "offline.bench", "--savings-case", str(size), *sorted(off)],
                              cwd=ROOT, capture_output=True, text=True, check=True)
        rows.append({"case": label, "clusters": size, "cpuSeconds": round(float(proc.stdout.split()[-1]), 3)})
    return rows


COLUMNS = (
    ("clusters", "clusters"), ("resources", "resources"), ("seconds", "plan s"), ("peakRssMiB", "peak RSS MiB"),
    ("cpuSeconds", "plan CPU s"), ("cpuSecondsPerCluster", "CPU s / cluster"), ("heapMiBPerCluster", "heap MiB / cluster"),
    ("sdkFloorCpuSeconds", "SDK floor CPU s"), ("ratioToFloor", "plan / floor (CPU)"), ("wallRatioToFloor", "plan / floor (wall)"),
    ("bringUpMinutes", "bring-up min"), ("slowestClusterMinutes", "slowest cluster min"),
    ("bringUpVsSlowestCluster", "bring-up / slowest"), ("fabricMinutes", "fabric min"),
    ("phasedMinutes", "bootstrapped min"),
)


RATIO_COLUMNS = ("CPU s / cluster vs first", "heap / cluster vs first",
                 "own CPU s / cluster vs first", "SDK floor CPU s / cluster vs first")


def ratios(r: dict[str, Any], base: dict[str, Any]) -> list[str]:
    """Per-cluster plan CPU and heap relative to the first (smallest) fleet, and the plan's CPU
    split in two: the program's own (plan minus the SDK floor) and the floor's, so growth that
    comes from the SDK's registration machinery shows apart from the program's."""
    def own(x: dict[str, Any]) -> float:
        return (x["cpuSeconds"] - x["sdkFloorCpuSeconds"]) / x["clusters"]

    def floor(x: dict[str, Any]) -> float:
        return x["sdkFloorCpuSeconds"] / x["clusters"]

    return [f"{r['cpuSecondsPerCluster'] / base['cpuSecondsPerCluster']:.2f}x",
            f"{r['heapMiBPerCluster'] / base['heapMiBPerCluster']:.2f}x",
            f"{own(r) / own(base):.2f}x", f"{floor(r) / floor(base):.2f}x"]


def table_of(rows: list[dict[str, Any]]) -> Any:
    """The bench table, with :func:`ratios` per row."""
    from rich.table import Table

    table = Table(title="Offline plan cost and estimated bring-up by fleet size")
    for title in [title for _, title in COLUMNS] + list(RATIO_COLUMNS):
        table.add_column(title, justify="right")
    for r in rows:
        table.add_row(*[str(r[k]) for k, _ in COLUMNS], *ratios(r, rows[0]))
    return table


def markdown_of(rows: list[dict[str, Any]]) -> str:
    """The same table as Markdown (docs/scale.md)."""
    head = [title for _, title in COLUMNS] + list(RATIO_COLUMNS)
    lines = ["| " + " | ".join(head) + " |", "|" + "---:|" * len(head)]
    lines += ["| " + " | ".join([str(r[k]) for k, _ in COLUMNS] + ratios(r, rows[0])) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m offline.bench")
    parser.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)))
    parser.add_argument("--json", default=None)
    parser.add_argument("--markdown", default=None, help="also write the table as Markdown to this file")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--savings", type=int, metavar="CLUSTERS",
                        help="instead: plan CPU time with and without each overhead saving, one process")
    parser.add_argument("--savings-case", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.savings_case:
        print(savings_case(int(args.savings_case[0]), set(args.savings_case[1:])))
        return 0
    if args.savings:
        for row in savings(args.savings):
            print(json.dumps(row))
        return 0
    if args.child:
        print(json.dumps(child(args.child)))
        return 0

    from rich.console import Console

    rows = []
    for size in (int(s) for s in args.sizes.split(",")):
        proc = subprocess.run([sys.executable, "-m", "offline.bench", "--child", str(size)], cwd=ROOT,
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(proc.stderr, file=sys.stderr)
            return 1
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))
    Console(width=200).print(table_of(rows))
    for r in rows:
        print(f"critical path at {r['clusters']} clusters ({r['bringUpMinutes']} min): " + " -> ".join(r["criticalPath"]))
    prod = prod_bring_up()
    print(prod_line(prod))
    if args.markdown:
        Path(args.markdown).parent.mkdir(parents=True, exist_ok=True)
        Path(args.markdown).write_text(markdown_of(rows) + "\n" + prod_line(prod) + "\n")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"runs": rows, "prod": prod}, indent=1) + "\n")
    return 0


def prod_bring_up() -> dict[str, Any]:
    """The prod stack as configured (the replicated fleets carry no fabric and no runner): its
    first ``up`` in one graph and in the bootstrap's phases, against its slowest cluster chain."""
    from .bringup import bootstrap_phases, estimate
    from .plan import run_plan

    resources = run_plan("prod").resources
    b = estimate(resources, bootstrap_phases(resources))
    return {"oneGraphMinutes": b.fleet_minutes, "phaseMinutes": list(b.phase_minutes), "bootstrappedMinutes": b.phased_minutes,
            "slowestCluster": b.slowest_cluster, "slowestClusterMinutes": b.slowest_cluster_minutes,
            "fabricMinutes": b.fabric_minutes, "independenceViolations": len(b.violations)}


def prod_line(p: dict[str, Any]) -> str:
    ratio = p["bootstrappedMinutes"] / p["slowestClusterMinutes"] if p["slowestClusterMinutes"] else 0.0
    return (f"prod stack (its fabric and runner): {p['oneGraphMinutes']} min in one graph; bootstrapped "
            f"{' + '.join(f'{m:g}' for m in p['phaseMinutes'])} = {p['bootstrappedMinutes']} min; slowest cluster "
            f"{p['slowestCluster']} {p['slowestClusterMinutes']} min ({ratio:.3f}x); fabric done at {p['fabricMinutes']} min; "
            f"{p['independenceViolations']} independence violation(s)")


if __name__ == "__main__":
    sys.exit(main())
