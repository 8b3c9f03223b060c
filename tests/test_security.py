"""The security baseline on every cluster, walked from one table of controls; in-cluster
objects valid for the cluster's Kubernetes version; identity hooks per cloud; fleet ports."""

from __future__ import annotations

import copy
import ipaddress
import json
import re
import shutil
from dataclasses import replace
from typing import cast

import pytest

from components.fleet.ports import aws_fleet_sources
from components.security.baseline import GROUP_SUBJECT, developer_rules
from offline import controls as ctl
from offline.plan import run_plan
from offline.report import cluster_name, cluster_of
from offline.schemas import validate_builtin
from stacks import ports
from stacks.baseline import APPLICATION_NAMESPACES, DEV, DEV_RELAXES, PROD, Baseline
from stacks.config import ConfigError
from stacks.validate import build_spec

from .conftest import ROOT, stack_raw


def clouds_of(plan) -> dict[str, str]:
    return {c.name: c.cloud for c in plan.spec.clusters}


# --- the controls table -------------------------------------------------------------------------

def test_every_control_holds_on_the_plan(plan) -> None:
    assert ctl.check_plan(plan.resources, clouds_of(plan), plan.spec.environment) == []


def test_controls_cover_every_cloud_and_the_issue_items() -> None:
    by_cloud = {cloud: {c.what for c in ctl.CONTROLS if c.cloud == cloud} for cloud in ("aws", "azure", "gcp", "all")}
    assert all(by_cloud.values())
    assert {"IMDSv2 required", "access entries only", "EKS Pod Identity agent", "node volumes encrypted"} <= by_cloud["aws"]
    assert {"local accounts disabled", "workload identity", "etcd KMS (Key Vault)", "SKU tier"} <= by_cloud["azure"]
    assert {"Dataplane V2 (network policy)", "secure boot", "legacy ABAC off", "deletion protection"} <= by_cloud["gcp"]


@pytest.mark.parametrize("control", ctl.CONTROLS, ids=lambda c: f"{c.cloud}:{c.what}")
def test_a_weakened_record_fails_the_walk(control, prod_plan) -> None:
    """Every control bites: weaken the property it checks on one matching resource and the walk fails."""
    resources = list(prod_plan.resources)
    idx = next(i for i, r in enumerate(resources) if r["type"] == control.type and ctl._matches(r, control.where))
    weak = copy.deepcopy(resources[idx])
    ctl.set_at(weak, control.path, control.expect.violation(PROD))
    resources[idx] = weak
    errors = ctl.check(control, resources, clouds_of(prod_plan), "prod")
    assert errors
    if not control.where:  # (a weakened selector shows up as a missing resource instead)
        assert any(weak["name"] in e for e in errors), errors


@pytest.mark.parametrize("control", [c for c in ctl.CONTROLS if c.required], ids=lambda c: f"{c.cloud}:{c.what}")
def test_a_removed_resource_fails_the_walk(control, prod_plan) -> None:
    by_urn = prod_plan.by_urn()
    victim = next(r for r in prod_plan.resources if r["type"] == control.type and ctl._matches(r, control.where))
    cluster = cluster_of(victim, by_urn)
    resources = [r for r in prod_plan.resources
                 if not (r["type"] == control.type and cluster_of(r, by_urn) == cluster and ctl._matches(r, control.where))]
    assert any(e.startswith(f"{cluster}: ") and "no " in e for e in ctl.check(control, resources, clouds_of(prod_plan), "prod"))


def test_relaxed_controls_are_named_dev_relaxations() -> None:
    assert DEV == replace(PROD, **{k: v for k, (v, _) in DEV_RELAXES.items()})
    assert {k for k in vars(PROD) if getattr(PROD, k) != getattr(DEV, k)} == set(DEV_RELAXES)
    for c in ctl.CONTROLS:
        if c.relaxed_by:
            assert c.relaxed_by in DEV_RELAXES and not ctl.applies(c, "dev") and ctl.applies(c, "prod")
        field = getattr(c.expect, "field", None)
        assert field is None or field in {f for f in Baseline.__dataclass_fields__}
    # Nothing dev relaxes weakens encryption, identity, private nodes or audit logs.
    assert not set(DEV_RELAXES) & {"private_endpoint", "eks_log_types", "kms_rotation_days", "imds_hop_limit",
                                   "encrypted_node_volumes"}


