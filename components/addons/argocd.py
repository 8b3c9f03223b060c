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

Both components take plain args (Kubernetes providers, the repository, names, the API address and
CA of a spoke); :func:`argocd_args` and :func:`hub_registration_args` beside them turn the fleet's
cluster handles and ``argocd`` config into those args.
"""

# No `from __future__ import annotations`: the package analyzer reads the args' annotations as objects.

import re
from collections.abc import Mapping, Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components import naming
from components.addons.helm import release_on
from components.fleet.tokens import service_account_token_on
from components.handle import ClusterHandle
from components.security.namespaces import pss_namespace_on
from components.tokens import component_type, renamed_from
from components.waits import depends_on_of
from stacks.baseline import APPLICATION_NAMESPACES
from stacks.config import DNS_LABEL
from stacks.sections.argocd import GIT_REF, REPO_PATH, REPO_URL, TEMPLATE, ArgoCDConfig, _has_credentials  # pyright: ignore[reportPrivateUsage]
from stacks.versions import CRD_API_VERSIONS

NAMESPACE = "argocd"
RELEASE_NAME = "argocd"
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


def destinations_for(name: str, server: pulumi.Input[str], namespaces: Sequence[str] = APPLICATION_NAMESPACES,
                     ) -> list[dict[str, pulumi.Input[str]]]:
    """One cluster's allowed destinations: each application namespace, by name and by API address.

    No wildcards and no deny patterns: a destination ``{server: "*", namespace: "!x"}`` matches
    every other namespace of every cluster (``globMatch`` with negation in app_project_types.go).
    One entry per field: Applications name their cluster either way.
    """
    return [{key: value, "namespace": ns} for ns in namespaces for key, value in (("name", name), ("server", server))]


def project_spec(repo_url: str, destinations: list[dict[str, pulumi.Input[str]]]) -> dict[str, Any]:
    return {
        "description": "Fleet applications from the GitOps repository",
        "sourceRepos": [repo_url],
        "destinations": destinations,
        # Nothing at cluster scope: the spokes' RBAC grants no cluster-scoped write.
        "clusterResourceWhitelist": [],
    }


def application_set_spec(repo: "RepoArgs", purposes: list[str], default_ns: str) -> dict[str, Any]:
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
                "source": {"repoURL": repo["repo_url"], "targetRevision": repo["revision"],
                           "path": f"{repo['path_prefix']}/{{{{name}}}}"},
                "destination": {"server": "{{server}}", "namespace": default_ns},
                "syncPolicy": sync_policy(),
            },
        },
    }


def custom_resource(
    prefix: str, kind: str, name: str, spec: dict[str, Any], opts: pulumi.ResourceOptions,
    *, finalizers: list[str] | None = None,
) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        naming.logical(prefix, "argocd", kind.lower(), name),
        api_version=CRD_API_VERSIONS[kind],
        kind=kind,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=NAMESPACE, finalizers=finalizers),
        spec=spec,
        opts=opts,
    )


class RepoArgs(TypedDict):
    """The repository fields every Argo CD source names (resolved defaults)."""

    repo_url: str
    revision: str
    path_prefix: str


class SpokeArgs(TypedDict):
    """A cluster the hub deploys to (joined with a HubRegistration)."""

    name: str
    """The cluster's name in Argo CD (its cluster Secret's name): a DNS-1123 label."""
    server: pulumi.Input[str]
    """The cluster's API server URL, as in its cluster Secret."""


