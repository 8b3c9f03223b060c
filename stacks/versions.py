"""Every version the fleet pins, in one place.

Kubernetes minor versions each cloud accepts, the Helm charts (matching the upstream charts
kept in ``../shared/charts`` and the CRDs in ``../shared/crds``) and the API versions of the
custom resources the program renders.  Change a version here and nowhere else.
"""

from __future__ import annotations

import datetime as _dt
import os
from dataclasses import dataclass
from datetime import date as _date

# --- Kubernetes versions ---------------------------------------------------------------------
#
# One row per (minor version, cloud): the date the cloud offered the version for new clusters
# (GA / Regular channel) and the date its *standard* support ends, with where each date was read.
# A cluster may be created with a version only while it is in standard support on the plan date:
# extended support costs more (EKS), is LTS-only on Premium (AKS) or the Extended channel (GKE),
# and EKS with ``upgradePolicy.supportType: STANDARD`` auto-upgrades a cluster past its end date,
# after which the next ``pulumi up`` would ask for a downgrade. Refresh procedure: docs/clusters.md.

EKS_CALENDAR = "https://docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.html#kubernetes-release-calendar"
AKS_CALENDAR = (
    "https://github.com/MicrosoftDocs/azure-aks-docs/blob/main/articles/aks/supported-kubernetes-versions.md"
    " (AKS Kubernetes release calendar; a month means its last day)"
)
GKE_SCHEDULE = "https://cloud.google.com/kubernetes-engine/docs/release-schedule (Regular channel)"
SUPPORT_TABLE_READ_ON = _date(2026, 11, 27)


@dataclass(frozen=True)
class Support:
    """One cloud's support window for one Kubernetes minor version."""

    released: _date  # offered for new clusters (EKS release, AKS GA, GKE Regular channel)
    standard_until: _date  # last day of standard support
    source: str
    verified: bool = True  # False: a date estimated from the cloud's policy, not read from its calendar


KUBERNETES_SUPPORT: dict[str, dict[str, Support]] = {
    "1.33": {
        "aws": Support(_date(2025, 5, 29), _date(2026, 7, 29), EKS_CALENDAR),
        "azure": Support(_date(2025, 6, 30), _date(2026, 7, 31), AKS_CALENDAR + "; LTS-only (Premium) afterwards"),
        "gcp": Support(_date(2025, 6, 3), _date(2026, 8, 3), GKE_SCHEDULE + "; end of life 2026-08-03"),
    },
    "1.34": {
        "aws": Support(_date(2025, 10, 2), _date(2026, 12, 2), EKS_CALENDAR),
        "azure": Support(_date(2025, 11, 30), _date(2026, 11, 30), AKS_CALENDAR),
        "gcp": Support(_date(2025, 9, 30), _date(2026, 10, 1), GKE_SCHEDULE),
    },
    "1.35": {
        "aws": Support(_date(2026, 1, 27), _date(2027, 3, 27), EKS_CALENDAR),
        "azure": Support(_date(2026, 3, 31), _date(2027, 3, 31), AKS_CALENDAR),
        "gcp": Support(_date(2026, 2, 11), _date(2027, 4, 11), GKE_SCHEDULE),
    },
    "1.36": {
        # EKS and GKE offer 1.36 (field notes, Nov 2026); their dates are the policy estimate
        # (14 months of standard support) until read from the calendars.
        "aws": Support(_date(2026, 6, 1), _date(2027, 8, 1), EKS_CALENDAR + " (estimated: 14 months)", verified=False),
        "azure": Support(_date(2026, 6, 30), _date(2027, 6, 30), AKS_CALENDAR),
        "gcp": Support(_date(2026, 6, 1), _date(2027, 8, 1), GKE_SCHEDULE + " (estimated: 14 months)", verified=False),
    },
    "1.37": {
        "azure": Support(_date(2026, 10, 31), _date(2027, 10, 31), AKS_CALENDAR),
    },
}

