"""The bench's fleet generator and the bring-up estimate from the plan's dependency graph
(the plan timings themselves are measured by ``make bench``, not tested).

Why the longest path is the estimate: ``pulumi up --parallel`` "Defaults to unbounded"
(pulumi CLI reference, ``pulumi up``), so every resource starts once what it waits on exists.
What a resource waits on is what the Python SDK makes it wait on (pulumi 3.272.0,
``pulumi/runtime/resource.py`` ``prepare_resource``: explicit ``depends_on`` and Output references,
both expanded from components to their custom children by ``rpc._add_dependency``; the parent's
URN before the child registers).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from offline.bench import fleet_of
from offline.bringup import (
    BRING_UP_TYPES,
    CLUSTER_TYPES,
    DURATIONS,
    Graph,
    bootstrap_phases,
    estimate,
    independence_violations,
    longest_path,
    typical,
)
from stacks.validate import build_spec


def rec(urn: str, typ: str = "aws:ec2/vpc:Vpc", *, custom: bool = True, parent: str | None = None,
        deps: list[str] | None = None, provider: str | None = None, name: str | None = None) -> dict[str, Any]:
    return {"urn": urn, "type": typ, "name": name or urn, "custom": custom, "parent": parent,
            "dependencies": deps or [], "provider": provider}


def test_longest_path_follows_dependencies_providers_and_parents() -> None:
    eks, ng, rel = "aws:eks/cluster:Cluster", "aws:eks/nodeGroup:NodeGroup", "kubernetes:helm.sh/v3:Release"
    records = [
        rec("cluster", eks),                                             # 12
        rec("pool", ng, deps=["cluster"]),                               # waits on cluster: 12 + 3
        rec("k8s", "pulumi:providers:kubernetes", deps=["cluster"]),     # 0, configured from the cluster
        rec("addons", "archipelago:addons:Thing", custom=False, deps=["pool"]),  # a component's depends_on
        rec("release", rel, parent="addons", provider="k8s"),            # its parent's dependency holds it: 15 + 2
        rec("after", rel, deps=["addons"]),                              # depending on a component = on its children
        rec("lonely", eks),
    ]
    est = longest_path(Graph(records))
    assert est.minutes == pytest.approx(12 + 3 + 2 + 2)
    assert [u for u, _ in est.path] == ["cluster", "pool", "release", "after"]
    # Cut the parent edge (no depends_on on the component): the release only waits for the provider.
    records[3]["dependencies"] = []
    assert longest_path(Graph(records)).finish["release"] == pytest.approx(12 + 2)


def test_every_resource_type_of_both_stacks_has_a_duration_with_a_source(plan) -> None:
    """Slow types are listed by name (no silent default for a cluster or a node pool)."""
    types = {r["type"] for r in plan.resources if r["custom"]}
    for typ in types:
        t = typical(typ)
        assert t.minutes >= 0 and t.source, typ
    for typ in CLUSTER_TYPES | {"kubernetes:helm.sh/v3:Release", "aws:ec2/natGateway:NatGateway"}:
        assert typ in DURATIONS and DURATIONS[typ].minutes >= 1, typ
    assert all(t.source for t in DURATIONS.values())


def test_prod_bring_up_is_its_slowest_cluster_with_its_add_ons(prod_plan) -> None:
    """The fleet is up when its slowest cluster (control plane, nodes, add-ons) is: within 10%."""
    b = estimate(prod_plan.resources)
    assert set(b.cluster_minutes) == {c.name for c in prod_plan.spec.clusters}
    assert b.fleet_minutes <= 1.10 * b.slowest_cluster_minutes
    # The critical path runs through a managed cluster and ends in an add-on of the same cluster.
    by_urn = prod_plan.by_urn()
    path_types = [by_urn[u]["type"] for u, _ in b.fleet_path]
    assert CLUSTER_TYPES & set(path_types)
    assert path_types[-1] == "kubernetes:helm.sh/v3:Release"


def _first(records: list[dict[str, Any]], typ: str, name_part: str) -> dict[str, Any]:
    return next(r for r in records if r["type"] == typ and name_part in r["name"])


def test_no_cluster_bring_up_waits_on_another_cluster_a_link_or_the_fabric(plan) -> None:
    """Holds for whatever fabric resources the plan has: gateways, tunnels and transit may only
    be waited on by what needs them, never by a cluster, its nodes, provider, namespaces or
    Helm releases; cross-cluster links hang off the clusters they join."""
    g = Graph(plan.resources)
    assert independence_violations(g) == []
    b = estimate(plan.resources)
    assert b.violations == []
    # Each cluster's bring-up finishes when it would on its own.
    for c in g.clusters():
        alone = b.cluster_minutes[c]
        in_fleet = max(longest_path(g).finish[u] for u in g.bring_up_set(c))
        assert in_fleet <= alone + 0.01, c


def test_the_check_fails_when_a_cluster_waits_on_another_or_on_a_gateway(prod_plan) -> None:
    records = copy.deepcopy(prod_plan.resources)
    clusters = [c.name for c in prod_plan.spec.clusters]
    a, b = clusters[0], clusters[1]
    istiod = _first(records, "kubernetes:helm.sh/v3:Release", f"{a}-istiod")
    other = next(r for r in records if r["type"] in CLUSTER_TYPES and r["name"].startswith(b))
    istiod["dependencies"] = istiod["dependencies"] + [other["urn"]]
    found = independence_violations(Graph(records))
    assert any(v.startswith(f"{a}:") and f"cluster {b}" in v and istiod["name"] in v for v in found)

    # A slow fleet-level gateway in front of a cluster's Kubernetes provider.
    records = copy.deepcopy(prod_plan.resources)
    gw = rec("urn:gw", "azure-native:network:VirtualNetworkGateway", name="fabric-vpngw")
    provider = _first(records, "pulumi:providers:kubernetes", a)
    provider["dependencies"] = provider["dependencies"] + ["urn:gw"]
    records.append(gw)
    found = independence_violations(Graph(records))
    assert any("the fabric" in v and "fabric-vpngw" in v for v in found)
    # ... and the estimate shows the 45-minute gateway in that cluster's bring-up.
    assert estimate(records).fleet_minutes >= 45

    # The same gateway hanging off the clusters it joins (a connection waiting on it and on a
    # cluster's network) is fine, and counts as the fabric's time, not the fleet's.
    records = copy.deepcopy(prod_plan.resources)
    vnet = _first(records, "azure-native:network:VirtualNetwork", "")
    records += [gw, rec("urn:conn", "azure-native:network:VirtualNetworkGatewayConnection", deps=["urn:gw", vnet["urn"]])]
    est = estimate(records)
    assert est.violations == []
    assert est.fabric_minutes >= 45 and est.fleet_minutes <= 1.10 * est.slowest_cluster_minutes


def test_prod_first_up_in_bootstrap_phases_is_its_slowest_cluster(prod_plan) -> None:
    """The bootstrapped first ``up`` (offline/bootstrap.py: the runner, then everything else from
    it) is within 10% of the slowest cluster with its add-ons: phase 1 holds only the runner and
    what fits beside it, and each cluster's add-ons wait for that cluster and the runner's path to
    its API server, never for the whole fabric (the Azure VPN gateway: 45 minutes)."""
    b = estimate(prod_plan.resources, bootstrap_phases(prod_plan.resources))
    assert len(b.phase_minutes) == 2 and b.violations == []
    assert b.phased_minutes <= 1.10 * b.slowest_cluster_minutes, (b.phase_minutes, b.slowest_cluster_minutes)
    assert b.fabric_minutes >= 45  # the gateway is still built, beside the clusters
    g = Graph(prod_plan.resources)
    assert not any(g.is_fabric(u) for u, _ in b.phased_path)


def _provider_waits_on(records: list[dict[str, Any]], cluster: str, urn: str) -> list[dict[str, Any]]:
    records = copy.deepcopy(records)
    provider = _first(records, "pulumi:providers:kubernetes", f"{cluster}-k8s")
    provider["dependencies"] = provider["dependencies"] + [urn]
    return records


def test_the_check_fails_when_an_in_cluster_phase_waits_on_a_gateway_or_another_cluster(prod_plan) -> None:
    """A Kubernetes provider may wait for the deployer's path (prod-use1's waits on the TGW
    peering, prod-ase1's on the AWS-GCP VPN link), never for a slow gateway or another cluster;
    the rest of a cluster reaches the fabric only through its provider."""
    records = prod_plan.resources
    by_name = {(r["type"], r["name"]): r for r in records}
    vng = by_name[("azure-native:network:VirtualNetworkGateway", "fabric-azure-westeurope-vpn")]
    phases = bootstrap_phases(records)
    ok = estimate(records, phases)

    # prod-use1 reached over the Azure gateway: flagged, and the estimate shows it.
    slow = _provider_waits_on(records, "prod-use1", vng["urn"])
    found = independence_violations(Graph(slow))
    assert any(v.startswith("prod-use1:") and "slow gateway" in v and "fabric-azure-westeurope-vpn" in v for v in found)
    assert estimate(slow, bootstrap_phases(slow)).phased_minutes >= 45 > ok.phased_minutes

    # prod-weu's provider behind prod-use1's node group.
    pool = by_name[("aws:eks/nodeGroup:NodeGroup", "prod-use1-system")]
    found = independence_violations(Graph(_provider_waits_on(records, "prod-weu", pool["urn"])))
    assert any(v.startswith("prod-weu:") and "cluster prod-use1" in v for v in found)

    # An add-on waiting on a (fast) fabric resource itself, not through its provider.
    tgw = by_name[("aws:ec2transitgateway/transitGateway:TransitGateway", "fabric-aws-us-east-1-tgw")]
    copied = copy.deepcopy(records)
    istiod = _first(copied, "kubernetes:helm.sh/v3:Release", "prod-use1-istiod")
    istiod["dependencies"] = istiod["dependencies"] + [tgw["urn"]]
    assert any("prod-use1-istiod waits on the fabric" in v for v in independence_violations(Graph(copied)))


def test_gke_authorized_networks_stay_bounded_at_48_clusters() -> None:
    """The fleet's address space minus the cluster's own block, as the AWS rules: 8 entries for a
    /8 plus the cluster's VPC whatever the fleet's size, where two per other cluster came to 95 at
    48 (the GKE API caps cidrBlocks: cloud.google.com/python/docs/reference/container/latest,
    MasterAuthorizedNetworksConfig "up to 50"; private endpoints 100). The flow check's containment
    still admits every other cluster's ranges."""
    import ipaddress

    from stacks.ports import fleet_sources, fleet_space_sources

    for size in (4, 48):
        spec = build_spec(fleet_of(size), "prod")
        for c in (c for c in spec.clusters if c.cloud == "gcp"):
            blocks = fleet_space_sources(spec, c)
            assert 1 + len(blocks) <= 10, (size, len(blocks))
            nets = list(ipaddress.collapse_addresses(blocks))
            assert all(any(r.subnet_of(n) for n in nets) for r in fleet_sources(spec, c))
            assert not any(r.overlaps(n) for n in nets for r in (c.network.vpc, c.network.pods, c.network.control_plane))


