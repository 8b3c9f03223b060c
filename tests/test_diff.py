"""The credential-free plan diff: real plans before and after a config change, record edits for
the cases config cannot express, the CLI, and ``make diff``'s script over a git worktree."""

from __future__ import annotations

import copy
import ipaddress
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pulumi
import pytest

from offline import diff
from offline.plan import run_plan
from offline.report import CLUSTER_COMPONENTS, NETWORK_COMPONENTS, is_component
from tests.conftest import stack_raw

ROOT = Path(__file__).resolve().parent.parent


def _doc(plan: Any) -> dict[str, Any]:
    return copy.deepcopy(plan.to_json())


def _record(doc: dict[str, Any], typ: str, name: str | None = None) -> dict[str, Any]:
    return next(r for r in doc["resources"] if r["type"] == typ and (name is None or r["name"] == name))


def test_identical_plans_have_no_changes(plan: Any) -> None:
    text = diff.render(diff.diff_records(_doc(plan), _doc(plan)))
    assert "No changes." in text and "REPLACE" not in text


@pytest.fixture(scope="module")
def dev_with_new_cluster() -> Any:
    raw = stack_raw("dev")
    raw["clusters"].append({"name": "dev-eks2", "cloud": "aws", "region": "eu-west-1", "role": "workload",
                            "kubernetesVersion": "1.35", "nodes": {"instanceType": "t3.large", "minSize": 1, "desiredSize": 1, "maxSize": 2}})
    raw["security"]["apiAllowedCidrs"] = ["198.51.100.0/24"]
    return run_plan("dev", raw=raw)


def test_added_cluster_is_named_with_its_resources(dev_plan: Any, dev_with_new_cluster: Any) -> None:
    d = diff.diff_records(_doc(dev_plan), _doc(dev_with_new_cluster))
    new = next(c for c in d.clusters if c.name == "dev-eks2")
    assert new.status == "new cluster" and not new.changed and not new.removed
    added_types = {r["type"] for r in new.added}
    assert {"aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup", "aws:ec2/vpc:Vpc", "aws:kms/key:Key"} <= added_types
    # Everything the new cluster brings is in its own group; on the other clusters only the links
    # to it appear (e.g. Istio remote secrets for dev-eks2), each naming it, or a fleet rule for
    # the piece of the address space it is the first cluster in (a CIDR holding its ranges).
    spec = dev_with_new_cluster.spec
    eks2 = next(c for c in spec.clusters if c.name == "dev-eks2").network
    for c in d.clusters:
        if c.name not in ("dev-eks2", diff.FLEET):
            for r in c.added:
                cidr = r["inputs"].get("cidrIpv4")
                assert "dev-eks2" in r["name"] or (cidr and eks2.vpc.subnet_of(ipaddress.IPv4Network(cidr))), r["name"]
    text = diff.render(d)
    assert "#### Cluster `dev-eks2` — **new cluster**" in text
    assert "➕ `aws:eks/cluster:Cluster` **dev-eks2-eks**" in text
    # Its region's provider is new and fleet-wide.
    assert "➕ `pulumi:providers:aws` **aws-eu-west-1**" in text


def test_changed_property_shows_path_and_old_and_new(dev_plan: Any, dev_with_new_cluster: Any) -> None:
    d = diff.diff_records(_doc(dev_plan), _doc(dev_with_new_cluster))
    eks = next(c for c in d.clusters if c.name == "dev-eks")
    change = next(ch for ch in eks.changed if ch.record["type"] == "aws:eks/cluster:Cluster")
    assert ("vpcConfig.publicAccessCidrs", ["203.0.113.0/24"], ["198.51.100.0/24"]) in change.props
    assert not change.replaces  # public access CIDRs update in place
    text = diff.render(d)
    assert '| `vpcConfig.publicAccessCidrs` | `["203.0.113.0/24"]` | `["198.51.100.0/24"]` |' in text


REPLACEMENTS = [
    ("aws:eks/cluster:Cluster", "kubernetesNetworkConfig.serviceIpv4Cidr", "10.250.0.0/20"),
    ("aws:eks/cluster:Cluster", "name", "renamed"),
    ("aws:ec2/vpc:Vpc", "cidrBlock", "10.250.0.0/16"),
    ("aws:ec2/subnet:Subnet", "cidrBlock", "10.250.1.0/24"),
    ("azure-native:containerservice:ManagedCluster", "networkProfile.podCidr", "10.251.0.0/16"),
    ("gcp:container/cluster:Cluster", "privateClusterConfig.masterIpv4CidrBlock", "10.252.0.0/28"),
    ("gcp:compute/subnetwork:Subnetwork", "ipCidrRange", "10.253.0.0/20"),
]


