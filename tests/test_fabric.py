"""The private network fabric: allocation (ASNs, inside-tunnel /30s) and what the plan builds.

Sources of the rules pinned here (see ../shared/reference/network-fabric.md for the notes):
- AWS ``VpnTunnelOptionsSpecification.TunnelInsideCidr``: a /30 in 169.254.0.0/16, never
  169.254.0.0/30 ... 169.254.5.0/30 or 169.254.169.252/30; AWS side = first host.
- learn.microsoft.com/azure/vpn-gateway/vpn-gateway-howto-aws-bgp (ms.date 02/18/2026): Azure custom
  APIPA BGP addresses lie in 169.254.21.0-169.254.22.255; active-active for several AWS tunnels.
- learn.microsoft.com/azure/vpn-gateway/vpn-gateway-vpn-faq: Azure reserves ASNs 65515, 65517-65520.
- pulumi-aws 7.51.1 ``TransitGateway.amazon_side_asn`` 64512-65534 / 4200000000-4294967294;
  pulumi-gcp 10.2.0 ``Router.bgp.asn`` RFC 6996 private only.
- cloud.google.com/network-connectivity/docs/vpn/how-to/connect-ha-vpn-aws-peer-gateway: 4 tunnels
  GCP-AWS (FOUR_IPS_REDUNDANCY); GoogleCloudPlatform/professional-services tools/gcp-azure-ha-vpn:
  2 tunnels GCP-Azure (TWO_IPS_REDUNDANCY).
"""

from __future__ import annotations

import ipaddress
import json
import random
from typing import Any

import pytest

from offline.mocks import SUBSCRIPTION
from offline.plan import Plan, run_plan
from stacks import fabric
from stacks.config import ConfigError
from stacks.validate import build_spec

from .conftest import stack_raw

REGIONS = {"aws": ["us-east-1", "us-east-2", "us-west-2", "eu-west-1"], "azure": ["westeurope", "northeurope", "eastus"],
           "gcp": ["asia-southeast1", "europe-west1", "us-central1"]}


def prod_vpn() -> dict[str, Any]:
    raw = stack_raw("prod")
    assert raw["network"]["fabric"] == "vpn"
    return raw


def fabric_of(raw: dict[str, Any]) -> fabric.FabricPlan:
    plan = fabric.fabric_plan(build_spec(raw, "t"))
    assert plan is not None
    return plan


def test_prod_fabric_topology() -> None:
    """Prod: a gateway per cloud region (two AWS regions), every cross-cloud pair linked with the
    HA tunnel count, the two AWS regions joined by TGW peering."""
    plan = fabric_of(prod_vpn())
    assert [g.key for g in plan.gateways] == ["aws/us-east-1", "aws/us-east-2", "azure/westeurope", "gcp/asia-southeast1"]
    kinds = {lk.key: (lk.kind, len(lk.tunnels)) for lk in plan.links}
    assert kinds == {
        "aws/us-east-1~aws/us-east-2": ("tgw-peering", 0),
        "aws/us-east-1~azure/westeurope": ("vpn", 4), "aws/us-east-2~azure/westeurope": ("vpn", 4),
        "aws/us-east-1~gcp/asia-southeast1": ("vpn", 4), "aws/us-east-2~gcp/asia-southeast1": ("vpn", 4),
        "azure/westeurope~gcp/asia-southeast1": ("vpn", 2),
    }
    asns = [g.asn for g in plan.gateways]
    assert len(set(asns)) == len(asns)
    for g in plan.gateways:
        assert any(lo <= g.asn <= hi for lo, hi in fabric.CLOUD_ASNS[g.cloud]) and g.asn not in (65515, 65517, 65518, 65519, 65520)


