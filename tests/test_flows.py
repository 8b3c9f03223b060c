"""The flow check: every needed flow is routed and admitted in prod, and taking any one link out
of the recorded plan breaks exactly the flows that need it, naming the missing hop.

Semantics the checker models, with their sources: TGW peering attachments never propagate, so each
side needs static routes (docs.aws.amazon.com/vpc/latest/tgw/tgw-peering.html); VPC route tables
need explicit routes to the TGW (terraform-aws-modules/terraform-aws-transit-gateway main.tf);
Azure NSG rules apply in priority order, first match wins, AllowVnetInBound at 65000
(learn.microsoft.com/azure/virtual-network/network-security-groups-overview); GKE private
endpoints admit master authorized networks only (cloud.google.com/kubernetes-engine/docs/concepts/
network-isolation); NetworkPolicy allows the union of the rules of every policy selecting a pod
(kubernetes.io/docs/concepts/services-networking/network-policies).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from offline.flows import Result, check_flows
from offline.plan import Plan

Resources = list[dict[str, Any]]


def names(results: list[Result]) -> dict[str, list[str]]:
    return {r.flow.name: [h.what for h in r.missing] for r in results if not r.ok}


def test_prod_every_flow_is_routed_and_admitted(prod_plan: Plan) -> None:
    results = check_flows(prod_plan.resources, prod_plan.spec)
    assert names(results) == {}
    kinds = {r.flow.kind for r in results}
    assert kinds == {"deployer-api", "hub-api", "istiod-api", "broker-api", "sidecar-istiod", "sidecar-eastwest",
                     "eastwest-sidecar", "submariner", "dns", "federation-submariner", "federation-fabric", "sidecar-sidecar"}
    assert not [r for r in results if r.skipped]
    n = len(prod_plan.spec.clusters)
    assert sum(r.flow.kind == "istiod-api" for r in results) == n * (n - 1)
    j = sum(c.cloud == "aws" for c in prod_plan.spec.clusters)  # Submariner 0.18.1 joins EKS only
    assert sum(r.flow.kind == "submariner" for r in results) == 2 * j * (j - 1)


def test_dev_without_fabric_checks_in_cluster_flows_and_skips_the_rest(dev_plan: Plan) -> None:
    results = check_flows(dev_plan.resources, dev_plan.spec)
    assert names(results) == {}
    assert {r.flow.kind for r in results if r.skipped} >= {"istiod-api", "submariner", "sidecar-eastwest"}
    assert all(not r.flow.cross_cluster for r in results if not r.skipped)


def drop(pred: Callable[[dict[str, Any]], bool]) -> Callable[[Resources], Resources]:
    return lambda res: [r for r in res if not pred(r)]


def edit(pred: Callable[[dict[str, Any]], bool], change: Callable[[dict[str, Any]], None]) -> Callable[[Resources], Resources]:
    def apply(res: Resources) -> Resources:
        out = []
        for r in res:
            if pred(r):
                r = copy.deepcopy(r)
                change(r["inputs"])
            out.append(r)
        return out
    return apply


def named(typ: str, name: str) -> Callable[[dict[str, Any]], bool]:
    return lambda r: r["type"] == typ and r["name"] == name


def _no_control_plane(i: dict[str, Any]) -> None:
    i["bgp"]["advertisedIpRanges"] = [x for x in i["bgp"]["advertisedIpRanges"] if x.get("description") != "control plane"]


def _no_lb_sources(i: dict[str, Any]) -> None:
    i["values"]["service"]["loadBalancerSourceRanges"] = []


def _no_egress(i: dict[str, Any]) -> None:
    i["spec"]["egress"] = []


def _svc_no_sources(i: dict[str, Any]) -> None:
    i["spec"]["loadBalancerSourceRanges"] = ["0.0.0.0/0"]


def _no_ip_blocks(i: dict[str, Any]) -> None:
    i["spec"]["ingress"] = [{**rule, "from": [p for p in rule["from"] if "ipBlock" not in p]} for rule in i["spec"]["ingress"]]


def _aks_without(eip: str) -> Callable[[Resources], Resources]:
    """The AKS cluster's authorized ranges no longer built from ``eip`` (its dependency gone)."""
    def apply(resources: Resources) -> Resources:
        urn = next(r["urn"] for r in resources if r["type"] == "aws:ec2/eip:Eip" and r["name"] == eip)
        out = []
        for r in resources:
            if r["type"] == "azure-native:containerservice:ManagedCluster":
                r = {**r, "dependencies": [d for d in r["dependencies"] if d != urn]}
            out.append(r)
        return out
    return apply


