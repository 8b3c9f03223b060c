"""Vertical Pod Autoscaler on every cluster, and recommendation-only VPAs for the platform's own parts.

Where the cloud runs VPA itself (GKE ``vertical_pod_autoscaling``, AKS
``workloadAutoScalerProfile.verticalPodAutoscaler``; the cluster components enable both and say so
with ``cloud_outputs["managedVpa"]``) nothing is installed: a second recommender and webhook would
compete with the managed ones. Elsewhere (EKS) the official SIG Autoscaling chart is installed.
Its admission webhook's certificate comes from the chart's own ``certGen`` Jobs
(kube-webhook-certgen: a ``pre-install,pre-upgrade`` hook creates the secret, a
``post-install,post-upgrade`` hook patches the CA into the webhook), which ``helm.v3.Release`` runs,
so no step is manual. The chart's pods are made PSS-``restricted`` here (its defaults set neither a
seccomp profile nor container security contexts).

The ``autoscaling.k8s.io/v1`` VerticalPodAutoscaler API is the same on all three, so the platform's
VPAs (``updateMode: Off`` by default: recommend only) are written once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import naming
from components.addons.helm import release
from components.handle import ClusterHandle
from components.security.namespaces import pss_namespace
from stacks.versions import CRD_API_VERSIONS

NAMESPACE = "vpa-system"
POD_SECURITY = "restricted"
RESTRICTED_POD = {"runAsNonRoot": True, "runAsUser": 65534}
# The seccomp profile sits on each container: the chart's pod securityContext default spells out
# its keys, the container one is an open map (``containerSecurityContext: {}``).
RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"}}


def chart_values() -> dict[str, Any]:
    """Chart 0.11.0 (VPA 1.7.1). Two replicas each with leader election (its default), restricted pods."""
    small = {"requests": {"cpu": "50m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}}
    return {
        "podSecurityContext": RESTRICTED_POD,
        "containerSecurityContext": RESTRICTED_CONTAINER,
        "admissionController": {
            "resources": small,
            # Helm-managed certificates: the certgen hook Jobs create the secret and patch the CA in.
            "certGen": {"enabled": True},
            "registerWebhook": False,
        },
        "recommender": {"resources": {"requests": {"cpu": "50m", "memory": "256Mi"}, "limits": {"memory": "1Gi"}}},
        "updater": {"resources": small},
    }


def vpa_spec(kind: str, name: str, update_mode: str) -> dict[str, Any]:
    """A VPA for one platform workload: requests only (limits stay as the chart sets them), both resources."""
    return {
        "targetRef": {"apiVersion": "apps/v1", "kind": kind, "name": name},
        "updatePolicy": {"updateMode": update_mode},
        "resourcePolicy": {"containerPolicies": [{
            "containerName": "*",
            "controlledResources": ["cpu", "memory"],
            "controlledValues": "RequestsOnly",
            # Never past what a system node can hold (Karpenter/NAP would otherwise chase it).
            "maxAllowed": {"cpu": "2", "memory": "4Gi"},
        }]},
    }


@dataclass(frozen=True)
class Target:
    namespace: str
    kind: str
    name: str


@dataclass
class VerticalPodAutoscalerArgs:
    handle: ClusterHandle
    update_mode: str
    targets: list[Target] = field(default_factory=list)
    # What each target's workload comes from (its release): the VPA object waits for it.
    depends_on: list[pulumi.Resource] = field(default_factory=list)


class VerticalPodAutoscaler(pulumi.ComponentResource):
    managed: bool
    release: k8s.helm.v3.Release | None
    vpas: dict[str, k8s.apiextensions.CustomResource]

    def __init__(self, name: str, args: VerticalPodAutoscalerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:addons:VerticalPodAutoscaler", name, None, opts)
        h = args.handle
        self.managed = bool(h.cloud_outputs.get("managedVpa", False))
        ready: list[pulumi.Resource] = []
        self.release = None
        if not self.managed:
            ns = pss_namespace(h, NAMESPACE, POD_SECURITY, parent=self)
            self.release = release(h, "vertical-pod-autoscaler", release_name="vpa", namespace=NAMESPACE,
                                   values=chart_values(), parent=self, depends_on=[ns])
            ready.append(self.release)
        self.vpas = {}
        for t in args.targets:
            self.vpas[f"{t.namespace}/{t.name}"] = k8s.apiextensions.CustomResource(
                naming.logical(h.name, "vpa", t.namespace, t.name), api_version=CRD_API_VERSIONS["VerticalPodAutoscaler"],
                kind="VerticalPodAutoscaler",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=t.name, namespace=t.namespace, labels={"archipelago.io/vpa": "platform"}),
                spec=vpa_spec(t.kind, t.name, args.update_mode),
                opts=h.k8s_opts(self, depends_on=[*ready, *args.depends_on]))
        self.register_outputs({"managed": self.managed, "vpas": sorted(self.vpas)})