def test_links_between_clusters_are_not_bring_up(prod_plan) -> None:
    """Remote secrets and hub registrations wait on two clusters; nothing a cluster needs waits on them."""
    g = Graph(prod_plan.resources)
    links = [u for u in g.custom() if g.owner[u] is None and g.on_cluster(u)]
    assert links  # the fleet has cross-cluster wiring
    bring_up = {u for c in g.clusters() for u in g.bring_up_set(c)}
    assert not set(links) & bring_up
    for u in bring_up:
        assert g.by_urn[u]["type"] in BRING_UP_TYPES


def test_replicated_fleets_are_valid_and_sized() -> None:
    for size in (4, 12, 48):
        spec = build_spec(fleet_of(size), "prod")
        assert len(spec.clusters) == size
        assert sum(c.is_management for c in spec.clusters) == 1
        assert len({c.name for c in spec.clusters}) == size


def _aliases_sent(*, deferred: bool, alias_specs: bool) -> tuple[list[Any], list[Any]]:
    """Register an azure-native SecurityRule (60 SDK aliases) under a parent; return the aliases
    the engine received and what ``Resource._aliases`` holds."""
    import pulumi
    import pulumi.resource as sdk_resource
    from google.protobuf import json_format
    from pulumi.runtime import settings as pulumi_settings
    from pulumi.runtime.mocks import MockMonitor
    from pulumi.runtime.proto import resource_pb2
    from pulumi.runtime.stack import run_pulumi_func
    from pulumi.runtime.sync_await import _sync_await
    from pulumi_azure_native import network

    from offline.mocks import FleetMocks
    from stacks.tuning import defer_alias_urns

    sent: list[Any] = []

    class Monitor(MockMonitor):
        def GetDeploymentInfo(self, request):
            info = super().GetDeploymentInfo(request)
            if not alias_specs:
                kept = [f for f in info.supportedFeatures if f != resource_pb2.RESOURCE_MONITOR_FEATURE_ALIAS_SPECS]
                return resource_pb2.DeploymentInfo(supportedFeatures=kept)
            return info

        def RegisterResource(self, request):
            if request.type == "azure-native:network:SecurityRule":
                sent.extend(json_format.MessageToDict(a) for a in request.aliases)
                sent.extend(request.aliasURNs)
            return super().RegisterResource(request)

    hook = "collapse_alias_to_urn"
    before = getattr(sdk_resource, hook)  # plans in this process may have deferred already
    held: list[Any] = []
    try:
        setattr(sdk_resource, hook, getattr(before, "__wrapped__", before))
        if deferred:
            defer_alias_urns()
        mocks = FleetMocks()
        pulumi_settings.ROOT.set(None)
        pulumi.runtime.set_mocks(mocks, project="archipelago", stack="t", preview=False, monitor=Monitor(mocks))

        def program() -> None:
            parent = pulumi.ComponentResource("archipelago:test:Parent", "parent")
            rule = network.SecurityRule(
                "rule", resource_group_name="rg", network_security_group_name="nsg", access="Allow",
                direction="Inbound", priority=100, protocol="Tcp", opts=pulumi.ResourceOptions(parent=parent))
            held.extend(rule._aliases)

        _sync_await(run_pulumi_func(program))
    finally:
        setattr(sdk_resource, hook, before)
    return sent, held


