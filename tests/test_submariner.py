"""Submariner: one broker on the management cluster, a join on every cluster with its own
ID and CIDRs, secrets kept secret, config errors, and every object valid against its schema."""

from __future__ import annotations

import ipaddress
import json
import re
from typing import Any, cast

import pytest
import yaml
from pulumi.runtime.sync_await import _sync_await

from components.addons.submariner import (
    BROKER_NAMESPACE,
    OPERATOR_NAMESPACE,
    SubmarinerJoinArgs,
    cluster_id,
    join_values,
    kube_dns_stub_domains,
)
from components.fleet.submariner import BROKER_CLIENT_SA, api_host_port
from offline.mocks import MASK
from offline.plan import Plan, run_plan
from offline.report import cluster_name, cluster_of
from offline.schemas import validate_builtin, validate_custom_resource
from stacks.config import ConfigError
from stacks.sections.connectivity import SUBMARINER_SUPPORT, lighthouse_dns_ip
from stacks.validate import build_spec
from stacks.versions import CHARTS, CRD_API_VERSIONS, SUBMARINER_IMAGE_TAG

from .conftest import ROOT, stack_raw

CHART_DIR = ROOT.parent / "shared" / "charts"
RELEASE = "kubernetes:helm.sh/v3:Release"
DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")


def releases(plan: Plan, chart: str) -> list[dict[str, Any]]:
    return [r for r in plan.of_type(RELEASE) if r["inputs"]["chart"] == chart]


def joined(plan: Plan) -> list[Any]:
    return [c for c in plan.spec.clusters if SUBMARINER_SUPPORT[c.cloud].supported]


def joins(plan: Plan) -> dict[str, dict[str, Any]]:
    """submariner-operator releases by the cluster whose provider they use."""
    by_urn = plan.by_urn()
    return {cluster_name(r, by_urn): r for r in releases(plan, "submariner-operator")}


# --- broker ----------------------------------------------------------------------------------

