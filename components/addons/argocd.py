"""Argo CD hub and spoke.

:class:`ArgoCD` installs Argo CD on one cluster: the management cluster (the hub, with the fleet
AppProject and the reference ApplicationSet) or a workload cluster that runs standalone (with an
Application for its own ``clusters/<name>`` directory). :class:`HubRegistration` joins one spoke
to the hub. It hangs off both clusters and nothing waits for it.

Credentials design: each spoke gets a dedicated service account bound to a ClusterRole defined
here (read all, write only namespaced application kinds). The hub reads its token back as a
Pulumi secret (``components.fleet.tokens``). We chose this over ``argocd-k8s-auth`` exec config
with workload identity because it works the same way on all three clouds. It needs no hub role
federated into three clouds, and no EKS access entry or Azure RBAC assignment with admin-level
access policies. Its scope is plain Kubernetes RBAC that this module states and the tests check.
The price is a long-lived bearer token. It lives in a Secret on the hub only, and rotating it
means replacing the spoke's token Secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import naming
from components.addons.helm import release
from components.fleet.tokens import service_account_token
from components.handle import ClusterHandle
from components.security.namespaces import pss_namespace
from stacks.baseline import APPLICATION_NAMESPACES
from stacks.sections.argocd import ArgoCDConfig
from stacks.versions import CRD_API_VERSIONS

NAMESPACE = "argocd"
PROJECT = "fleet"
IN_CLUSTER = "https://kubernetes.default.svc"
SECRET_TYPE_LABEL = "argocd.argoproj.io/secret-type"
# Restricted: every pod of chart argo-cd 10.1.1 (controller, server, repo-server, applicationset,
# notifications, redis or redis-ha + haproxy, the redis secret-init job) sets runAsNonRoot,
# drops ALL capabilities, uses the RuntimeDefault seccomp profile and no host namespaces. Dex is
# off, and redis-ha's privileged sysctl init container stays disabled (its chart default).
POD_SECURITY = "restricted"

# On a spoke, Argo CD gets this ClusterRole, bound only inside the application namespaces, and
# nothing else. Its cluster cache lists every namespaced kind in those namespaces, so it can read
# everything there. It can only write the namespaced kinds an application ships. Not
# ``namespaces``: a RoleBinding in a namespace also applies to the Namespace object itself, so that
# write would let a repository push relabel ``production`` to Pod Security ``privileged`` or delete
# it. The baseline creates the application namespaces; Argo CD never creates them. RoleBindings
# can only grant what the role itself holds, because RBAC blocks escalation.
MANAGER_ROLE = "archipelago-argocd-manager"
READ_VERBS = ["get", "list", "watch"]
WRITE_VERBS = ["create", "update", "patch", "delete"]
MANAGER_WRITES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("", ("configmaps", "secrets", "services", "serviceaccounts", "persistentvolumeclaims")),
    ("apps", ("deployments", "statefulsets", "daemonsets")),
    ("batch", ("jobs", "cronjobs")),
    ("autoscaling", ("horizontalpodautoscalers",)),
    ("policy", ("poddisruptionbudgets",)),
    ("networking.k8s.io", ("ingresses", "networkpolicies")),
    ("rbac.authorization.k8s.io", ("roles", "rolebindings")),
)
# The cluster Secret's ``clusterResources``: with ``namespaces`` set, "true" makes the controller
# list every cluster-scoped kind too (gitops-engine pkg/cache/cluster.go, processApi). Fleet
# applications ship no cluster-scoped objects (the AppProject whitelists none), so it is off.
CLUSTER_RESOURCES = False
# argocd-cm ``resource.respectRBAC``: "normal" drops a kind from the cluster cache when listing it
# is Forbidden, instead of failing the whole cluster (util/settings/settings.go RespectRBAC*).
RESPECT_RBAC = "normal"

# Requests and limits per Argo CD container, per environment: (cpu request, memory request,
# cpu limit, memory limit). The HPAs of server and repo-server scale on utilization of requests,
# so without them they never act. Keys are the chart's (argo-cd 10.1.1 values.yaml) paths.
Size = tuple[str, str, str, str]
ARGOCD_SIZES: dict[str, dict[str, Size]] = {
    "small": {
        "controller": ("250m", "512Mi", "1", "1Gi"),
        "server": ("50m", "128Mi", "500m", "256Mi"),
        "repoServer": ("100m", "256Mi", "1", "512Mi"),
        "repoServer.copyutil": ("10m", "32Mi", "100m", "64Mi"),
        "applicationSet": ("50m", "128Mi", "500m", "256Mi"),
        "notifications": ("25m", "64Mi", "200m", "128Mi"),
        "redis": ("50m", "64Mi", "200m", "128Mi"),
        "redisSecretInit": ("10m", "32Mi", "100m", "64Mi"),
    },
    "ha": {
        "controller": ("1", "2Gi", "4", "4Gi"),
        "server": ("250m", "256Mi", "1", "512Mi"),
        "repoServer": ("500m", "512Mi", "2", "1Gi"),
        "repoServer.copyutil": ("10m", "32Mi", "100m", "64Mi"),
        "applicationSet": ("100m", "256Mi", "1", "512Mi"),
        "notifications": ("50m", "128Mi", "500m", "256Mi"),
        "redisSecretInit": ("10m", "32Mi", "100m", "64Mi"),
        "redis-ha.redis": ("100m", "256Mi", "1", "512Mi"),
        "redis-ha.sentinel": ("50m", "64Mi", "200m", "128Mi"),
        "redis-ha.init": ("50m", "64Mi", "200m", "128Mi"),
        "redis-ha.splitBrainDetection": ("25m", "32Mi", "100m", "64Mi"),
        "redis-ha.haproxy": ("100m", "128Mi", "500m", "256Mi"),
        "redis-ha.haproxy.init": ("10m", "32Mi", "100m", "64Mi"),
    },
}


def resource_values(size: str) -> dict[str, Any]:
    """Nested chart values setting ``resources`` at every path of :data:`ARGOCD_SIZES`[size]."""
    out: dict[str, Any] = {}
    for path, (cpu, mem, cpu_max, mem_max) in ARGOCD_SIZES[size].items():
        node = out
        for key in path.split("."):
            node = node.setdefault(key, {})
        node["resources"] = {"requests": {"cpu": cpu, "memory": mem}, "limits": {"cpu": cpu_max, "memory": mem_max}}
    return out


def _merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    out = dict(a)
    for k, v in b.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def default_namespace(environment: str) -> str:
    """The managed namespace an Application's namespace-less manifests land in."""
    return APPLICATION_NAMESPACES[0] if environment == "prod" else APPLICATION_NAMESPACES[-1]


