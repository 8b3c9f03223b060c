"""Helpers shared by the add-on tests: offline chart rendering and config-error assertions."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from stacks.config import ConfigError
from stacks.validate import build_spec

from .conftest import ROOT, stack_raw

CHARTS_DIR = ROOT.parent / "shared" / "charts"


def render_chart(chart_dir: str, values: dict[str, Any], *, name: str, namespace: str) -> list[dict[str, Any]]:
    """Render an upstream chart at its pinned copy in ../shared/charts with ``values`` (no cluster)."""
    import helm_python as helm

    chart = helm.Chart.load(str(CHARTS_DIR / chart_dir))
    chart.validate_schema(values)
    out = chart.render(values, name=name, namespace=namespace, is_install=True)
    return [d for path, text in sorted(out.items()) if path.endswith((".yaml", ".yml"))
            for d in yaml.safe_load_all(text) if d]


def workloads(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job")]


def restricted_violations(docs: list[dict[str, Any]]) -> list[str]:
    """Containers of rendered workloads that the PSS 'restricted' profile would reject."""
    bad = []
    for d in workloads(docs):
        spec = d["spec"]["template"]["spec"]
        pod = spec.get("securityContext") or {}
        if spec.get("hostNetwork") or spec.get("hostPID") or spec.get("hostIPC"):
            bad.append(f"{d['metadata']['name']}: host namespaces")
        if any("hostPath" in v for v in spec.get("volumes") or []):
            bad.append(f"{d['metadata']['name']}: hostPath volume")
        for c in spec.get("containers", []) + spec.get("initContainers", []):
            sc = c.get("securityContext") or {}
            seccomp = (sc.get("seccompProfile") or pod.get("seccompProfile") or {}).get("type")
            if not (sc.get("runAsNonRoot", pod.get("runAsNonRoot")) and sc.get("allowPrivilegeEscalation") is False
                    and "ALL" in (sc.get("capabilities") or {}).get("drop", []) and seccomp in ("RuntimeDefault", "Localhost")
                    and not sc.get("privileged")):
                bad.append(f"{d['kind']}/{d['metadata']['name']}/{c['name']}")
    return bad


def assert_config_error(stack: str, key: str, section: Any, path: str, value: Any, text: str) -> None:
    """Setting config ``key`` to ``section`` fails with an issue at ``path`` naming ``value``."""
    raw = stack_raw(stack)
    raw[key] = section
    with pytest.raises(ConfigError) as exc:
        build_spec(raw, stack)
    hits = [i for i in exc.value.issues if i.path == path]
    assert hits and hits[0].value == value and text in hits[0].message, exc.value.render()


def releases_named(plan: Any, name: str) -> dict[str, dict[str, Any]]:
    """Cluster -> the plan record of its Helm release ``name``."""
    from offline.report import cluster_name

    by_urn = plan.by_urn()
    return {cluster_name(r, by_urn): r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["name"] == name}
