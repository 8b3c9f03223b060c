"""The Kubernetes version table: every version a stack pins is creatable on its cloud on the plan date.

Dates per cloud, read in Nov 2026:
- EKS: https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html (release calendar):
  1.33 standard support ended 2026-07-29, 1.34 ends 2026-12-02, 1.35 ends 2027-03-27.
- AKS: MicrosoftDocs/azure-aks-docs articles/aks/supported-kubernetes-versions.md (release calendar):
  1.33 end of life Jul 2026 (LTS-only afterwards), 1.35 GA Mar 2026 to Mar 2027.
- GKE: https://cloud.google.com/kubernetes-engine/docs/release-schedule: 1.33 end of life 2026-08-03,
  1.35 in the Regular channel from 2026-02-11 to 2027-04-11.
"""

from __future__ import annotations

import datetime as dt

import pytest

from stacks import versions
from stacks.config import ConfigError
from stacks.validate import build_spec
from tests.conftest import stack_raw

TODAY = dt.date(2026, 11, 27)


@pytest.mark.parametrize("cloud,version,ok", [
    ("aws", "1.33", False),    # standard support ended 2026-07-29
    ("azure", "1.33", False),  # LTS-only (Premium + AKSLongTermSupport) since Jul 2026
    ("gcp", "1.33", False),    # end of life 2026-08-03
    ("gcp", "1.34", False),    # left the Regular channel 2026-10-01
    ("aws", "1.35", True), ("azure", "1.35", True), ("gcp", "1.35", True),
    ("aws", "1.36", False),    # no pinned EKS add-on versions yet
    ("azure", "1.37", True),
])
def test_version_problem_on_the_plan_date(cloud: str, version: str, ok: bool) -> None:
    assert (versions.version_problem(cloud, version, TODAY) is None) is ok


def test_every_row_names_its_source_and_is_ordered() -> None:
    for version, row in versions.KUBERNETES_SUPPORT.items():
        for cloud, s in row.items():
            assert s.source.startswith("https://"), (version, cloud)
            assert s.released < s.standard_until, (version, cloud)


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_stacks_pin_a_version_every_cloud_supports_today(stack: str) -> None:
    spec = build_spec(stack_raw(stack), stack, today=TODAY)
    for c in spec.clusters:
        assert versions.version_problem(c.cloud, c.kubernetes_version, TODAY) is None, c.name
        row = versions.KUBERNETES_SUPPORT[c.kubernetes_version]
        assert all(row[cloud].standard_until > TODAY for cloud in ("aws", "azure", "gcp"))


def test_clock_is_injectable() -> None:
    """The same stack file is refused once its version leaves standard support."""
    raw = stack_raw("dev")
    build_spec(raw, "dev", today=TODAY)
    with pytest.raises(ConfigError) as info:
        build_spec(raw, "dev", today=dt.date(2027, 3, 28))  # EKS 1.35 standard support ended 2027-03-27
    assert any("left standard support on aws on 2027-03-27" in str(i) for i in info.value.issues)


def test_plan_date_env(monkeypatch) -> None:
    monkeypatch.setenv(versions.PLAN_DATE_ENV, "2027-01-02")
    assert versions.plan_date() == dt.date(2027, 1, 2)


def test_eks_addons_pinned_for_every_aws_version_offered() -> None:
    for version in versions.creatable_versions("aws", TODAY):
        if version in versions.EKS_ADDON_VERSIONS:
            assert set(versions.EKS_ADDON_VERSIONS[version]) >= {"vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent",
                                                                 "aws-ebs-csi-driver"}
            assert versions.EKS_ADDON_VERSIONS[version]["kube-proxy"].startswith(f"v{version}.")


def test_pod_security_version_is_the_fleets_kubernetes_version() -> None:
    """The pod-security.kubernetes.io/<mode>-version labels pin which version's definition of a
    Pod Security level the admission plugin applies: a Kubernetes minor version ("v1.35") or
    "latest" (https://kubernetes.io/docs/concepts/security/pod-security-admission/, "Pod Security
    Admission labels for namespaces"; example pinning v1.35 in
    https://kubernetes.io/docs/tasks/configure-pod-container/enforce-standards-namespace-labels/).
    A version newer than the API server's own is clamped to the newest it knows (checkRegistry's
    EvaluatePod in kubernetes/pod-security-admission policy/registry.go), so pinning the version
    the clusters run applies exactly that release's restricted level, and an upgrade does not
    tighten admission until this constant moves with it. Both stacks run one version: the labels
    name it."""
    pinned = {c.kubernetes_version for stack in ("dev", "prod") for c in build_spec(stack_raw(stack), stack, today=TODAY).clusters}
    assert versions.POD_SECURITY_VERSION == f"v{min(pinned, key=lambda v: tuple(map(int, v.split('.'))))}"
    assert pinned == {"1.35"}