def helm_values(ha: bool, shards: int) -> dict[str, Any]:
    """Chart values. HA: redis-ha, sharded controller, autoscaled server and repo-server, PDBs."""
    values: dict[str, Any] = {
        # No SSO is configured here, so Dex would only add an exposed component.
        "dex": {"enabled": False},
        "configs": {"cm": {"application.resourceTrackingMethod": "annotation", "resource.respectRBAC": RESPECT_RBAC}},
    }
    if not ha:
        values.update({
            "controller": {"replicas": 1},
            "server": {"replicas": 1},
            "repoServer": {"replicas": 1},
            "applicationSet": {"replicas": 1},
            "redis-ha": {"enabled": False},
        })
        return _merge(values, resource_values("small"))
    autoscaled = {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 5}, "pdb": {"enabled": True, "minAvailable": 1}}
    values.update({
        # The chart passes controller.replicas to ARGOCD_CONTROLLER_REPLICAS, which sets the shard
        # count. Clusters are spread over shards with the default (legacy) algorithm. The other
        # algorithms are still experimental upstream.
        "controller": {"replicas": shards, "pdb": {"enabled": True, "minAvailable": 1}},
        "server": autoscaled,
        "repoServer": autoscaled,
        "applicationSet": {"replicas": 2, "pdb": {"enabled": True, "minAvailable": 1}},
        # redis-ha spreads 3 replicas over nodes (anti-affinity): prod node pools have >= 3 nodes.
        "redis-ha": {"enabled": True},
    })
    return _merge(values, resource_values("ha"))