def test_inside_addresses_honour_every_cloud() -> None:
    plan = fabric_of(prod_vpn())
    nets = [t.cidr for lk in plan.links for t in lk.tunnels]
    assert all(n.prefixlen == 30 and n.subnet_of(fabric.LINK_LOCAL) for n in nets)
    assert all(not n.overlaps(a) for a in nets for n in nets if n is not a)
    assert not any(n.overlaps(r) for n in nets for r in fabric.AWS_RESERVED_INSIDE)
    apipa_lo, apipa_hi = ipaddress.IPv4Address("169.254.21.0"), ipaddress.IPv4Address("169.254.22.255")
    for lk in plan.links:
        touches_azure = lk.a.startswith("azure/") or lk.b.startswith("azure/")
        for t in lk.tunnels:
            inside_apipa = apipa_lo <= t.cidr.network_address and t.cidr.broadcast_address <= apipa_hi
            assert inside_apipa == touches_azure, (lk.key, t.cidr)
            hosts = list(t.cidr.hosts())
            first = "aws" if "aws/" in lk.key else "azure"  # AWS first host; Azure before GCP
            owner = next(k for k, _ in t.addresses if k.startswith(first))
            assert t.address(owner) == str(hosts[0])


def _random_fleet(rng: random.Random, n: int) -> list[tuple[str, str, str]]:
    picks = rng.sample([(c, r) for c, rs in REGIONS.items() for r in rs], n)
    return [(f"c{i}", c, r) for i, (c, r) in enumerate(picks)]


@pytest.mark.parametrize("seed", range(6))
def test_adding_a_region_never_moves_another_link(seed: int) -> None:
    """Stable keys: ASNs and tunnel blocks of existing gateways/links survive a new region."""
    rng = random.Random(seed)
    cfg = fabric.FabricConfig(fabric="vpn")
    clusters = _random_fleet(rng, 5)
    before, issues = fabric.allocate(cfg, clusters[:4])
    after, issues2 = fabric.allocate(cfg, clusters)
    if issues or issues2:  # a hash collision is reported, never silently moved
        assert all("pin" in i.message for i in issues + issues2)
        return
    old = {g.key: g.asn for g in before.gateways}
    assert {k: v for k, v in ((g.key, g.asn) for g in after.gateways) if k in old} == old
    old_links = {lk.key: lk.tunnels for lk in before.links}
    assert {lk.key: lk.tunnels for lk in after.links if lk.key in old_links} == old_links


def _with(**network: Any) -> dict[str, Any]:
    raw = prod_vpn()
    raw["network"] = {"fabric": "vpn", **network}
    return raw


def _two_azure_in_one_region() -> dict[str, Any]:
    raw = _with()
    raw["clusters"].append({**raw["clusters"][2], "name": "prod-weu2", "network": {"slot": 5}})
    return raw


BAD = [
    (_with(asns={"azure/westeurope": 65515}), "network.asns.azure/westeurope: 65515", "Azure reserves 65515"),
    (_with(asns={"azure/westeurope": 65518}), "network.asns.azure/westeurope: 65518", "Azure reserves"),
    (_with(asns={"gcp/asia-southeast1": 64000}), "network.asns.gcp/asia-southeast1: 64000", "RFC 6996"),
    (_with(asns={"aws/us-east-2": 65535}), "network.asns.aws/us-east-2: 65535", "AWS accepts"),
    (_with(asns={"aws/eu-west-1": 64600}), "network.asns.aws/eu-west-1: 64600", "names no gateway"),
    (_with(asns={"aws/us-east-1": 64600, "aws/us-east-2": 64600}), "network.asns.aws/us-east-2: 64600", "already the ASN"),
    (_with(insideCidr="10.0.0.0/24"), "network.insideCidr: '10.0.0.0/24'", "inside 169.254.0.0/16"),
    (_with(insideCidr="169.254.0.0/20"), "network.insideCidr: '169.254.0.0/20'", "AWS-reserved"),
    (_with(insideCidr="169.254.16.0/20"), "network.insideCidr: '169.254.16.0/20'", "169.254.21.0-169.254.22.255"),
    (_with(insideCidr="169.254.64.0/29"), "network.insideCidr: '169.254.64.0/29'", "/27 or larger"),
    (_with(tunnelSlots={"aws/us-east-1~aws/us-east-2": 1}), "network.tunnelSlots.aws/us-east-1~aws/us-east-2: 1", "no VPN link"),
    (_with(tunnelSlots={"azure/westeurope~gcp/asia-southeast1": 16}), "network.tunnelSlots.azure/westeurope~gcp/asia-southeast1: 16",
     "outside its pool"),
    (_with(tunnelSlots={"aws/us-east-1~azure/westeurope": 3, "aws/us-east-2~azure/westeurope": 3}),
     "network.tunnelSlots.aws/us-east-2~azure/westeurope: 3", "tunnel block of 'aws/us-east-1~azure/westeurope'"),
    (_with(fabric="none", asns={"aws/us-east-1": 64600}), "network.asns: {'aws/us-east-1': 64600}", "no effect"),
    (_with(fabric="mesh"), "network.fabric: 'mesh'", "'vpn' or 'none'"),
    (_two_azure_in_one_region(), "clusters[4].region: 'westeurope'", "second azure cluster"),
    (_with() | {"submariner": {"natTraversal": True}}, "submariner.natTraversal: True", "private addresses"),
]


