"""The in-cluster security baseline: application namespaces, OIDC-group RBAC, default-deny networking.

Applied to every cluster through that cluster's own Kubernetes provider. Cloud-neutral except for
one thing, kept in :data:`GROUP_SUBJECT`: how an identity-provider group appears to Kubernetes RBAC.
"""


import re
from collections.abc import Callable
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components import naming
from components.handle import ClusterHandle
from components.security.namespaces import pss_namespace_on
from components.tokens import component_type, renamed_from
from stacks.baseline import APPLICATION_NAMESPACES
from stacks.config import DNS_LABEL, GroupBinding

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


class GroupBindingArgs(TypedDict):
    """An identity-provider group and what it may do in the cluster."""

    name: str
    """The group's name; the binding objects are named from it (lowercased, non-alphanumerics as '-')."""
    subject: pulumi.Input[str]
    """The RBAC Group subject the cluster's authenticator presents for the group: the group name on
    EKS (access entries map an IAM role to it) and GKE (Google Groups for RBAC), the Entra group object
    id on AKS. Never a system: group."""
    cluster_role: NotRequired[str]
    """ClusterRole bound cluster-wide to the group: cluster-admin or view. Default: none."""
    namespace_roles: NotRequired[dict[str, str]]
    """Namespace -> developer (read/write on workloads, Secrets read only with
    developerSecretsRead) or viewer (the built-in view ClusterRole). Each namespace must be one of
    namespaces. Default: none."""


class SecurityBaselineArgs(TypedDict):
    """Inputs of a SecurityBaseline: the cluster's Kubernetes provider and who may do what."""

    kubernetes_provider: k8s.Provider
    """The Kubernetes provider of the cluster; every object is created through it."""
    groups: NotRequired[list[GroupBindingArgs]]
    """Groups bound by RBAC. Default: none (namespaces and network policies only)."""
    developer_secrets_read: NotRequired[bool]
    """Let the developer Role read Secrets. Default: false."""
    namespaces: NotRequired[list[str]]
    """Application namespaces to create at Pod Security restricted (enforce, audit and warn at a
    pinned version) with default-deny ingress and egress plus DNS egress to kube-system. DNS-1123
    labels. Default: production and staging."""
    name_prefix: NotRequired[str]
    """Prefix of every child's logical name. Default: the component's own name, so two instances in
    one program never collide."""
    namespace_labels: NotRequired[dict[str, dict[str, str]]]
    """Extra labels per namespace, e.g. {"production": {"istio-injection": "enabled"}} for sidecar
    injection. Default: none."""


CLUSTER_ROLES = ("cluster-admin", "view")
NAMESPACE_ROLES = ("developer", "viewer")


def _check_args(args: SecurityBaselineArgs, namespaces: list[str]) -> None:
    for ns in namespaces:
        if not re.fullmatch(DNS_LABEL, ns) or len(ns) > 63:
            raise ValueError(f"namespaces: {ns!r} is not a DNS-1123 label")
    for g in args.get("groups") or []:
        if isinstance(g["subject"], str) and g["subject"].startswith("system:"):
            raise ValueError(f"groups[{g['name']}].subject: {g['subject']!r} is a built-in system group")
        role = g.get("cluster_role")
        if role is not None and role not in CLUSTER_ROLES:
            raise ValueError(f"groups[{g['name']}].clusterRole: {role!r} is not one of {', '.join(CLUSTER_ROLES)}")
        for ns, ns_role in (g.get("namespace_roles") or {}).items():
            if ns not in namespaces:
                raise ValueError(f"groups[{g['name']}].namespaceRoles: {ns!r} is not one of the namespaces ({', '.join(namespaces)})")
            if ns_role not in NAMESPACE_ROLES:
                raise ValueError(f"groups[{g['name']}].namespaceRoles.{ns}: {ns_role!r} is not one of {', '.join(NAMESPACE_ROLES)}")