def test_one_broker_on_the_management_cluster(plan: Plan) -> None:
    by_urn = plan.by_urn()
    brokers = releases(plan, "submariner-k8s-broker")
    assert len(brokers) == 1
    b = brokers[0]
    assert cluster_of(b, by_urn) == plan.spec.management.name
    assert b["inputs"]["version"] == CHARTS["submariner-k8s-broker"]["version"]
    assert b["inputs"]["namespace"] == BROKER_NAMESPACE and b["inputs"]["name"] == BROKER_NAMESPACE
    # The chart's Role binds the client SA the program made (create: false + our name).
    assert b["inputs"]["values"]["serviceAccounts"]["client"] == {"create": False, "name": BROKER_CLIENT_SA}
    ns = [r for r in plan.of_type("kubernetes:core/v1:Namespace") if r["inputs"]["metadata"]["name"] == BROKER_NAMESPACE]
    assert len(ns) == 1 and ns[0]["inputs"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"


def test_broker_token_is_a_program_made_secret_read_back(plan: Plan) -> None:
    by_urn = plan.by_urn()
    tokens = [r for r in plan.of_type("kubernetes:core/v1:Secret")
              if r["inputs"].get("metadata", {}).get("namespace") == BROKER_NAMESPACE]
    assert len(tokens) == 1
    t = tokens[0]
    assert t["inputs"]["type"] == "kubernetes.io/service-account-token"
    assert t["inputs"]["metadata"]["annotations"] == {"kubernetes.io/service-account.name": BROKER_CLIENT_SA}
    assert "data" in t["secretOutputs"]
    assert cluster_of(t, by_urn) == plan.spec.management.name
    # Every join consumes that token (a dependency), so nothing is copied by hand.
    for rel in joins(plan).values():
        assert t["urn"] in rel["dependencies"]


def test_broker_info_output_is_secret_and_holds_real_values(plan: Plan) -> None:
    assert plan.outputs["submarinerBrokerInfo"] == {"secret": True, "value": MASK}
    info = _sync_await(plan.raw_outputs["submarinerBrokerInfo"].future())
    assert info["token"].startswith("eyJ") and info["ca"] and len(info["ipsecPSK"]) == 64
    assert info["namespace"] == BROKER_NAMESPACE
    hub = plan.spec.management.name
    assert info["brokerURL"] == plan.outputs["submariner"]["value"]["broker"]["server"]
    assert plan.outputs["submariner"]["value"]["broker"]["cluster"] == hub


@pytest.mark.parametrize("endpoint, expected", [
    ("https://ABC.gr7.us-east-1.eks.amazonaws.com", "ABC.gr7.us-east-1.eks.amazonaws.com:443"),
    ("https://34.1.2.3", "34.1.2.3:443"),
    ("34.1.2.3", "34.1.2.3:443"),
    ("https://x-1a2b.hcp.westeurope.azmk8s.io:443", "x-1a2b.hcp.westeurope.azmk8s.io:443"),
    ("https://10.0.0.1:6443", "10.0.0.1:6443"),
])
def test_broker_address_is_host_port(endpoint: str, expected: str) -> None:
    """Submariner prepends the scheme to ``brokerK8sApiServer`` and base64-decodes ``brokerK8sCA``
    (submariner-io/admiral@v0.18.1 pkg/resource/rest.go:79-98 ``BuildRestConfigFromData``), so
    the server is host:port and the CA the token Secret's base64 ``ca.crt``."""
    assert api_host_port(endpoint) == expected


# --- joins -----------------------------------------------------------------------------------

def test_a_join_per_cluster_with_unique_id_and_its_own_cidrs(plan: Plan) -> None:
    by_cluster = joins(plan)
    # Every cluster on a supported dataplane, management cluster included.
    assert set(by_cluster) == {c.name for c in joined(plan)}
    ids = []
    for c in joined(plan):
        v = by_cluster[c.name]["inputs"]["values"]
        sub = v["submariner"]
        ids.append(sub["clusterId"])
        assert DNS_LABEL.match(sub["clusterId"])
        assert sub["clusterCidr"] == str(c.network.pods)
        assert sub["serviceCidr"] == str(c.network.services)
        assert sub["globalCidr"] == "" and v["broker"]["globalnet"] is False
        # Over the private fabric gateways use each other's private addresses (natEnabled false).
        assert sub["natEnabled"] is (plan.spec.network.fabric == "none") and sub["cableDriver"] == "libreswan"
        assert sub["serviceDiscovery"] is True  # Lighthouse
        assert sub["images"]["tag"] == v["operator"]["image"]["tag"] == SUBMARINER_IMAGE_TAG
        assert v["broker"]["namespace"] == BROKER_NAMESPACE and v["broker"]["insecure"] is False
        assert by_cluster[c.name]["inputs"]["namespace"] == OPERATOR_NAMESPACE
        assert by_cluster[c.name]["inputs"]["version"] == CHARTS["submariner-operator"]["version"]
    assert len(set(ids)) == len(ids)


def test_every_join_points_at_the_one_broker(plan: Plan) -> None:
    servers = {r["inputs"]["values"]["broker"]["server"] for r in joins(plan).values()}
    assert servers == {plan.outputs["submariner"]["value"]["broker"]["server"]}
    assert re.match(r"^[a-z0-9.-]+:\d+$", servers.pop(), re.IGNORECASE)


def test_psk_token_and_ca_are_masked_and_the_psk_is_made_once(plan: Plan) -> None:
    psks = plan.of_type("random:index/randomPassword:RandomPassword")
    psks = [r for r in psks if "submariner" in r["name"]]
    assert len(psks) == 1 and "result" in psks[0]["secretOutputs"]
    assert psks[0]["inputs"]["length"] >= 32
    for rel in joins(plan).values():
        v = rel["inputs"]["values"]
        assert v["ipsec"]["psk"] == MASK
        assert v["broker"]["token"] == MASK and v["broker"]["ca"] == MASK
        assert v["ipsec"]["forceUDPEncaps"] is True
        assert psks[0]["urn"] in rel["dependencies"]


def test_operator_namespace_is_privileged_with_a_reason(plan: Plan) -> None:
    by_urn = plan.by_urn()
    ns = [r for r in plan.of_type("kubernetes:core/v1:Namespace") if r["inputs"]["metadata"]["name"] == OPERATOR_NAMESPACE]
    assert {cluster_of(r, by_urn) for r in ns} == {c.name for c in joined(plan)} and len(ns) == len(joined(plan))
    for r in ns:
        meta = r["inputs"]["metadata"]
        assert meta["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
        assert "hostNetwork" in meta["annotations"]["archipelago.io/pod-security-reason"]


def test_joins_wait_only_for_their_cluster_and_the_broker(plan: Plan) -> None:
    """No cluster's bring-up waits for another's: the only foreign dependencies of a join are the
    broker's resources and the hub's API endpoint they publish."""
    by_urn = plan.by_urn()
    hub = plan.spec.management.name
    broker_urns = {r["urn"] for r in plan.resources if "SubmarinerBroker" in r["urn"]}
    for name, rel in joins(plan).items():
        for dep in rel["dependencies"]:
            owner = cluster_of(by_urn[dep], by_urn) if dep in by_urn else None
            if owner in (None, name) or dep in broker_urns:
                continue
            # The broker URL and CA come from the hub cluster resource itself.
            assert owner == hub and by_urn[dep]["type"].endswith(("/cluster:Cluster", ":ManagedCluster")), (name, dep)


def test_gateway_nodes_are_labelled_on_every_cloud(plan: Plan) -> None:
    by_urn = plan.by_urn()
    labelled = set()
    for r in plan.of_type("aws:eks/nodeGroup:NodeGroup"):
        if r["inputs"]["labels"].get("submariner.io/gateway") == "true":
            labelled.add(cluster_of(r, by_urn))
    for r in plan.of_type("azure-native:containerservice:ManagedCluster"):
        if all(p["nodeLabels"].get("submariner.io/gateway") == "true" for p in r["inputs"]["agentPoolProfiles"]):
            labelled.add(cluster_of(r, by_urn))
    for r in plan.of_type("gcp:container/nodePool:NodePool"):
        if r["inputs"]["nodeConfig"]["labels"].get("submariner.io/gateway") == "true":
            labelled.add(cluster_of(r, by_urn))
    assert labelled == {c.name for c in plan.spec.clusters}


# --- chart values and custom resources -------------------------------------------------------

def _keys(d: dict[str, Any], prefix: str = "") -> set[str]:
    out = set()
    for k, v in d.items():
        out.add(prefix + k)
        if isinstance(v, dict) and v:
            out |= _keys(v, f"{prefix}{k}.")
    return out


@pytest.mark.parametrize("chart", ["submariner-k8s-broker", "submariner-operator"])
def test_values_use_only_keys_the_chart_has(plan: Plan, chart: str) -> None:
    known = _keys(yaml.safe_load((CHART_DIR / chart / "values.yaml").read_text()))
    # images.tag under submariner is a nested default (submariner.images.tag) present in values.yaml.
    for rel in releases(plan, chart):
        unknown = _keys(rel["inputs"]["values"]) - known
        assert not unknown, f"{chart}: values keys not in the chart: {sorted(unknown)}"


def merged(defaults: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    """Helm's coalescing of a release's values over the chart's values.yaml."""
    out = dict(defaults)
    for k, v in values.items():
        out[k] = merged(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def render_submariner_cr(release_values: dict[str, Any], namespace: str) -> dict[str, Any]:
    """The chart's Submariner resource (templates/submariner.yaml) rendered from a release's values.

    Handles the template's constructs the release uses: ``{{ .Values.x.y }}``, quoted forms,
    ``.Release.Namespace``, the version default, and the optional ``with`` blocks (left out:
    their values are empty in our releases, asserted below)."""
    values = merged(yaml.safe_load((CHART_DIR / "submariner-operator" / "values.yaml").read_text()), release_values)
    assert not values.get("images") and not values["submariner"].get("coreDNSCustomConfig")
    text = (CHART_DIR / "submariner-operator" / "templates" / "submariner.yaml").read_text()
    text = re.sub(r"\{\{- with \.Values\.images \}\}.*?\n\{\{- end \}\}\n\{\{- end \}\}\n", "", text, flags=re.DOTALL)
    text = re.sub(r"\{\{- with .Values.submariner.coreDNSCustomConfig \}\}.*?\{\{- end \}\}\n?", "", text, flags=re.DOTALL)
    text = text.replace("{{ .Release.Namespace }}", namespace)
    text = text.replace("{{ default .Chart.AppVersion .Values.submariner.images.tag }}", values["submariner"]["images"]["tag"])

    def lookup(path: str) -> Any:
        node: Any = values
        for part in path.split("."):
            node = node[part]
        return node

    text = re.sub(r'"\{\{ \.Values\.([\w.]+) \}\}"', lambda m: json.dumps(str(lookup(m.group(1)))), text)
    text = re.sub(r"\{\{ \.Values\.([\w.]+) \}\}", lambda m: json.dumps(lookup(m.group(1))), text)
    assert "{{" not in text, text
    return yaml.safe_load(text)


def test_rendered_submariner_resources_are_valid(plan: Plan) -> None:
    for name, rel in joins(plan).items():
        cr = render_submariner_cr(rel["inputs"]["values"], rel["inputs"]["namespace"])
        assert cr["apiVersion"] == CRD_API_VERSIONS["Submariner"]
        assert validate_custom_resource(cr) == [], name
        assert cr["spec"]["clusterID"] == name and cr["spec"]["namespace"] == OPERATOR_NAMESPACE


SUBMARINER_PAGE = ROOT / "docs" / "addons" / "submariner.md"


def _documented_example() -> list[dict[str, Any]]:
    page = SUBMARINER_PAGE.read_text()
    block = re.search(r"```yaml\n(?=apiVersion: v1\n)(.*?)```", page, re.DOTALL)
    assert block, "the Submariner page has the Service + ServiceExport example"
    return [d for d in yaml.safe_load_all(block.group(1)) if d]


def test_documented_service_export_is_valid_and_matches_its_service() -> None:
    docs = {d["kind"]: d for d in _documented_example()}
    export, svc = docs["ServiceExport"], docs["Service"]
    assert export["apiVersion"] == CRD_API_VERSIONS["ServiceExport"]
    assert validate_custom_resource(export) == []
    assert validate_builtin(svc, "1.33") == []
    # Same name and namespace: that is what makes Lighthouse export this Service.
    assert export["metadata"] == svc["metadata"]
    name, ns = svc["metadata"]["name"], svc["metadata"]["namespace"]
    assert f"`{name}.{ns}.svc.clusterset.local`" in SUBMARINER_PAGE.read_text()


# --- config ----------------------------------------------------------------------------------

def with_submariner(**section: Any) -> dict[str, Any]:
    raw = stack_raw("dev")
    raw["submariner"] = section
    return raw


BAD = [
    # (id, submariner section, expected path, expected text)
    ("unknown-driver", {"cableDriver": "strongswan"}, "submariner.cableDriver", "'strongswan'"),
    ("typo-key", {"cableDrvier": "wireguard"}, "submariner.cableDrvier", "did you mean 'cableDriver'"),
    ("nat-not-bool", {"natTraversal": "maybe"}, "submariner.natTraversal", "'maybe'"),
    # submariner-io/submariner@v0.18.1 pkg/cable/vxlan/vxlan.go:74-76: vxlan supports no NAT.
    ("vxlan-behind-nat", {"cableDriver": "vxlan", "natTraversal": True}, "submariner.natTraversal", "vxlan driver works only without NAT"),
    ("globalnet-bad-cidr", {"globalnet": {"enabled": True, "cidr": "242.0.0.1/8"}}, "submariner.globalnet.cidr", "host bits"),
    ("globalnet-overlaps-fleet", {"globalnet": {"enabled": True, "cidr": "10.128.0.0/9"}}, "submariner.globalnet.cidr",
     "overlaps addressSpace 10.0.0.0/8"),
    ("globalnet-slice-too-big", {"globalnet": {"enabled": True, "cidr": "242.0.0.0/12", "clusterPrefix": 10}},
     "submariner.globalnet.clusterPrefix", "must be /12 or longer"),
    ("globalnet-too-few-slices", {"globalnet": {"enabled": True, "cidr": "242.0.0.0/15", "clusterPrefix": 16}},
     "submariner.globalnet.clusterPrefix", "leaves 2 slices of 242.0.0.0/15 for 4 clusters"),
]


@pytest.mark.parametrize("section, path, text", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_submariner_config_is_reported_with_key_and_value(section: dict, path: str, text: str) -> None:
    with pytest.raises(ConfigError) as err:
        build_spec(with_submariner(**section), "dev")
    hits = [i for i in err.value.issues if i.path == path]
    assert hits, err.value.render()
    assert text in str(hits[0]), str(hits[0])


def test_globalnet_slice_collisions_name_both_clusters() -> None:
    raw = with_submariner(globalnet={"enabled": True, "cidr": "242.0.0.0/8", "clusterPrefix": 10})  # 4 slices
    for i, slot in enumerate((1, 5, 2, 3)):  # 1 and 5 share a slice (mod 4)
        raw["clusters"][i].setdefault("network", {})["slot"] = slot
    with pytest.raises(ConfigError) as err:
        build_spec(raw, "dev")
    msgs = [str(i) for i in err.value.issues]
    assert any(m.startswith("clusters[1].network.slot: 5") and "'dev-mgmt'" in m for m in msgs), msgs


def test_defaults_reach_the_spec() -> None:
    spec = build_spec(stack_raw("dev"), "dev")  # prod sets natTraversal false for its fabric
    s = spec.submariner
    assert (s.cable_driver, s.nat_traversal, s.globalnet.enabled, s.service_discovery) == ("libreswan", True, False, True)


def test_cluster_id_rejects_non_dns_names() -> None:
    assert cluster_id("prod-use1") == "prod-use1"
    for bad in ("Prod", "-a", "a_b", "a" * 64):
        with pytest.raises(ValueError):
            cluster_id(bad)


@pytest.fixture(scope="module")
def globalnet_plan() -> Plan:
    return run_plan("dev", raw=with_submariner(cableDriver="wireguard", natTraversal=False,
                                               globalnet={"enabled": True, "cidr": "242.0.0.0/8", "clusterPrefix": 16}))


def test_config_reaches_every_join(globalnet_plan: Plan) -> None:
    slices = []
    for c in joined(globalnet_plan):
        v = joins(globalnet_plan)[c.name]["inputs"]["values"]
        assert v["ipsec"]["psk"] == MASK
        assert v["submariner"]["cableDriver"] == "wireguard" and v["submariner"]["natEnabled"] is False
        assert v["broker"]["globalnet"] is True
        g = ipaddress.IPv4Network(v["submariner"]["globalCidr"])
        assert g.subnet_of(ipaddress.IPv4Network("242.0.0.0/8")) and g.prefixlen == 16
        # Placed by the cluster's address-plan slot: stable when clusters come and go.
        assert int(g.network_address) >> 16 & 0xFF == c.network.slot
        slices.append(g)
    assert len(set(slices)) == len(slices)


def test_builtin_objects_are_valid(plan: Plan) -> None:
    from offline.report import manifest

    ours = [r for r in plan.resources if r["custom"] and r["type"].startswith("kubernetes:core/")
            and "Submariner" in r["urn"]]
    assert {r["type"] for r in ours} == {"kubernetes:core/v1:Namespace", "kubernetes:core/v1:ServiceAccount",
                                         "kubernetes:core/v1:Secret"}
    for r in ours:
        assert validate_builtin(manifest(r), "1.33") == [], r["name"]


def test_without_globalnet_overlapping_ranges_stay_an_error() -> None:
    """Submariner routes pod and service ranges as they are, so with Globalnet off they must be
    disjoint: the address plan's overlap check is what guarantees it."""
    raw = stack_raw("dev")
    spec = build_spec(raw, "dev")
    raw["clusters"][2].setdefault("network", {})["podCidr"] = str(spec.clusters[1].network.pods)
    with pytest.raises(ConfigError) as err:
        build_spec(raw, "dev")
    assert any(i.path == "clusters[2].network.podCidr" and "overlaps" in i.message for i in err.value.issues)


# --- Submariner 0.18.1 read against upstream ---

def test_support_table_matches_the_clusters_the_program_builds(prod_plan: Plan) -> None:
    """Submariner 0.18.1 has no Cilium support, and Cilium's BPF host routing ignores the route
    agent's routes (submariner-io/submariner issues 3168, 3159, 4105). The table's dataplane per
    cloud must be what the cluster components actually configure: AKS networkDataplane cilium,
    GKE ADVANCED_DATAPATH (Dataplane V2), EKS the VPC CNI add-on with kube-proxy."""
    found = {}
    for r in prod_plan.of_type("azure-native:containerservice:ManagedCluster"):
        found["azure"] = r["inputs"]["networkProfile"]["networkDataplane"]
    for r in prod_plan.of_type("gcp:container/cluster:Cluster"):
        found["gcp"] = r["inputs"]["datapathProvider"]
    addons = {r["inputs"]["addonName"] for r in prod_plan.of_type("aws:eks/addon:Addon")}
    found["aws"] = "vpc-cni+kube-proxy" if {"vpc-cni", "kube-proxy"} <= addons else "?"
    assert found == {"azure": "cilium", "gcp": "ADVANCED_DATAPATH", "aws": "vpc-cni+kube-proxy"}
    assert {cloud: row.supported for cloud, row in SUBMARINER_SUPPORT.items()} == {"aws": True, "azure": False, "gcp": False}


def test_clusters_on_unsupported_dataplanes_do_not_join_and_say_why(plan: Plan) -> None:
    summary = plan.outputs["submariner"]["value"]
    skipped = {c.name: SUBMARINER_SUPPORT[c.cloud].reason for c in plan.spec.clusters if not SUBMARINER_SUPPORT[c.cloud].supported}
    assert skipped, "the stacks have clusters on Cilium dataplanes"
    assert summary["notJoined"] == skipped
    assert sorted(summary["clusters"]) == sorted(c.name for c in joined(plan))
    assert all("Cilium" in reason or "cilium" in reason for reason in skipped.values())


def _submariner_spec_schema(path: Any) -> dict[str, Any]:
    docs = [c for c in yaml.safe_load_all(path.read_text()) if c and c["spec"]["names"]["kind"] == "Submariner"]
    return docs[0]["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]


OPERATOR_CRD = ROOT.parent / "shared" / "crds" / "submariner" / "submariner.io_submariners.yaml"


def test_broker_token_stays_inline_because_operator_0_18_1_reads_it() -> None:
    """Why the broker token stays in the Submariner resource (bump past 0.18 -> revisit).

    Read at submariner-io/submariner-operator@v0.18.1:
    - controllers/submariner/submariner_controller.go:160-163: every reconcile starts with
      ``setupSecretSyncer``; when ``brokerK8sSecret`` is set (333) it builds the operator's broker
      client with ``getAuthorizedBrokerClientFor`` (340), which takes ``spec.BrokerK8sApiServerToken``
      (411, "TODO Read the secret"); an error ends the reconcile before the gateway DaemonSet
      (162). submariner-io/admiral@v0.18.1 pkg/resource/rest.go:40-61,116-131: an API error
      other than an unknown authority comes back as the error, so an empty token fails there. The same syncer copies only a broker Secret of
      service account ``cluster-<clusterID>`` (363; pkg/names/names.go:47-48), the per-cluster
      account ``subctl`` makes, not the shared client account this program makes.
    - gateway_resources.go:197 and servicediscovery_resources.go:48 copy the inline token into the
      gateway's environment and the ServiceDiscovery resource, whatever ``brokerK8sSecret`` says.
    - The agents themselves would prefer the Secret (admiral pkg/syncer/broker/syncer.go:293-307:
      keys ``token`` and ``ca.crt`` under /run/secrets/submariner.io/<name>, config.go:66-67; the
      inline values only on error), so only the operator blocks.
    Upstream fixed the operator in commit 65b679d ("Read the local Secret for creating the broker
    credentials"), first in v0.19.0. The chart (below) has no value for the reference either."""
    assert CHARTS["submariner-operator"]["version"] == "0.18.1", (
        "Submariner moved past 0.18.1: operator >= 0.19.0 reads brokerK8sSecret for its own client; "
        "move the broker token into a Secret if the chart now renders the reference")
    operator = _submariner_spec_schema(OPERATOR_CRD)
    assert "brokerK8sSecret" in operator["properties"]
    template = (CHART_DIR / "submariner-operator" / "templates" / "submariner.yaml").read_text()
    assert "brokerK8sApiServerToken: {{ .Values.broker.token }}" in template and "brokerK8sSecret" not in template


def test_psk_stays_inline_because_chart_0_18_1_cannot_render_a_reference() -> None:
    """Why the IPsec PSK stays in the Submariner resource although the gateway could read it from a
    Secret (and what to change when this fails).

    The gateway honours ``ceIPSecPSKSecret``: submariner-io/submariner-operator@v0.18.1
    controllers/submariner/gateway_resources.go:122-134 mounts Secret <name> of the resource's
    namespace at /var/run/secrets/submariner.io/<name>, and submariner-io/submariner@v0.18.1
    pkg/cable/libreswan/libreswan.go:119-135 reads its key ``psk`` (base64-encoding the bytes),
    which wins over the inline value. But:
    - chart submariner-operator 0.18.1 (submariner-io/submariner-charts@v0.18.1
      submariner-operator/templates/submariner.yaml:1-17) renders the resource with no condition,
      takes ``ceIPSecPSK`` from ``ipsec.psk`` and has no value for a reference: the program cannot
      make the chart's resource carry one;
    - its CRD copy (crds/crd.yaml) has no ``ceIPSecPSKSecret`` and requires ``ceIPSecPSK``; a
      structural schema prunes unknown fields, so a reference would vanish silently;
    - WireGuard reads only ``CE_IPSEC_PSK`` (pkg/cable/wireguard/driver.go:71-73,127 @v0.18.1),
      which the operator sets from the inline value (gateway_resources.go:202), so a wireguard
      fleet must keep the PSK inline whatever the chart does.
    The charts repository's newest tag stored here (v0.19.0-rc3) still renders only the inline PSK."""
    template = (CHART_DIR / "submariner-operator" / "templates" / "submariner.yaml").read_text()
    assert template.lstrip().startswith("apiVersion: submariner.io/v1alpha1\nkind: Submariner")  # no {{ if }} around it
    assert "ceIPSecPSK: {{ .Values.ipsec.psk }}" in template and "ceIPSecPSKSecret" not in template
    operator = _submariner_spec_schema(OPERATOR_CRD)
    chart = _submariner_spec_schema(CHART_DIR / "submariner-operator" / "crds" / "crd.yaml")
    assert "ceIPSecPSKSecret" in operator["properties"] and "ceIPSecPSK" not in operator["required"]
    assert "ceIPSecPSKSecret" not in chart["properties"] and "ceIPSecPSK" in chart["required"]
    assert not chart.get("x-kubernetes-preserve-unknown-fields")


def test_ike_port_is_left_to_the_chart(plan: Plan) -> None:
    """The program sets no IKE port: at 0.18.1 nothing reads ``ceIPSecIKEPort``
    (submariner-io/submariner-operator@v0.18.1: only api/v1alpha1/submariner_types.go:121 names
    it; gateway_resources.go:185-243 passes the NAT-T port and force-encaps, no IKE port), and
    libreswan runs IKE on the NAT-T port (submariner-io/submariner@v0.18.1
    pkg/cable/libreswan/libreswan.go:435,444: ``--ikeport`` is the NAT-T port). The NAT-T port
    and force-encaps do reach the gateway (gateway_resources.go:173,235-243), so UDP 4500 is the
    cable's port (stacks/ports.py)."""
    for rel in joins(plan).values():
        ipsec = rel["inputs"]["values"]["ipsec"]
        assert "ikePort" not in ipsec
        assert (ipsec["natPort"], ipsec["forceUDPEncaps"]) == (4500, True)


@pytest.mark.parametrize("cloud, custom", [("aws", None), ("azure", {"configMapName": "coredns-custom", "namespace": "kube-system"}),
                                           ("gcp", None)])
def test_clusterset_dns_wiring_per_cloud(cloud: str, custom: Any) -> None:
    """How ``clusterset.local`` reaches Lighthouse (submariner-operator
    controllers/servicediscovery/servicediscovery_controller.go @v0.18.1): with
    ``coreDNSCustomConfig`` the operator writes ``lighthouse.server`` into that ConfigMap (AKS
    imports ``*.server`` from ``coredns-custom`` and reverts edits to ``coredns``); without it the
    operator edits the ``coredns`` Corefile (EKS, whose add-on keeps the edit under PRESERVE);
    GKE's kube-dns has no Corefile, so the program adds a stub domain to a fixed-IP Service."""
    # join_values only places these leaves; plain strings stand in for the Outputs.
    args = SubmarinerJoinArgs(kubernetes_provider=cast(Any, None), cluster_id=f"c-{cloud}", cluster_cidr="10.2.0.0/16",
                              service_cidr="10.1.0.0/20", broker_server="b:443", broker_token="t", broker_ca="c",
                              ipsec_psk="p", cluster_dns=SUBMARINER_SUPPORT[cloud].dns)
    values = join_values(args)
    assert values["submariner"].get("coreDNSCustomConfig") == custom
    assert SUBMARINER_SUPPORT[cloud].dns == {"aws": "coredns", "azure": "coredns-custom", "gcp": "kube-dns"}[cloud]


def test_eks_coredns_addon_keeps_the_lighthouse_entry(plan: Plan) -> None:
    """EKS add-on conflict resolution OVERWRITE replaces a changed Corefile on add-on update,
    wiping the operator's lighthouse-start section; PRESERVE keeps it (EKS CreateAddon/UpdateAddon
    API ``resolveConflicts``)."""
    coredns = [r for r in plan.of_type("aws:eks/addon:Addon") if r["inputs"]["addonName"] == "coredns"]
    assert coredns and all(r["inputs"]["resolveConflictsOnUpdate"] == "PRESERVE" for r in coredns)


@pytest.mark.parametrize("services, ip", [("10.1.0.0/20", "10.1.0.53"), ("172.20.0.0/16", "172.20.0.53")])
def test_kube_dns_stub_domain_points_at_a_static_cluster_ip(services: str, ip: str) -> None:
    """The fixed ClusterIP lies in the band Kubernetes keeps for static allocation (the lower
    1/16 of the service range, 16..256 addresses: KEP-3070, GA in Kubernetes 1.26)."""
    assert lighthouse_dns_ip(ipaddress.IPv4Network(services)) == ip
    assert json.loads(kube_dns_stub_domains(ip)) == {"clusterset.local": [ip]}
    with pytest.raises(ValueError):
        lighthouse_dns_ip(ipaddress.IPv4Network("10.1.0.0/26"))