@pytest.mark.parametrize("alias_specs", [True, False])
def test_deferred_alias_urns_send_the_engine_the_same_aliases(alias_specs: bool) -> None:
    """``stacks.tuning.defer_alias_urns`` only skips URNs nothing reads: the engine receives the
    same aliases (pulumi 3.272.0 ``pulumi/runtime/resource.py`` ``prepare_aliases``: specs when
    the monitor supports ``RESOURCE_MONITOR_FEATURE_ALIAS_SPECS``, URNs otherwise)."""
    import pulumi

    plain, plain_held = _aliases_sent(deferred=False, alias_specs=alias_specs)
    deferred, deferred_held = _aliases_sent(deferred=True, alias_specs=alias_specs)
    assert len(plain) >= 60
    assert deferred == plain
    assert all(isinstance(a, pulumi.Output) for a in plain_held)
    # With alias specs the URN Outputs are not built at all; without, the SDK's path is kept.
    assert not any(isinstance(a, pulumi.Output) for a in deferred_held) if alias_specs else \
        all(isinstance(a, pulumi.Output) for a in deferred_held)


def test_the_sdk_still_builds_alias_urns_where_the_deferral_hooks_in() -> None:
    """Fails on an SDK upgrade that moves the eager alias URNs: re-measure and re-check then."""
    import inspect

    import pulumi.resource as sdk_resource

    assert "collapse_alias_to_urn(alias, name, t, opts.parent)" in inspect.getsource(sdk_resource.Resource.__init__)