@pytest.mark.parametrize("raw,path,text", BAD, ids=[b[1] for b in BAD])
def test_bad_fabric_config_names_key_and_value(raw: dict[str, Any], path: str, text: str) -> None:
    with pytest.raises(ConfigError) as exc:
        build_spec(raw, "t")
    lines = [str(i) for i in exc.value.issues]
    assert any(line.startswith(path) and text in line for line in lines), lines


def test_fabric_none_builds_nothing(dev_plan: Plan) -> None:
    assert dev_plan.spec.network.fabric == "none"
    assert not [r for r in dev_plan.resources if r["type"].startswith("archipelago:") and "Gateway" in r["type"]]
    assert "fabric" not in dev_plan.outputs


# -- what the prod plan builds ------------------------------------------------------------------

FABRIC_TYPES = ("archipelago:index:Fabric", "archipelago:index:AwsGateway", "archipelago:index:AzureGateway",
                "archipelago:index:GcpGateway", "archipelago:index:VpnLink", "archipelago:index:PeeringLink")


def fabric_resources(plan: Plan) -> list[dict[str, Any]]:
    by_urn = plan.by_urn()

    def under(r: dict[str, Any] | None) -> bool:
        while r is not None:
            if r["type"] in FABRIC_TYPES:
                return True
            r = by_urn.get(r.get("parent") or "")
        return False

    return [r for r in plan.resources if r["custom"] and under(r)]


def _plan_of(prod_plan: Plan) -> fabric.FabricPlan:
    fp = fabric.fabric_plan(prod_plan.spec)
    assert fp is not None
    return fp