class ArgoCDArgs(TypedDict):
    """Inputs of an ArgoCD: the cluster's Kubernetes provider, the GitOps repository, and the hub's
    spokes (or standalone)."""

    kubernetes_provider: k8s.Provider
    """The Kubernetes provider of the cluster; every object is created through it."""
    repo_url: str
    """Git repository of the applications: https://host/path, ssh://host/path or git@host:path, no
    credentials in it and no template braces. The AppProject's only source."""
    revision: NotRequired[str]
    """Branch, tag or commit of repoUrl (letters, digits and . _ / + -; no '..', leading '-' or
    braces). Default: main."""
    path_prefix: NotRequired[str]
    """Each cluster's applications live at <pathPrefix>/<cluster name>: a relative path inside the
    repository, no '.' or '..' segment. Default: clusters."""
    cluster_name: NotRequired[str]
    """This cluster's name in Argo CD (a DNS-1123 label): the standalone Application
    <clusterName>-apps and its path, the hub's own cluster Secret cluster-<clusterName>. Default:
    the component's name."""
    standalone: NotRequired[bool]
    """Manage only this cluster: an Application for <pathPrefix>/<clusterName> instead of the hub's
    ApplicationSet; no spokes. Default: false (a hub)."""
    spokes: NotRequired[list[SpokeArgs]]
    """Hub: the clusters its AppProject may deploy to (each application namespace, by name and by
    server; nothing else). The ApplicationSet makes <name>-apps for every cluster Secret labelled
    purpose=workload. Default: none."""
    manage_self: NotRequired[bool]
    """Hub: deploy to the hub too, through a declarative in-cluster Secret labelled
    purpose=management (the ApplicationSet then selects it as well). Default: false."""
    self_labels: NotRequired[dict[str, str]]
    """With manageSelf: more labels on the hub's own cluster Secret, for ApplicationSet generators.
    Default: none."""
    self_annotations: NotRequired[dict[str, pulumi.Input[str]]]
    """With manageSelf: annotations on the hub's own cluster Secret (GitOps Bridge metadata).
    Default: none."""
    namespaces: NotRequired[list[str]]
    """The application namespaces (DNS-1123 labels; they must exist, Argo CD never creates a
    namespace): the only destinations on every cluster. Default: production, staging."""
    default_namespace: NotRequired[str]
    """Namespace that manifests without one land in; one of namespaces. Default: the first of
    namespaces."""
    ha: NotRequired[bool]
    """High availability: redis-ha (needs 3 nodes), a sharded application controller, autoscaled
    server and repo-server, PodDisruptionBudgets, larger requests. Default: false (one replica each)."""
    controller_shards: NotRequired[int]
    """With ha: application-controller replicas, each a shard of the clusters, 1-20. Default: 1."""
    name_prefix: NotRequired[str]
    """Prefix of every child's logical name. Default: the component's own name."""


def _check_label(field: str, value: str) -> None:
    if not re.fullmatch(DNS_LABEL, value) or len(value) > 63:
        raise ValueError(f"{field}: {value!r} is not a DNS-1123 label")


def _check_namespaces(namespaces: list[str]) -> None:
    if not namespaces:
        raise ValueError("namespaces: [] names no namespace")
    for i, ns in enumerate(namespaces):
        _check_label(f"namespaces[{i}]", ns)


def _check_argocd(args: ArgoCDArgs, cluster: str, namespaces: list[str], default_ns: str) -> None:
    url = args["repo_url"]
    if not REPO_URL.fullmatch(url) or TEMPLATE.search(url):
        raise ValueError(f"repoUrl: {url!r} is not https://host/path, ssh://host/path or git@host:path (no template braces)")
    if _has_credentials(url):
        raise ValueError("repoUrl: <redacted URL with credentials> must not carry credentials")
    revision, path = args.get("revision", "main"), args.get("path_prefix", "clusters")
    if not GIT_REF.fullmatch(revision):
        raise ValueError(f"revision: {revision!r} is not a git branch, tag or commit")
    if not REPO_PATH.fullmatch(path):
        raise ValueError(f"pathPrefix: {path!r} is not a relative path inside the repository")
    _check_label("clusterName", cluster)
    _check_namespaces(namespaces)
    if default_ns not in namespaces:
        raise ValueError(f"defaultNamespace: {default_ns!r} is not one of the namespaces ({', '.join(namespaces)})")
    shards = args.get("controller_shards", 1)
    if not 1 <= shards <= 20:
        raise ValueError(f"controllerShards: {shards} is not between 1 and 20")
    spokes = args.get("spokes") or []
    if args.get("standalone") and (spokes or args.get("manage_self")):
        raise ValueError("standalone: a standalone Argo CD manages only its own cluster (no spokes, no manageSelf)")
    seen: set[str] = set()
    for i, sp in enumerate(spokes):
        _check_label(f"spokes[{i}].name", sp["name"])
        if sp["name"] in seen or sp["name"] == cluster:
            raise ValueError(f"spokes[{i}].name: {sp['name']!r} is listed twice (or is this cluster)")
        seen.add(sp["name"])