@pytest.mark.parametrize("user", ["eks", "aks", "gke", "token"])
def test_kubeconfigs_render_the_same_with_the_c_emitter(user: str) -> None:
    """The kubeconfig renderer uses libyaml's emitter for speed; the text is byte for byte the
    pure-Python SafeDumper's (CA data and long tokens included)."""
    import yaml

    from components.clusters import kubeconfig as kc
    from offline import pki

    assert kc.DUMPER is yaml.CSafeDumper  # the locked PyYAML wheel ships libyaml
    users = {"eks": {"exec": kc.eks_exec("prod-use1-eks", "us-east-1")}, "aks": {"exec": kc.aks_exec()},
             "gke": {"exec": kc.gke_exec()}, "token": {"token": "eyJhbGciOiJSUzI1NiJ9." + "x" * 900 + ".sig"}}
    text = kc._kubeconfig("prod-use1", "https://ABCDEF.gr7.us-east-1.eks.amazonaws.com", pki.cluster_ca_b64("c"), users[user])
    doc = yaml.safe_load(text)
    assert text == yaml.safe_dump(doc, sort_keys=False)
    assert doc["users"][0]["user"] == users[user]


@pytest.mark.parametrize(("duration", "minutes"), [("120s", 2.0), ("2m", 2.0), ("1m30s", 1.5), ("1h", 60.0), ("", 0.0)])
def test_a_sleep_takes_its_create_duration(duration: str, minutes: float) -> None:
    """pulumiverse_time ``Sleep`` waits ``createDuration`` (a Go duration) on create."""
    from offline.bringup import minutes_of

    assert minutes_of(rec("s", "time:index/sleep:Sleep") | {"inputs": {"createDuration": duration}}) == pytest.approx(minutes)


