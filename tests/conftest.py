"""Shared fixtures: each stack is planned once per test session under the mock engine."""

from __future__ import annotations

import copy
import os
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
# Kubernetes versions are checked against the plan date: pin it so results do not move with time.
os.environ["ARCHIPELAGO_PLAN_DATE"] = "2026-11-27"
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from offline.plan import Plan, load_raw, run_plan


@pytest.fixture(scope="session")
def dev_plan() -> Plan:
    return run_plan("dev")


@pytest.fixture(scope="session")
def prod_plan() -> Plan:
    return run_plan("prod")


@pytest.fixture(scope="session", params=["dev", "prod"])
def plan(request: pytest.FixtureRequest, dev_plan: Plan, prod_plan: Plan) -> Plan:
    return {"dev": dev_plan, "prod": prod_plan}[request.param]


def stack_raw(stack: str) -> dict[str, Any]:
    """A deep copy of a stack file's archipelago keys, for tests to mutate."""
    return copy.deepcopy(load_raw(stack)[0])