def cluster_labels(handle: ClusterHandle, environment: str) -> dict[str, str]:
    """Labels for ApplicationSet generators. Label values are strings."""
    return {
        SECRET_TYPE_LABEL: "cluster",
        "purpose": handle.role,
        "cloud": handle.cloud,
        "region": handle.region,
        "environment": environment,
        "cluster_name": handle.name,
        "kubernetes_version": handle.spec.kubernetes_version,
        "enable_velero": "true",
    }


def cluster_annotations(
    handle: ClusterHandle, environment: str, settings: ArgoCDConfig, extra: dict[str, pulumi.Input[str]] | None = None,
) -> dict[str, pulumi.Input[str]]:
    """GitOps Bridge style metadata an add-on Application can template from."""
    net = handle.network
    return {
        "cluster_name": handle.name,
        "environment": environment,
        "cloud": handle.cloud,
        "cloud_region": handle.region,
        "cloud_account": handle.account,
        "api_server": handle.endpoint,
        "vpc_cidr": str(net.vpc),
        "pod_cidr": str(net.pods),
        "service_cidr": str(net.services),
        "addons_repo_url": settings.repo_url,
        "addons_repo_revision": settings.revision,
        "addons_repo_basepath": settings.path_prefix,
        "addons_repo_path": f"{settings.path_prefix}/{handle.name}",
        **(extra or {}),
    }


def sync_policy() -> dict[str, Any]:
    # No CreateNamespace=true: the application namespaces exist (security baseline) and the spoke
    # role may not write Namespace objects.
    return {"automated": {"prune": True, "selfHeal": True}}


def destinations_for(name: str, server: pulumi.Input[str]) -> list[dict[str, pulumi.Input[str]]]:
    """One cluster's allowed destinations: each application namespace, by name and by API address.

    No wildcards and no deny patterns: a destination ``{server: "*", namespace: "!x"}`` matches
    every other namespace of every cluster (``globMatch`` with negation in app_project_types.go).
    One entry per field: Applications name their cluster either way.
    """
    return [{key: value, "namespace": ns} for ns in APPLICATION_NAMESPACES for key, value in (("name", name), ("server", server))]


def project_spec(settings: ArgoCDConfig, destinations: list[dict[str, pulumi.Input[str]]]) -> dict[str, Any]:
    return {
        "description": "Fleet applications from the GitOps repository",
        "sourceRepos": [settings.repo_url],
        "destinations": destinations,
        # Nothing at cluster scope: the spokes' RBAC grants no cluster-scoped write.
        "clusterResourceWhitelist": [],
    }


def application_set_spec(settings: ArgoCDConfig, purposes: list[str], environment: str) -> dict[str, Any]:
    """The reference ApplicationSet: one ``<name>-apps`` Application per selected cluster."""
    if purposes == ["workload"]:
        selector: dict[str, Any] = {"matchLabels": {"purpose": "workload"}}
    else:
        selector = {"matchExpressions": [{"key": "purpose", "operator": "In", "values": purposes}]}
    return {
        "generators": [{"clusters": {"selector": selector}}],
        "template": {
            "metadata": {"name": "{{name}}-apps"},
            "spec": {
                "project": PROJECT,
                "source": {"repoURL": settings.repo_url, "targetRevision": settings.revision,
                           "path": f"{settings.path_prefix}/{{{{name}}}}"},
                "destination": {"server": "{{server}}", "namespace": default_namespace(environment)},
                "syncPolicy": sync_policy(),
            },
        },
    }