def _aks_open(i: dict[str, Any]) -> None:
    i["apiServerAccessProfile"]["authorizedIPRanges"] = ["0.0.0.0/0"]


FED_WEU = "federation-fabric: ns:monitoring@prod-mgmt -> federate@prod-weu tcp/9090"
FED_ASE1 = "federation-fabric: ns:monitoring@prod-mgmt -> federate@prod-ase1 tcp/9090"


# (what is removed, how, a flow that must now fail, the hop it must name, clusters every failing flow touches)
CASES = [
    ("a tunnel", drop(named("gcp:compute/vPNTunnel:VPNTunnel", "fabric-azure-westeurope--gcp-asia-southeast1-t1")),
     "sidecar-eastwest: ns:production@prod-weu -> eastwest@prod-ase1 tcp/15443", "link", {"prod-weu", "prod-ase1"}),
    ("a BGP session (Azure side)", drop(named("azure-native:network:VirtualNetworkGatewayConnection",
                                              "fabric-azure-westeurope--gcp-asia-southeast1-t0-conn")),
     "istiod-api: pods@prod-weu -> api@prod-ase1 tcp/443", "link", {"prod-weu", "prod-ase1"}),
    ("an advertisement", edit(lambda r: r["type"] == "gcp:compute/router:Router" and "bgp" in r["inputs"], _no_control_plane),
     "istiod-api: pods@prod-weu -> api@prod-ase1 tcp/443", "advertisement", {"prod-ase1"}),
    ("a VPC route", drop(named("aws:ec2/route:Route", "prod-mgmt-rt1-fabric-10-3-0-0-18")),
     FED_WEU, "route (source)", {"prod-mgmt", "prod-weu"}),
    # AKS's API server is public, limited to the fleet's NAT addresses (docs/network.md).
    ("the runner's way out (NAT route)", drop(named("aws:ec2/route:Route", "prod-mgmt-net-private-us-east-2b-default")),
     "deployer-api: runner@prod-mgmt -> api@prod-weu tcp/443", "route (egress)", {"prod-mgmt", "prod-weu"}),
    ("a NAT address missing from AKS's authorized ranges", _aks_without("prod-mgmt-net-nat-us-east-2a"),
     "deployer-api: runner@prod-mgmt -> api@prod-weu tcp/443", "API endpoint", {"prod-mgmt", "prod-weu"}),
    ("AKS authorized ranges opened to all", edit(named("azure-native:containerservice:ManagedCluster", "prod-weu-aks"), _aks_open),
     "istiod-api: pods@prod-ase1 -> api@prod-weu tcp/443", "API endpoint", {"prod-weu"}),
    ("a return route", drop(named("aws:ec2/route:Route", "prod-use1-rt0-fabric-10-4-128-0-17")),
     "sidecar-eastwest: ns:production@prod-ase1 -> eastwest@prod-use1 tcp/15443", "route (return)", {"prod-use1", "prod-ase1"}),
    ("a TGW peering route", drop(named("aws:ec2transitgateway/route:Route", "fabric-aws-us-east-1--aws-us-east-2-us-east-2-to-10-2-0-0-18")),
     "deployer-api: runner@prod-mgmt -> api@prod-use1 tcp/443", "route (peering out)", {"prod-mgmt", "prod-use1"}),
    ("a firewall rule (NSG)", drop(named("azure-native:network:SecurityRule", "prod-weu-fleet-istio-mtls")),
     "sidecar-eastwest: ns:production@prod-mgmt -> eastwest@prod-weu tcp/15443", "node firewall", {"prod-weu"}),
    ("a firewall rule (VPC firewall)", drop(named("gcp:compute/firewall:Firewall", "prod-ase1-fleet-istio-mtls")),
     "sidecar-eastwest: ns:staging@prod-use1 -> eastwest@prod-ase1 tcp/15443", "node firewall", {"prod-ase1"}),
    ("a firewall rule (Submariner)", drop(named("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "prod-use1-fleet-subm-nat-t-10-0-0-0-15")),
     "submariner: nodes@prod-mgmt -> gateway-nodes@prod-use1 udp/4500", "node firewall", {"prod-use1"}),
    ("a firewall rule (security group)", drop(named("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "prod-use1-fleet-istio-mtls-10-3-0-0-16")),
     "sidecar-eastwest: ns:staging@prod-weu -> eastwest@prod-use1 tcp/15443", "node firewall", {"prod-use1"}),
    ("load balancer source ranges", edit(lambda r: r["type"] == "kubernetes:helm.sh/v3:Release" and r["name"] == "prod-weu-istio-eastwestgateway",
                                         _no_lb_sources),
     "sidecar-eastwest: ns:production@prod-ase1 -> eastwest@prod-weu tcp/15443", "load balancer", {"prod-weu"}),
    ("the runner's API rule", drop(named("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule", "deployer-to-api")),
     "deployer-api: runner@prod-mgmt -> api@prod-mgmt tcp/443", "API endpoint", {"prod-mgmt"}),
    ("the runner", drop(named("aws:codebuild/project:Project", "deployer-project")),
     "deployer-api: runner@prod-mgmt -> api@prod-weu tcp/443", "runner", {"prod-mgmt"}),
    ("a NetworkPolicy", drop(named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "prod-use1-production-mesh-istiod")),
     "sidecar-istiod: ns:production@prod-use1 -> istiod@prod-use1 tcp/15012", "NetworkPolicy egress (production@prod-use1)", {"prod-use1"}),
    ("sidecar to sidecar", drop(named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "prod-weu-staging-mesh-sidecars")),
     "sidecar-sidecar: ns:staging@prod-weu -> ns:production@prod-weu tcp/0", "NetworkPolicy egress (staging@prod-weu)", {"prod-weu"}),
    ("a NetworkPolicy rule", edit(named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "prod-ase1-staging-mesh-eastwest"), _no_egress),
     "sidecar-eastwest: ns:staging@prod-ase1 -> eastwest@prod-mgmt tcp/15443", "NetworkPolicy egress (staging@prod-ase1)", {"prod-ase1"}),
    # Federation of the spokes Submariner does not join, over the fabric.
    ("federation: the hub's ScrapeConfig", drop(named("kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig", "prod-mgmt-federate-prod-weu")),
     FED_WEU, "scrape target", {"prod-weu"}),
    ("federation: LB source ranges opened to all", edit(named("kubernetes:core/v1:Service", "prod-weu-metrics-federate"), _svc_no_sources),
     FED_WEU, "load balancer", {"prod-weu"}),
    ("federation: the NSG rule", drop(named("azure-native:network:SecurityRule", "prod-weu-fleet-prom-federate")),
     FED_WEU, "node firewall", {"prod-weu"}),
    ("federation: the VPC firewall rule", drop(named("gcp:compute/firewall:Firewall", "prod-ase1-fleet-prom-federate")),
     FED_ASE1, "node firewall", {"prod-ase1"}),
    ("federation: the NetworkPolicy rule", edit(named("kubernetes:networking.k8s.io/v1:NetworkPolicy", "prod-ase1-metrics-federate-ingress"),
                                                _no_ip_blocks),
     FED_ASE1, "NetworkPolicy ingress (monitoring@prod-ase1)", {"prod-ase1"}),
    ("federation: the Submariner export", drop(named("kubernetes:multicluster.x-k8s.io/v1alpha1:ServiceExport", "prod-use1-metrics-export")),
     "federation-submariner: ns:monitoring@prod-mgmt -> federate@prod-use1 tcp/9090", "Submariner export", {"prod-use1"}),
]


@pytest.mark.parametrize("what,change,flow,hop,touches", CASES, ids=[c[0] for c in CASES])
def test_removing_a_link_breaks_the_flows_that_need_it(prod_plan: Plan, what: str, change: Callable[[Resources], Resources],
                                                        flow: str, hop: str, touches: set[str]) -> None:
    resources = change(prod_plan.resources)
    assert len(resources) <= len(prod_plan.resources)
    failed = names(check_flows(resources, prod_plan.spec))
    assert flow in failed, sorted(failed)
    assert any(h.startswith(hop) for h in failed[flow]), failed[flow]
    for r in check_flows(resources, prod_plan.spec):
        if not r.ok:
            assert touches & {r.flow.src, r.flow.dst}, r.flow.name


def test_cli_exits_non_zero_naming_flow_and_hop(prod_plan: Plan, capsys: pytest.CaptureFixture[str]) -> None:
    from rich.console import Console

    from offline.flows import print_results

    broken = drop(named("gcp:compute/vPNTunnel:VPNTunnel", "fabric-azure-westeurope--gcp-asia-southeast1-t0"))(prod_plan.resources)
    console = Console(width=400, force_terminal=False)
    assert print_results(check_flows(broken, prod_plan.spec), console) > 0
    out = capsys.readouterr().out
    assert "MISSING istiod-api: pods@prod-weu -> api@prod-ase1 tcp/443: link:" in out
    assert print_results(check_flows(prod_plan.resources, prod_plan.spec), console) == 0


def test_docs_network_picture_is_generated_from_the_prod_plan(prod_plan: Plan) -> None:
    import re

    from offline.netmap import render

    from .conftest import ROOT

    text = (ROOT / "docs" / "network.md").read_text()
    block = re.search(r"<!-- network: prod -->\n(.*?)<!-- /network: prod -->", text, re.DOTALL)
    assert block, "docs/network.md markers"
    assert block.group(1) == render(prod_plan.resources, prod_plan.spec), "stale: paste `python -m offline network prod`"


def test_cli_flows_command_exits_zero_on_prod(capsys: pytest.CaptureFixture[str]) -> None:
    from offline.cli import main

    assert main(["flows", "prod"]) == 0
    assert "100 of 100 flows routed and admitted, 0 missing" in capsys.readouterr().out


def test_prod_has_no_rule_that_no_flow_needs(prod_plan: Plan) -> None:
    """Every allow rule of the prod plan (security-group ingress, NSG inbound allow, VPC firewall,
    each NetworkPolicy rule) admits some required flow, or is kept with a stated reason."""
    from offline.flows import JUSTIFIED, all_rules, unused_rules

    unused, justified = unused_rules(prod_plan.resources, prod_plan.spec)
    assert unused == []
    assert {why for _, why in justified} <= {why for _, why in JUSTIFIED}
    names_ = {r.name for r in all_rules(prod_plan.resources)}
    # Submariner's ports only where Submariner joins (EKS); the API row only where the API sits behind the node firewall.
    for c in prod_plan.spec.clusters:
        subm = {n for n in names_ if n.startswith(f"{c.name}-fleet-subm-")}
        assert bool(subm) is (c.cloud == "aws"), (c.name, subm)
        assert any(n.startswith(f"{c.name}-fleet-kube-apiserver") for n in names_) is (c.cloud == "aws")


def _extra_nsg_rule(res: Resources) -> Resources:
    base = next(r for r in res if r["type"] == "azure-native:network:SecurityRule" and r["name"] == "prod-weu-fleet-istio-mtls")
    extra = copy.deepcopy(base)
    extra["urn"] += "-extra"
    extra["name"] = "prod-weu-fleet-extra"
    extra["inputs"].update(destinationPortRange="8080", priority=299)
    return [*res, extra]


def _extra_policy_rule(res: Resources) -> Resources:
    out = []
    for r in res:
        if r["type"] == "kubernetes:networking.k8s.io/v1:NetworkPolicy" and r["name"] == "prod-ase1-metrics-federate-ingress":
            r = copy.deepcopy(r)
            r["inputs"]["spec"]["ingress"].append({"from": [{"ipBlock": {"cidr": "10.250.0.0/16"}}], "ports": [{"port": 9090, "protocol": "TCP"}]})
        out.append(r)
    return out


@pytest.mark.parametrize("change,rule", [(_extra_nsg_rule, "prod-weu-fleet-extra"),
                                         (_extra_policy_rule, "prod-ase1-metrics-federate-ingress#ingress[1]")])
def test_a_rule_no_flow_needs_is_reported(prod_plan: Plan, change: Callable[[Resources], Resources], rule: str,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from rich.console import Console

    from offline.flows import print_unused, unused_rules

    unused, justified = unused_rules(change(prod_plan.resources), prod_plan.spec)
    assert [r.name for r in unused] == [rule]
    assert print_unused(unused, justified, Console(width=200), checked=True) == 1
    assert "UNUSED prod-" in capsys.readouterr().out