def test_prod_builds_every_tunnel_with_bgp(prod_plan: Plan) -> None:
    fp = _plan_of(prod_plan)
    conns = prod_plan.of_type("aws:ec2/vpnConnection:VpnConnection")
    aws_tunnels = {c["inputs"][f"tunnel{i}InsideCidr"] for c in conns for i in (1, 2)}
    expected = {str(t.cidr) for lk in fp.links for t in lk.tunnels if "aws/" in lk.key}
    assert aws_tunnels == expected
    assert all(c["inputs"]["staticRoutesOnly"] is False and c["inputs"]["transitGatewayId"] for c in conns)
    gcp_tunnels = prod_plan.of_type("gcp:compute/vPNTunnel:VPNTunnel")
    assert len(gcp_tunnels) == 4 + 4 + 2 and len(prod_plan.of_type("gcp:compute/routerPeer:RouterPeer")) == 10
    azure_conns = prod_plan.of_type("azure-native:network:VirtualNetworkGatewayConnection")
    assert len(azure_conns) == 4 + 4 + 2 and all(c["inputs"]["enableBgp"] for c in azure_conns)
    vng = prod_plan.of_type("azure-native:network:VirtualNetworkGateway")[0]["inputs"]
    assert vng["activeActive"] and vng["sku"]["name"] == "VpnGw2AZ" and len(vng["ipConfigurations"]) == 2
    # The gateway names its own ip configurations before it exists (AVM-VGW locals.tf builds the
    # same string): the ids must be exactly the ARM ids of its two configurations.
    own = (f"/resourceGroups/{vng['resourceGroupName']}/providers/Microsoft.Network/virtualNetworkGateways/"
           f"{vng['virtualNetworkGatewayName']}/ipConfigurations/")
    ids = [p["ipconfigurationId"] for p in vng["bgpSettings"]["bgpPeeringAddresses"]]
    assert ids == [f"/subscriptions/{SUBSCRIPTION}{own}{c['name']}" for c in vng["ipConfigurations"]]
    assert all(g["ipConfigurationId"] in ids for c in azure_conns for g in c["inputs"]["gatewayCustomBgpIpAddresses"])
    listed = {ip for p in vng["bgpSettings"]["bgpPeeringAddresses"] for ip in p["customBgpIpAddresses"]}
    assert listed == {t.address("azure/westeurope") for lk in fp.links_of("azure/westeurope") for t in lk.tunnels}
    router = prod_plan.of_type("gcp:compute/router:Router")
    vpn_router = next(r for r in router if r["inputs"].get("bgp"))
    bgp = vpn_router["inputs"]["bgp"]
    ase1 = prod_plan.spec.cluster("prod-ase1").network
    assert bgp["advertiseMode"] == "CUSTOM" and bgp["advertisedGroups"] == ["ALL_SUBNETS"]
    assert [r["range"] for r in bgp["advertisedIpRanges"]] == [str(ase1.pods), str(ase1.control_plane)]


def test_preshared_keys_are_secrets_and_valid_everywhere(prod_plan: Plan) -> None:
    """Every PSK is a pulumi_random secret in the record; its charset is the one all three clouds
    accept (alphanumerics, AWS forbids a leading 0)."""
    from components.network.fabric import PSK_LENGTH, psk_text

    passwords = [r for r in fabric_resources(prod_plan) if r["type"] == "random:index/randomPassword:RandomPassword"]
    assert len(passwords) == 18
    assert all(r["inputs"]["special"] is False and r["inputs"]["length"] == PSK_LENGTH for r in passwords)
    for typ, keys in (("aws:ec2/vpnConnection:VpnConnection", ("tunnel1PresharedKey", "tunnel2PresharedKey")),
                      ("gcp:compute/vPNTunnel:VPNTunnel", ("sharedSecret",)),
                      ("azure-native:network:VirtualNetworkGatewayConnection", ("sharedKey",))):
        for r in prod_plan.of_type(typ):
            assert all(r["inputs"][k] == "[secret]" for k in keys), r["name"]
    assert psk_text("0abc") == "kabc" and psk_text("Zabc") == "Zabc"


def test_fabric_is_protected_in_prod_and_only_the_deployers_path_waits_on_it(prod_plan: Plan) -> None:
    res = fabric_resources(prod_plan)
    cloud = [r for r in res if not r["type"].startswith("pulumi:providers:")]
    assert cloud and all(r["protect"] for r in cloud), [r["name"] for r in cloud if not r["protect"]]
    fabric_urns = {r["urn"] for r in res}
    waiting = {r["name"]: fabric_urns & set(r["dependencies"]) for r in prod_plan.resources
               if r["urn"] not in fabric_urns and fabric_urns & set(r["dependencies"])}
    # Only Kubernetes providers wait on the fabric: the deployer's path to their API server (the
    # TGW peering to us-east-1, the AWS-GCP VPN link to the GKE endpoint); never an Azure piece.
    assert set(waiting) == {"prod-use1-k8s", "prod-ase1-k8s"}
    by_urn = prod_plan.by_urn()
    assert not any(by_urn[u]["type"].startswith("azure-native:") for deps in waiting.values() for u in deps)
    assert not any(by_urn[u]["type"].startswith(("gcp:", "aws:ec2/vpnConnection")) for u in waiting["prod-use1-k8s"])


