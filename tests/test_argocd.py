"""Argo CD: the hub on the management cluster, a secret-backed cluster Secret per spoke, the fleet
AppProject and the reference ApplicationSet; standalone and self-managing options; config errors."""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Any

import pytest

from components.addons.argocd import ARGOCD_SIZES, CLUSTER_RESOURCES, IN_CLUSTER, MANAGER_ROLE, MANAGER_WRITES
from offline import schemas
from offline.plan import Plan, run_plan
from offline.report import cluster_name, cluster_of
from stacks.baseline import APPLICATION_NAMESPACES
from stacks.validate import build_spec
from stacks.versions import CHARTS

from .addon_support import (
    assert_config_error,
    render_chart,
    restricted_violations,
    workloads,
)
from .conftest import stack_raw

RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
APPSET = "kubernetes:argoproj.io/v1alpha1:ApplicationSet"
PROJECT = "kubernetes:argoproj.io/v1alpha1:AppProject"
APPLICATION = "kubernetes:argoproj.io/v1alpha1:Application"


def argocd_releases(plan: Plan) -> dict[str, dict[str, Any]]:
    by_urn = plan.by_urn()
    return {cluster_name(r, by_urn): r for r in plan.of_type(RELEASE) if r["inputs"]["name"] == "argocd"}


def hub_secrets(plan: Plan) -> dict[str, dict[str, Any]]:
    return {r["inputs"]["metadata"]["name"]: r for r in plan.of_type(SECRET)
            if r["inputs"]["metadata"].get("labels", {}).get("argocd.argoproj.io/secret-type") == "cluster"}


def test_hub_release_only_on_management(plan: Plan) -> None:
    releases = argocd_releases(plan)
    assert list(releases) == [plan.spec.management.name]
    r = releases[plan.spec.management.name]
    assert r["inputs"]["version"] == CHARTS["argo-cd"]["version"]
    assert r["inputs"]["namespace"] == "argocd"
    assert r["provider"].endswith(f"::{plan.spec.management.name}-k8s")


