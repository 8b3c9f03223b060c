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

The component takes plain args (a Kubernetes provider, ``managed`` and the targets);
:func:`vpa_args` beside it turns the fleet's cluster handle and VPA config into them.
"""

# No `from __future__ import annotations`: the package analyzer reads the args' annotations as objects.

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components import naming
from components.addons.helm import release_on
from components.security.namespaces import pss_namespace_on
from components.tokens import component_type, renamed_from
from stacks.config import DNS_LABEL
from stacks.versions import CRD_API_VERSIONS

if TYPE_CHECKING:
    from components.handle import ClusterHandle

NAMESPACE = "vpa-system"
POD_SECURITY = "restricted"
RESTRICTED_POD = {"runAsNonRoot": True, "runAsUser": 65534}
# The seccomp profile sits on each container: the chart's pod securityContext default spells out
# its keys, the container one is an open map (``containerSecurityContext: {}``).
RESTRICTED_CONTAINER = {"allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]},
                        "seccompProfile": {"type": "RuntimeDefault"}}
# spec.updatePolicy.updateMode of autoscaling.k8s.io/v1 at VPA 1.7.1 (the CRD's enum in
# ../shared/crds/vpa, less the deprecated "Auto" and "InPlace", alpha in 1.7 behind a feature gate
# on the admission controller and updater); InPlaceOrRecreate needs Kubernetes 1.33+.
UPDATE_MODES = ("Off", "Initial", "Recreate", "InPlaceOrRecreate")
# targetRef kinds under apps/v1 that own pods through a template.
TARGET_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "ReplicaSet")
DEFAULT_UPDATE_MODE = "Off"


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


class VpaTargetArgs(TypedDict):
    """A workload that gets a VerticalPodAutoscaler object of the same name in its namespace."""

    namespace: str
    """Namespace of the workload (a DNS-1123 label); the VPA object is created there."""
    kind: str
    """Kind of the workload under apps/v1: Deployment, StatefulSet, DaemonSet or ReplicaSet."""
    name: str
    """Name of the workload, and of its VPA object (a DNS-1123 subdomain)."""


class VerticalPodAutoscalerArgs(TypedDict):
    """Inputs of a VerticalPodAutoscaler: the cluster's Kubernetes provider, whether the cloud runs
    VPA already, and the workloads to give a VPA."""

    kubernetes_provider: k8s.Provider
    """The Kubernetes provider of the cluster; every object is created through it."""
    managed: NotRequired[bool]
    """The cloud already runs VPA (GKE verticalPodAutoscaling, AKS
    workloadAutoScalerProfile.verticalPodAutoscaler; the GkeCluster and AksCluster components turn
    both on): install nothing, only the VPA objects. Default: false (install the SIG Autoscaling
    chart, pinned version, restricted pods, in namespace vpa-system)."""
    update_mode: NotRequired[str]
    """updatePolicy.updateMode of every VPA object: Off (recommend only), Initial, Recreate or
    InPlaceOrRecreate (Kubernetes 1.33+). Default: Off."""
    targets: NotRequired[list[VpaTargetArgs]]
    """Workloads to give a VPA object (requests of cpu and memory, capped at 2 CPUs and 4Gi).
    Default: none."""
    name_prefix: NotRequired[str]
    """Prefix of every child's logical name. Default: the component's own name."""


def _check_args(args: VerticalPodAutoscalerArgs) -> None:
    mode = args.get("update_mode", DEFAULT_UPDATE_MODE)
    if mode not in UPDATE_MODES:
        raise ValueError(f"updateMode: {mode!r} is not one of {', '.join(UPDATE_MODES)}")
    seen: set[str] = set()
    for i, t in enumerate(args.get("targets") or []):
        if not re.fullmatch(DNS_LABEL, t["namespace"]) or len(t["namespace"]) > 63:
            raise ValueError(f"targets[{i}].namespace: {t['namespace']!r} is not a DNS-1123 label")
        if t["kind"] not in TARGET_KINDS:
            raise ValueError(f"targets[{i}].kind: {t['kind']!r} is not one of {', '.join(TARGET_KINDS)}")
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]*[a-z0-9])?", t["name"]) or len(t["name"]) > 253:
            raise ValueError(f"targets[{i}].name: {t['name']!r} is not a DNS-1123 subdomain")
        key = f"{t['namespace']}/{t['name']}"
        if key in seen:
            raise ValueError(f"targets[{i}]: {key!r} is listed twice")
        seen.add(key)


class VerticalPodAutoscaler(pulumi.ComponentResource):
    """Vertical Pod Autoscaler on one cluster: the SIG Autoscaling chart where the cloud does not
    run VPA itself, and a VerticalPodAutoscaler object per target workload."""

    managed: pulumi.Output[bool]
    """True when the cloud runs VPA and nothing was installed."""
    vpa_names: pulumi.Output[list[str]]
    """The VPA objects created, as namespace/name, sorted."""

    def __init__(self, name: str, args: VerticalPodAutoscalerArgs, opts: pulumi.ResourceOptions | None = None, *,
                 depends_on: Sequence[pulumi.Resource] = ()):
        """``depends_on`` (Python only): what the targets' workloads come from; the VPA objects wait for it."""
        super().__init__(component_type(VerticalPodAutoscaler), name, None, renamed_from("archipelago:addons:VerticalPodAutoscaler", opts))
        _check_args(args)
        provider = args["kubernetes_provider"]
        prefix = args.get("name_prefix") or name
        managed = bool(args.get("managed", False))
        ready: list[pulumi.Resource] = []
        # The chart's release (None where the cloud runs VPA), for Python programs that wait for it.
        self.release: k8s.helm.v3.Release | None = None
        if not managed:
            ns = pss_namespace_on(provider, NAMESPACE, POD_SECURITY, parent=self, logical_name=f"{prefix}-ns-{NAMESPACE}")
            self.release = release_on(provider, "vertical-pod-autoscaler", logical_name=f"{prefix}-vpa", release_name="vpa",
                                      namespace=NAMESPACE, values=chart_values(), parent=self, depends_on=[ns])
            ready.append(self.release)
        # The VPA objects by namespace/name (Python only).
        self.vpas: dict[str, k8s.apiextensions.CustomResource] = {}
        mode = args.get("update_mode", DEFAULT_UPDATE_MODE)
        for t in args.get("targets") or []:
            self.vpas[f"{t['namespace']}/{t['name']}"] = k8s.apiextensions.CustomResource(
                naming.logical(prefix, "vpa", t["namespace"], t["name"]), api_version=CRD_API_VERSIONS["VerticalPodAutoscaler"],
                kind="VerticalPodAutoscaler",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=t["name"], namespace=t["namespace"], labels={"archipelago.io/vpa": "platform"}),
                spec=vpa_spec(t["kind"], t["name"], mode),
                opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[*ready, *depends_on]))
        self.managed = pulumi.Output.from_input(managed)
        self.vpa_names = pulumi.Output.from_input(sorted(self.vpas))
        self.register_outputs({"managed": self.managed, "vpaNames": self.vpa_names})


def vpa_args(handle: "ClusterHandle", update_mode: str, targets: list[VpaTargetArgs]) -> VerticalPodAutoscalerArgs:
    """The fleet's composition: one cluster's VPA args from its handle (the cluster components say
    whether the cloud runs VPA with ``cloud_outputs["managedVpa"]``); children keep the names they
    have (``<cluster>-...``)."""
    return VerticalPodAutoscalerArgs(kubernetes_provider=handle.provider, managed=bool(handle.cloud_outputs.get("managedVpa", False)),
                                     update_mode=update_mode, targets=targets, name_prefix=handle.name)