def test_aws_routes_send_every_remote_range_to_the_transit_gateway(prod_plan: Plan) -> None:
    fp = _plan_of(prod_plan)
    routes = [r for r in prod_plan.of_type("aws:ec2/route:Route") if r["inputs"].get("transitGatewayId")]
    for gw in (g for g in fp.gateways if g.cloud == "aws"):
        for name in gw.clusters:
            dests = {r["inputs"]["destinationCidrBlock"] for r in routes if r["name"].startswith(f"{name}-rt")}
            assert dests == {str(n) for n in fabric.remote_ranges(fp, gw.key)}
    # Azure overlay pods are never routed or advertised; GCP and AWS pods are.
    weu_pods = str(prod_plan.spec.cluster("prod-weu").network.pods)
    assert weu_pods not in {r["inputs"]["destinationCidrBlock"] for r in routes}


def test_one_cloud_fleet_builds_only_what_it_needs() -> None:
    raw = stack_raw("dev")
    raw["clusters"] = [c for c in raw["clusters"] if c["cloud"] == "aws"]
    raw["backup"] = {}
    raw["network"] = {"fabric": "vpn"}
    raw["submariner"] = {"natTraversal": False}
    raw.pop("dns", None)  # its records name clusters on other clouds
    plan = run_plan("dev", raw=raw)
    types = {r["type"] for r in fabric_resources(plan)}
    assert "aws:ec2transitgateway/peeringAttachment:PeeringAttachment" in types
    assert not {t for t in types if "vpn" in t.lower() or t.startswith(("azure-native:", "gcp:"))}


# -- inside the clusters: injection labels, the mesh's NetworkPolicies, gateway source ranges ----

NETPOL = "kubernetes:networking.k8s.io/v1:NetworkPolicy"


def _objects(plan: Plan, typ: str) -> dict[tuple[str | None, str, str], dict[str, Any]]:
    """(cluster, namespace, name) -> inputs."""
    from offline.report import cluster_of

    by_urn = plan.by_urn()
    return {(cluster_of(r, by_urn), r["inputs"]["metadata"].get("namespace", ""), r["inputs"]["metadata"]["name"]): r["inputs"]
            for r in plan.of_type(typ)}


def test_application_namespaces_carry_exactly_the_mesh_flows(plan: Plan) -> None:
    """istiod chart 1.30.3: sidecars reach istiod on 15012 (templates/deployment.yaml), the webhook
    selects namespaces labelled istio-injection=enabled (templates/mutatingwebhook.yaml); the
    east-west gateway serves cross-network traffic on 15443 (gateway chart values.yaml)."""
    pols = _objects(plan, NETPOL)
    namespaces = _objects(plan, "kubernetes:core/v1:Namespace")
    for c in plan.spec.clusters:
        remote = sorted(str(o.network.vpc) for o in plan.spec.clusters if o.name != c.name)
        for ns in ("production", "staging"):
            assert namespaces[(c.name, "", ns)]["metadata"]["labels"]["istio-injection"] == "enabled"
            mesh = {n: p["spec"] for (cl, pns, n), p in pols.items() if cl == c.name and pns == ns and n.startswith("mesh-")}
            assert set(mesh) == {"mesh-istiod", "mesh-sidecars", "mesh-eastwest"}
            (istiod,) = mesh["mesh-istiod"]["egress"]
            assert istiod["ports"] == [{"protocol": "TCP", "port": 15012}]
            assert istiod["to"] == [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "istio-system"}},
                                     "podSelector": {"matchLabels": {"app": "istiod"}}}]
            assert mesh["mesh-istiod"]["policyTypes"] == ["Egress"]
            side = {"namespaceSelector": {"matchLabels": {"istio-injection": "enabled"}}}
            assert mesh["mesh-sidecars"]["ingress"] == [{"from": [side]}] and mesh["mesh-sidecars"]["egress"] == [{"to": [side]}]
            ew = mesh["mesh-eastwest"]
            assert ew["ingress"][0]["from"][0]["podSelector"] == {"matchLabels": {"istio": "eastwestgateway"}}
            (out,) = ew["egress"]
            assert out["ports"] == [{"protocol": "TCP", "port": 15443}]
            assert sorted(p["ipBlock"]["cidr"] for p in out["to"]) == remote


