"""Process settings that make the program's registration cost linear and small.

Garbage collection. A Pulumi program allocates many small objects that live until the end of
the run (Outputs, futures, asyncio tasks, resource options). With CPython's default GC
thresholds (700, 10, 10) the cyclic collector keeps rescanning that growing heap; profiling the
12-cluster plan showed about half of its time inside collections triggered from
``asyncio.create_task``. Collecting once, freezing what is already alive (imported modules) and
raising the young-generation threshold halves plan time. Turning the collector off for the run
was measured too and is slower at 48 clusters (16.7 s against 14.5 s of CPU): the uncollected
cyclic garbage costs more in a larger heap than the collections it saves.

The middle generation's threshold is high (1000 young collections, about 50 million
allocations): nearly everything a plan allocates that outlives a young collection lives to the
end of the run (resources, Outputs, their tasks), so each middle-generation collection walked up
to a million live objects and freed none (three of them, 1.2 s of CPU, in a 48-cluster plan;
none in a 4-cluster one, so per-cluster time grew with the fleet). Young collections still run
every 50,000 allocations and free the short-lived cycles.

Alias URNs. ``pulumi.Resource.__init__`` (pulumi 3.272.0, ``pulumi/resource.py``) turns every
alias in its options into a URN Output, eagerly, via ``collapse_alias_to_urn``: a chain of
about six Outputs and tasks per alias. Those URNs are read in one place only, ``all_aliases`` in
``pulumi/runtime/resource.py``, which runs only for an engine without alias specs
(``prepare_aliases``); an engine with ``RESOURCE_MONITOR_FEATURE_ALIAS_SPECS`` gets the aliases
themselves as specs. The azure-native SDK puts every former API version of a type into its
aliases (113 on ``ManagedCluster``, 60 on ``SecurityRule``), so most of the plan's tasks were
building URNs that nothing reads. :func:`defer_alias_urns` skips them when the engine takes
alias specs, and keeps the SDK's path otherwise; what is sent to the engine is unchanged.

Acyclic unknown checks. ``contains_unknowns`` (``pulumi/runtime/rpc.py``, pulumi 3.272.0) is
called for every Output the SDK builds and every property it serializes (about 340,000 calls in
a 48-cluster plan). Each call defines a recursive inner function, which refers to itself
through its closure cell: a reference cycle (function, cell, closure and annotation tuples, a
``set[int]`` alias) that reference counting never frees. Only the cyclic collector does, so
the garbage piles up with the fleet (1.3 million objects at 48 clusters) and the larger
collections over it made per-cluster plan time grow with the fleet, in the SDK floor as much as
in the plan. :func:`acyclic_unknown_checks` puts an iterative check with the same answer in its
place (any Unknown reachable through dicts and lists, each container visited once).

All measured with ``python -m offline.bench`` (see docs/scale.md).
"""

from __future__ import annotations

import gc
from typing import Any

GC_THRESHOLDS = (50_000, 1000, 100)


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


def defer_alias_urns() -> None:
    """Make ``Resource.__init__`` skip alias URNs that only an engine without alias specs reads."""
    import pulumi.resource as sdk_resource
    from pulumi.runtime import settings
    from pulumi.runtime.proto import resource_pb2

    hook = "collapse_alias_to_urn"  # imported into pulumi.resource, not exported by it
    original = getattr(sdk_resource, hook)
    if getattr(original, "deferred", False):
        return

    def collapse_alias_to_urn(alias: Any, name: str, typ: str, parent: Any) -> Any:
        if settings.monitor_supports_feature(resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS):
            return alias  # kept as given: with alias specs, nothing turns it into a URN
        return original(alias, name, typ, parent)

    collapse_alias_to_urn.deferred = True  # type: ignore[attr-defined]
    collapse_alias_to_urn.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(sdk_resource, hook, collapse_alias_to_urn)


def acyclic_unknown_checks() -> None:
    """Replace the SDK's ``contains_unknowns`` (a recursive closure: one reference cycle per
    call) with an iterative check that gives the same answer and leaves no garbage cycle."""
    from pulumi.runtime import known_types, rpc

    if getattr(rpc.contains_unknowns, "acyclic", False):
        return
    original = rpc.contains_unknowns
    is_unknown = known_types.is_unknown

    def contains_unknowns(val: Any) -> bool:
        seen: set[int] = set()
        todo = [val]
        while todo:
            item = todo.pop()
            if is_unknown(item):
                return True
            if id(item) in seen:
                continue
            seen.add(id(item))
            if isinstance(item, dict):
                todo.extend(item[k] for k in item)
            elif isinstance(item, list):
                todo.extend(item)
        return False

    contains_unknowns.acyclic = True  # type: ignore[attr-defined]
    contains_unknowns.__wrapped__ = original  # type: ignore[attr-defined]
    # Callers look it up on the module (rpc's own functions, ``rpc.contains_unknowns`` in
    # pulumi/output.py and pulumi/runtime/invoke.py), so replacing the module attribute is enough.
    rpc.contains_unknowns = contains_unknowns


def tune_runtime() -> None:
    """Everything above, before anything registers."""
    tune_gc()
    defer_alias_urns()
    acyclic_unknown_checks()