def custom_resource(
    handle: ClusterHandle, kind: str, name: str, spec: dict[str, Any], opts: pulumi.ResourceOptions,
    *, finalizers: list[str] | None = None,
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        naming.logical(handle.name, "argocd", kind.lower(), name),
        api_version=CRD_API_VERSIONS[kind],
        kind=kind,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=NAMESPACE, finalizers=finalizers),
        spec=spec,
        opts=opts,
    )


@dataclass
class ArgoCDArgs:
    handle: ClusterHandle
    settings: ArgoCDConfig
    environment: str
    # Hub: the clusters its ApplicationSet serves. Standalone: empty.
    hub: bool = True
    spokes: list[ClusterHandle] = field(default_factory=list)


class ArgoCD(pulumi.ComponentResource):
    """Argo CD on one cluster: the hub, or a standalone install that manages only itself."""

    namespace: k8s.core.v1.Namespace
    release: k8s.helm.v3.Release
    project: k8s.apiextensions.CustomResource

    def __init__(self, name: str, args: ArgoCDArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:addons:ArgoCD", name, None, opts)
        h, s = args.handle, args.settings
        ha = args.environment != "dev"
        self.namespace = pss_namespace(h, NAMESPACE, POD_SECURITY, parent=self)
        self.release = release(
            h, "argo-cd", release_name="argocd", namespace=NAMESPACE, values=helm_values(ha, s.controller_shards),
            parent=self, depends_on=[self.namespace],
        )
        # The chart installs the CRDs; the custom resources wait for it.
        cr_opts = h.k8s_opts(self, depends_on=[self.release])
        self.self_secret: k8s.core.v1.Secret | None = None
        if args.hub:
            # Allowed by name or by API address: ApplicationSet destinations use the server URL,
            # and hand-written Applications often use the name. The hub is not a destination
            # unless it manages itself.
            destinations: list[dict[str, pulumi.Input[str]]] = []
            for sp in sorted(args.spokes, key=lambda x: x.name):
                destinations += destinations_for(sp.name, sp.endpoint)
            purposes = ["workload"]
            if s.manage_management:
                # The in-cluster destination has no Secret. A declarative one gives the hub the same
                # labels as the spokes, and the API server reaches it with Argo CD's own pod identity.
                self.self_secret = k8s.core.v1.Secret(
                    naming.logical(h.name, "argocd", "self"),
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=f"cluster-{h.name}", namespace=NAMESPACE, labels=cluster_labels(h, args.environment),
                        annotations=cluster_annotations(h, args.environment, s),
                    ),
                    string_data={"name": h.name, "server": IN_CLUSTER,
                                 "config": '{"tlsClientConfig":{"insecure":false}}'},
                    opts=h.k8s_opts(self, depends_on=[self.namespace]),
                )
                destinations += destinations_for(h.name, IN_CLUSTER)
                purposes.append("management")
            self.project = custom_resource(h, "AppProject", PROJECT, project_spec(s, destinations), cr_opts,
                                           finalizers=["resources-finalizer.argocd.argoproj.io"])
            self.apps = custom_resource(h, "ApplicationSet", "workload-clusters", application_set_spec(s, purposes, args.environment),
                                        pulumi.ResourceOptions.merge(cr_opts, pulumi.ResourceOptions(depends_on=[self.project])))
        else:
            self.project = custom_resource(h, "AppProject", PROJECT, project_spec(s, destinations_for(h.name, IN_CLUSTER)),
                                           cr_opts, finalizers=["resources-finalizer.argocd.argoproj.io"])
            self.apps = custom_resource(h, "Application", f"{h.name}-apps", {
                "project": PROJECT,
                "source": {"repoURL": s.repo_url, "targetRevision": s.revision, "path": f"{s.path_prefix}/{h.name}"},
                "destination": {"server": IN_CLUSTER, "namespace": default_namespace(args.environment)},
                "syncPolicy": sync_policy(),
            }, pulumi.ResourceOptions.merge(cr_opts, pulumi.ResourceOptions(depends_on=[self.project])))
        self.register_outputs({"namespace": NAMESPACE, "release": self.release.name})