def test_namespace_is_restricted(plan: Plan) -> None:
    by_urn = plan.by_urn()
    ns = [r for r in plan.of_type("kubernetes:core/v1:Namespace") if r["inputs"]["metadata"]["name"] == "argocd"]
    assert [cluster_of(r, by_urn) for r in ns] == [plan.spec.management.name]
    assert ns[0]["inputs"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


@pytest.mark.parametrize("stack, redis_ha, controllers, server", [
    ("dev", False, 1, {"replicas": 1}),
    ("prod", True, 3, {"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 5}, "pdb": {"enabled": True, "minAvailable": 1}}),
])
def test_ha_in_prod_single_in_dev(request: pytest.FixtureRequest, stack: str, redis_ha: bool, controllers: int, server: dict) -> None:
    plan = request.getfixturevalue(f"{stack}_plan")
    values = argocd_releases(plan)[plan.spec.management.name]["inputs"]["values"]
    assert values["redis-ha"]["enabled"] is redis_ha
    assert values["controller"]["replicas"] == controllers
    assert {k: v for k, v in values["server"].items() if k != "resources"} == server
    assert {k: v for k, v in values["repoServer"].items() if k not in ("resources", "copyutil")} == server
    assert values["dex"]["enabled"] is False
    # redis-ha's privileged sysctl init container would break the restricted namespace.
    assert "sysctlImage" not in values.get("redis-ha", {})


def test_rendered_chart_fits_restricted_namespace(plan: Plan) -> None:
    """Render the pinned chart with the plan's values: every pod passes PSS 'restricted', and
    the HA shape reaches the manifests."""
    values = argocd_releases(plan)[plan.spec.management.name]["inputs"]["values"]
    docs = render_chart("argo-cd", values, name="argocd", namespace="argocd")
    assert restricted_violations(docs) == []
    by_name = {d["metadata"]["name"]: d for d in workloads(docs)}
    controller = by_name["argocd-application-controller"]
    env = {e["name"]: e.get("value") for e in controller["spec"]["template"]["spec"]["containers"][0]["env"]}
    assert int(env["ARGOCD_CONTROLLER_REPLICAS"]) == controller["spec"]["replicas"] == values["controller"]["replicas"]
    hpas = {d["spec"]["scaleTargetRef"]["name"]: d["spec"]["minReplicas"] for d in docs if d["kind"] == "HorizontalPodAutoscaler"}
    redis_ha = any(n.startswith("argocd-redis-ha") for n in by_name)
    if plan.spec.environment == "dev":
        assert hpas == {} and not redis_ha and "argocd-dex-server" not in by_name
    else:
        assert hpas == {"argocd-server": 2, "argocd-repo-server": 2} and redis_ha


def test_every_workload_cluster_registered_on_hub(plan: Plan) -> None:
    by_urn = plan.by_urn()
    secrets = hub_secrets(plan)
    assert sorted(secrets) == sorted(f"cluster-{c.name}" for c in plan.spec.workloads)
    for c in plan.spec.workloads:
        s = secrets[f"cluster-{c.name}"]
        # On the hub's provider, in the argocd namespace, credentials masked as a secret.
        assert cluster_of(s, by_urn) == plan.spec.management.name
        assert s["inputs"]["metadata"]["namespace"] == "argocd"
        assert s["inputs"]["stringData"] == "[secret]"
        labels = s["inputs"]["metadata"]["labels"]
        assert {k: labels[k] for k in ("purpose", "cloud", "region", "environment")} == {
            "purpose": "workload", "cloud": c.cloud, "region": c.region, "environment": plan.spec.environment}
        ann = s["inputs"]["metadata"]["annotations"]
        assert ann["cluster_name"] == c.name and ann["addons_repo_path"] == f"clusters/{c.name}"
        assert ann["cloud_account"] and ann["api_server"].startswith("https://")
        assert ann["vpc_cidr"] == str(c.network.vpc)


def test_spoke_token_is_a_secret_output(prod_plan: Plan) -> None:
    # The token Secret on each spoke marks its data secret; the hub Secret carries it masked.
    tokens = [r for r in prod_plan.of_type(SECRET) if r["inputs"].get("type") == "kubernetes.io/service-account-token"
              and r["name"].endswith("-argocd-manager-token")]
    assert len(tokens) == len(prod_plan.spec.workloads)
    assert all("data" in r["secretOutputs"] for r in tokens)


def test_spoke_role_is_least_privilege(plan: Plan) -> None:
    by_urn = plan.by_urn()
    roles = [r for r in plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
             if r["inputs"]["metadata"]["name"] == MANAGER_ROLE]
    assert sorted(cluster_name(r, by_urn) for r in roles) == sorted(c.name for c in plan.spec.workloads)
    for rule in roles[0]["inputs"]["rules"]:
        if "*" in rule["resources"]:
            assert rule["verbs"] == ["get", "list", "watch"]
        assert not {"escalate", "bind", "impersonate", "*"} & set(rule["verbs"])
    written = {(rule["apiGroups"][0], res) for rule in roles[0]["inputs"]["rules"] if "create" in rule["verbs"] for res in rule["resources"]}
    assert written == {(g, k) for g, kinds in MANAGER_WRITES for k in kinds}
    assert ("rbac.authorization.k8s.io", "clusterroles") not in written
    # Namespaced mode: the role is bound only inside the application namespaces; cluster-wide the
    # token may only read namespaces. No ClusterRoleBinding of the manager role exists.
    assert not [r for r in plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
                if r["inputs"]["roleRef"]["name"] == MANAGER_ROLE]
    bindings = [r for r in plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
                if r["inputs"]["roleRef"]["name"] == MANAGER_ROLE]
    assert sorted((cluster_of(b, by_urn), b["inputs"]["metadata"]["namespace"]) for b in bindings) == sorted(
        (c.name, ns) for c in plan.spec.workloads for ns in APPLICATION_NAMESPACES)
    assert all(b["inputs"]["subjects"][0]["name"] == "argocd-manager" for b in bindings)
    # Nothing at cluster scope: no binding of any kind for the manager outside the namespaces.
    assert not [r for r in plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
                if any(sub["name"] == "argocd-manager" for sub in r["inputs"]["subjects"])]


def test_spoke_role_cannot_write_namespaces(plan: Plan) -> None:
    """A RoleBinding in a namespace grants its verbs on that Namespace object too: a request for
    ``/api/v1/namespaces/<ns>`` carries namespace ``<ns>`` in its attributes, so RBAC checks the
    RoleBindings of ``<ns>`` (kubernetes/kubernetes
    staging/src/k8s.io/apiserver/pkg/endpoints/request/requestinfo.go @v1.33). Writing
    ``namespaces`` would let anyone who can push to the GitOps repository relabel ``production``
    to Pod Security ``privileged``, or delete it."""
    roles = [r for r in plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
             if r["inputs"]["metadata"]["name"] == MANAGER_ROLE]
    assert roles
    for role in roles:
        for rule in role["inputs"]["rules"]:
            if ("" in rule["apiGroups"] or "*" in rule["apiGroups"]) and {"namespaces", "*"} & set(rule["resources"]):
                assert set(rule["verbs"]) <= {"get", "list", "watch"}, rule


def test_hub_links_hang_off_clusters(plan: Plan) -> None:
    """Neither cluster's own components wait on a registration; the registration waits on both."""
    by_urn = plan.by_urn()
    reg_urns = {r["urn"] for r in plan.resources if "ArgoCDHubRegistration" in r["urn"]}
    for r in plan.resources:
        if r["urn"] not in reg_urns:
            assert not reg_urns & set(r["dependencies"]), r["urn"]
    hub_release = argocd_releases(plan)[plan.spec.management.name]
    for dep in hub_release["dependencies"]:
        assert cluster_of(by_urn[dep], by_urn) in (plan.spec.management.name, None)


def test_application_set_is_the_reference(plan: Plan) -> None:
    [appset] = plan.of_type(APPSET)
    spec = appset["inputs"]["spec"]
    assert spec["generators"] == [{"clusters": {"selector": {"matchLabels": {"purpose": "workload"}}}}]
    tmpl = spec["template"]
    assert tmpl["metadata"]["name"] == "{{name}}-apps"
    assert tmpl["spec"]["source"] == {"repoURL": plan.spec.argocd.repo_url, "targetRevision": "main", "path": "clusters/{{name}}"}
    assert tmpl["spec"]["destination"]["server"] == "{{server}}"
    # No CreateNamespace: the spokes may not write Namespace objects.
    assert tmpl["spec"]["syncPolicy"] == {"automated": {"prune": True, "selfHeal": True}}
    assert tmpl["spec"]["project"] == "fleet"
    [project] = plan.of_type(PROJECT)
    dest = project["inputs"]["spec"]["destinations"]
    spokes = [s["inputs"]["metadata"]["annotations"] for s in hub_secrets(plan).values()]
    assert {d["name"] for d in dest if "name" in d} == {a["cluster_name"] for a in spokes}
    assert {d["server"] for d in dest if "server" in d} == {a["api_server"] for a in spokes}
    assert project["inputs"]["spec"]["sourceRepos"] == [plan.spec.argocd.repo_url]


def test_custom_resources_valid(plan: Plan) -> None:
    crs = [r for r in plan.resources if r["type"].startswith("kubernetes:argoproj.io/")]
    assert {r["type"] for r in crs} >= {APPSET, PROJECT}
    for r in crs:
        assert schemas.validate_custom_resource(r["inputs"]) == [], r["name"]
    for r in hub_secrets(plan).values():
        doc = {k: v for k, v in r["inputs"].items() if k != "stringData"}
        assert schemas.validate_builtin(doc, "1.33") == []


@pytest.fixture(scope="module")
def options_plan() -> Plan:
    raw = stack_raw("dev")
    raw["argocd"] = {"manageManagement": True, "standalone": ["dev-gke"], "repoUrl": "git@github.com:company/k8s-manifests.git"}
    return run_plan("dev", raw=raw)


def test_standalone_and_self_managed(options_plan: Plan) -> None:
    releases = argocd_releases(options_plan)
    assert sorted(releases) == ["dev-gke", "dev-mgmt"]
    secrets = hub_secrets(options_plan)
    # dev-gke runs its own Argo CD and does not join; the hub registers itself in-cluster.
    assert sorted(secrets) == ["cluster-dev-aks", "cluster-dev-eks", "cluster-dev-mgmt"]
    assert secrets["cluster-dev-mgmt"]["inputs"]["metadata"]["labels"]["purpose"] == "management"
    [appset] = options_plan.of_type(APPSET)
    assert appset["inputs"]["spec"]["generators"][0]["clusters"]["selector"] == {
        "matchExpressions": [{"key": "purpose", "operator": "In", "values": ["workload", "management"]}]}
    [app] = options_plan.of_type(APPLICATION)
    assert cluster_of(app, options_plan.by_urn()) == "dev-gke"
    assert app["inputs"]["spec"]["source"]["path"] == "clusters/dev-gke"
    assert app["inputs"]["spec"]["destination"]["server"] == "https://kubernetes.default.svc"
    for r in [app, *options_plan.of_type(PROJECT), appset]:
        assert schemas.validate_custom_resource(r["inputs"]) == []


@pytest.mark.parametrize("section, path, value, text", [
    ({"repoUrl": "http://github.com/company/x"}, "argocd.repoUrl", "http://github.com/company/x", "https://"),
    ({"repoUrl": "file:///tmp/repo"}, "argocd.repoUrl", "file:///tmp/repo", "SSH"),
    ({"standalone": ["nope"]}, "argocd.standalone[0]", "nope", "not a cluster of the fleet"),
    ({"standalone": ["dev-mgmt"]}, "argocd.standalone[0]", "dev-mgmt", "management cluster"),
    ({"controllerShards": 0}, "argocd.controllerShards", 0, "greater than or equal to 1"),
    ({"reopUrl": "https://x/y"}, "argocd.reopUrl", "reopUrl", "did you mean 'repoUrl'"),
])
def test_config_errors(section: dict, path: str, value: Any, text: str) -> None:
    assert_config_error("dev", "argocd", section, path, value, text)


@pytest.mark.parametrize("url", ["https://github.com/company/k8s-manifests", "ssh://git@github.com/company/x.git",
                                 "git@github.com:company/x.git"])
def test_accepted_repo_urls(url: str) -> None:
    raw = stack_raw("dev")
    raw["argocd"] = {"repoUrl": url}
    assert build_spec(raw, "dev").argocd.repo_url == url


# --- Argo CD checked against upstream at v3.4.4 (chart argo-cd 10.1.1) ---

def _destination_matched(destinations: list[dict[str, str]], server: str, name: str, namespace: str) -> bool:
    """Port of ``AppProject.isDestinationMatched`` and ``globMatch`` (argoproj/argo-cd
    pkg/apis/application/v1alpha1/app_project_types.go @v3.4.4): a ``!``-pattern matches
    everything except its glob; a matching entry permits, a deny entry that does not match forbids."""
    def glob(pattern: str | None, value: str) -> bool:
        if pattern and pattern.startswith("!"):
            return not fnmatchcase(value, pattern[1:])
        return pattern == "*" or fnmatchcase(value, pattern or "")

    def deny(pattern: str | None) -> bool:
        return bool(pattern) and pattern.startswith("!")

    any_matched = False
    for item in destinations:
        name_ok = bool(name) and glob(item.get("name"), name)
        server_ok = bool(server) and glob(item.get("server"), server)
        ns_ok = glob(item.get("namespace"), namespace)
        if (server_ok or name_ok) and ns_ok:
            any_matched = True
        elif (not name_ok and deny(item.get("name"))) or (not server_ok and deny(item.get("server")) and ns_ok) or not ns_ok and deny(item.get("namespace")) and server_ok:
            return False
    return any_matched


def test_destination_port_reproduces_the_wildcard_hole() -> None:
    """The old project's deny entries ``{server: "*", namespace: "!argocd"}`` matched every other
    namespace of every cluster, the hub included (app_project_types.go globMatch @v3.4.4)."""
    old = [{"server": "*", "namespace": "!argocd"}, {"server": "*", "namespace": "!kube-system"}]
    assert _destination_matched(old, IN_CLUSTER, "in-cluster", "istio-system")
    assert not _destination_matched(old, IN_CLUSTER, "in-cluster", "argocd")


@pytest.mark.parametrize("manage_management", [False, True])
def test_project_destinations_are_explicit(manage_management: bool, dev_plan: Plan) -> None:
    """Every spoke's application namespaces are permitted, by name and by server; no other
    namespace of a spoke, and the hub only when it manages itself (app_project_types.go
    isDestinationMatched @v3.4.4, ported above)."""
    plan = dev_plan
    if manage_management:
        raw = stack_raw("dev")
        raw["argocd"] = {"manageManagement": True}
        plan = run_plan("dev", raw=raw)
    [project] = plan.of_type(PROJECT)
    dest = project["inputs"]["spec"]["destinations"]
    assert all("*" not in str(d.get("namespace")) and not str(d.get("namespace")).startswith("!") for d in dest)
    assert project["inputs"]["spec"]["clusterResourceWhitelist"] == []
    spokes = [s["inputs"]["metadata"]["annotations"] for s in hub_secrets(plan).values()
              if s["inputs"]["metadata"]["labels"]["purpose"] == "workload"]
    assert spokes
    for a in spokes:
        for ns in APPLICATION_NAMESPACES:
            assert _destination_matched(dest, a["api_server"], "", ns)
            assert _destination_matched(dest, "", a["cluster_name"], ns)
        for ns in ("argocd", "kube-system", "istio-system", "velero", "default"):
            assert not _destination_matched(dest, a["api_server"], a["cluster_name"], ns)
    hub = plan.spec.management.name
    assert _destination_matched(dest, IN_CLUSTER, hub, "production") is manage_management
    assert not _destination_matched(dest, IN_CLUSTER, hub, "argocd")


def test_respect_rbac_agrees_with_spoke_rbac(plan: Plan) -> None:
    """Model of the controller's cache sync (gitops-engine pkg/cache/cluster.go @ argo-cd v3.4.4,
    ``processApi`` and ``isRestrictedResource``): in namespaced mode every namespaced kind is
    listed in each managed namespace and, with ``clusterResources`` "true", every cluster-scoped
    kind at cluster scope. A Forbidden list fails the whole cluster unless ``resource.respectRBAC``
    is set (util/settings/settings.go). The hub's settings and each spoke's RBAC in the plan must
    give a cache that syncs, with every kind the spoke may write still watched."""
    values = argocd_releases(plan)[plan.spec.management.name]["inputs"]["values"]
    respect = values["configs"]["cm"].get("resource.respectRBAC")
    assert respect in ("normal", "strict")
    roles = {(cluster_of(r, plan.by_urn()), r["inputs"]["metadata"]["name"]): r["inputs"]["rules"]
             for r in plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")}
    by_urn = plan.by_urn()
    discovery = [("", "namespaces", False), ("", "nodes", False), ("rbac.authorization.k8s.io", "clusterroles", False),
                 ("", "pods", True), ("", "secrets", True), ("apps", "deployments", True), ("metrics.k8s.io", "pods", True)]
    discovery += [(g, k, True) for g, kinds in MANAGER_WRITES for k in kinds]

    def allows(rules: list[dict[str, Any]], group: str, resource: str, verb: str) -> bool:
        return any((group in r["apiGroups"] or "*" in r["apiGroups"]) and (resource in r["resources"] or "*" in r["resources"])
                   and (verb in r["verbs"] or "*" in r["verbs"]) for r in rules)

    for c in plan.spec.workloads:
        ns_rules = {b["inputs"]["metadata"]["namespace"]: roles[(c.name, b["inputs"]["roleRef"]["name"])]
                    for b in plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
                    if cluster_of(b, by_urn) == c.name and b["inputs"]["subjects"][0]["name"] == "argocd-manager"}
        cluster_rules = [rule for b in plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")
                         if cluster_of(b, by_urn) == c.name and b["inputs"]["subjects"][0]["name"] == "argocd-manager"
                         for rule in roles[(c.name, b["inputs"]["roleRef"]["name"])]]
        assert sorted(ns_rules) == sorted(APPLICATION_NAMESPACES)
        watched = set()
        for group, resource, namespaced in discovery:
            if namespaced:
                ok = all(allows(ns_rules[ns], group, resource, "list") for ns in APPLICATION_NAMESPACES)
            elif CLUSTER_RESOURCES:
                ok = allows(cluster_rules, group, resource, "list")
            else:
                continue  # not listed at all
            if not ok:
                assert respect, f"{c.name}: listing {group}/{resource} is Forbidden and fails the cluster cache"
            else:
                watched.add((group, resource))
        assert {(g, k) for g, kinds in MANAGER_WRITES for k in kinds} <= watched


@pytest.mark.parametrize("stack, namespace", [("dev", "staging"), ("prod", "production")])
def test_application_destination_is_a_managed_namespace(request: pytest.FixtureRequest, stack: str, namespace: str) -> None:
    """Manifests without a namespace land in the destination namespace (argo-cd
    docs/user-guide/application-specification.yaml @v3.4.4): it must be one the spoke role may
    write and the project permits, never ``default``."""
    plan = request.getfixturevalue(f"{stack}_plan")
    [appset] = plan.of_type(APPSET)
    assert appset["inputs"]["spec"]["template"]["spec"]["destination"]["namespace"] == namespace
    assert namespace in APPLICATION_NAMESPACES


def test_every_argocd_container_has_requests_and_limits(plan: Plan) -> None:
    """Render chart argo-cd 10.1.1 with the plan's values: every container (init containers,
    redis-ha and haproxy included) has CPU and memory requests and limits, so the HPAs on
    ``argocd-server``/``argocd-repo-server`` (chart templates argocd-server/hpa.yaml, utilization
    of requests) can act and no pod is BestEffort. Sizes differ per environment."""
    values = argocd_releases(plan)[plan.spec.management.name]["inputs"]["values"]
    docs = render_chart("argo-cd", values, name="argocd", namespace="argocd")
    missing = []
    for d in workloads(docs):
        spec = d["spec"]["template"]["spec"]
        for ct in spec.get("containers", []) + spec.get("initContainers", []):
            r = ct.get("resources") or {}
            if not all(k in r.get(part, {}) for part in ("requests", "limits") for k in ("cpu", "memory")):
                missing.append(f"{d['metadata']['name']}/{ct['name']}")
    assert missing == []
    size = "small" if plan.spec.environment == "dev" else "ha"
    cpu, mem = ARGOCD_SIZES[size]["controller"][:2]
    assert values["controller"]["resources"]["requests"] == {"cpu": cpu, "memory": mem}
    assert ARGOCD_SIZES["small"]["controller"] != ARGOCD_SIZES["ha"]["controller"]