class ArgoCD(pulumi.ComponentResource):
    """Argo CD on one cluster: the hub (the fleet AppProject and an ApplicationSet making one
    Application per joined cluster), or a standalone install that manages only itself."""

    namespace_name: pulumi.Output[str]
    """The namespace Argo CD runs in (argocd); cluster Secrets of spokes go there."""
    release_name: pulumi.Output[str]
    """Name of the Helm release of the argo-cd chart."""
    project_name: pulumi.Output[str]
    """The AppProject every Application belongs to (fleet)."""
    apps_name: pulumi.Output[str]
    """The hub's ApplicationSet (workload-clusters), or the standalone Application (<clusterName>-apps)."""

    def __init__(self, name: str, args: ArgoCDArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(ArgoCD), name, None, renamed_from("archipelago:addons:ArgoCD", opts))
        provider = args["kubernetes_provider"]
        prefix = args.get("name_prefix") or name
        cluster = args.get("cluster_name") or name
        namespaces = list(args.get("namespaces") or APPLICATION_NAMESPACES)
        default_ns = args.get("default_namespace") or namespaces[0]
        _check_argocd(args, cluster, namespaces, default_ns)
        repo = RepoArgs(repo_url=args["repo_url"], revision=args.get("revision", "main"), path_prefix=args.get("path_prefix", "clusters"))
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        # Python-only handles: the namespace (hub registrations wait for it), release and custom resources.
        self.namespace = pss_namespace_on(provider, NAMESPACE, POD_SECURITY, parent=self, logical_name=f"{prefix}-ns-{NAMESPACE}")
        self.release = release_on(
            provider, "argo-cd", logical_name=f"{prefix}-argocd", release_name=RELEASE_NAME, namespace=NAMESPACE,
            values=helm_values(bool(args.get("ha", False)), args.get("controller_shards", 1)), parent=self, depends_on=[self.namespace],
        )
        # The chart installs the CRDs; the custom resources wait for it.
        cr_opts = pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[self.release]))
        self.self_secret: k8s.core.v1.Secret | None = None
        if not args.get("standalone"):
            # Allowed by name or by API address: ApplicationSet destinations use the server URL,
            # and hand-written Applications often use the name. The hub is not a destination
            # unless it manages itself.
            destinations: list[dict[str, pulumi.Input[str]]] = []
            for sp in sorted(args.get("spokes") or [], key=lambda x: x["name"]):
                destinations += destinations_for(sp["name"], sp["server"], namespaces)
            purposes = ["workload"]
            if args.get("manage_self"):
                # The in-cluster destination has no Secret. A declarative one gives the hub the same
                # labels as the spokes, and the API server reaches it with Argo CD's own pod identity.
                self.self_secret = k8s.core.v1.Secret(
                    naming.logical(prefix, "argocd", "self"),
                    metadata=k8s.meta.v1.ObjectMetaArgs(
                        name=f"cluster-{cluster}", namespace=NAMESPACE,
                        labels={**(args.get("self_labels") or {}), SECRET_TYPE_LABEL: "cluster", "purpose": "management"},
                        annotations=args.get("self_annotations") or {},
                    ),
                    string_data={"name": cluster, "server": IN_CLUSTER,
                                 "config": '{"tlsClientConfig":{"insecure":false}}'},
                    opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[self.namespace])),
                )
                destinations += destinations_for(cluster, IN_CLUSTER, namespaces)
                purposes.append("management")
            self.project = custom_resource(prefix, "AppProject", PROJECT, project_spec(repo["repo_url"], destinations), cr_opts,
                                           finalizers=["resources-finalizer.argocd.argoproj.io"])
            apps = "workload-clusters"
            self.apps = custom_resource(prefix, "ApplicationSet", apps, application_set_spec(repo, purposes, default_ns),
                                        pulumi.ResourceOptions.merge(cr_opts, pulumi.ResourceOptions(depends_on=[self.project])))
        else:
            self.project = custom_resource(prefix, "AppProject", PROJECT,
                                           project_spec(repo["repo_url"], destinations_for(cluster, IN_CLUSTER, namespaces)),
                                           cr_opts, finalizers=["resources-finalizer.argocd.argoproj.io"])
            apps = f"{cluster}-apps"
            self.apps = custom_resource(prefix, "Application", apps, {
                "project": PROJECT,
                "source": {"repoURL": repo["repo_url"], "targetRevision": repo["revision"], "path": f"{repo['path_prefix']}/{cluster}"},
                "destination": {"server": IN_CLUSTER, "namespace": default_ns},
                "syncPolicy": sync_policy(),
            }, pulumi.ResourceOptions.merge(cr_opts, pulumi.ResourceOptions(depends_on=[self.project])))
        self.namespace_name = pulumi.Output.from_input(NAMESPACE)
        self.release_name = pulumi.Output.from_input(RELEASE_NAME)
        self.project_name = pulumi.Output.from_input(PROJECT)
        self.apps_name = pulumi.Output.from_input(apps)
        self.register_outputs({"namespaceName": self.namespace_name, "releaseName": self.release_name,
                               "projectName": self.project_name, "appsName": self.apps_name})