def test_security_page_is_the_controls_table() -> None:
    text = (ROOT / "docs" / "security.md").read_text()
    section = re.search(r"<!-- generated: security-tables -->\n(.*?)<!-- /generated: security-tables -->", text, re.DOTALL)
    assert section, "docs/security.md has the generated security-tables block"
    assert ctl.render_markdown() in section.group(1), "docs/security.md is stale: run python -m offline docs"


# --- config: the posture cannot be loosened from a stack file -----------------------------------

def test_prod_refuses_a_public_api_endpoint() -> None:
    raw = stack_raw("prod")
    raw["security"]["apiAllowedCidrs"] = ["198.51.100.0/24"]
    with pytest.raises(ConfigError) as exc:
        build_spec(raw, "prod")
    assert [(i.path, i.value) for i in exc.value.issues] == [("security.apiAllowedCidrs", ["198.51.100.0/24"])]


def test_dev_public_endpoint_is_limited_to_the_configured_cidrs(dev_plan) -> None:
    cidrs = [str(n) for n in dev_plan.spec.security.api_allowed_cidrs]
    assert cidrs and dev_plan.spec.public_api_cidrs == cidrs
    for eks in dev_plan.of_type(ctl.EKS):
        assert eks["inputs"]["vpcConfig"]["publicAccessCidrs"] == cidrs
    for aks in dev_plan.of_type(ctl.AKS):
        assert aks["inputs"]["apiServerAccessProfile"]["authorizedIPRanges"] == cidrs


@pytest.mark.parametrize("bad, message", [
    ({"name": "x@company.com", "namespaceRoles": {"kube-system": "developer"}}, "not application namespaces"),
    ({"name": "system:authenticated", "clusterRole": "view"}, "built-in system group"),
])
def test_group_bindings_are_checked(bad, message) -> None:
    raw = stack_raw("dev")
    raw["security"]["groups"] = [bad]
    with pytest.raises(ConfigError) as exc:
        build_spec(raw, "dev")
    assert any(i.path.startswith("security.groups[0]") and message in i.message for i in exc.value.issues), exc.value.render()


# --- inside every cluster ------------------------------------------------------------------------

K8S_TYPES = ("kubernetes:core/v1:Namespace", ctl.NETPOL, ctl.ROLE, ctl.RB, ctl.CRB)


def _baseline_objects(plan):
    by_urn = plan.by_urn()
    for r in plan.resources:
        if r["type"] in K8S_TYPES and any(by_urn[p]["type"] == "archipelago:index:SecurityBaseline"
                                          for p in [r["parent"]] if p):
            yield plan.spec.cluster(cluster_of(r, by_urn)), r


def test_baseline_objects_are_valid_for_the_cluster_version(plan) -> None:
    seen = set()
    for cluster, r in _baseline_objects(plan):
        seen.add(r["type"])
        assert validate_builtin(r["inputs"], cluster.kubernetes_version) == [], r["name"]
    assert seen == set(K8S_TYPES) - ({ctl.CRB} if not any(g.cluster_role for g in plan.spec.security.groups) else set())


def test_every_cluster_has_restricted_app_namespaces_and_default_deny(plan) -> None:
    got = {}
    for cluster, r in _baseline_objects(plan):
        meta = r["inputs"]["metadata"]
        got.setdefault(cluster.name, set()).add((r["type"].rsplit(":", 1)[-1], meta.get("namespace", ""), meta["name"]))
    for c in plan.spec.clusters:
        for ns in APPLICATION_NAMESPACES:
            assert {("Namespace", "", ns), ("NetworkPolicy", ns, "default-deny"), ("NetworkPolicy", ns, "allow-dns-egress")} <= got[c.name]