# EKS managed add-on versions per Kubernetes minor version. EKS picks a default version once, at
# create, and never moves it on a cluster upgrade: pin each add-on here, next to the version row.
# Source: ``aws eks describe-addon-versions --kubernetes-version 1.35`` as used by a published
# EKS 1.35 configuration (Nov 2026). A cluster version without a row here is refused on AWS.
EKS_ADDON_VERSIONS: dict[str, dict[str, str]] = {
    "1.35": {
        "vpc-cni": "v1.21.1-eksbuild.3",
        "kube-proxy": "v1.35.0-eksbuild.2",
        "coredns": "v1.13.2-eksbuild.1",
        "eks-pod-identity-agent": "v1.3.10-eksbuild.3",
        "aws-ebs-csi-driver": "v1.57.1-eksbuild.1",
    },
}

# The plan date. Tests and the offline plan inject it; ``ARCHIPELAGO_PLAN_DATE`` (YYYY-MM-DD)
# overrides it; otherwise it is today (UTC).
PLAN_DATE_ENV = "ARCHIPELAGO_PLAN_DATE"


def plan_date() -> _date:
    env = os.environ.get(PLAN_DATE_ENV)
    if env:
        return _date.fromisoformat(env)
    return _dt.datetime.now(_dt.UTC).date()


def creatable_versions(cloud: str, on: _date) -> list[str]:
    """Minor versions ``cloud`` offers in standard support on ``on``, oldest first."""
    out = [v for v, row in KUBERNETES_SUPPORT.items() if cloud in row and row[cloud].released <= on <= row[cloud].standard_until]
    return sorted(out, key=lambda v: tuple(int(x) for x in v.split(".")))


def version_problem(cloud: str, version: str, on: _date) -> str | None:
    """Why ``version`` cannot be used for a new ``cloud`` cluster on ``on`` (None: it can)."""
    offered = ", ".join(creatable_versions(cloud, on)) or "none in the table"
    row = KUBERNETES_SUPPORT.get(version, {}).get(cloud)
    if row is None:
        return f"is not in the version table for {cloud} (in standard support on {on}: {offered})"
    if on < row.released:
        return f"is not yet offered on {cloud} on {on} (from {row.released}; in standard support: {offered})"
    if on > row.standard_until:
        return f"left standard support on {cloud} on {row.standard_until} (plan date {on}; in standard support: {offered})"
    if cloud == "aws" and version not in EKS_ADDON_VERSIONS:
        return f"has no pinned EKS add-on versions in stacks/versions.py (pinned for: {', '.join(EKS_ADDON_VERSIONS)})"
    return None


# Pod Security Standards version written into every namespace's pod-security labels: the
# definition of each level as of this Kubernetes minor, the version the fleet's clusters run
# (tests/test_versions.py cites the semantics). Move it with the clusters' kubernetesVersion.
POD_SECURITY_VERSION = "v1.35"

# Helm charts: name -> (repository, chart, version). Versions match ../shared/charts.
CHARTS: dict[str, dict[str, str]] = {
    "argo-cd": {"repo": "https://argoproj.github.io/argo-helm", "chart": "argo-cd", "version": "10.1.1"},
    "velero": {"repo": "https://vmware-tanzu.github.io/helm-charts", "chart": "velero", "version": "12.1.0"},
    "karpenter": {"repo": "oci://public.ecr.aws/karpenter", "chart": "karpenter", "version": "1.14.1"},
    "istio-base": {"repo": "https://istio-release.storage.googleapis.com/charts", "chart": "base", "version": "1.30.3"},
    "istiod": {"repo": "https://istio-release.storage.googleapis.com/charts", "chart": "istiod", "version": "1.30.3"},
    "istio-cni": {"repo": "https://istio-release.storage.googleapis.com/charts", "chart": "cni", "version": "1.30.3"},
    "istio-gateway": {"repo": "https://istio-release.storage.googleapis.com/charts", "chart": "gateway", "version": "1.30.3"},
    "submariner-k8s-broker": {
        "repo": "https://submariner-io.github.io/submariner-charts/charts",
        "chart": "submariner-k8s-broker",
        "version": "0.18.1",
    },
    "submariner-operator": {
        "repo": "https://submariner-io.github.io/submariner-charts/charts",
        "chart": "submariner-operator",
        "version": "0.18.1",
    },
    "external-dns": {"repo": "https://kubernetes-sigs.github.io/external-dns", "chart": "external-dns", "version": "1.21.1"},
    "kube-prometheus-stack": {
        "repo": "https://prometheus-community.github.io/helm-charts",
        "chart": "kube-prometheus-stack",
        "version": "88.5.3",
    },
    "vertical-pod-autoscaler": {
        "repo": "https://kubernetes.github.io/autoscaler",
        "chart": "vertical-pod-autoscaler",
        "version": "0.11.0",
    },
}

