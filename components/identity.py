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
             parent: pulumi.Resource, opts: pulumi.ResourceOptions | None = None) -> WorkloadIdentity:
        """Let ``namespace/service_account`` act with ``permissions`` in the cluster's own cloud;
        the resources are named ``<cluster>-<purpose>-...``, parented to ``parent``, with ``opts``
        (e.g. aliases) merged in."""
        ...

    def bind_aws(self, namespace: str, service_account: str, policy: pulumi.Input[str], *, purpose: str,
                 parent: pulumi.Resource, aws_provider: pulumi.ProviderResource) -> WorkloadIdentity:
        """Let ``namespace/service_account`` act in AWS with the IAM ``policy`` (JSON); IAM
        resources a non-AWS cluster needs are made with ``aws_provider``."""
        ...

    def aws_access(self, aws_provider: pulumi.ProviderResource) -> AwsAccess:
        """How this cluster's service accounts reach AWS, as plain component inputs (see :class:`AwsAccess`)."""
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
        return web_identity_role(f"{self.name}-{purpose}", naming.iam_role(self.cluster_name, purpose), oidc.arn, self.oidc_issuer,
                                 namespace, service_account, policy, session_name=f"{purpose}-{self.name}",
                                 opts=pulumi.ResourceOptions(parent=parent, provider=aws_provider))

    def aws_access(self, aws_provider: pulumi.ProviderResource) -> AwsAccess:
        return AwsAccess(oidc_provider_arn=aws_federation.oidc_provider(self, aws_provider).arn, oidc_issuer=self.oidc_issuer,
                         provider=aws_provider)


@dataclass
class AwsAccess:
    """How a service account of a cluster reaches AWS, as plain inputs for a component that makes
    the identity itself (ExternalDns): EKS Pod Identity (``eks_cluster_name``, the IAM role in the
    cluster's region, ``ready`` the agent add-on) or web identity through the issuer's IAM OIDC
    provider (``oidc_provider_arn`` + ``oidc_issuer``)."""

    provider: pulumi.ProviderResource | None  # the AWS provider the IAM role is made with
    eks_cluster_name: pulumi.Input[str] | None = None
    oidc_provider_arn: pulumi.Input[str] | None = None
    oidc_issuer: pulumi.Input[str] | None = None
    ready: list[pulumi.Resource] = field(default_factory=list)


def web_identity_role(logical_name: str, role_name: str, oidc_provider_arn: pulumi.Input[str], issuer: pulumi.Input[str],
                      namespace: str, service_account: str, policy: pulumi.Input[str], *, session_name: str,
                      opts: pulumi.ResourceOptions) -> WorkloadIdentity:
    """Web identity for ``namespace/service_account`` of the cluster whose issuer IAM knows as
    ``oidc_provider_arn``: the role (trusting only that subject, audience sts.amazonaws.com), its
    policy, and what the pod needs (projected token, AWS_ROLE_ARN, AWS_WEB_IDENTITY_TOKEN_FILE)."""
    trust = aws_federation.web_identity_trust_for(oidc_provider_arn, issuer, subject(namespace, service_account),
                                                  aws_federation.STS_AUDIENCE)
    role = aws.iam.Role(logical_name, name=role_name, assume_role_policy=trust, opts=opts)
    role_policy = aws.iam.RolePolicy(logical_name, role=role.id, policy=policy, opts=opts)
    token = {"name": "aws-token", "projected": {"sources": [{"serviceAccountToken": {
        "audience": aws_federation.STS_AUDIENCE, "expirationSeconds": 3600, "path": "token"}}]}}
    return WorkloadIdentity(
        service_account_annotations={}, pod_labels={}, principal=role.arn, resources=[role, role_policy],
        env=[{"name": "AWS_ROLE_ARN", "value": role.arn},
             {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"{AWS_TOKEN_DIR}/token"},
             {"name": "AWS_ROLE_SESSION_NAME", "value": session_name}],
        volumes=[token],
        volume_mounts=[{"name": "aws-token", "mountPath": AWS_TOKEN_DIR, "readOnly": True}],
    )