def test_every_namespace_in_the_plan_carries_pss_labels(plan) -> None:
    """Whoever creates it (this baseline or an add-on), a namespace states all three PSS modes at
    the pinned version, and a level looser than restricted states why."""
    from components.security.namespaces import REASON_ANNOTATION
    from stacks.versions import POD_SECURITY_VERSION

    namespaces = plan.of_type("kubernetes:core/v1:Namespace")
    assert len(namespaces) >= len(APPLICATION_NAMESPACES) * len(plan.spec.clusters)
    for r in namespaces:
        meta = r["inputs"]["metadata"]
        labels = meta.get("labels", {})
        levels = {labels.get(f"pod-security.kubernetes.io/{m}") for m in ("enforce", "audit", "warn")}
        assert len(levels) == 1 and levels <= {"restricted", "baseline", "privileged"}, meta["name"]
        assert all(labels.get(f"pod-security.kubernetes.io/{m}-version") == POD_SECURITY_VERSION for m in ("enforce", "audit", "warn"))
        if levels != {"restricted"}:
            assert meta.get("annotations", {}).get(REASON_ANNOTATION), meta["name"]
        if meta["name"] in APPLICATION_NAMESPACES:
            assert levels == {"restricted"}


def test_group_subjects_follow_each_clouds_identity(prod_plan) -> None:
    """AKS binds Entra group object ids, EKS and GKE the group name; EKS access entries hand the
    mapped IAM role exactly that group name."""
    by_urn = prod_plan.by_urn()
    groups = prod_plan.spec.security.groups
    subjects: dict[str, set[str]] = {}
    for r in prod_plan.of_type(ctl.CRB) + prod_plan.of_type(ctl.RB):
        # Only group subjects: add-ons bind their own service accounts too.
        subjects.setdefault(cluster_name(r, by_urn), set()).update(
            s["name"] for s in r["inputs"]["subjects"] if s["kind"] == "Group")
    for c in prod_plan.spec.clusters:
        assert subjects[c.name] == {GROUP_SUBJECT[c.cloud](g) for g in groups}
        if c.cloud == "azure":
            assert subjects[c.name] == {g.azure_object_id for g in groups}
        else:
            assert subjects[c.name] == {g.name for g in groups}
    # STANDARD entries map people's roles to groups; EC2_LINUX ones (node roles) carry no groups.
    entries = [r for r in prod_plan.of_type("aws:eks/accessEntry:AccessEntry")
               if r["inputs"].get("type") == "STANDARD" and not r["name"].endswith("-access-deployer")]
    assert entries and all(r["inputs"]["kubernetesGroups"][0] in subjects[cluster_name(r, by_urn)] for r in entries)


def test_aks_groups_without_an_object_id_get_no_binding(dev_plan) -> None:
    by_urn = dev_plan.by_urn()
    aks = {c.name for c in dev_plan.spec.clusters if c.cloud == "azure"}
    bindings = [r for r in dev_plan.of_type(ctl.CRB) + dev_plan.of_type(ctl.RB) if cluster_of(r, by_urn) in aks
                and any(s["kind"] == "Group" for s in r["inputs"]["subjects"])]
    assert not any(g.azure_object_id for g in dev_plan.spec.security.groups) and bindings == []


def test_developer_role_reads_secrets_only_when_asked(plan) -> None:
    def resources(rules):
        return {res for rule in rules for res in (rule["resources"] if isinstance(rule, dict) else rule.resources)}

    roles = [r for r in plan.of_type(ctl.ROLE) if r["inputs"]["metadata"]["name"] == "developer"]
    assert roles and not plan.spec.security.developer_secrets_read
    for r in roles:
        assert "secrets" not in resources(r["inputs"]["rules"])
        assert {"deployments", "pods", "services", "jobs"} <= resources(r["inputs"]["rules"])
        assert all("create" in rule["verbs"] for rule in r["inputs"]["rules"] if "deployments" in rule["resources"])
    # PolicyRuleArgs types its fields as Inputs; developer_rules fills them with plain lists.
    with_secrets = [rule for rule in developer_rules(True) if "secrets" in cast("list[str]", rule.resources)]
    assert len(with_secrets) == 1 and set(cast("list[str]", with_secrets[0].verbs)) == {"get", "list", "watch"}


def test_namespace_roles_bind_the_developer_role_per_namespace(prod_plan) -> None:
    by_urn = prod_plan.by_urn()
    developer_ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "developer"}
    for c in prod_plan.spec.clusters:
        want = {(ns, GROUP_SUBJECT[c.cloud](g)) for g in prod_plan.spec.security.groups
                for ns, role in g.namespace_roles.items() if role == "developer"}
        got = {(r["inputs"]["metadata"]["namespace"], r["inputs"]["subjects"][0]["name"])
               for r in prod_plan.of_type(ctl.RB) if cluster_of(r, by_urn) == c.name and r["inputs"]["roleRef"] == developer_ref}
        assert want and got == want


