"""Workload identity: a Kubernetes service account acting in a cloud with no static key.

:class:`WorkloadIdentityBinder` is the protocol an add-on asks through (by way of the
``ClusterHandle``), never knowing the cloud. One implementation per cloud lives beside its cluster
component: ``EksPodIdentity`` (components/clusters/eks.py), ``AksWorkloadIdentity``
(components/clusters/aks.py), ``GkeWorkloadIdentity`` (components/clusters/gke.py). Each is a small
object built from the cluster's names and outputs, so it also serves a cluster made elsewhere.

Two questions an add-on may ask:

- ``bind``: an identity in the cluster's own cloud, with the permissions the add-on states once per
  cloud in :class:`CloudPermissions` (the binder picks its cloud's entry);
- ``bind_aws``: an identity in AWS, whatever the cluster's cloud (the fleet's DNS zone lives in
  Route 53). EKS answers with Pod Identity; AKS and GKE share :class:`AwsWebIdentity`, web identity
  federation of the cluster's service-account issuer (one IAM OIDC provider per issuer).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws

from components import naming
from components.addons import aws_federation

# Where a federated pod's AWS token is mounted (AWS_WEB_IDENTITY_TOKEN_FILE points into it).
AWS_TOKEN_DIR = "/var/run/secrets/aws"


@dataclass(frozen=True)
class CloudPermissions:
    """What a workload may do in its cloud, stated once per cloud by the add-on that needs it.

    Only the entry for the binder's cloud is used; add-ons fill in all three and let the binder
    choose, so they never branch on the cloud themselves.
    """

    aws_policy: Callable[[], pulumi.Input[str]] | None = None  # IAM policy JSON (may be an Output)
    azure_roles: Callable[[], list[tuple[str, pulumi.Input[str]]]] | None = None  # (role definition GUID, scope)
    gcp_roles: Callable[[], list[str]] | None = None  # project roles, e.g. "roles/storage.objectAdmin"
    gcp_bucket_roles: Callable[[], list[tuple[pulumi.Input[str], str]]] | None = None  # (bucket, role)


@dataclass
class WorkloadIdentity:
    """What a Kubernetes service account, and the pods that use it, need to act as a cloud identity."""

    service_account_annotations: dict[str, pulumi.Input[str]]
    pod_labels: dict[str, str]
    # The cloud principal: IAM role ARN, Azure client id, or GCP service-account email.
    principal: pulumi.Input[str]
    resources: list[pulumi.Resource] = field(default_factory=list)
    # What the pod itself needs (federation only: the token volume and the SDK's environment).
    env: list[dict[str, Any]] = field(default_factory=list)
    volumes: list[dict[str, Any]] = field(default_factory=list)
    volume_mounts: list[dict[str, Any]] = field(default_factory=list)


class WorkloadIdentityBinder(Protocol):
    """One cloud's way of giving a service account an identity (see the module docstring)."""

    def bind(self, namespace: str, service_account: str, permissions: CloudPermissions, *, purpose: str,
             parent: pulumi.Resource) -> WorkloadIdentity:
        """Let ``namespace/service_account`` act with ``permissions`` in the cluster's own cloud;
        the resources are named ``<cluster>-<purpose>-...`` and parented to ``parent``."""
        ...

    def bind_aws(self, namespace: str, service_account: str, policy: pulumi.Input[str], *, purpose: str,
                 parent: pulumi.Resource, aws_provider: pulumi.ProviderResource) -> WorkloadIdentity:
        """Let ``namespace/service_account`` act in AWS with the IAM ``policy`` (JSON); IAM
        resources a non-AWS cluster needs are made with ``aws_provider``."""
        ...


def subject(namespace: str, service_account: str) -> str:
    """The service account as its tokens name it (``sub``)."""
    return f"system:serviceaccount:{namespace}:{service_account}"


@dataclass
class AwsWebIdentity:
    """AWS access for a cluster outside AWS: its issuer as the account's IAM OIDC provider, a role
    trusting only the one service account with audience sts.amazonaws.com, and a projected token
    plus AWS_ROLE_ARN / AWS_WEB_IDENTITY_TOKEN_FILE, which the AWS SDKs' default chain reads
    (aws-sdk-go-v2 config/env_config.go). Base of the AKS and GKE binders."""

    name: str  # the cluster component's name: logical names start with it
    cluster_name: str  # the cluster's own name: physical names start with it
    component: pulumi.Resource  # the cluster component (the OIDC provider is its child, once)
    oidc_issuer: pulumi.Output[str]

    def bind_aws(self, namespace: str, service_account: str, policy: pulumi.Input[str], *, purpose: str,
                 parent: pulumi.Resource, aws_provider: pulumi.ProviderResource) -> WorkloadIdentity:
        oidc = aws_federation.oidc_provider(self, aws_provider)
        opts = pulumi.ResourceOptions(parent=parent, provider=aws_provider)
        trust = aws_federation.web_identity_trust(self, oidc, subject(namespace, service_account), aws_federation.STS_AUDIENCE)
        role = aws.iam.Role(f"{self.name}-{purpose}", name=naming.iam_role(self.cluster_name, purpose), assume_role_policy=trust,
                            opts=opts)
        role_policy = aws.iam.RolePolicy(f"{self.name}-{purpose}", role=role.id, policy=policy, opts=opts)
        token = {"name": "aws-token", "projected": {"sources": [{"serviceAccountToken": {
            "audience": aws_federation.STS_AUDIENCE, "expirationSeconds": 3600, "path": "token"}}]}}
        return WorkloadIdentity(
            service_account_annotations={}, pod_labels={}, principal=role.arn, resources=[role, role_policy],
            env=[{"name": "AWS_ROLE_ARN", "value": role.arn},
                 {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"{AWS_TOKEN_DIR}/token"},
                 {"name": "AWS_ROLE_SESSION_NAME", "value": f"{purpose}-{self.name}"}],
            volumes=[token],
            volume_mounts=[{"name": "aws-token", "mountPath": AWS_TOKEN_DIR, "readOnly": True}],
        )