@pytest.mark.parametrize(("typ", "path", "value"), REPLACEMENTS)
def test_replacement_is_flagged_loudly(dev_plan: Any, typ: str, path: str, value: str) -> None:
    base, head = _doc(dev_plan), _doc(dev_plan)
    target = _record(head, typ)
    node = target["inputs"]
    *parents, last = path.split(".")
    for key in parents:
        node = node[key]
    node[last] = value
    text = diff.render(diff.diff_records(base, head))
    assert "> [!CAUTION]" in text and "1 resource(s) will be REPLACED" in text
    assert f"**{target['name']}** because of `{path}`" in text
    assert f"**{target['name']}** — 🔴 **REPLACE**" in text
    assert f"`{path}` ⚠️ forces replacement" in text


def test_in_place_change_is_not_a_replacement(dev_plan: Any) -> None:
    base, head = _doc(dev_plan), _doc(dev_plan)
    _record(head, "aws:eks/nodeGroup:NodeGroup")["inputs"]["scalingConfig"]["maxSize"] = 9
    d = diff.diff_records(base, head)
    assert d.counts() == {"add": 0, "change": 1, "replace": 0, "delete": 0}
    assert "REPLACE" not in diff.render(d)


def test_secrets_stay_masked() -> None:
    def doc(token: str) -> dict[str, Any]:
        return {"stack": "dev", "resources": [{
            "urn": "urn:pulumi:dev::archipelago::kubernetes:core/v1:Secret::hub-token", "type": "kubernetes:core/v1:Secret",
            "name": "hub-token", "custom": True, "parent": None, "provider": None, "dependencies": [], "protect": False,
            "inputs": {"stringData": {"token": token}, "metadata": {"name": "hub-token"}}}]}

    text = diff.render(diff.diff_records(doc("plain-before"), doc("[secret]")))
    assert '| `stringData.token` | `plain-before` | `[secret]` |' in text
    # A masked value on both sides shows no change: the diff never sees secret values.
    assert "No changes." in diff.render(diff.diff_records(doc("[secret]"), doc("[secret]")))


def test_removed_cluster_is_named(dev_plan: Any) -> None:
    base, head = _doc(dev_plan), _doc(dev_plan)
    head["resources"] = [r for r in head["resources"] if "dev-aks" not in r["urn"]]
    d = diff.diff_records(base, head)
    gone = next(c for c in d.clusters if c.name == "dev-aks")
    assert gone.status == "cluster removed" and not gone.added
    assert any(r["type"] == "azure-native:containerservice:ManagedCluster" for r in gone.removed)
    assert "#### Cluster `dev-aks` — **cluster removed**" in diff.render(d)


def test_labels_with_dots_get_bracketed_paths() -> None:
    changes = diff.property_changes({"metadata": {"labels": {"a.io/x": "1"}}}, {"metadata": {"labels": {"a.io/x": "2"}}})
    assert changes == [('metadata.labels["a.io/x"]', "1", "2")]


def test_replace_table_names_real_types_and_properties() -> None:
    """Every type token in the table exists in the installed SDKs, and each path's first segment
    is one of that resource's input properties (a typo would silently never flag)."""
    site = Path(pulumi.__file__).parent.parent
    for typ, paths in diff.REPLACE_ON.items():
        pkg = {"aws": "pulumi_aws", "azure-native": "pulumi_azure_native", "gcp": "pulumi_gcp", "kubernetes": "pulumi_kubernetes",
               "random": "pulumi_random", "tls": "pulumi_tls", "time": "pulumiverse_time"}[typ.split(":")[0]]
        module = typ.split(":")[1].split("/")[0]
        folder = site / pkg / {"helm.sh": "helm", "index": ""}.get(module, module)
        source = next((p.read_text() for p in folder.rglob("*.py") if f"'{typ}'" in p.read_text()), None)
        assert source is not None, f"{typ} is not a type token of {pkg}"
        for path in paths:
            top = re.split(r"[.\[]", path)[0]
            snake = re.sub(r"(?<!^)(?=[A-Z])", "_", top).lower()
            assert f'getter(name="{top}")' in source or f"def {top}(" in source or f"def {snake}(" in source, (typ, path)