def test_phases_run_one_after_the_other() -> None:
    """A first ``up`` in phases (cloud, then in-cluster from a runner inside the fleet): the
    second phase starts when the first has finished, whatever its own resources wait on."""
    from offline.bringup import phase_minutes

    records = [
        rec("gw", "azure-native:network:VirtualNetworkGateway"),      # 45, phase 1
        rec("cluster", "aws:eks/cluster:Cluster"),                     # 12, phase 1
        rec("k8s", "pulumi:providers:kubernetes", deps=["cluster"]),   # phase 2
        rec("istiod", "kubernetes:helm.sh/v3:Release", provider="k8s"),  # 2, phase 2
    ]
    g = Graph(records)
    assert longest_path(g).minutes == pytest.approx(45)
    assert phase_minutes(g, [{"gw", "cluster"}, {"k8s", "istiod"}]) == pytest.approx([45, 2])
    assert estimate(records, [{"gw", "cluster"}, {"k8s", "istiod"}]).phased_minutes == pytest.approx(47)


def _unknown_cases() -> list[Any]:
    from pulumi.output import Unknown

    shared = {"a": [1, 2, {"b": "c"}]}
    looped: list[Any] = [1, {"x": "y"}]
    looped.append(looped)
    looped_unknown: dict[str, Any] = {"k": [Unknown()]}
    looped_unknown["self"] = looped_unknown
    return [
        None, "text", 3, [], {}, Unknown(), [Unknown()], {"a": {"b": [1, {"c": Unknown()}]}},
        {"a": [shared, shared], "b": shared}, [shared, [shared, Unknown()]], looped, looped_unknown,
        (Unknown(),),  # tuples are not walked, by the SDK either
        {"a": [1, 2, 3], "b": {"c": {"d": {"e": "f"}}}},
    ]


