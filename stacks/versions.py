"""Every version the fleet pins, in one place.

Kubernetes minor versions each cloud accepts, the Helm charts (matching the upstream charts
kept in ``../shared/charts`` and the CRDs in ``../shared/crds``) and the API versions of the
custom resources the program renders.  Change a version here and nowhere else.
"""

from __future__ import annotations

# Kubernetes minor versions a new cluster may be created with, per cloud (inclusive range).
# Sources: EKS standard+extended support calendar, AKS supported-versions list, GKE release
# channels, as published in late 2026. Widen the range here when a cloud adds a version.
KUBERNETES_VERSIONS: dict[str, tuple[str, str]] = {
    "aws": ("1.30", "1.35"),
    "azure": ("1.31", "1.35"),
    "gcp": ("1.31", "1.35"),
}

# Pod Security Standards version written into every namespace's pod-security labels.
POD_SECURITY_VERSION = "v1.33"

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
}

# Karpenter controller image for chart 1.14.1, as the release packaging writes it into the published
# chart (the chart source at tag v1.14.1, copied to ../shared/charts, still names 1.13.0). Set
# explicitly so an offline render of that source installs the same controller as the registry chart.
KARPENTER_CONTROLLER_IMAGE: dict[str, str] = {
    "repository": "public.ecr.aws/karpenter/controller",
    "tag": "1.14.1",
    "digest": "sha256:723130949e4cab989461ff07d1be4cd781d63515432494641b33c235f300ae23",
}
