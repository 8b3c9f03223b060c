"""State safety: what the engine would refuse fails the offline plan too, and fleet edits touch
only what they should."""

from __future__ import annotations

import pulumi
import pytest
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from offline.mocks import DuplicateUrnError, FleetMocks, RecordingMonitor


def _run(program) -> RecordingMonitor:
    mocks = FleetMocks()
    monitor = RecordingMonitor(mocks)
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project="archipelago", stack="dev", preview=False, monitor=monitor)
    try:
        _sync_await(run_pulumi_func(program))
    except Exception:
        pass  # the registration error itself; check_unique() says why
    return monitor


def test_a_duplicate_urn_fails_the_plan() -> None:
    """The engine refuses a second resource with the same URN (pulumi/pulumi
    pkg/resource/deploy/step_generator.go, "Duplicate resource URN"); so does the mock engine."""
    def program() -> None:
        pulumi.CustomResource("random:index/randomId:RandomId", "same", {"byteLength": 4})
        pulumi.CustomResource("random:index/randomId:RandomId", "same", {"byteLength": 4})

    monitor = _run(program)
    with pytest.raises(DuplicateUrnError, match="randomId:RandomId::same"):
        monitor.check_unique()


def test_distinct_urns_pass() -> None:
    def program() -> None:
        pulumi.CustomResource("random:index/randomId:RandomId", "one", {"byteLength": 4})
        pulumi.CustomResource("random:index/randomId:RandomId", "two", {"byteLength": 4})

    _run(program).check_unique()


def test_shipped_plans_have_unique_urns(plan) -> None:
    urns = [r["urn"] for r in plan.resources]
    assert len(urns) == len(set(urns))