# --- network between clusters --------------------------------------------------------------------

FIREWALL_TYPES = {"aws": "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "azure": "azure-native:network:SecurityRule",
                  "gcp": "gcp:compute/firewall:Firewall"}


def _rule(cloud: str, r) -> tuple[str, int | str, list[str], str]:
    """(protocol, port, sources, access) of one firewall rule, whatever the cloud."""
    i = r["inputs"]
    if cloud == "aws":
        assert i["fromPort"] == i["toPort"]
        return i["ipProtocol"], int(i["fromPort"]), [i["cidrIpv4"]], "allow"
    if cloud == "azure":
        assert i["direction"] == "Inbound"
        port = i["destinationPortRange"]
        return i["protocol"].lower(), int(port) if port != "*" else "*", sorted(i["sourceAddressPrefixes"]), i["access"].lower()
    assert i["direction"] == "INGRESS" and len(i["allows"]) == 1 and len(i["allows"][0]["ports"]) == 1
    return i["allows"][0]["protocol"], int(i["allows"][0]["ports"][0]), sorted(i["sourceRanges"]), "allow"


def test_fleet_ports_open_exactly_the_table_from_the_other_clusters(plan) -> None:
    by_urn = plan.by_urn()
    for c in plan.spec.clusters:
        others = sorted(str(n) for n in ipaddress.collapse_addresses(ports.fleet_sources(plan.spec, c)))
        assert others
        rules = [_rule(c.cloud, r) for r in plan.of_type(FIREWALL_TYPES[c.cloud]) if cluster_of(r, by_urn) == c.name]
        if c.cloud == "aws":  # one rule per source CIDR: compare per port
            others = sorted(str(n) for n in aws_fleet_sources(plan.spec, c))
            merged: dict[tuple[str, int | str], list[str]] = {}
            for p, n, src, _ in rules:
                merged.setdefault((p, n), []).extend(src)
            rules = [(p, n, sorted(src), "allow") for (p, n), src in merged.items()]
        allows = {(p, n) for p, n, src, access in rules if access == "allow" and src == others}
        # Submariner's ports only on the clusters that join (AWS: the bounded pieces holding a member).
        joined = bool(ports.scope_sources(plan.spec, c, "submariner"))
        subm = {(p.protocol, p.port) for p in ports.ports("submariner")}
        if c.cloud == "aws":
            members = sorted(str(n) for n in aws_fleet_sources(plan.spec, c, ports.scope_sources(plan.spec, c, "submariner")))
            assert {(p, n) for p, n, src, _ in rules if src == members and (p, n) in subm} == (subm if joined else set())
            allows |= {(p, n) for p, n, src, _ in rules if src == members and (p, n) in subm}
        assert allows == {(p.protocol, p.port) for p in ports.ports("fleet", c.cloud)} | (subm if joined and c.cloud == "aws" else set())
        scoped = {(p, n) for p, n, src, access in rules if access == "allow" and src != others
                  and not (c.cloud == "aws" and (p, n) in subm)}
        assert scoped & subm == (subm if joined and c.cloud != "aws" else set())
        hub = sorted(str(n) for n in ports.scope_sources(plan.spec, c, "hub"))
        assert {(p, n) for p, n, src, _ in rules if src == hub and hub} == {(p.protocol, p.port) for p in ports.ports("hub")} if hub \
            else not any(n == 9090 for _, n, _, _ in rules)
        for p, n, src, access in rules:
            assert "0.0.0.0/0" not in src and "*" not in src and src
            own = {str(c.network.vpc), str(c.network.pods), str(c.network.control_plane)}
            fleet_ranges = set(others) | {str(x) for x in ports.fleet_sources(plan.spec, c)}
            assert src == others or set(src) <= own or set(src) <= fleet_ranges, "only other clusters' ranges (or this cluster's control plane)"
            if c.cloud == "aws":  # the fleet's space minus this cluster's own ranges
                nets = [ipaddress.IPv4Network(x) for x in src]
                assert all(x.subnet_of(plan.spec.address_space) for x in nets)
                assert not any(x.overlaps(c.network.vpc) or x.overlaps(c.network.pods) for x in nets)
        cp = {(p, n) for p, n, src, _ in rules if src == [str(c.network.control_plane)]}
        assert cp == ({(p.protocol, p.port) for p in ports.ports("control-plane")} if c.cloud == "gcp" else set())
        if c.cloud == "azure":
            deny = [r for r in rules if r[3] == "deny"]
            assert deny == [("*", "*", others, "deny")]
            prios = {r["inputs"]["access"]: r["inputs"]["priority"] for r in plan.of_type(FIREWALL_TYPES["azure"])
                     if cluster_of(r, by_urn) == c.name}
            assert prios["Allow"] < prios["Deny"]


