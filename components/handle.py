"""The cloud-neutral cluster handle that add-ons consume.

Every cluster component (EKS, AKS, GKE) returns a :class:`ClusterHandle`. Add-ons take a handle
and ask it for whatever differs by cloud: the Kubernetes provider, workload identity for a service
account, object storage, load-balancer annotations. The branch on ``cloud`` lives in the cluster
components and in the small per-cloud tables they fill in here, never in the add-ons.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
import pulumi_kubernetes as k8s

from stacks.ipam import NetworkPlan
from stacks.spec import ClusterSpec


@dataclass(frozen=True)
class CloudPermissions:
    """What a workload may do in its cloud, stated once per cloud by the add-on that needs it.

    Only the entry for the handle's cloud is used; add-ons fill in all three and let the handle
    choose, so they never branch on the cloud themselves.
    """

    aws_policy: Callable[[], pulumi.Input[str]] | None = None  # IAM policy JSON (may be an Output)
    azure_roles: Callable[[], list[tuple[str, pulumi.Input[str]]]] | None = None  # (role definition GUID, scope)
    gcp_roles: Callable[[], list[str]] | None = None  # project roles, e.g. "roles/storage.objectAdmin"
    gcp_bucket_roles: Callable[[], list[tuple[pulumi.Input[str], str]]] | None = None  # (bucket, role)


@dataclass
class WorkloadIdentity:
    """What a Kubernetes service account needs to use its cloud identity."""

    service_account_annotations: dict[str, pulumi.Input[str]]
    pod_labels: dict[str, str]
    # The cloud principal: IAM role ARN, Azure client id, or GCP service-account email.
    principal: pulumi.Input[str]
    resources: list[pulumi.Resource] = field(default_factory=list)


class IdentityBinder(Protocol):
    def __call__(
        self, namespace: str, service_account: str, permissions: CloudPermissions, *, purpose: str,
        parent: pulumi.Resource,
    ) -> WorkloadIdentity: ...


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
    # The application namespaces the security baseline created on this cluster (name -> Namespace),
    # for add-ons that bind into them.
    app_namespaces: dict[str, pulumi.Resource] = field(default_factory=dict)
    _identity: IdentityBinder | None = None

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

    def grant_workload_identity(
        self, namespace: str, service_account: str, permissions: CloudPermissions, *, purpose: str,
        parent: pulumi.Resource,
    ) -> WorkloadIdentity:
        """Let Kubernetes service account ``namespace/service_account`` act with ``permissions``
        in this cluster's cloud, with no static key: EKS Pod Identity, Azure workload identity
        (user-assigned identity + federated credential), or GKE Workload Identity."""
        if self._identity is None:
            raise RuntimeError(f"cluster {self.name} has no workload identity binder")
        return self._identity(namespace, service_account, permissions, purpose=purpose, parent=parent)
