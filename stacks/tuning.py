"""Process settings that make the program's registration cost linear and small.

Garbage collection. A Pulumi program allocates many small objects that live until the end of
the run (Outputs, futures, asyncio tasks, resource options). With CPython's default GC
thresholds (700, 10, 10) the cyclic collector keeps rescanning that growing heap; profiling the
12-cluster plan showed about half of its time inside collections triggered from
``asyncio.create_task``. Collecting once, freezing what is already alive (imported modules) and
raising the young-generation threshold halves plan time. Turning the collector off for the run
was measured too and is slower at 48 clusters (16.7 s against 14.5 s of CPU): the uncollected
cyclic garbage costs more in a larger heap than the collections it saves.

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

GC_THRESHOLDS = (50_000, 20, 100)


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


def tune_runtime() -> None:
    """Everything above, before anything registers."""
    tune_gc()
    defer_alias_urns()
