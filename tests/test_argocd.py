"""Argo CD: the hub on the management cluster, a secret-backed cluster Secret per spoke, the fleet
AppProject and the reference ApplicationSet; standalone and self-managing options; config errors."""

from __future__ import annotations

from typing import Any

import pytest

from components.addons.argocd import MANAGER_ROLE, MANAGER_WRITES
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
    assert values["server"] == server
    assert values["repoServer"] == server
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
    ns_roles = [r for r in plan.of_type("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
                if r["inputs"]["metadata"]["name"] == f"{MANAGER_ROLE}-namespaces"]
    assert ns_roles and all(r["inputs"]["rules"] == [{"apiGroups": [""], "resources": ["namespaces"], "verbs": ["get", "list", "watch"]}]
                            for r in ns_roles)


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
    assert tmpl["spec"]["syncPolicy"] == {"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"]}
    assert tmpl["spec"]["project"] == "fleet"
    [project] = plan.of_type(PROJECT)
    dest = project["inputs"]["spec"]["destinations"]
    assert {"server": "*", "namespace": "!argocd"} in dest
    spokes = [s["inputs"]["metadata"]["annotations"] for s in hub_secrets(plan).values()]
    assert {d["name"] for d in dest if "name" in d} == {a["cluster_name"] for a in spokes}
    assert {d["server"] for d in dest if d.get("server", "*") != "*"} == {a["api_server"] for a in spokes}
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
