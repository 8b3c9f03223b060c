"""Namespaces with Pod Security Standards labels: the one way the fleet creates a namespace.

Every namespace states its level and, for anything looser than ``restricted``, why.
"""

from __future__ import annotations

from typing import Literal

import pulumi
import pulumi_kubernetes as k8s

from components.handle import ClusterHandle
from stacks.versions import POD_SECURITY_VERSION

Level = Literal["restricted", "baseline", "privileged"]
REASON_ANNOTATION = "archipelago.io/pod-security-reason"


def pss_labels(level: Level) -> dict[str, str]:
    labels: dict[str, str] = {}
    for mode in ("enforce", "audit", "warn"):
        labels[f"pod-security.kubernetes.io/{mode}"] = level
        labels[f"pod-security.kubernetes.io/{mode}-version"] = POD_SECURITY_VERSION
    return labels


def pss_namespace_on(
    provider: pulumi.ProviderResource,
    name: str,
    level: Level,
    *,
    parent: pulumi.Resource,
    logical_name: str,
    reason: str | None = None,
    labels: dict[str, str] | None = None,
) -> k8s.core.v1.Namespace:
    """Create namespace ``name`` through ``provider``, PSS-labelled at ``level``.

    A level looser than ``restricted`` must come with a ``reason`` (recorded as an annotation).
    """
    if level != "restricted" and not reason:
        raise ValueError(f"namespace {name} ({logical_name}): level {level!r} needs a reason")
    annotations = {REASON_ANNOTATION: reason} if reason else None
    return k8s.core.v1.Namespace(
        logical_name,
        metadata=k8s.meta.v1.ObjectMetaArgs(
            name=name,
            labels={**pss_labels(level), **(labels or {})},
            annotations=annotations,
        ),
        opts=pulumi.ResourceOptions(parent=parent, provider=provider),
    )


def pss_namespace(
    handle: ClusterHandle,
    name: str,
    level: Level,
    *,
    parent: pulumi.Resource,
    reason: str | None = None,
    labels: dict[str, str] | None = None,
    logical_name: str | None = None,
) -> k8s.core.v1.Namespace:
    """Create namespace ``name`` on ``handle``'s cluster, PSS-labelled at ``level``.

    A level looser than ``restricted`` must come with a ``reason`` (recorded as an annotation).
    """
    return pss_namespace_on(handle.provider, name, level, parent=parent, reason=reason, labels=labels,
                            logical_name=logical_name or f"{handle.name}-ns-{name}")