def test_port_table_has_what_istio_and_submariner_need() -> None:
    """Rows checked upstream: istio multi-primary multi-network exposes only 15443 across networks
    (15012/15017 serve primary-remote); submariner-io/submariner@v0.18.1
    pkg/cable/libreswan/libreswan.go passes the NAT-T port as --ikeport (no UDP 500), and
    pkg/port/ports.go names 4490 (NAT discovery), 4500 (tunnel) and 4800 (intra-cluster VXLAN)."""
    fleet = {(p.protocol, p.port) for p in ports.ports("fleet")}
    # 443: the fleet links (hub, remote secrets, broker joins) call the other API servers.
    assert {("tcp", 443), ("tcp", 15443)} == fleet
    # Submariner's cable only between the clusters that join; federation only from the hub.
    assert {(p.protocol, p.port) for p in ports.ports("submariner")} == {("udp", 4500), ("udp", 4490)}
    assert {(p.protocol, p.port) for p in ports.ports("hub")} == {("tcp", 9090)}
    assert ports.port("subm-vxlan") == 4800 and ports.ports("cluster")
    assert len({p.name for p in ports.FLEET_PORTS}) == len(ports.FLEET_PORTS)
    assert all(re.fullmatch(r"[a-z][-a-z0-9]{0,30}", p.name) for p in ports.FLEET_PORTS)
    # Purposes become rule descriptions: AWS security-group rules accept only this character set.
    assert all(re.fullmatch(r"[a-zA-Z0-9. _\-:/()#,@\[\]+=&;{}!$*]{1,140}", p.purpose) for p in ports.FLEET_PORTS)


def test_no_firewall_rule_opens_to_the_internet(plan) -> None:
    text = json.dumps([r["inputs"] for t in FIREWALL_TYPES.values() for r in plan.of_type(t)])
    assert "0.0.0.0/0" not in text


# --- identity hooks, per cloud --------------------------------------------------------------------

@pytest.fixture(scope="module")
def identity_plan(tmp_path_factory):
    """The dev clusters plus one grant_workload_identity call each, from a test-only program."""
    root = tmp_path_factory.mktemp("wi")
    shutil.copy(ROOT / "tests" / "programs" / "workload_identity.py", root / "__main__.py")
    shutil.copy(ROOT / "Pulumi.dev.yaml", root / "Pulumi.dev.yaml")
    return run_plan("dev", root=root)


def _under_probe(plan, typ):
    return [r for r in plan.of_type(typ) if "wi-probe" in r["name"]]