def argocd_args(handle: ClusterHandle, settings: ArgoCDConfig, environment: str, *, hub: bool,
                spokes: list[ClusterHandle] | None = None) -> ArgoCDArgs:
    """The fleet's composition: Argo CD on one cluster (the hub with its spokes, or standalone)
    from the fleet's ``argocd`` config; HA outside dev, children named from the cluster as always."""
    args = ArgoCDArgs(
        kubernetes_provider=handle.provider, repo_url=settings.repo_url, revision=settings.revision, path_prefix=settings.path_prefix,
        cluster_name=handle.name, standalone=not hub, namespaces=list(APPLICATION_NAMESPACES),
        default_namespace=default_namespace(environment), ha=environment != "dev", controller_shards=settings.controller_shards,
        name_prefix=handle.name)
    if hub:
        args["spokes"] = [SpokeArgs(name=s.name, server=s.endpoint) for s in spokes or []]
        args["manage_self"] = settings.manage_management
        if settings.manage_management:
            args["self_labels"] = cluster_labels(handle, environment)
            args["self_annotations"] = cluster_annotations(handle, environment, settings)
    return args


class HubRegistrationArgs(TypedDict):
    """Inputs of a HubRegistration: both clusters' Kubernetes providers, and how the hub reaches the spoke."""

    hub_kubernetes_provider: k8s.Provider
    """The hub's Kubernetes provider: the cluster Secret is created through it, in namespace argocd."""
    spoke_kubernetes_provider: k8s.Provider
    """The spoke's Kubernetes provider: its Argo CD service account, role and bindings are created through it."""
    spoke_name: str
    """The spoke's name in Argo CD (a DNS-1123 label): the cluster Secret is cluster-<spokeName>."""
    spoke_server: pulumi.Input[str]
    """The spoke's API server URL (https://...), as the hub reaches it."""
    spoke_ca_data: pulumi.Input[str]
    """Base64 PEM of the CA of the spoke's API server."""
    namespaces: NotRequired[list[str]]
    """The spoke's application namespaces (DNS-1123 labels; they must exist): the only ones Argo CD
    may read and write there. Default: production, staging."""
    labels: NotRequired[dict[str, str]]
    """Labels of the cluster Secret, for ApplicationSet generators (ArgoCD's selects
    purpose=workload). Default: purpose=workload."""
    annotations: NotRequired[dict[str, pulumi.Input[str]]]
    """Annotations of the cluster Secret (GitOps Bridge metadata an Application can template from).
    Default: none."""
    name_prefix: NotRequired[str]
    """Prefix of every child's logical name. Default: the component's own name."""


