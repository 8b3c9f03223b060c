"""Process settings that make the program's registration cost linear and small.

A Pulumi program allocates many small objects that live until the end of the run (Outputs,
futures, asyncio tasks, resource options). With CPython's default GC thresholds (700, 10, 10)
the cyclic collector keeps rescanning that growing heap; profiling the 12-cluster plan showed
about half of its time inside collections triggered from ``asyncio.create_task``. Collecting
once, freezing what is already alive (imported modules) and raising the young-generation
threshold halves plan time (measured with ``python -m offline.bench``; see docs/scale.md).
"""

from __future__ import annotations

import gc

GC_THRESHOLDS = (50_000, 20, 100)


def tune_gc() -> None:
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