def test_eks_identity_is_a_pod_identity_association(identity_plan) -> None:
    roles = _under_probe(identity_plan, "aws:iam/role:Role")
    assocs = _under_probe(identity_plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation")
    aws = [c for c in identity_plan.spec.clusters if c.cloud == "aws"]
    assert len(roles) == len(assocs) == len(aws)
    for role in roles:
        stmt = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
        assert stmt["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert set(stmt["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
    agents = {r["urn"] for r in identity_plan.of_type("aws:eks/addon:Addon") if r["inputs"]["addonName"] == "eks-pod-identity-agent"}
    for a in assocs:
        assert (a["inputs"]["namespace"], a["inputs"]["serviceAccount"]) == ("wi-probe", "probe-sa")
        assert agents & set(a["dependencies"]), "the association waits for the Pod Identity agent"
        assert a["inputs"]["roleArn"].startswith("arn:aws:iam::") and a["inputs"]["clusterName"] in {c.name for c in aws}
    assert len(_under_probe(identity_plan, "aws:iam/rolePolicy:RolePolicy")) == len(aws)
    out = identity_plan.outputs["identities"]["value"]
    assert all(out[c.name]["annotations"] == {} and out[c.name]["principal"].startswith("arn:aws:iam::") for c in aws)


def test_aks_identity_is_a_federated_user_assigned_identity(identity_plan) -> None:
    out = identity_plan.outputs["identities"]["value"]
    fics = _under_probe(identity_plan, "azure-native:managedidentity:FederatedIdentityCredential")
    uamis = _under_probe(identity_plan, "azure-native:managedidentity:UserAssignedIdentity")
    azure = [c for c in identity_plan.spec.clusters if c.cloud == "azure"]
    assert len(fics) == len(uamis) == len(azure) == 1
    fic, c = fics[0]["inputs"], azure[0]
    assert fic["issuer"] == out[c.name]["oidcIssuer"] and fic["issuer"].startswith("https://")
    assert fic["subject"] == "system:serviceaccount:wi-probe:probe-sa"
    assert fic["audiences"] == ["api://AzureADTokenExchange"]
    assert fic["resourceName"] == uamis[0]["inputs"]["resourceName"]
    assert out[c.name]["podLabels"] == {"azure.workload.identity/use": "true"}
    assert out[c.name]["annotations"]["azure.workload.identity/client-id"] == out[c.name]["principal"]
    assignments = _under_probe(identity_plan, "azure-native:authorization:RoleAssignment")
    assert len(assignments) == 1 and assignments[0]["inputs"]["principalType"] == "ServicePrincipal"


def test_gke_identity_is_a_google_service_account_bound_to_the_ksa(identity_plan) -> None:
    out = identity_plan.outputs["identities"]["value"]
    project = identity_plan.spec.gcp_project
    gsas = _under_probe(identity_plan, "gcp:serviceaccount/account:Account")
    bindings = _under_probe(identity_plan, "gcp:serviceaccount/iAMMember:IAMMember")
    gcp = [c for c in identity_plan.spec.clusters if c.cloud == "gcp"]
    assert len(gsas) == len(bindings) == len(gcp) == 1
    b = bindings[0]["inputs"]
    assert b["role"] == "roles/iam.workloadIdentityUser"
    assert b["member"] == f"serviceAccount:{project}.svc.id.goog[wi-probe/probe-sa]"
    assert b["serviceAccountId"].endswith(f"/serviceAccounts/{gsas[0]['inputs']['accountId']}@mock-project.iam.gserviceaccount.com")
    email = out[gcp[0].name]["annotations"]["iam.gke.io/gcp-service-account"]
    assert email == out[gcp[0].name]["principal"] and email.startswith(gsas[0]["inputs"]["accountId"] + "@")
    roles = _under_probe(identity_plan, "gcp:projects/iAMMember:IAMMember")
    assert [r["inputs"]["member"] for r in roles] == [f"serviceAccount:{email}"]


def test_no_static_cloud_keys_anywhere(identity_plan, plan) -> None:
    keys = {"aws:iam/accessKey:AccessKey", "gcp:serviceaccount/key:Key"}
    assert not [r for p in (identity_plan, plan) for r in p.resources if r["type"] in keys]


def test_gke_api_admits_the_other_clusters(plan) -> None:
    """Fleet links reach a private GKE control plane only through master authorized networks:
    the fleet's address space minus the cluster's own block (a bounded list, as the AWS rules),
    which contains every other cluster's ranges and none of the cluster's own."""
    for c in plan.spec.clusters:
        if c.cloud != "gcp":
            continue
        gke = next(r for r in plan.of_type("gcp:container/cluster:Cluster") if r["inputs"]["name"] == c.name)
        blocks = [ipaddress.IPv4Network(b["cidrBlock"]) for b in gke["inputs"]["masterAuthorizedNetworksConfig"]["cidrBlocks"]]
        assert all(any(n.subnet_of(b) for b in blocks) for n in ports.fleet_sources(plan.spec, c))
        assert {str(n) for n in ports.fleet_space_sources(plan.spec, c)} <= {str(b) for b in blocks}
        assert ipaddress.IPv4Network("0.0.0.0/0") not in blocks
