"""Cluster settings a cloud accepts today, each pinned to the upstream doc or source that requires it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from offline.plan import run_plan
from offline.report import cluster_of

from .conftest import stack_raw


def _named(plan, typ: str, name: str) -> dict[str, Any]:
    matches = [r for r in plan.of_type(typ) if r["name"] == name]
    assert len(matches) == 1, f"expected one {typ} named {name}, found {len(matches)}"
    return matches[0]


def _clusters(plan, cloud: str):
    return [c for c in plan.spec.clusters if c.cloud == cloud]


# --- Karpenter on EKS -----------------------------------------------------------------------------


def test_karpenter_controller_gets_its_region(prod_plan) -> None:
    """Karpenter resolves its region from AWS_REGION or IMDS and exits without one; Pod Identity
    injects no region and IMDS hop limit 1 keeps pods off IMDS, so the controller env sets it.
    Source: aws/karpenter-provider-aws@v1.14.1 charts/karpenter/values.yaml (controller.env, example
    AWS_REGION) and pkg/operator/operator.go (region from the AWS config / IMDS)."""
    import helm_python as helm
    import yaml

    from stacks.loader import ROOT

    chart = helm.Chart.load(ROOT.parent / "shared" / "charts" / "karpenter")
    for c in _clusters(prod_plan, "aws"):
        release = _named(prod_plan, "kubernetes:helm.sh/v3:Release", f"{c.name}-karpenter")
        rendered = chart.render(release["inputs"]["values"], name="karpenter", namespace="kube-system", is_install=True)
        docs = [d for text in rendered.values() for d in yaml.safe_load_all(text) if d]
        (deploy,) = [d for d in docs if d["kind"] == "Deployment"]
        env = {e["name"]: e.get("value") for e in deploy["spec"]["template"]["spec"]["containers"][0]["env"]}
        assert env["AWS_REGION"] == c.region


def test_spot_service_linked_role_once_per_account(plan) -> None:
    """Spot launches in an account that never ran Spot fail with
    AuthFailure.ServiceLinkedRoleCreationNotPermitted unless AWSServiceRoleForEC2Spot exists.
    Source: https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/service-linked-roles-spot-instance-requests.html;
    pulumi_aws 7.51.1 iam/service_linked_role.py (aws_service_name)."""
    roles = plan.of_type("aws:iam/serviceLinkedRole:ServiceLinkedRole")
    assert [r["inputs"]["awsServiceName"] for r in roles] == ["spot.amazonaws.com"]
    first = next(c for c in plan.spec.clusters if c.cloud == "aws")
    pools = {r["name"]: r for r in plan.of_type("kubernetes:karpenter.sh/v1:NodePool")}
    assert roles[0]["urn"] in pools[f"{first.name}-spot-first-nodepool"]["dependencies"]


def test_existing_spot_role_is_not_created() -> None:
    raw = stack_raw("dev")
    raw["nodeProvisioning"] = {"awsSpotServiceLinkedRole": "existing"}
    plan = run_plan("dev", raw=raw)
    assert plan.of_type("aws:iam/serviceLinkedRole:ServiceLinkedRole") == []
