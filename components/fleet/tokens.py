"""Least-privilege service-account tokens on one cluster, for another cluster to use.

Used wherever the fleet links clusters (Argo CD hub -> spoke, Istio remote secrets): a dedicated
service account on the *target* cluster, bound to exactly the ClusterRole given, and a
``kubernetes.io/service-account-token`` Secret whose token the program reads back as a Pulumi
secret. Nothing here waits on any other cluster.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from components.handle import ClusterHandle


@dataclass
class ServiceAccountToken:
    token: pulumi.Output[str]  # secret, decoded bearer token
    ca_data: pulumi.Output[str]  # base64 PEM of the target's API CA
    server: pulumi.Output[str]  # https URL of the target's API server
    resources: list[pulumi.Resource]


def _decode(data: Mapping[str, str] | None, key: str) -> str:
    value = (data or {}).get(key, "")
    return base64.b64decode(value).decode() if value else ""


def service_account_token(
    target: ClusterHandle,
    *,
    namespace: str,
    name: str,
    cluster_role: str | None,
    parent: pulumi.Resource,
    logical_prefix: str,
    depends_on: list[pulumi.Resource] | None = None,
) -> ServiceAccountToken:
    """Create ``namespace/name`` on ``target`` bound to ClusterRole ``cluster_role`` and return its token.

    ``cluster_role=None`` binds nothing: the caller grants a namespaced Role (e.g. a chart's).
    """
    return service_account_token_on(
        target.provider, server=target.endpoint, ca_data=target.ca_data, namespace=namespace, name=name,
        cluster_role=cluster_role, parent=parent, logical_prefix=logical_prefix, depends_on=depends_on)


def service_account_token_on(
    provider: pulumi.ProviderResource,
    *,
    server: pulumi.Input[str],
    ca_data: pulumi.Input[str],
    namespace: str,
    name: str,
    cluster_role: str | None,
    parent: pulumi.Resource,
    logical_prefix: str,
    depends_on: list[pulumi.Resource] | None = None,
) -> ServiceAccountToken:
    """:func:`service_account_token` through a Kubernetes provider; ``server`` and ``ca_data`` are
    the target API server's URL and base64 PEM CA, handed back beside the token."""
    opts = pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=depends_on or [])
    sa = k8s.core.v1.ServiceAccount(
        f"{logical_prefix}-sa",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=namespace),
        automount_service_account_token=False,
        opts=opts,
    )
    bindings = [k8s.rbac.v1.ClusterRoleBinding(
        f"{logical_prefix}-binding",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=f"{name}-{cluster_role}".replace(":", "-")[:63]),
        role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=cluster_role),
        subjects=[k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name=name, namespace=namespace)],
        opts=opts,
    )] if cluster_role else []
    secret = k8s.core.v1.Secret(
        f"{logical_prefix}-token",
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=f"{name}-token", namespace=namespace, annotations={"kubernetes.io/service-account.name": name}
        ),
        type="kubernetes.io/service-account-token",
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[sa], additional_secret_outputs=["data"])),
    )
    token = pulumi.Output.secret(secret.data.apply(lambda d: _decode(d, "token")))
    return ServiceAccountToken(token=token, ca_data=pulumi.Output.from_input(ca_data), server=pulumi.Output.from_input(server),
                              resources=[sa, *bindings, secret])
