"""State safety: what the engine would refuse fails the offline plan too, and fleet edits touch
only what they should."""

from __future__ import annotations

import contextlib
import copy
import ipaddress
import json
import re
from typing import Any

import pulumi
import pytest
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from components.fleet.ports import aws_fleet_sources
from offline import diff
from offline.mocks import DuplicateUrnError, FleetMocks, RecordingMonitor
from offline.plan import run_plan
from stacks import ports as port_table

from .conftest import stack_raw


def _run(program) -> RecordingMonitor:
    mocks = FleetMocks()
    monitor = RecordingMonitor(mocks)
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project="archipelago", stack="dev", preview=False, monitor=monitor)
    with contextlib.suppress(DuplicateUrnError):  # raised by the registration itself
        _sync_await(run_pulumi_func(program))
    return monitor


def test_a_duplicate_urn_fails_the_plan() -> None:
    """The engine refuses a second resource with the same URN (pulumi/pulumi
    pkg/resource/deploy/step_generator.go, "Duplicate resource URN"); so does the mock engine."""
    def program() -> None:
        pulumi.CustomResource("random:index/randomId:RandomId", "same", {"byteLength": 4})
        pulumi.CustomResource("random:index/randomId:RandomId", "same", {"byteLength": 4})

    monitor = _run(program)
    with pytest.raises(DuplicateUrnError, match="randomId:RandomId::same"):
        monitor.check_unique()


def test_distinct_urns_pass() -> None:
    def program() -> None:
        pulumi.CustomResource("random:index/randomId:RandomId", "one", {"byteLength": 4})
        pulumi.CustomResource("random:index/randomId:RandomId", "two", {"byteLength": 4})

    _run(program).check_unique()


def test_shipped_plans_have_unique_urns(plan) -> None:
    urns = [r["urn"] for r in plan.resources]
    assert len(urns) == len(set(urns))


# --- fleet edits ------------------------------------------------------------------------------




NEW = {"name": "dev-eks2", "cloud": "aws", "region": "eu-west-1", "role": "workload", "kubernetesVersion": "1.35",
       "nodes": {"instanceType": "t3.large", "minSize": 1, "desiredSize": 1, "maxSize": 2}}


def _add(raw: dict[str, Any]) -> str:
    raw["clusters"].append(copy.deepcopy(NEW))
    return NEW["name"]


def _reorder(raw: dict[str, Any]) -> str:
    raw["clusters"] = list(reversed(raw["clusters"]))
    return ""


_PLANS: dict[str, Any] = {}


def _with_new_cluster() -> Any:
    if "add" not in _PLANS:
        raw = stack_raw("dev")
        _add(raw)
        _PLANS["add"] = run_plan("dev", raw=raw)
    return _PLANS["add"]


@pytest.fixture(scope="module", params=["add", "remove", "reorder"])
def fleet_edit(request: pytest.FixtureRequest, dev_plan: Any) -> tuple[str, diff.PlanDiff, Any, Any]:
    if request.param == "add":
        base, head = dev_plan, _with_new_cluster()
    elif request.param == "remove":  # the same cluster leaves again
        base, head = _with_new_cluster(), dev_plan
    else:
        raw = stack_raw("dev")
        _reorder(raw)
        base, head = dev_plan, run_plan("dev", raw=raw)
    edited = "" if request.param == "reorder" else NEW["name"]
    return edited, diff.diff_records(base.to_json(), head.to_json()), base, head


def _mentions(record: dict[str, Any], edited: str, ranges: list[str]) -> bool:
    """The record names the edited cluster or one of its ranges, or admits a CIDR holding one (the
    fleet rules' piece of the address space that the edited cluster is the first or last in)."""
    text = json.dumps(record)
    if edited in text or any(r in text for r in ranges):
        return True
    nets = [ipaddress.IPv4Network(r) for r in ranges if "/" in r]
    cidrs = [ipaddress.IPv4Network(c) for c in re.findall(r"\b\d+\.\d+\.\d+\.\d+/\d+\b", text)]
    return any(n.subnet_of(c) for c in cidrs for n in nets)


def test_a_fleet_edit_touches_only_the_edited_cluster_and_its_links(fleet_edit) -> None:
    """Adding, removing or reordering a cluster: no other cluster's resource is replaced or
    removed, and every change elsewhere is a link that names the edited cluster or its ranges."""
    edited, d, base, head = fleet_edit
    if not edited:
        assert d.clusters == [], diff.render(d)  # reordering changes nothing at all
        return
    spec = head.spec if any(c.name == edited for c in head.spec.clusters) else base.spec
    c = next(c for c in spec.clusters if c.name == edited)
    ranges = [str(n) for n in c.network.ranges().values()] + [c.region]  # a new region joins the locality ring
    for group in d.clusters:
        if group.name in (edited, diff.FLEET):
            continue
        assert not [ch.record["name"] for ch in group.changed if ch.replaces], diff.render(d)
        for r in group.removed + group.added:
            assert _mentions(r, edited, ranges), (group.name, r["name"])
        for ch in group.changed:
            old_new = {"props": [(p, a, b) for p, a, b in ch.props]}
            assert _mentions(old_new, edited, ranges), (group.name, ch.record["name"], ch.props)


# --- protection -------------------------------------------------------------------------------

# (type, name suffix): what prod protects because losing it loses data or trust.
PROTECTED_IN_PROD = [
    ("aws:eks/cluster:Cluster", "-eks"),
    ("gcp:container/cluster:Cluster", "-gke"),
    ("azure-native:containerservice:ManagedCluster", ""),
    ("aws:cloudwatch/logGroup:LogGroup", "-control-plane"),  # EKS audit and API logs
    ("tls:index/selfSignedCert:SelfSignedCert", "-root-ca"),  # mesh root
    ("tls:index/locallySignedCert:LocallySignedCert", "-istio-ca"),  # mesh intermediates
    ("tls:index/privateKey:PrivateKey", ""),
    ("gcp:iam/workloadIdentityPool:WorkloadIdentityPool", ""),  # the DR readers' keyless access
]