def test_eastwest_gateway_admits_only_the_fleet(plan: Plan) -> None:
    from offline.report import cluster_of
    from stacks.ports import fleet_sources

    by_urn = plan.by_urn()
    gws = [r for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"].get("name") == "istio-eastwestgateway"]
    assert len(gws) == len(plan.spec.clusters)
    for r in gws:
        c = plan.spec.cluster(cluster_of(r, by_urn) or "")
        assert r["inputs"]["values"]["service"]["loadBalancerSourceRanges"] == [str(n) for n in fleet_sources(plan.spec, c)]


def test_sidecar_injection_is_configurable_per_namespace() -> None:
    raw = stack_raw("dev")
    raw["mesh"] = {**raw.get("mesh", {}), "sidecarInjection": {"staging": False}}
    plan = run_plan("dev", raw=raw)
    pols = _objects(plan, NETPOL)
    namespaces = _objects(plan, "kubernetes:core/v1:Namespace")
    for c in plan.spec.clusters:
        assert "istio-injection" not in (namespaces[(c.name, "", "staging")]["metadata"].get("labels") or {})
        assert not [k for k in pols if k[0] == c.name and k[1] == "staging" and k[2].startswith("mesh-")]
        assert (c.name, "production", "mesh-istiod") in pols
    bad = stack_raw("dev")
    bad["mesh"] = {"sidecarInjection": {"default": True}}
    with pytest.raises(ConfigError) as exc:
        build_spec(bad, "dev")
    assert any(str(i).startswith("mesh.sidecarInjection: {'default': True}") and "not application namespaces" in str(i)
               for i in exc.value.issues)


# -- the deployer's path and the bootstrap order -------------------------------------------------

def test_prod_deploys_from_a_runner_inside_the_management_vpc(prod_plan: Plan) -> None:
    """docs.aws.amazon.com/codebuild/latest/userguide/action-runner-overview.html: a CodeBuild
    project with a WORKFLOW_JOB_QUEUED webhook runs GitHub Actions jobs labelled
    codebuild-<project>-<run id>-<run attempt>; vpc_config puts its builds in our subnets."""
    from offline.report import cluster_of

    by_urn = prod_plan.by_urn()
    (project,) = prod_plan.of_type("aws:codebuild/project:Project")
    assert project["inputs"]["name"] == "prod-mgmt-deployer"
    subnet_records = [by_urn[d] for d in project["dependencies"] if by_urn[d]["type"] == "aws:ec2/subnet:Subnet"]
    assert {cluster_of(s, by_urn) for s in subnet_records} == {"prod-mgmt"}
    subnets = {s["inputs"]["cidrBlock"] for s in subnet_records}
    vpc = prod_plan.spec.cluster("prod-mgmt").network.vpc
    assert subnets and all(ipaddress.IPv4Network(s).subnet_of(vpc) for s in subnets)
    # No console approval: the token comes from a Secrets Manager secret (asm-create-secret.html;
    # pulumi_aws 7.51.1 codebuild ProjectSourceAuthArgs: type CODECONNECTIONS or SECRETS_MANAGER),
    # readable by the build role only; nothing of GitHub's is created PENDING.
    auth = project["inputs"]["source"]["auth"]
    assert auth["type"] == "SECRETS_MANAGER" and ":secretsmanager:" in auth["resource"]
    assert auth["resource"].split(":secret:")[1].startswith("prod-mgmt-deployer-github-token-")
    assert not prod_plan.of_type("aws:codestarconnections/connection:Connection")
    (policy,) = [r for r in prod_plan.of_type("aws:iam/rolePolicy:RolePolicy") if r["name"] == "deployer-policy"]
    statements = json.loads(policy["inputs"]["policy"])["Statement"]
    assert {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": auth["resource"]} in statements
    (hook,) = prod_plan.of_type("aws:codebuild/webhook:Webhook")
    assert hook["inputs"]["filterGroups"] == [{"filters": [{"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"}]}]
    rule = next(r for r in prod_plan.of_type("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule") if r["name"] == "deployer-to-api")
    sg = next(r for r in prod_plan.of_type("aws:ec2/securityGroup:SecurityGroup") if r["name"] == "deployer-sg")
    assert (rule["inputs"]["fromPort"], rule["inputs"]["toPort"], rule["inputs"]["ipProtocol"]) == (443, 443, "tcp")
    assert sg["urn"] in rule["dependencies"] and rule["inputs"]["referencedSecurityGroupId"]
    assert prod_plan.outputs["deployerRunsOn"]["value"].startswith("codebuild-prod-mgmt-deployer-")


def test_bootstrap_phase_one_is_the_runner_and_what_fits_beside_it(prod_plan: Plan) -> None:
    """Phase 1 (hosted runner): the runner, its network's way out, and what can be created
    alongside without making the phase longer; no cluster, no fabric, no Kubernetes API.
    Phase 2 (the runner): everything else in one graph."""
    from offline.bootstrap import FLEET, RUNNER, phases, targets
    from offline.bringup import CLUSTER_TYPES, Graph, longest_path

    split = phases(prod_plan.resources)
    first = {r["urn"] for r in split[RUNNER]}
    g = Graph(prod_plan.resources)
    assert not any(g.is_fabric(u) or g.by_urn[u]["type"] in CLUSTER_TYPES or g.by_urn[u]["type"].startswith(("kubernetes:", "pulumi:providers:kubernetes"))
                   for u in first)
    # Phase 1 stands alone: nothing in it depends on phase 2 (or is provisioned through it).
    components = {x["urn"] for x in prod_plan.resources if not x["custom"]}
    for r in split[RUNNER]:
        assert set(r["dependencies"]) <= first | components, r["name"]
    names = {r["name"] for r in split[RUNNER]}
    assert {"deployer-project", "deployer-webhook", "deployer-policy", "prod-mgmt-net-private-us-east-2a-default"} <= names
    assert {"deployer-to-api", "prod-mgmt-eks", "fabric-azure-westeurope-vpn"} <= {r["name"] for r in split[FLEET]}
    # What fits beside the runner does not make phase 1 longer than the runner alone.
    runner = [u for u in first if g.by_urn[u]["name"].startswith("deployer-")]
    assert longest_path(g, allowed=first).minutes == longest_path(g, allowed=first, targets=runner).minutes
    urns = targets(prod_plan.resources)
    by_urn = prod_plan.by_urn()
    assert all(by_urn[by_urn[u]["parent"]]["urn"] in urns for u in urns if by_urn[u].get("parent") in by_urn)


DEPLOYER_BAD = [
    ({"fabric": "none", "deployerRepository": "https://github.com/company/archipelago"}, "needs network.fabric 'vpn'"),
    ({"fabric": "vpn", "deployerRepository": "git@github.com:company/archipelago"}, "should match pattern"),
]


@pytest.mark.parametrize("network,text", DEPLOYER_BAD)
def test_bad_deployer_config(network: dict[str, Any], text: str) -> None:
    raw = _with()
    raw["network"] = network
    with pytest.raises(ConfigError) as exc:
        build_spec(raw, "t")
    assert any(str(i).startswith("network.deployerRepository") and text in str(i) for i in exc.value.issues), exc.value.issues
