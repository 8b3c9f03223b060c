"""No secret value reaches anything the plan writes: the record (--json), the manifests, the
rendered charts, or the stack outputs' plain parts. The mock engine makes the secrets, so the
test knows exactly what to look for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from offline import mocks, render
from offline.report import write_manifests

from .conftest import ROOT

CHARTS = ROOT.parent / "shared" / "charts"


def secret_values(plan) -> list[str]:
    """Values the mock engine handed out as secrets in this plan."""
    values = ["PRIVATE KEY", "eyJhbGciOiJSUzI1NiJ9."]  # any key PEM, any service-account token
    for r in plan.of_type("random:index/randomPassword:RandomPassword"):
        values.append(mocks._password(r["name"], int(r["inputs"].get("length", 32))))
    return values


def written(plan, tmp: Path, *, charts: bool) -> str:
    write_manifests(plan, tmp / "manifests")
    texts = [json.dumps(plan.to_json())]
    texts += [p.read_text() for p in (tmp / "manifests").rglob("*.yaml")]
    if charts:
        for rel in render.render_plan(plan, CHARTS):
            texts += [json.dumps(o) for o in rel.objects]
    return "\n".join(texts)


@pytest.mark.parametrize("charts", [False, True], ids=["record+manifests", "rendered-charts"])
def test_no_secret_value_is_written(plan, tmp_path: Path, charts: bool) -> None:
    text = written(plan, tmp_path, charts=charts)
    leaks = [v[:24] for v in secret_values(plan) if v in text]
    assert leaks == []
    assert plan.of_type("random:index/randomPassword:RandomPassword"), "the fleet PSK is a generated secret"


def test_the_scan_would_see_a_leak(dev_plan, tmp_path: Path) -> None:
    """The detector itself: a PSK that reached a ConfigMap's data is found in what is written."""
    import copy
    import dataclasses

    psk = secret_values(dev_plan)[-1]
    resources = copy.deepcopy(dev_plan.resources)
    cm = next(r for r in resources if r["type"].startswith("kubernetes:core/v1:") and r["type"] != "kubernetes:core/v1:Secret")
    cm["inputs"]["metadata"] = {**cm["inputs"].get("metadata", {}), "annotations": {"oops": psk}}
    leaky = dataclasses.replace(dev_plan, resources=resources)
    text = written(leaky, tmp_path, charts=False)
    assert [v for v in secret_values(dev_plan) if v in text] == [psk]
