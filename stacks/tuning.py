"""Process settings that make the program's registration cost linear and small.

Garbage collection. A Pulumi program allocates many small objects that live until the end of
the run (Outputs, futures, asyncio tasks, resource options). CPython's cyclic collector keeps
rescanning that growing heap: with the default thresholds about half of the 12-cluster plan's
time went into collections triggered from ``asyncio.create_task``, and even with a raised young
threshold the collections grew with the fleet (18% of the 24-cluster plan's CPU time, against 7%
at 4 clusters), so the cost per cluster grew with the fleet. What a plan leaves as cyclic garbage
is small next to what stays alive until the end (peak RSS 536 vs 528 MiB at 24 clusters without
and with collections), so :func:`tune_gc` collects once, freezes what is alive (the imported
modules) and stops the cyclic collector for the run; reference counting still frees everything
acyclic at once. A real ``pulumi up`` ends the program's process with the run; the offline
harness (``offline.plan.run_plan``) turns collections back on after each plan.

Alias URNs. ``pulumi.Resource.__init__`` (pulumi 3.272.0, ``pulumi/resource.py``) turns every
alias in its options into a URN Output, eagerly, via ``collapse_alias_to_urn``: a chain of
about six Outputs and tasks per alias. Those URNs are read in one place only, ``all_aliases`` in
``pulumi/runtime/resource.py``, which runs only for an engine without alias specs
(``prepare_aliases``); an engine with ``RESOURCE_MONITOR_FEATURE_ALIAS_SPECS`` gets the aliases
themselves as specs. The azure-native SDK puts every former API version of a type into its
aliases (113 on ``ManagedCluster``, 60 on ``SecurityRule``), so most of the plan's tasks were
building URNs that nothing reads. :func:`defer_alias_urns` skips them when the engine takes
alias specs, and keeps the SDK's path otherwise; what is sent to the engine is unchanged.

Both measured with ``python -m offline.bench`` (see docs/scale.md).
"""

from __future__ import annotations

import gc
from typing import Any


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    gc.disable()


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


def tune_runtime() -> None:
    """Everything above, before anything registers."""
    tune_gc()
    defer_alias_urns()
