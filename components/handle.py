"""The cloud-neutral cluster handle that add-ons consume.

Every cluster component (EKS, AKS, GKE) returns a :class:`ClusterHandle`. Add-ons take a handle
and ask it for whatever differs by cloud: the Kubernetes provider, workload identity for a service
account (a :class:`~components.identity.WorkloadIdentityBinder`, one per cloud beside its cluster),
load balancers. The branch on ``cloud`` lives in the cluster components and in the small per-cloud
tables they fill in here, never in the add-ons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pulumi
import pulumi_kubernetes as k8s

from components.identity import AwsAccess, CloudPermissions, WorkloadIdentity, WorkloadIdentityBinder
from stacks.ipam import NetworkPlan
from stacks.spec import ClusterSpec

if TYPE_CHECKING:
    from components.plumbing import CloudPlumbing


@dataclass
class ClusterHandle:
    spec: ClusterSpec
    provider: k8s.Provider
    cloud_provider: pulumi.ProviderResource
    component: pulumi.ComponentResource
    kubeconfig: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    ca_data: pulumi.Output[str]  # base64 PEM of the API server's CA
    oidc_issuer: pulumi.Output[str]
    # Cloud account scope: AWS account id, Azure subscription id, GCP project id.
    account: pulumi.Output[str]
    # Per-cloud details add-ons pass through without interpreting (vpc id, resource group, ...).
    cloud_outputs: dict[str, Any] = field(default_factory=dict)
    # Annotations that make a LoadBalancer Service internal / external on this cloud.
    lb_annotations: dict[str, dict[str, str]] = field(default_factory=dict)
    # The annotation that pins an internal load balancer's private address on this cloud, or None
    # where the cloud reads the Service's ``spec.loadBalancerIP``.
    lb_address_annotation: str | None = None
    # Where the annotation names a reserved address instead of holding it (GKE): reserves
    # ``address`` as cloud resource ``name`` under ``parent`` and returns the annotation's value.
    reserve_lb_address: Callable[[str, str, pulumi.Resource], pulumi.Input[str]] | None = None
    # Where the nodes keep CNI binaries, when not in /opt/cni/bin; whether system-*-critical pods
    # need a ResourceQuota admitting them outside kube-system (both GKE).
    node_cni_bin_dir: str | None = None
    critical_pods_need_quota: bool = False
    # The application namespaces the security baseline created on this cluster (name -> Namespace),
    # for add-ons that bind into them.
    app_namespaces: dict[str, pulumi.Resource] = field(default_factory=dict)
    # This cluster's workload identity (components/identity.py), set by the cluster's composition.
    identity: WorkloadIdentityBinder | None = None
    # What the cloud sets up outside the cluster for add-ons (Velero's storage, Karpenter's queue).
    plumbing: CloudPlumbing | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def cloud(self) -> str:
        return self.spec.cloud

    @property
    def region(self) -> str:
        return self.spec.region

    @property
    def role(self) -> str:
        return self.spec.role

    @property
    def network(self) -> NetworkPlan:
        return self.spec.network

    @property
    def is_management(self) -> bool:
        return self.spec.is_management

    def k8s_opts(self, parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for an in-cluster object: this cluster's provider, never the ambient kubeconfig."""
        return pulumi.ResourceOptions(parent=parent, provider=self.provider, **kwargs)

    def cloud_opts(self, parent: pulumi.Resource, **kwargs: Any) -> pulumi.ResourceOptions:
        """Options for a cloud resource of this cluster: the region's explicit cloud provider."""
        return pulumi.ResourceOptions(parent=parent, provider=self.cloud_provider, **kwargs)

    def _binder(self) -> WorkloadIdentityBinder:
        if self.identity is None:
            raise RuntimeError(f"cluster {self.name} has no workload identity binder")
        return self.identity

    def grant_workload_identity(
        self, namespace: str, service_account: str, permissions: CloudPermissions, *, purpose: str,
        parent: pulumi.Resource, opts: pulumi.ResourceOptions | None = None,
    ) -> WorkloadIdentity:
        """Let Kubernetes service account ``namespace/service_account`` act with ``permissions``
        in this cluster's cloud, with no static key: EKS Pod Identity, Azure workload identity
        (user-assigned identity + federated credential), or GKE Workload Identity. ``opts`` (e.g.
        aliases) applies to every resource made."""
        return self._binder().bind(namespace, service_account, permissions, purpose=purpose, parent=parent, opts=opts)

    def grant_aws_identity(
        self, namespace: str, service_account: str, policy: pulumi.Input[str], *, purpose: str,
        parent: pulumi.Resource, aws_provider: pulumi.ProviderResource,
    ) -> WorkloadIdentity:
        """Let ``namespace/service_account`` act in AWS with the IAM ``policy``, whatever this
        cluster's cloud: EKS Pod Identity, or web identity federation of this cluster's issuer
        (the pod then needs the returned env, volumes and mounts)."""
        return self._binder().bind_aws(namespace, service_account, policy, purpose=purpose, parent=parent, aws_provider=aws_provider)

    def aws_access(self, aws_provider: pulumi.ProviderResource) -> AwsAccess:
        """How this cluster's service accounts reach AWS, as plain inputs of a component that makes
        the identity itself: EKS Pod Identity, or web identity of this cluster's issuer (its IAM
        OIDC provider made with ``aws_provider`` on first use)."""
        return self._binder().aws_access(aws_provider)

    def internal_load_balancer(self, address: str, *, name: str, parent: pulumi.Resource) -> tuple[dict[str, pulumi.Input[str]], dict[str, Any]]:
        """(annotations, Service spec fields) of an internal LoadBalancer Service at the private
        ``address`` (in the node subnet) on this cloud; where the cloud pins it by a reserved
        address's name (GKE), that address is reserved as ``name`` under ``parent``."""
        annotations: dict[str, pulumi.Input[str]] = dict(self.lb_annotations["internal"])
        if self.lb_address_annotation:
            reserve = self.reserve_lb_address
            annotations[self.lb_address_annotation] = reserve(name, address, parent) if reserve else address
            return annotations, {}
        return annotations, {"load_balancer_ip": address}