def test_the_acyclic_unknown_check_answers_as_the_sdk_and_leaves_no_garbage_cycle() -> None:
    """``stacks.tuning.acyclic_unknown_checks`` replaces ``pulumi.runtime.rpc.contains_unknowns``
    (pulumi 3.272.0: a recursive closure, so every call leaves a function/cell reference cycle
    that only the cyclic collector frees; 1.3 million such objects in a 48-cluster plan). Same
    answer on every case, including self-referencing and shared containers; no garbage cycle."""
    import gc
    import types

    from pulumi.runtime import rpc

    from stacks.tuning import acyclic_unknown_checks

    acyclic_unknown_checks()
    ours = rpc.contains_unknowns
    sdk = ours.__wrapped__  # pyright: ignore[reportFunctionMemberAccess]
    assert getattr(ours, "acyclic", False) and not getattr(sdk, "acyclic", False)
    cases = _unknown_cases()
    assert [ours(v) for v in cases] == [sdk(v) for v in cases]
    assert [ours(v) for v in cases].count(True) == 5

    def cycles_left_by(check: Any) -> int:
        """Closure cells among the cyclic garbage after calling ``check`` on every case (cells:
        earlier tests' finalizers may leave other garbage behind while this runs)."""
        for _ in range(10):
            if not gc.collect():
                break
        gc.set_debug(gc.DEBUG_SAVEALL)
        try:
            for v in cases:
                check(v)
            gc.collect()
            return sum(isinstance(o, types.CellType) for o in gc.garbage)
        finally:
            gc.set_debug(0)
            gc.garbage.clear()

    assert cycles_left_by(ours) == 0
    assert cycles_left_by(sdk) >= len(cases)  # the SDK's: at least one cycle per call


def test_the_plan_grows_linearly_with_the_fleet() -> None:
    """No pairwise resource or dependency creeps in: fleets of 4, 8 and 12 clusters (whole copies
    of the prod stack's four) must add the same resources and dependency edges per type with
    every four clusters (second difference zero; the AWS fleet rules, bounded per cluster, apart).
    The one pairwise edge set the mesh needs is
    pinned apart: each cluster's remote secret waits on every other cluster's reader, the same
    number of edges per other cluster. Counts, not timings: a pairwise loop over clusters that
    registers or links anything fails here."""
    from collections import Counter

    from offline.plan import run_plan

    remote = "-istio-remote-secrets"
    count: dict[int, Counter[str]] = {}
    deps: dict[int, Counter[str]] = {}
    remote_deps: dict[int, dict[str, int]] = {}
    for n in (4, 8, 12):
        records = run_plan("prod", raw=fleet_of(n)).resources
        count[n], deps[n], remote_deps[n] = Counter(), Counter(), {}
        for r in records:
            count[n][r["type"]] += 1
            if r["name"].endswith(remote):
                remote_deps[n][r["name"]] = len(r["dependencies"])
            else:
                deps[n][r["type"]] += len(r["dependencies"])
    # The AWS fleet rules: one per (port, piece of the address space holding another cluster),
    # so their number follows where the clusters sit, bounded per cluster by the security group's
    # quota (tests/test_state_safety.py checks the bound at 48 clusters), never pairwise.
    bounded = "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"
    for what, by in (("resources", count), ("dependencies", deps)):
        growth = {t: by[12][t] - 2 * by[8][t] + by[4][t] for t in by[12] if t != bounded}
        assert {t: g for t, g in growth.items() if g} == {}, what
    assert all(count[n][bounded] <= 60 * n for n in (4, 8, 12)), {n: count[n][bounded] for n in (4, 8, 12)}
    # One remote secret per cluster; each (the first four clusters' are in every fleet) gains the
    # same edges with every four more clusters: one reader's worth per other cluster.
    assert [len(remote_deps[n]) for n in (4, 8, 12)] == [4, 8, 12]
    per_four = {remote_deps[8][s] - remote_deps[4][s] for s in remote_deps[4]} | \
        {remote_deps[12][s] - remote_deps[8][s] for s in remote_deps[4]}
    assert len(per_four) == 1 and 0 < next(iter(per_four)) <= 4 * 3