@dataclass
class HubRegistrationArgs:
    hub: ClusterHandle
    spoke: ClusterHandle
    settings: ArgoCDConfig
    environment: str
    hub_namespace: k8s.core.v1.Namespace
    # Extra GitOps Bridge annotations from other add-ons, e.g. the spoke's Velero bucket.
    annotations: dict[str, pulumi.Input[str]] = field(default_factory=dict)


class HubRegistration(pulumi.ComponentResource):
    """The spoke's least-privilege Argo CD identity, and the cluster Secret on the hub that uses it."""

    secret: k8s.core.v1.Secret
    token: pulumi.Output[str]

    def __init__(self, name: str, args: HubRegistrationArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:fleet:ArgoCDHubRegistration", name, None, opts)
        hub, spoke = args.hub, args.spoke
        prefix = naming.logical(spoke.name, "argocd")
        access_ns = pss_namespace(spoke, "argocd-access", "restricted", parent=self, logical_name=f"{prefix}-ns")
        role = k8s.rbac.v1.ClusterRole(
            f"{prefix}-manager-role",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=MANAGER_ROLE),
            rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=["*"], resources=["*"], verbs=READ_VERBS)] + [
                k8s.rbac.v1.PolicyRuleArgs(api_groups=[group], resources=list(kinds), verbs=WRITE_VERBS)
                for group, kinds in MANAGER_WRITES
            ],
            opts=spoke.k8s_opts(self),
        )
        # Namespaced mode: the token works only in the application namespaces (the cluster
        # Secret's `namespaces` tells Argo CD so), so a leaked hub token can neither read nor write
        # istio-system's CA key, Velero's credentials or any other system Secret.
        sa = service_account_token(
            spoke, namespace="argocd-access", name="argocd-manager", cluster_role=None, parent=self,
            logical_prefix=f"{prefix}-manager", depends_on=[access_ns, role],
        )
        subject = k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name="argocd-manager", namespace="argocd-access")
        for ns in APPLICATION_NAMESPACES:
            k8s.rbac.v1.RoleBinding(
                f"{prefix}-manager-{ns}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="argocd-manager", namespace=ns),
                role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=MANAGER_ROLE),
                subjects=[subject],
                opts=spoke.k8s_opts(self, depends_on=[role, *([spoke.app_namespaces[ns]] if ns in spoke.app_namespaces else [])]),
            )
        # Cluster scope: nothing. The AppProject whitelists no cluster-scoped kind and the
        # cluster Secret says clusterResources "false", so the controller lists none.
        self.token = sa.token
        config = pulumi.Output.json_dumps({
            "bearerToken": sa.token,
            "tlsClientConfig": {"insecure": False, "caData": sa.ca_data},
        })
        self.secret = k8s.core.v1.Secret(
            f"{prefix}-hub-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"cluster-{spoke.name}", namespace=NAMESPACE,
                labels=cluster_labels(spoke, args.environment),
                annotations=cluster_annotations(spoke, args.environment, args.settings, args.annotations),
            ),
            type="Opaque",
            string_data={"name": spoke.name, "server": sa.server, "project": PROJECT, "config": pulumi.Output.secret(config),
                         "namespaces": ",".join(APPLICATION_NAMESPACES),
                         "clusterResources": str(CLUSTER_RESOURCES).lower()},
            opts=hub.k8s_opts(self, depends_on=[args.hub_namespace]),
        )
        self.register_outputs({"secret": self.secret.metadata.name})
