"""One IAM OIDC identity provider per non-AWS cluster issuer, shared by every add-on that lets that
cluster's workloads into AWS by web identity (external-dns into Route 53, Velero DR readers).

IAM allows a single OpenID Connect provider per issuer URL in an account
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_roles_providers_create_oidc.html: creating a
second one for the same URL fails with EntityAlreadyExists). So the provider is created once per
cluster, listing every audience the fleet's add-ons present, and each add-on brings its own role
whose trust policy pins its own service account and audience.
"""

from __future__ import annotations

import json
import weakref
from typing import Protocol

import pulumi
import pulumi_aws as aws


class ClusterIssuer(Protocol):
    """What federation needs of a cluster (a ClusterHandle or a cluster's identity binder)."""

    @property
    def name(self) -> str: ...
    @property
    def component(self) -> pulumi.Resource: ...
    @property
    def oidc_issuer(self) -> pulumi.Output[str]: ...


STS_AUDIENCE = "sts.amazonaws.com"  # external-dns: the AWS SDK's default web-identity audience
VELERO_DR_AUDIENCE = "archipelago-velero-dr"  # components.addons.velero.DR_AUDIENCE
FLEET_AUDIENCES = (STS_AUDIENCE, VELERO_DR_AUDIENCE)

# Keyed by the cluster's component (one per program run), so every run registers its own.
_PROVIDERS: weakref.WeakKeyDictionary[pulumi.Resource, aws.iam.OpenIdConnectProvider] = weakref.WeakKeyDictionary()


def issuer_host_path(cluster: ClusterIssuer) -> pulumi.Output[str]:
    """The issuer as IAM condition keys spell it: no scheme, no trailing slash (AKS issuers end in '/')."""
    return cluster.oidc_issuer.apply(_host_path)


def _host_path(issuer: str) -> str:
    return issuer.removeprefix("https://").rstrip("/")


def oidc_provider(cluster: ClusterIssuer, aws_provider: pulumi.ProviderResource) -> aws.iam.OpenIdConnectProvider:
    """The account's IAM OIDC provider for ``cluster``'s service-account issuer (created on first use)."""
    if cluster.component not in _PROVIDERS:
        issuer = issuer_host_path(cluster)
        _PROVIDERS[cluster.component] = aws.iam.OpenIdConnectProvider(
            f"{cluster.name}-aws-oidc", url=issuer.apply(lambda i: f"https://{i}"), client_id_lists=list(FLEET_AUDIENCES),
            opts=pulumi.ResourceOptions(parent=cluster.component, provider=aws_provider))
    return _PROVIDERS[cluster.component]


def web_identity_trust(cluster: ClusterIssuer, provider: aws.iam.OpenIdConnectProvider, subject: str,
                       audience: str) -> pulumi.Output[str]:
    """Trust policy: only ``subject`` (system:serviceaccount:<ns>:<sa>) of ``cluster``, with ``audience``."""
    return web_identity_trust_for(provider.arn, cluster.oidc_issuer, subject, audience)


def web_identity_trust_for(provider_arn: pulumi.Input[str], issuer: pulumi.Input[str], subject: str,
                           audience: str) -> pulumi.Output[str]:
    """Trust policy: only ``subject`` of the cluster whose service-account issuer is ``issuer``
    (registered in IAM as ``provider_arn``), with ``audience``."""
    host_path = pulumi.Output.from_input(issuer).apply(_host_path)
    return pulumi.Output.all(provider_arn, host_path).apply(lambda a: json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": a[0]}, "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {f"{a[1]}:sub": subject, f"{a[1]}:aud": audience}}}]}))