class SecurityBaseline(pulumi.ComponentResource):
    """The in-cluster security baseline on one cluster: application namespaces at Pod Security
    restricted, each with default-deny network policies, and RBAC for identity-provider groups."""

    namespace_names: pulumi.Output[list[str]]
    """The application namespaces created, in order."""
    binding_names: pulumi.Output[list[str]]
    """Names of the ClusterRoleBindings and RoleBindings created for the groups."""

    def __init__(self, name: str, args: SecurityBaselineArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(SecurityBaseline), name, None, renamed_from("archipelago:security:SecurityBaseline", opts))
        provider = args["kubernetes_provider"]
        prefix = args.get("name_prefix") or name
        namespaces = list(args.get("namespaces") or APPLICATION_NAMESPACES)
        _check_args(args, namespaces)
        # The Namespace objects, for programs that make their own objects wait for them.
        self.namespace_objects: dict[str, k8s.core.v1.Namespace] = {
            ns: pss_namespace_on(provider, ns, "restricted", parent=self, logical_name=f"{prefix}-ns-{ns}",
                                 labels=(args.get("namespace_labels") or {}).get(ns))
            for ns in namespaces
        }
        for ns, obj in self.namespace_objects.items():
            self._default_deny(provider, prefix, ns, obj)
        self.bindings: list[pulumi.Resource] = self._group_bindings(provider, prefix, args)
        self.namespace_names = pulumi.Output.from_input(namespaces)
        self.binding_names = pulumi.Output.all(*[b.metadata.name for b in self.bindings]).apply(list)  # type: ignore[attr-defined]
        self.register_outputs({"namespaces": namespaces, "namespaceNames": self.namespace_names, "bindingNames": self.binding_names})

    def _opts(self, provider: pulumi.ProviderResource, **kwargs: Any) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, provider=provider, **kwargs)

    def _group_bindings(self, provider: k8s.Provider, prefix: str, args: SecurityBaselineArgs) -> list[pulumi.Resource]:
        developer_roles: dict[str, k8s.rbac.v1.Role] = {}
        bindings: list[pulumi.Resource] = []
        for g in args.get("groups") or []:
            subjects = [k8s.rbac.v1.SubjectArgs(kind="Group", name=g["subject"], api_group=RBAC_API)]
            slug = _slug(g["name"])
            role = g.get("cluster_role")
            if role:
                bindings.append(k8s.rbac.v1.ClusterRoleBinding(
                    f"{prefix}-group-{slug}-{role}",
                    metadata=k8s.meta.v1.ObjectMetaArgs(name=f"archipelago:{slug}:{role}"),
                    role_ref=k8s.rbac.v1.RoleRefArgs(api_group=RBAC_API, kind="ClusterRole", name=role),
                    subjects=subjects,
                    opts=self._opts(provider),
                ))
            for ns, ns_role in sorted((g.get("namespace_roles") or {}).items()):
                if ns_role == "developer" and ns not in developer_roles:
                    developer_roles[ns] = k8s.rbac.v1.Role(
                        f"{prefix}-{ns}-developer",
                        metadata=k8s.meta.v1.ObjectMetaArgs(name="developer", namespace=ns),
                        rules=developer_rules(bool(args.get("developer_secrets_read"))),
                        opts=self._opts(provider, depends_on=[self.namespace_objects[ns]]),
                    )
                # "viewer" reuses the built-in aggregated view ClusterRole, scoped by a RoleBinding.
                ref = (k8s.rbac.v1.RoleRefArgs(api_group=RBAC_API, kind="Role", name="developer") if ns_role == "developer"
                       else k8s.rbac.v1.RoleRefArgs(api_group=RBAC_API, kind="ClusterRole", name="view"))
                deps: list[pulumi.Resource] = [self.namespace_objects[ns], *([developer_roles[ns]] if ns_role == "developer" else [])]
                bindings.append(k8s.rbac.v1.RoleBinding(
                    f"{prefix}-{ns}-group-{slug}-{ns_role}",
                    metadata=k8s.meta.v1.ObjectMetaArgs(name=f"archipelago:{slug}:{ns_role}", namespace=ns),
                    role_ref=ref,
                    subjects=subjects,
                    opts=self._opts(provider, depends_on=deps),
                ))
        return bindings

    def _default_deny(self, provider: k8s.Provider, prefix: str, ns: str, obj: k8s.core.v1.Namespace) -> None:
        """Deny all ingress and egress in ``ns``; the only egress allowed is DNS to kube-system."""
        opts = self._opts(provider, depends_on=[obj])
        k8s.networking.v1.NetworkPolicy(
            f"{prefix}-{ns}-default-deny",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="default-deny", namespace=ns),
            spec=k8s.networking.v1.NetworkPolicySpecArgs(
                pod_selector=k8s.meta.v1.LabelSelectorArgs(), policy_types=["Ingress", "Egress"]
            ),
            opts=opts,
        )
        k8s.networking.v1.NetworkPolicy(
            f"{prefix}-{ns}-allow-dns",
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
    return naming.group_slug(group)


def group_args(groups: list[GroupBinding], cloud: str) -> list[GroupBindingArgs]:
    """The fleet's group config as one cluster's component inputs: each group with the RBAC subject
    it has on ``cloud`` (groups that cloud cannot see are left out)."""
    out: list[GroupBindingArgs] = []
    for g in groups:
        subject = GROUP_SUBJECT[cloud](g)
        if subject is None:
            continue
        item: GroupBindingArgs = {"name": g.name, "subject": subject, "namespace_roles": dict(g.namespace_roles)}
        if g.cluster_role:
            item["cluster_role"] = g.cluster_role
        out.append(item)
    return out


def apply_security_baseline(handles: list[ClusterHandle], groups: list[GroupBinding], developer_secrets_read: bool,
                            namespace_labels: dict[str, dict[str, str]] | None = None) -> list[SecurityBaseline]:
    """The fleet's composition: one SecurityBaseline per cluster, children named from the cluster
    (as they always were, so their URNs stay put), namespaces handed to the cluster's handle."""
    out = []
    for h in handles:
        baseline = SecurityBaseline(
            f"{h.name}-security",
            SecurityBaselineArgs(kubernetes_provider=h.provider, groups=group_args(groups, h.cloud),
                                 developer_secrets_read=developer_secrets_read,
                                 namespaces=list(APPLICATION_NAMESPACES), name_prefix=h.name,
                                 namespace_labels=namespace_labels or {}),
            pulumi.ResourceOptions(parent=h.component),
        )
        h.app_namespaces.update(baseline.namespace_objects)
        out.append(baseline)
    return out