# Submariner's images (operator, gateway, route agent, Lighthouse): the upstream chart leaves the
# tags empty, so they are pinned here to the charts' version.
SUBMARINER_IMAGE_TAG = CHARTS["submariner-operator"]["version"]
# Velero provider plugins, per BSL provider. Plugin v1.14.x pairs with Velero 1.18.x (chart
# velero 12.1.0). The plugin repositories' own snapshot here shows only v1.14.0-rc.1.
# Downstream packages of 1.14.0, 1.14.2 and 1.14.4 (Chainguard advisories, 2026) show that
# final 1.14 releases exist, so we pin the first final release.
VELERO_PLUGINS: dict[str, str] = {
    "velero.io/aws": "velero/velero-plugin-for-aws:v1.14.0",
    "velero.io/azure": "velero/velero-plugin-for-microsoft-azure:v1.14.0",
    "velero.io/gcp": "velero/velero-plugin-for-gcp:v1.14.0",
}

# apiVersion of each custom resource kind the program renders (matches ../shared/crds).
CRD_API_VERSIONS: dict[str, str] = {
    "Application": "argoproj.io/v1alpha1",
    "ApplicationSet": "argoproj.io/v1alpha1",
    "AppProject": "argoproj.io/v1alpha1",
    "NodePool": "karpenter.sh/v1",
    "EC2NodeClass": "karpenter.k8s.aws/v1",
    "AKSNodeClass": "karpenter.azure.com/v1beta1",
    "BackupStorageLocation": "velero.io/v1",
    "VolumeSnapshotLocation": "velero.io/v1",
    "Schedule": "velero.io/v1",
    "Gateway": "networking.istio.io/v1",
    "DestinationRule": "networking.istio.io/v1",
    "PeerAuthentication": "security.istio.io/v1",
    "ServiceExport": "multicluster.x-k8s.io/v1alpha1",
    "Submariner": "submariner.io/v1alpha1",  # rendered by the submariner-operator chart
    "DNSEndpoint": "externaldns.k8s.io/v1alpha1",
    "ScrapeConfig": "monitoring.coreos.com/v1alpha1",
    "ServiceMonitor": "monitoring.coreos.com/v1",
    "PrometheusRule": "monitoring.coreos.com/v1",
    "VerticalPodAutoscaler": "autoscaling.k8s.io/v1",
}

# external-dns 0.21 (chart 1.21.1) reads its annotations under this prefix; 0.22 moved to
# "external-dns.kubernetes.io/". Every annotation the fleet writes uses this one constant.
EXTERNAL_DNS_ANNOTATION_PREFIX = "external-dns.alpha.kubernetes.io/"

# Karpenter controller image for chart 1.14.1, as the release packaging writes it into the published
# chart (the chart source at tag v1.14.1, copied to ../shared/charts, still names 1.13.0). Set
# explicitly so an offline render of that source installs the same controller as the registry chart.
KARPENTER_CONTROLLER_IMAGE: dict[str, str] = {
    "repository": "public.ecr.aws/karpenter/controller",
    "tag": "1.14.1",
    "digest": "sha256:723130949e4cab989461ff07d1be4cd781d63515432494641b33c235f300ae23",
}