class HubRegistration(pulumi.ComponentResource):
    """Joins a spoke to an Argo CD hub: the spoke's least-privilege Argo CD identity (a service
    account bound only in the application namespaces, no cluster-scoped write), and the cluster
    Secret on the hub that uses its token (a Pulumi secret)."""

    secret_name: pulumi.Output[str]
    """Name of the cluster Secret on the hub (cluster-<spokeName>, namespace argocd)."""
    service_account: pulumi.Output[str]
    """The spoke's service account Argo CD acts as, namespace/name."""

    def __init__(self, name: str, args: HubRegistrationArgs, opts: pulumi.ResourceOptions | None = None, *,
                 hub_ready: Sequence[pulumi.Resource] = (), namespaces_ready: Mapping[str, pulumi.Resource] | None = None):
        """Python only: ``hub_ready`` (the hub's argocd namespace) and ``namespaces_ready`` (the
        spoke's application Namespace objects by name) are waited for. From any language: the
        cluster Secret and the RoleBindings wait for the component's own ``dependsOn``."""
        super().__init__(component_type(HubRegistration), name, None, renamed_from("archipelago:fleet:ArgoCDHubRegistration", opts))
        waits = depends_on_of(opts)
        spoke_name = args["spoke_name"]
        namespaces = list(args.get("namespaces") or APPLICATION_NAMESPACES)
        _check_label("spokeName", spoke_name)
        _check_namespaces(namespaces)
        prefix = args.get("name_prefix") or name
        spoke_provider = args["spoke_kubernetes_provider"]
        spoke_opts = pulumi.ResourceOptions(parent=self, provider=spoke_provider)
        ready = namespaces_ready or {}
        access_ns = pss_namespace_on(spoke_provider, "argocd-access", "restricted", parent=self, logical_name=f"{prefix}-ns")
        role = k8s.rbac.v1.ClusterRole(
            f"{prefix}-manager-role",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=MANAGER_ROLE),
            rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=["*"], resources=["*"], verbs=READ_VERBS)] + [
                k8s.rbac.v1.PolicyRuleArgs(api_groups=[group], resources=list(kinds), verbs=WRITE_VERBS)
                for group, kinds in MANAGER_WRITES
            ],
            opts=spoke_opts,
        )
        # Namespaced mode: the token works only in the application namespaces (the cluster
        # Secret's `namespaces` tells Argo CD so), so a leaked hub token can neither read nor write
        # istio-system's CA key, Velero's credentials or any other system Secret.
        sa = service_account_token_on(
            spoke_provider, server=args["spoke_server"], ca_data=args["spoke_ca_data"], namespace="argocd-access",
            name="argocd-manager", cluster_role=None, parent=self, logical_prefix=f"{prefix}-manager", depends_on=[access_ns, role],
        )
        subject = k8s.rbac.v1.SubjectArgs(kind="ServiceAccount", name="argocd-manager", namespace="argocd-access")
        for ns in namespaces:
            k8s.rbac.v1.RoleBinding(
                f"{prefix}-manager-{ns}",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="argocd-manager", namespace=ns),
                role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name=MANAGER_ROLE),
                subjects=[subject],
                opts=pulumi.ResourceOptions.merge(spoke_opts, pulumi.ResourceOptions(depends_on=[role, *([ready[ns]] if ns in ready else []), *waits])),
            )
        # Cluster scope: nothing. The AppProject whitelists no cluster-scoped kind and the
        # cluster Secret says clusterResources "false", so the controller lists none.
        # The spoke's bearer token (a Pulumi secret; Python only).
        self.token = sa.token
        config = pulumi.Output.json_dumps({
            "bearerToken": sa.token,
            "tlsClientConfig": {"insecure": False, "caData": sa.ca_data},
        })
        # The cluster Secret on the hub (Python only).
        self.secret = k8s.core.v1.Secret(
            f"{prefix}-hub-secret",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=f"cluster-{spoke_name}", namespace=NAMESPACE,
                labels={"purpose": "workload", **(args.get("labels") or {}), SECRET_TYPE_LABEL: "cluster"},
                annotations=args.get("annotations") or {},
            ),
            type="Opaque",
            string_data={"name": spoke_name, "server": sa.server, "project": PROJECT, "config": pulumi.Output.secret(config),
                         "namespaces": ",".join(namespaces),
                         "clusterResources": str(CLUSTER_RESOURCES).lower()},
            opts=pulumi.ResourceOptions(parent=self, provider=args["hub_kubernetes_provider"], depends_on=[*hub_ready, *waits]),
        )
        self.secret_name = self.secret.metadata.name
        self.service_account = pulumi.Output.from_input("argocd-access/argocd-manager")
        self.register_outputs({"secretName": self.secret_name, "serviceAccount": self.service_account})


def hub_registration_args(hub: ClusterHandle, spoke: ClusterHandle, settings: ArgoCDConfig, environment: str,
                          annotations: dict[str, pulumi.Input[str]] | None = None) -> HubRegistrationArgs:
    """The fleet's composition: one spoke joined to the hub, its cluster Secret labelled and
    annotated from the fleet's spec (``annotations``: more from other add-ons, e.g. the spoke's
    Velero bucket); children named ``<spoke>-argocd-...`` as always."""
    return HubRegistrationArgs(
        hub_kubernetes_provider=hub.provider, spoke_kubernetes_provider=spoke.provider, spoke_name=spoke.name,
        spoke_server=spoke.endpoint, spoke_ca_data=spoke.ca_data, namespaces=list(APPLICATION_NAMESPACES),
        labels=cluster_labels(spoke, environment), annotations=cluster_annotations(spoke, environment, settings, annotations),
        name_prefix=naming.logical(spoke.name, "argocd"))