def test_cli_diff(tmp_path: Path, dev_plan: Any) -> None:
    base, head = _doc(dev_plan), _doc(dev_plan)
    _record(head, "aws:eks/cluster:Cluster", "dev-eks-eks")["inputs"]["kubernetesNetworkConfig"]["serviceIpv4Cidr"] = "10.250.0.0/20"
    (tmp_path / "base.json").write_text(json.dumps(base))
    (tmp_path / "head.json").write_text(json.dumps(head))
    run = subprocess.run([sys.executable, "-m", "offline", "diff", str(tmp_path / "base.json"), str(tmp_path / "head.json")],
                         cwd=ROOT, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("### Plan diff: stack `dev` (base → head)")
    assert "#### Cluster `dev-eks`" in run.stdout and "🔴 **REPLACE**" in run.stdout


def _worktrees() -> set[str]:
    out = subprocess.run(["git", "worktree", "list", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return {line.split(" ", 1)[1] for line in out.splitlines() if line.startswith("worktree ")}


def test_make_diff_script_plans_the_base_in_a_temporary_worktree(tmp_path: Path) -> None:
    # The script's temporary directory is this test's own (mktemp honours TMPDIR): on a shared
    # machine another run of the script may have its own worktree under /tmp at the same moment,
    # which made this test fail now and then when it looked at every temporary worktree.
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    run = subprocess.run(["scripts/plan-diff.sh", "HEAD", "dev"], cwd=ROOT, capture_output=True, text=True, check=False,
                         timeout=600, env=env)
    assert run.returncode == 0, run.stderr
    assert "### Plan diff: stack `dev` (HEAD (" in run.stdout
    # The temporary worktree is gone afterwards.
    assert not {w for w in _worktrees() if w.startswith(str(tmp_path))}
    assert list(tmp_path.iterdir()) == []


def test_replace_table_is_exhaustive(plan: Any) -> None:
    """Every custom type the program registers has a deliberate entry (Kubernetes objects share one
    rule): a new type cannot silently diff as "update" where the provider would replace."""
    types = {r["type"] for r in plan.resources if r["custom"]}
    missing = sorted(t for t in types if t not in diff.REPLACE_ON and t not in diff.PROVIDER_REPLACE_ON
                     and not t.startswith("kubernetes:"))
    assert missing == []


def _sg_rule(cidrs: list[str], cls: str) -> dict[str, Any]:
    if cls == "ec2":
        typ, inputs = "aws:ec2/securityGroupRule:SecurityGroupRule", {
            "type": "ingress", "securityGroupId": "sg-1", "protocol": "tcp", "fromPort": 443, "toPort": 443, "cidrBlocks": cidrs}
    else:
        typ, inputs = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", {
            "securityGroupId": "sg-1", "ipProtocol": "tcp", "fromPort": 443, "toPort": 443, "cidrIpv4": cidrs[0]}
    return {"stack": "prod", "resources": [{
        "urn": f"urn:pulumi:prod::archipelago::{typ}::hub-fleet-kube-apiserver", "type": typ, "name": "hub-fleet-kube-apiserver",
        "custom": True, "parent": None, "provider": None, "dependencies": [], "protect": False, "inputs": inputs}]}


def test_security_group_rule_cidr_change_is_a_replacement() -> None:
    """The case that broke `pulumi up`: a fleet change edits the CIDR list of an
    aws.ec2.SecurityGroupRule, which replaces it; the per-CIDR ingress rule updates in place."""
    d = diff.diff_records(_sg_rule(["10.1.0.0/16"], "ec2"), _sg_rule(["10.1.0.0/16", "10.2.0.0/16"], "ec2"))
    assert d.counts()["replace"] == 1
    d = diff.diff_records(_sg_rule(["10.1.0.0/16"], "vpc"), _sg_rule(["10.2.0.0/16"], "vpc"))
    assert d.counts() == {"add": 0, "change": 1, "replace": 0, "delete": 0}


def test_moved_resources_are_matched_through_their_aliases(dev_plan: Any) -> None:
    """The networks sit beside their clusters with an alias to the old parent, and components carry
    an alias to their former type token. A base record with each network still under its cluster
    and each component under its old type diffs clean against the current plan (the engine
    applies the alias, and the parent's alias to every child); without the aliases every network
    resource would be deleted and created again."""
    head = _doc(dev_plan)
    base = _doc(dev_plan)
    clusters = {r["name"]: r["urn"] for r in base["resources"] if is_component(r, CLUSTER_COMPONENTS)}
    moved = [r for r in base["resources"] if is_component(r, NETWORK_COMPONENTS)
             and any(a.get("spec", {}).get("parentUrn") for a in r.get("aliases") or [])]
    assert {r["name"] for r in moved} == {f"{c}-net" for c in clusters}
    renamed: dict[str, str] = {}
    for net in moved:
        old_parent = clusters[net["name"].removesuffix("-net")]
        # Under the cluster, as the type it was deployed under then (the move alias names both).
        old_type = next(a["spec"]["type"] for a in net["aliases"] if a.get("spec", {}).get("parentUrn"))
        new_urn = net["urn"].replace(f"pulumi:pulumi:Stack${net['type']}", old_parent.split("::")[2].rsplit("$", 1)[-1] + "$" + old_type)
        renamed[net["urn"]] = new_urn
        net.update(urn=new_urn, parent=old_parent, type=old_type)
        del net["aliases"]
    for r in base["resources"]:
        r["parent"] = renamed.get(r.get("parent") or "", r.get("parent"))
        # Components deployed under their former type token (the head names it in a type alias).
        _deployed_type(r)
    assert {r["type"] for r in base["resources"] if r["name"] in clusters} == {
        "archipelago:clusters:EksCluster", "archipelago:clusters:AksCluster", "archipelago:clusters:GkeCluster"}
    assert "No changes." in diff.render(diff.diff_records(base, head))

    for r in head["resources"]:
        r.pop("aliases", None)
    unaliased = diff.diff_records(base, head)
    removed = {r["name"] for c in unaliased.clusters for r in c.removed}
    assert {f"{c}-net" for c in clusters} | {"dev-eks-net-vpc"} <= removed


def _under_old_type_tokens(doc: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``doc`` as the program recorded it before its components moved to the one token scheme:
    each renamed component under the type its type alias names, in every URN, parent and provider
    reference of the record (children's URNs carry their parent's type)."""
    old_types: dict[str, str] = {}
    for r in doc["resources"]:
        for alias in r.get("aliases") or []:
            spec = alias.get("spec", {})
            if spec.get("type") and not spec.get("parentUrn"):
                old_types[r["type"]] = spec["type"]
    text = json.dumps(doc)
    for new, old in old_types.items():
        text = text.replace(f"::{new}$", f"::{old}$").replace(f"::{new}::", f"::{old}::").replace(f'"{new}"', f'"{old}"')
        text = text.replace(f"${new}$", f"${old}$").replace(f"${new}::", f"${old}::")
    base = json.loads(text)
    for r in base["resources"]:
        r.pop("aliases", None)
    return base, old_types


def test_resources_on_a_renamed_components_provider_are_not_replaced(dev_plan: Any) -> None:
    """A component's type alias renames its children too, the Kubernetes and random providers it
    made included. The engine sees that a resource's new provider answers to the old provider's
    URN and diffs nothing for it (pulumi/pulumi pkg/resource/deploy/step_generator.go
    ``providerChanged``: "observed an aliased provider"). So the dev plan recorded under the old
    type tokens diffs clean against the current one; comparing provider references as strings
    would report every resource on a cluster's provider as replaced."""
    head = _doc(dev_plan)
    base, old_types = _under_old_type_tokens(head)
    assert {"archipelago:index:EksCluster", "archipelago:index:Submariner"} <= set(old_types)
    moved = [r for r in base["resources"] if r.get("provider") and r["provider"] not in {h.get("provider") for h in head["resources"]}]
    assert len(moved) > 100  # resources whose provider reference reads differently under the old tokens
    assert "No changes." in diff.render(diff.diff_records(base, head))


def test_a_provider_moved_without_an_alias_is_a_new_provider() -> None:
    prefix = "urn:pulumi:dev::archipelago::"

    def record(typ: str, name: str, parent: str | None, provider: str | None = None, aliases: Any = None) -> dict[str, Any]:
        parent_type = parent.split("::")[2].rsplit("$", 1)[-1] + "$" if parent else ""
        return {"urn": f"{prefix}{parent_type}{typ}::{name}", "type": typ, "name": name, "custom": typ != "x:index:C",
                "parent": parent, "provider": provider, "dependencies": [], "protect": False, "inputs": {},
                **({"aliases": aliases} if aliases else {})}

    def doc(component_type: str, aliases: Any) -> dict[str, Any]:
        comp = record(component_type, "c", None, aliases=aliases)
        prov = record("pulumi:providers:random", "p", comp["urn"])
        res = record("random:index/randomPassword:RandomPassword", "pw", None, provider=prov["urn"])
        return {"stack": "dev", "resources": [comp, prov, res]}

    base = doc("x:old:C", None)
    aliased = doc("x:index:C", [{"spec": {"type": "x:old:C"}}])
    assert diff.same_provider(base["resources"][2]["provider"], aliased["resources"][2]["provider"],
                              {r["urn"]: r for r in base["resources"]}, {r["urn"]: r for r in aliased["resources"]})
    assert diff.diff_records(base, aliased).counts() == {"add": 0, "change": 0, "replace": 0, "delete": 0}
    unaliased = diff.diff_records(base, doc("x:index:C", None))
    assert unaliased.counts()["replace"] == 1  # the password: its provider is a new one


def _deployed_type(r: dict[str, Any]) -> None:
    """Put a component back under the type token it was deployed with (its type alias names it)."""
    for alias in r.get("aliases") or []:
        if {k for k, v in alias.get("spec", {}).items() if v} == {"type"}:
            r["type"] = alias["spec"]["type"]
            r["aliases"] = [a for a in r["aliases"] if a is not alias]
    if not r.get("aliases"):
        r.pop("aliases", None)


def _under_old_parents(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` as it was before the add-ons' cloud plumbing moved beside the clusters: each
    resource aliased from an add-on component put back under it (mock URN, parent, and the
    provider references to moved providers), its aliases gone; components under the type token
    they were deployed with."""
    for r in doc["resources"]:
        _deployed_type(r)
    by_type_name = {(r["type"], r["name"]): r for r in doc["resources"]}
    renamed: dict[str, str] = {}
    for r in doc["resources"]:
        parents = [a["spec"]["parentUrn"] for a in r.get("aliases") or [] if "parentUrn" in a.get("spec", {})]
        if not parents or is_component(r, NETWORK_COMPONENTS):
            continue
        old_type, old_name = parents[0].split("::")[2].rsplit("$", 1)[-1], parents[0].rsplit("::", 1)[-1]
        old_parent = by_type_name[(old_type, old_name)]
        new_urn = f"{'::'.join(r['urn'].split('::')[:2])}::{old_type}${r['type']}::{r['name']}"
        renamed[r["urn"]] = new_urn
        r.update(urn=new_urn, parent=old_parent["urn"])
        del r["aliases"]
    for r in doc["resources"]:
        if r.get("provider"):
            r["provider"] = renamed.get(r["provider"], r["provider"])
    assert renamed
    return doc


def test_addon_plumbing_moved_beside_its_cluster_through_aliases(prod_plan: Any) -> None:
    """Velero's storage, the DR grants and Karpenter's AWS setup are children of the cluster
    components, each aliased from the add-on component it used to belong to. The plan with them
    back under those components diffs clean: an aliased parent, and an aliased provider (the DR
    pool-suffix RandomId's random provider moved too) are the same resource to the engine
    (pulumi/pulumi pkg/resource/deploy/step_generator.go ``providerChanged``); without the
    aliases the buckets and keys would be deleted and created again."""
    head = _doc(prod_plan)
    base = _under_old_parents(_doc(prod_plan))
    moved_provider = [r for r in base["resources"] if r["type"] == "random:index/randomId:RandomId"]
    assert moved_provider and all("VeleroDrLink$pulumi:providers:random" in r["provider"] for r in moved_provider)
    assert "No changes." in diff.render(diff.diff_records(base, head))

    for r in head["resources"]:
        if not is_component(r, NETWORK_COMPONENTS):
            r["aliases"] = [a for a in r.get("aliases") or [] if not a.get("spec", {}).get("parentUrn")]
    unaliased = diff.diff_records(base, head)
    removed = {r["name"] for c in unaliased.clusters for r in c.removed}
    clusters = [r["name"] for r in head["resources"] if is_component(r, frozenset({"EksCluster"}))]
    assert clusters and {f"{c}-velero-key" for c in clusters} | {f"{c}-karpenter" for c in clusters} <= removed