@pytest.mark.parametrize("typ,suffix", PROTECTED_IN_PROD)
def test_prod_protects_what_cannot_be_lost(prod_plan, dev_plan, typ: str, suffix: str) -> None:
    found = [r for r in prod_plan.of_type(typ) if r["name"].endswith(suffix)]
    assert found and all(r["protect"] for r in found), [(r["name"], r["protect"]) for r in found]
    # dev stays disposable
    assert not any(r["protect"] for r in dev_plan.of_type(typ) if r["name"].endswith(suffix))


def test_workload_identity_pool_ids_do_not_block_re_creation(prod_plan) -> None:
    """GCP keeps a deleted pool's id for 30 days (cloud.google.com/iam/docs/
    manage-workload-identity-pools-providers#delete-pool): a pool id made only of cluster names
    would make re-adding a DR link within that time fail. The id ends in a random suffix drawn
    when the link is created, at most 32 characters in all (IAM API workloadIdentityPoolId)."""
    import re

    pools = prod_plan.of_type("gcp:iam/workloadIdentityPool:WorkloadIdentityPool")
    suffixes = {r["name"]: r for r in prod_plan.of_type("random:index/randomId:RandomId")}
    assert pools
    for pool in pools:
        pool_id = pool["inputs"]["workloadIdentityPoolId"]
        assert re.match(r"^[a-z][a-z0-9-]{3,26}-[0-9a-f]{4}$", pool_id) and not pool_id.startswith("gcp-"), pool_id
        assert f"{pool['name']}-pool-suffix" in suffixes


# --- fleet firewall sources -------------------------------------------------------------------



FIREWALL = {"aws": ("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", lambda i: [i["cidrIpv4"]]),
            "azure": ("azure-native:network:SecurityRule", lambda i: i["sourceAddressPrefixes"]),
            "gcp": ("gcp:compute/firewall:Firewall", lambda i: i["sourceRanges"])}

# Whose pod addresses reach another cluster unchanged: EKS VPC CNI (custom networking on the
# secondary range, docs.aws.amazon.com/eks/latest/userguide/cni-custom-network.html) and GKE
# VPC-native alias ranges (cloud.google.com/kubernetes-engine/docs/concepts/alias-ips) route pod
# IPs; AKS Azure CNI Overlay SNATs pod traffic leaving the cluster to the node IP
# (learn.microsoft.com/azure/aks/azure-cni-overlay), so its pods arrive from its VNet range.
ROUTABLE_PODS = {"aws": True, "gcp": True, "azure": False}


def test_fleet_firewall_sources_include_other_clusters_pod_ranges_where_routable(plan) -> None:
    from offline.report import cluster_of

    by_urn = plan.by_urn()
    for c in plan.spec.clusters:
        fleet_ports = {(p.protocol, p.port) for p in port_table.ports("fleet", c.cloud)}
        typ, sources_of = FIREWALL[c.cloud]
        rules = [r for r in plan.of_type(typ) if cluster_of(r, by_urn) == c.name and r["inputs"].get("access", "Allow") == "Allow"]
        covered: dict[int, list[ipaddress.IPv4Network]] = {}
        for r in rules:
            i = r["inputs"]
            port = int(i.get("fromPort") or i.get("destinationPortRange") or (i.get("allows") or [{}])[0].get("ports", ["0"])[0])
            covered.setdefault(port, []).extend(ipaddress.IPv4Network(s) for s in sources_of(i))
        for other in plan.spec.clusters:
            if other.name == c.name:
                continue
            needed = [other.network.vpc] + ([other.network.pods] if ROUTABLE_PODS[other.cloud] else [])
            for _, port in fleet_ports:
                for net in needed:
                    assert any(net.subnet_of(s) for s in covered.get(port, [])), (c.name, port, other.name, str(net))


def test_aws_fleet_rules_stay_within_the_security_group_quota_at_48_clusters() -> None:
    """AWS: 60 inbound rules per security group by default (docs.aws.amazon.com/vpc/latest/userguide/
    amazon-vpc-limits.html#vpc-limits-security-groups); the EKS cluster security group keeps one of
    them for itself (all traffic from the group). The per-CIDR rules must fit at 48 clusters."""
    from stacks import ipam
    from stacks.validate import build_spec

    names, used = [], set()
    i = 0
    while len(names) < 48:
        name = f"c{i}"
        i += 1
        slot = ipam.hashed_slot(name, 256)
        if slot not in used:
            used.add(slot)
            names.append(name)
    raw = {"environment": "prod", "addressSpace": "10.0.0.0/8",
           "clusters": [{"name": n, "cloud": "aws", "region": "us-east-1", "kubernetesVersion": "1.35",
                         "role": "management" if j == 0 else "workload"} for j, n in enumerate(names)]}
    spec = build_spec(raw, "t")
    fleet_ports = len(port_table.ports("fleet", "aws")) + len(port_table.ports("submariner", "aws"))  # all EKS: all join
    for c in spec.clusters:
        sources = aws_fleet_sources(spec, c)
        assert fleet_ports * len(sources) <= 59, (c.name, len(sources))
        others = [o for o in spec.clusters if o.name != c.name]
        for o in others:
            assert any(o.network.pods.subnet_of(s) for s in sources) and any(o.network.vpc.subnet_of(s) for s in sources)
        assert not any(s.overlaps(c.network.vpc) or s.overlaps(c.network.pods) for s in sources)
