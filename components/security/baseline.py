"""The in-cluster security baseline: application namespaces, OIDC-group RBAC, default-deny networking.

Applied to every cluster through that cluster's own Kubernetes provider. Cloud-neutral except for
one thing, kept in :data:`GROUP_SUBJECT`: how an identity-provider group appears to Kubernetes RBAC.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pulumi
import pulumi_kubernetes as k8s

from components import naming
from components.handle import ClusterHandle
from components.security.namespaces import pss_namespace
from stacks.baseline import APPLICATION_NAMESPACES
from stacks.config import GroupBinding

RBAC_API = "rbac.authorization.k8s.io"

# The RBAC ``Group`` subject a group has on each cloud, or None when that cloud cannot see it:
# EKS access entries hand the mapped IAM role the Kubernetes group ``name``; GKE Google Groups for
# RBAC puts the group e-mail in the token; AKS (Entra ID) tokens carry group OBJECT IDS, so a group
# without ``azureObjectId`` has no identity there and gets no binding.
GROUP_SUBJECT: dict[str, Callable[[GroupBinding], str | None]] = {
    "aws": lambda g: g.name,
    "azure": lambda g: g.azure_object_id,
    "gcp": lambda g: g.name,
}

# Workload kinds a developer may manage in its namespace (read/write).
_RW = ["get", "list", "watch", "create", "update", "patch", "delete"]
_RO = ["get", "list", "watch"]
DEVELOPER_WORKLOADS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("apps", ("deployments", "statefulsets", "daemonsets", "replicasets")),
    ("batch", ("jobs", "cronjobs")),
    ("", ("pods", "services", "configmaps", "persistentvolumeclaims", "serviceaccounts")),
    ("autoscaling", ("horizontalpodautoscalers",)),
    ("policy", ("poddisruptionbudgets",)),
    ("networking.k8s.io", ("ingresses",)),
)
DEVELOPER_READ: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("pods/log", "events", "endpoints")),
    ("apps", ("deployments/scale", "statefulsets/scale")),
)

DNS_PORT = 53


def developer_rules(secrets_read: bool) -> list[k8s.rbac.v1.PolicyRuleArgs]:
    rules = [k8s.rbac.v1.PolicyRuleArgs(api_groups=[g], resources=list(r), verbs=_RW) for g, r in DEVELOPER_WORKLOADS]
    rules += [k8s.rbac.v1.PolicyRuleArgs(api_groups=[g], resources=list(r), verbs=_RO) for g, r in DEVELOPER_READ]
    if secrets_read:
        rules.append(k8s.rbac.v1.PolicyRuleArgs(api_groups=[""], resources=["secrets"], verbs=_RO))
    return rules


@dataclass
class SecurityBaselineArgs:
    handle: ClusterHandle
    groups: list[GroupBinding]
    developer_secrets_read: bool = False
    namespaces: tuple[str, ...] = field(default=APPLICATION_NAMESPACES)


class SecurityBaseline(pulumi.ComponentResource):
    """Restricted application namespaces, group RBAC and default-deny policies on one cluster."""

    namespaces: dict[str, k8s.core.v1.Namespace]

    def __init__(self, name: str, args: SecurityBaselineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:security:SecurityBaseline", name, None, opts)
        h = args.handle
        self.namespaces = {
            ns: pss_namespace(h, ns, "restricted", parent=self, logical_name=f"{h.name}-ns-{ns}") for ns in args.namespaces
        }
        h.app_namespaces.update(self.namespaces)
        for ns, obj in self.namespaces.items():
            self._default_deny(h, ns, obj)

        subject_of = GROUP_SUBJECT[h.cloud]
        developer_roles: dict[str, k8s.rbac.v1.Role] = {}
        self.bindings: list[pulumi.Resource] = []
        for g in args.groups:
            subject = subject_of(g)
            if subject is None:
                continue
            subjects = [k8s.rbac.v1.SubjectArgs(kind="Group", name=subject, api_group=RBAC_API)]
            slug = _slug(g.name)
            if g.cluster_role:
                self.bindings.append(k8s.rbac.v1.ClusterRoleBinding(
                    f"{h.name}-group-{slug}-{g.cluster_role}",
                    metadata=k8s.meta.v1.ObjectMetaArgs(name=f"archipelago:{slug}:{g.cluster_role}"),
                    role_ref=k8s.rbac.v1.RoleRefArgs(api_group=RBAC_API, kind="ClusterRole", name=g.cluster_role),
                    subjects=subjects,
                    opts=h.k8s_opts(self),
                ))
            for ns, role in sorted(g.namespace_roles.items()):
                if role == "developer" and ns not in developer_roles:
                    developer_roles[ns] = k8s.rbac.v1.Role(
                        f"{h.name}-{ns}-developer",
                        metadata=k8s.meta.v1.ObjectMetaArgs(name="developer", namespace=ns),
                        rules=developer_rules(args.developer_secrets_read),
                        opts=h.k8s_opts(self, depends_on=[self.namespaces[ns]]),
                    )
                # "viewer" reuses the built-in aggregated view ClusterRole, scoped by a RoleBinding.
                ref = (k8s.rbac.v1.RoleRefArgs(api_group=RBAC_API, kind="Role", name="developer") if role == "developer"
                       else k8s.rbac.v1.RoleRefArgs(api_group=RBAC_API, kind="ClusterRole", name="view"))
                self.bindings.append(k8s.rbac.v1.RoleBinding(
                    f"{h.name}-{ns}-group-{slug}-{role}",
                    metadata=k8s.meta.v1.ObjectMetaArgs(name=f"archipelago:{slug}:{role}", namespace=ns),
                    role_ref=ref,
                    subjects=subjects,
                    opts=h.k8s_opts(self, depends_on=[self.namespaces[ns], *([developer_roles[ns]] if role == "developer" else [])]),
                ))
        self.register_outputs({"namespaces": list(self.namespaces)})

    def _default_deny(self, h: ClusterHandle, ns: str, obj: k8s.core.v1.Namespace) -> None:
        """Deny all ingress and egress in ``ns``; the only egress allowed is DNS to kube-system."""
        opts = h.k8s_opts(self, depends_on=[obj])
        k8s.networking.v1.NetworkPolicy(
            f"{h.name}-{ns}-default-deny",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="default-deny", namespace=ns),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Ingress", "Egress"]
            ),
            opts=opts,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{h.name}-{ns}-allow-dns",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="allow-dns-egress", namespace=ns),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(),
                policy_types=["Egress"],
                egress=[k8s.networking.v1.NetworkPolicyEgressRuleArgs(
                    to=[k8s.networking.v1.NetworkPolicyPeerArgs(
                        namespace_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"kubernetes.io/metadata.name": "kube-system"}),
                        pod_selector=k8s.meta.v1.LabelSelectorArgs(match_labels={"k8s-app": "kube-dns"}),
                    )],
                    ports=[k8s.networking.v1.NetworkPolicyPortArgs(protocol=p, port=DNS_PORT) for p in ("UDP", "TCP")],
                )],
            ),
            opts=opts,
        )


def _slug(group: str) -> str:
    """A name-safe slug of a group for object names (``developers@company.com`` -> ``developers-company-com``)."""
    return naming.fit("".join(ch if ch.isalnum() else "-" for ch in group.lower()).strip("-") or "group", 40)


def apply_security_baseline(handles: list[ClusterHandle], groups: list[GroupBinding], developer_secrets_read: bool) -> list[SecurityBaseline]:
    return [
        SecurityBaseline(
            f"{h.name}-security",
            SecurityBaselineArgs(handle=h, groups=groups, developer_secrets_read=developer_secrets_read),
            pulumi.ResourceOptions(parent=h.component),
        )
        for h in handles
    ]
