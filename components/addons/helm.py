"""Helm releases from the pinned chart table, on a cluster's own provider."""

from __future__ import annotations

from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.handle import ClusterHandle
from stacks.versions import CHARTS


def release(
    handle: ClusterHandle,
    chart_key: str,
    *,
    release_name: str,
    namespace: str,
    values: pulumi.Input[dict[str, Any]],
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource] | None = None,
    logical_name: str | None = None,
    skip_crds: bool = False,
) -> k8s.helm.v3.Release:
    """Install chart ``chart_key`` (a key of ``stacks.versions.CHARTS``) at its pinned version on
    ``handle``'s cluster. The namespace is created by the caller (PSS-labelled), never by Helm."""
    return release_on(handle.provider, chart_key, logical_name=logical_name or f"{handle.name}-{release_name}",
                      release_name=release_name, namespace=namespace, values=values, parent=parent,
                      depends_on=depends_on, skip_crds=skip_crds)


def release_on(
    provider: pulumi.ProviderResource,
    chart_key: str,
    *,
    logical_name: str,
    release_name: str,
    namespace: str,
    values: pulumi.Input[dict[str, Any]],
    parent: pulumi.Resource,
    depends_on: list[pulumi.Resource] | None = None,
    skip_crds: bool = False,
) -> k8s.helm.v3.Release:
    """:func:`release` through a Kubernetes provider (for components that take one as input)."""
    chart = CHARTS[chart_key]
    repo = chart["repo"]
    oci = repo.startswith("oci://")
    return k8s.helm.v3.Release(
        logical_name,
        name=release_name,
        chart=f"{repo}/{chart['chart']}" if oci else chart["chart"],
        version=chart["version"],
        repository_opts=None if oci else k8s.helm.v3.RepositoryOptsArgs(repo=repo),
        namespace=namespace,
        create_namespace=False,
        values=values,
        skip_crds=skip_crds,
        atomic=True,
        cleanup_on_fail=True,
        timeout=900,
        max_history=10,
        opts=pulumi.ResourceOptions(parent=parent, provider=provider, depends_on=depends_on or []),
    )
