"""Istio multi-primary, multi-network: per-cluster control plane, one root of trust,
remote secrets between every ordered pair of clusters, mesh-wide policy, config errors."""

from __future__ import annotations

import base64
import fnmatch
import json
from typing import Any, ClassVar

import jsonschema
import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from components.addons.istio import ONE_PATH_POLICY
from offline import schemas
from offline.mocks import SECRET_SIG_KEY, SECRET_SIG_VALUE, FleetMocks
from offline.plan import Plan, run_plan
from offline.report import cluster_name, cluster_of, manifest
from stacks.config import ConfigError
from stacks.sections.mesh import locality_lb_setting
from stacks.validate import build_spec
from stacks.versions import CHARTS
from tests.conftest import ROOT, stack_raw

CHART_ROOT = ROOT.parent / "shared" / "charts"
RELEASE = "kubernetes:helm.sh/v3:Release"
SECRET = "kubernetes:core/v1:Secret"
NAMESPACE = "kubernetes:core/v1:Namespace"
ISTIO_CHARTS = {"istio-base": "base", "istiod": "istiod", "istio-cni": "cni", "istio-gateway": "gateway"}
CR = "kubernetes:{}:{}"
GATEWAY = CR.format("networking.istio.io/v1", "Gateway")
DESTINATION_RULE = CR.format("networking.istio.io/v1", "DestinationRule")
PEER_AUTH = CR.format("security.istio.io/v1", "PeerAuthentication")
# What "internal" means per cloud, stated independently of the cluster components.
INTERNAL_LB = {
    "aws": ("service.beta.kubernetes.io/aws-load-balancer-internal", "true"),  # in-tree NLB, no LB controller
    "azure": ("service.beta.kubernetes.io/azure-load-balancer-internal", "true"),
    "gcp": ("networking.gke.io/load-balancer-type", "Internal"),
}


# --- helpers ----------------------------------------------------------------------------------

def on_cluster(plan: Plan, typ: str) -> dict[str, list[dict[str, Any]]]:
    by_urn = plan.by_urn()
    out: dict[str, list[dict[str, Any]]] = {c.name: [] for c in plan.spec.clusters}
    for r in plan.of_type(typ):
        out[cluster_name(r, by_urn)].append(r)
    return out


def istio_releases(plan: Plan, cluster: str) -> dict[str, dict[str, Any]]:
    return {r["inputs"]["chart"]: r for r in on_cluster(plan, RELEASE)[cluster] if r["inputs"]["chart"] in ISTIO_CHARTS.values()}


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG_VALUE:
            return _unwrap(value["value"])
        return {k: _unwrap(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unwrap(v) for v in value]
    return value


class _Capture(FleetMocks):
    """The mock engine, also keeping every Secret's real (unmasked) inputs and outputs."""

    secrets: ClassVar[list[dict[str, Any]]] = []

    def new_resource(self, args):  # type: ignore[no-untyped-def]
        rid, state = super().new_resource(args)
        if args.typ == SECRET:
            self.secrets.append({"name": args.name, "provider": (args.provider or "").split("::")[-2],
                                 "inputs": _unwrap(dict(args.inputs)), "state": _unwrap(dict(state))})
        return rid, state


@pytest.fixture(scope="module")
def prod_secrets() -> dict[str, dict[str, Any]]:
    """prod planned once more with the capturing engine: Secret logical name -> real inputs/state."""
    _Capture.secrets = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("offline.plan.FleetMocks", _Capture)
        run_plan("prod")
    return {s["name"]: s for s in _Capture.secrets}


@pytest.fixture(scope="module")
def variant_plan() -> Plan:
    """dev with a failover order, an externally exposed east-west gateway and custom networks."""
    raw = stack_raw("dev")
    raw["mesh"] = {
        "meshId": "fleet-dev",
        "networks": {"dev-mgmt": "net-aws", "dev-eks": "net-aws"},
        "gatewayExposure": "external",
        "locality": {"failover": [{"from": "us-east-1", "to": "us-west-2"}, {"from": "westeurope", "to": "europe-west1"}]},
        "outlierDetection": {"consecutiveGatewayErrors": 3, "interval": "10s", "baseEjectionTime": "1m"},
    }
    return run_plan("dev", raw=raw)


def _cert(pem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate(pem.encode())


def _certs(pem: str) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(pem.encode())


# --- charts and values ------------------------------------------------------------------------

def test_every_cluster_has_the_four_pinned_charts(plan) -> None:
    for c in plan.spec.clusters:
        rels = istio_releases(plan, c.name)
        assert set(rels) == set(ISTIO_CHARTS.values()), c.name
        for key, chart in ISTIO_CHARTS.items():
            r = rels[chart]
            assert r["inputs"]["version"] == CHARTS[key]["version"] == "1.30.3"
            assert r["inputs"]["repositoryOpts"]["repo"] == CHARTS[key]["repo"]
            assert not r["inputs"]["createNamespace"]
            assert r["provider"].endswith(f"::{c.name}-k8s")


def test_istiod_values_one_mesh_unique_clusters_and_networks(plan) -> None:
    mesh_ids, names, networks = set(), [], {}
    for c in plan.spec.clusters:
        values = istio_releases(plan, c.name)["istiod"]["inputs"]["values"]
        g = values["global"]
        mesh_ids.add(g["meshID"])
        names.append(g["multiCluster"]["clusterName"])
        assert g["multiCluster"]["clusterName"] == c.name
        networks[c.name] = g["network"]
        assert values["cni"] == {"enabled": True}
        assert g["enableReaderRBAC"] is False  # remote clusters use archipelago-istio-reader
    assert mesh_ids == {plan.spec.mesh.mesh_id}
    assert len(set(names)) == len(names)
    assert networks == {c.name: f"network-{c.name}" for c in plan.spec.clusters}


def test_prod_spans_several_networks(prod_plan) -> None:
    networks = {istio_releases(prod_plan, c.name)["istiod"]["inputs"]["values"]["global"]["network"]
                for c in prod_plan.spec.clusters}
    assert len(networks) >= 2


def test_istiod_reads_cacerts_installed_before_it(plan) -> None:
    by_urn = plan.by_urn()
    for c in plan.spec.clusters:
        istiod = istio_releases(plan, c.name)["istiod"]
        deps = {by_urn[d]["name"] for d in istiod["dependencies"]}
        assert {f"{c.name}-istio-cacerts", f"{c.name}-istio-base", f"{c.name}-istio-cni"} <= deps


def test_cni_platform_profile_only_on_gke(plan) -> None:
    for c in plan.spec.clusters:
        values = istio_releases(plan, c.name)["cni"]["inputs"]["values"]
        assert values == ({"cniBinDir": "/home/kubernetes/bin", "resourceQuotas": {"enabled": True}} if c.cloud == "gcp" else {})
        assert istio_releases(plan, c.name)["cni"]["inputs"]["namespace"] == "istio-cni"


def test_gke_cni_bin_dir_does_not_depend_on_version_detection(plan) -> None:
    """istio-cni 1.30.3 picks /home/kubernetes/bin only when the Kubernetes version string contains
    "-gke" (manifests/charts/istio-cni/templates/daemonset.yaml, $detectedBinDir) and the gke
    profile leaves cniBinDir empty for that guess (files/profile-platform-gke.yaml). Rendered with
    a plain version string, the GKE DaemonSet still mounts /home/kubernetes/bin, and the
    profile's ResourceQuota is there."""
    from .addon_support import render_chart

    for c in plan.spec.clusters:
        values = istio_releases(plan, c.name)["cni"]["inputs"]["values"]
        docs = render_chart("cni", values, name="istio-cni", namespace="istio-cni")
        [ds] = [d for d in docs if d["kind"] == "DaemonSet"]
        paths = {v["name"]: v.get("hostPath", {}).get("path") for v in ds["spec"]["template"]["spec"]["volumes"]}
        assert paths["cni-bin-dir"] == ("/home/kubernetes/bin" if c.cloud == "gcp" else "/opt/cni/bin"), c.name
        assert any(d["kind"] == "ResourceQuota" for d in docs) is (c.cloud == "gcp")


def test_eastwest_gateway_values(plan) -> None:
    schema = json.loads((CHART_ROOT / "gateway" / "values.schema.json").read_text())
    for c in plan.spec.clusters:
        values = istio_releases(plan, c.name)["gateway"]["inputs"]["values"]
        jsonschema.validate(values, schema)  # the chart's own schema (additionalProperties: false)
        network = f"network-{c.name}"
        # The network gateway's role without the chart's networkGateway switch, which would also
        # put 15012/15017 (primary-remote only) on the Service: status and tls ports only.
        assert "networkGateway" not in values
        assert values["env"] == {"ISTIO_META_REQUESTED_NETWORK_VIEW": network}
        assert [(p["name"], p["port"]) for p in values["service"]["ports"]] == [("status-port", 15021), ("tls", 15443)]
        assert values["labels"]["topology.istio.io/network"] == network
        assert values["labels"]["istio"] == "eastwestgateway"
        key, val = INTERNAL_LB[c.cloud]
        assert values["service"]["annotations"][key] == val
        assert istio_releases(plan, c.name)["gateway"]["inputs"]["name"] == "istio-eastwestgateway"


def test_gateway_template_exposes_15443_for_network_gateways() -> None:
    """istio/gateway chart 1.30.3 templates: with ``networkGateway`` the Service always carries
    15021/15443/15012/15017 (so it is not set); otherwise ``service.ports`` is rendered as given,
    ``labels`` (but app/istio) land on the Service and the pod, and ``env`` on the container."""
    template = (CHART_ROOT / "gateway" / "templates" / "service.yaml").read_text()
    assert '"name" "tls-istiod" "defaultTargetPort" 15012' in template
    assert ".Values.service.ports | toYaml" in template
    helpers = (CHART_ROOT / "gateway" / "templates" / "_helpers.tpl").read_text()
    assert "range $key, $val := .Values.labels" in helpers
    assert "range $key, $val := .Values.env" in (CHART_ROOT / "gateway" / "templates" / "deployment.yaml").read_text()


def test_external_exposure_and_custom_networks(variant_plan) -> None:
    nets = {}
    for c in variant_plan.spec.clusters:
        values = istio_releases(variant_plan, c.name)["gateway"]["inputs"]["values"]
        key, val = INTERNAL_LB[c.cloud]
        assert values["service"]["annotations"].get(key) != val
        nets[c.name] = istio_releases(variant_plan, c.name)["istiod"]["inputs"]["values"]["global"]["network"]
        assert istio_releases(variant_plan, c.name)["istiod"]["inputs"]["values"]["global"]["meshID"] == "fleet-dev"
    assert nets == {"dev-mgmt": "net-aws", "dev-eks": "net-aws", "dev-aks": "network-dev-aks", "dev-gke": "network-dev-gke"}


# --- namespaces -------------------------------------------------------------------------------

def test_namespaces_pss_and_network_label(plan) -> None:
    for c in plan.spec.clusters:
        ns = {r["inputs"]["metadata"]["name"]: r["inputs"]["metadata"] for r in on_cluster(plan, NAMESPACE)[c.name]}
        system, cni = ns["istio-system"], ns["istio-cni"]
        assert system["labels"]["topology.istio.io/network"] == f"network-{c.name}"
        assert system["labels"]["pod-security.kubernetes.io/enforce"] == "baseline"
        assert cni["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
        assert "NET_ADMIN" in cni["annotations"]["archipelago.io/pod-security-reason"]
        for meta in (system, cni):
            assert schemas.validate_builtin({"apiVersion": "v1", "kind": "Namespace", "metadata": meta}, "1.33") == []


# --- one root of trust ------------------------------------------------------------------------

def test_cacerts_on_every_cluster_chain_to_one_root(prod_plan, prod_secrets) -> None:
    roots, intermediates = set(), set()
    for c in prod_plan.spec.clusters:
        s = prod_secrets[f"{c.name}-istio-cacerts"]
        assert s["provider"] == f"{c.name}-k8s"
        meta, data = s["inputs"]["metadata"], s["inputs"]["stringData"]
        assert (meta["name"], meta["namespace"]) == ("cacerts", "istio-system")
        assert set(data) == {"ca-cert.pem", "ca-key.pem", "root-cert.pem", "cert-chain.pem"}
        root, ca = _cert(data["root-cert.pem"]), _cert(data["ca-cert.pem"])
        root.verify_directly_issued_by(root)  # self-signed root
        ca.verify_directly_issued_by(root)  # raises if the intermediate is not signed by this root
        chain = _certs(data["cert-chain.pem"])
        assert chain == [ca, root]
        bc = ca.extensions.get_extension_for_class(x509.BasicConstraints).value
        # The TLS provider sets MaxPathLen without MaxPathLenZero, so it cannot write pathlen 0 on the
        # intermediate (offline/pki.py _path_length; terraform-provider-tls common_cert.go). The
        # chain is bounded at the root instead: pathlen 1 allows the intermediates and no CA below.
        assert bc.ca and bc.path_length is None
        root_bc = root.extensions.get_extension_for_class(x509.BasicConstraints).value
        assert root_bc.ca and root_bc.path_length == 1
        assert ca.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign
        key, ca_key = serialization.load_pem_private_key(data["ca-key.pem"].encode(), password=None), ca.public_key()
        assert isinstance(key, ec.EllipticCurvePrivateKey) and isinstance(ca_key, ec.EllipticCurvePublicKey)
        assert key.public_key().public_numbers() == ca_key.public_numbers()
        assert c.name in ca.subject.rfc4514_string()
        assert root.signature_hash_algorithm is not None and ca.signature_hash_algorithm is not None
        roots.add(root.fingerprint(root.signature_hash_algorithm))
        intermediates.add(ca.fingerprint(ca.signature_hash_algorithm))
    assert len(roots) == 1
    assert len(intermediates) == len(prod_plan.spec.clusters)


def test_ca_keys_are_secrets_and_root_key_is_protected(prod_plan) -> None:
    # The mesh's keys (the fleet metrics CA has its own, under FleetMetrics).
    keys = [k for k in prod_plan.of_type("tls:index/privateKey:PrivateKey") if "archipelago:index:IstioMesh" in k["urn"]]
    assert len(keys) == len(prod_plan.spec.clusters) + 1
    for k in keys:
        assert k["inputs"]["algorithm"] == "ECDSA" and k["inputs"]["ecdsaCurve"] == "P256"
        assert "privateKeyPem" in k["secretOutputs"]
        assert k["protect"]  # prod: replacing a CA key re-keys the mesh
        assert k["provider"].endswith("::mesh-tls")
    for s in on_cluster(prod_plan, SECRET).values():
        for r in s:
            if r["inputs"]["metadata"]["name"] == "cacerts":
                assert r["inputs"]["stringData"] == "[secret]"


# --- remote secrets ---------------------------------------------------------------------------

def test_one_remote_secret_per_cluster(plan) -> None:
    """istiod reads every key of a secret labelled ``istio/multiCluster: "true"`` as one remote
    cluster (key = cluster ID) and skips its own ID (istio/istio
    pkg/kube/multicluster/secretcontroller.go addRemoteConfig @1.30.3): one secret per cluster
    holds all the others, so per-cluster resources stay flat as the fleet grows."""
    names = [c.name for c in plan.spec.clusters]
    per_cluster: dict[str, list[str]] = {}
    for cluster, secrets in on_cluster(plan, SECRET).items():
        for r in secrets:
            meta = r["inputs"]["metadata"]
            if meta.get("labels", {}).get("istio/multiCluster") != "true":
                continue
            assert meta["name"] == "istio-remote-secrets" and meta["namespace"] == "istio-system"
            assert r["inputs"]["stringData"] == "[secret]"
            per_cluster.setdefault(cluster, []).append(meta["name"])
    assert per_cluster == {n: ["istio-remote-secrets"] for n in names}


def test_remote_secret_holds_a_reader_token_kubeconfig(prod_plan, prod_secrets) -> None:
    endpoints = prod_plan.outputs["clusters"]["value"]
    for a in prod_plan.spec.clusters:
        s = prod_secrets[f"{a.name}-istio-remote-secrets"]
        assert s["provider"] == f"{a.name}-k8s"
        data = s["inputs"]["stringData"]
        assert set(data) == {b.name for b in prod_plan.spec.clusters if b.name != a.name}
        for b in prod_plan.spec.clusters:
            if a.name == b.name:
                continue
            kc = yaml.safe_load(data[b.name])
            assert kc["current-context"] == b.name
            assert kc["clusters"][0]["cluster"]["server"] == endpoints[b.name]["endpoint"]
            ca = base64.b64decode(kc["clusters"][0]["cluster"]["certificate-authority-data"]).decode()
            assert _cert(ca)  # a real certificate
            token = prod_secrets[f"{b.name}-istio-reader-token"]
            assert token["provider"] == f"{b.name}-k8s"
            assert token["inputs"]["metadata"]["annotations"]["kubernetes.io/service-account.name"] == "archipelago-istio-reader"
            assert kc["users"][0]["user"] == {"token": base64.b64decode(token["state"]["data"]["token"]).decode()}


def test_reader_role_is_read_only_like_upstream(plan) -> None:
    for c in plan.spec.clusters:
        roles = [r for r in on_cluster(plan, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")[c.name]
                 if r["inputs"]["metadata"]["name"] == "archipelago-istio-reader"]
        assert len(roles) == 1
        rules = roles[0]["inputs"]["rules"]
        readable = {(g, res) for rule in rules for g in rule["apiGroups"] for res in rule["resources"]
                    if set(rule["verbs"]) == {"get", "list", "watch"}}
        for need in [("", "secrets"), ("", "services"), ("", "pods"), ("", "namespaces"), ("discovery.k8s.io", "endpointslices"),
                     ("networking.istio.io", "*"), ("security.istio.io", "*"), ("apiextensions.k8s.io", "customresourcedefinitions")]:
            assert need in readable, need
        for rule in rules:
            writes = set(rule["verbs"]) - {"get", "list", "watch"}
            if writes:  # only review APIs, as upstream
                assert writes == {"create"} and rule["resources"] in (["tokenreviews"], ["subjectaccessreviews"])
        assert schemas.validate_builtin({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
                                         **roles[0]["inputs"]}, "1.33") == []
        bindings = [r for r in on_cluster(plan, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")[c.name]
                    if r["inputs"]["roleRef"]["name"] == "archipelago-istio-reader"]
        assert [s["name"] for s in bindings[0]["inputs"]["subjects"]] == ["archipelago-istio-reader"]


NAT_ADDRESSES = ("aws:ec2/eip:Eip", "gcp:compute/address:Address", "azure-native:network:PublicIPAddress")


def test_no_cluster_waits_for_another(plan) -> None:
    """Only the documented fleet links depend on two clusters (remote secrets; a Submariner join
    on the broker, which lives on the management cluster); everything else of a cluster depends
    on that cluster (or on cluster-less fleet resources such as the CA)."""
    by_urn = plan.by_urn()
    hub = plan.spec.management.name
    for r in plan.resources:
        own = cluster_of(r, by_urn)
        if own is None or r["name"].endswith("-istio-remote-secrets"):
            continue
        for d in r["dependencies"]:
            other = cluster_of(by_urn[d], by_urn)
            if other == hub and r["name"].endswith("-submariner-operator"):
                continue  # covered by test_submariner.test_joins_wait_only_for_their_cluster_and_the_broker
            if own == hub and "-argocd-" in r["name"]:
                continue  # hub registrations and the fleet AppProject name the spokes they manage
            if "-velero-" in r["name"] and "-dr-" in r["name"]:
                continue  # a DR link reads the peer's storage: it hangs off both clusters by design
            if r["type"] == "azure-native:containerservice:ManagedCluster" and by_urn[d]["type"] in NAT_ADDRESSES:
                continue  # a public AKS API admits the fleet's NAT addresses (docs/network.md): addresses, not clusters
            assert other in (None, own), f"{r['name']} on {own} waits for {by_urn[d]['name']} on {other}"


def test_built_in_secrets_are_valid(prod_plan, prod_secrets) -> None:
    for c in prod_plan.spec.clusters:
        for name in [f"{c.name}-istio-cacerts", f"{c.name}-istio-remote-secrets"]:
            obj = {"apiVersion": "v1", "kind": "Secret", **prod_secrets[name]["inputs"]}
            assert schemas.validate_builtin(obj, "1.33") == [], name


# --- Istio custom resources -------------------------------------------------------------------

def _one(plan: Plan, typ: str, cluster: str) -> dict[str, Any]:
    rs = on_cluster(plan, typ)[cluster]
    assert len(rs) == 1, (typ, cluster, rs)
    return rs[0]


def test_custom_resources_are_valid(plan) -> None:
    for typ in (GATEWAY, DESTINATION_RULE, PEER_AUTH):
        for c in plan.spec.clusters:
            obj = manifest(_one(plan, typ, c.name))
            assert schemas.validate_custom_resource(obj) == [], (typ, c.name)


def test_strict_mtls_mesh_wide(plan) -> None:
    for c in plan.spec.clusters:
        pa = _one(plan, PEER_AUTH, c.name)["inputs"]
        assert (pa["metadata"]["name"], pa["metadata"]["namespace"]) == ("default", "istio-system")
        assert pa["spec"] == {"mtls": {"mode": "STRICT"}}


def test_eastwest_gateway_cr(plan) -> None:
    for c in plan.spec.clusters:
        gw = _one(plan, GATEWAY, c.name)["inputs"]
        assert gw["metadata"]["namespace"] == "istio-system"
        assert gw["spec"]["selector"] == {"istio": "eastwestgateway"}
        [server] = gw["spec"]["servers"]
        assert server["port"]["number"] == 15443 and server["port"]["protocol"] == "TLS"
        assert server["tls"] == {"mode": "AUTO_PASSTHROUGH"} and server["hosts"] == ["*.local"]


def _reachable(setting: dict[str, Any], client: str, endpoint_regions: set[str]) -> set[str]:
    """Regions whose endpoints a client in ``client`` keeps: a port of the removal rule of
    ``applyLocalityWeights`` (istio/istio pilot/pkg/networking/core/loadbalancer/loadbalancer.go
    @1.30.3): with a ``distribute`` rule matching the client, endpoints in localities not in its
    ``to`` get no endpoints; ``failover`` only lowers their priority (``applyLocalityFailover``)."""
    for rule in setting.get("distribute") or []:
        if fnmatch.fnmatchcase(f"{client}/z", rule["from"]):
            return {r for r in endpoint_regions if any(fnmatch.fnmatchcase(f"{r}/z", to) for to in rule["to"])}
    return set(endpoint_regions)


def test_old_default_distribute_made_services_unreachable() -> None:
    """The former default (80% own region, 20% to the next) removed every other region's
    endpoints: a service only in the third region was unreachable from the first."""
    old = {"enabled": True, "distribute": [{"from": "a/*", "to": {"a/*": 80, "b/*": 20}}]}
    assert _reachable(old, "a", {"c"}) == set()


def test_default_destination_rule_fails_over_with_outlier_detection(plan) -> None:
    """Default: no ``distribute``; each region fails over to the next one of the fleet (regions
    sorted by name, so reordering the clusters list changes nothing), and every region stays
    reachable from every region (failover lowers priority, never removes). Failover needs outlier
    detection to move (loadbalancer.go, comment in ApplyLocalityLoadBalancer)."""
    regions = sorted({c.region for c in plan.spec.clusters})
    for c in plan.spec.clusters:
        policy = _one(plan, DESTINATION_RULE, c.name)["inputs"]["spec"]["trafficPolicy"]
        assert policy["outlierDetection"] == {"consecutiveGatewayErrors": 5, "interval": "30s", "baseEjectionTime": "30s"}
        lb = policy["loadBalancer"]["localityLbSetting"]
        assert lb["enabled"] and "distribute" not in lb
        if len(regions) > 1:
            assert lb["failover"] == [{"from": r, "to": regions[(i + 1) % len(regions)]} for i, r in enumerate(regions)]
        for client in regions:
            for home in regions:
                assert _reachable(lb, client, {home}) == {home}


def test_distribute_must_name_every_fleet_region() -> None:
    """A ``distribute`` rule that leaves a region out drops that region's endpoints for its
    clients (applyLocalityWeights, ported in _reachable): refused with the key and value."""
    raw = stack_raw("prod")
    regions = list(dict.fromkeys(c["region"] for c in raw["clusters"]))
    to = {regions[0]: 80, regions[1]: 20}
    raw["mesh"] = {"locality": {"distribute": [{"from": regions[0], "to": to}]}}
    with pytest.raises(ConfigError) as exc:
        build_spec(raw, "prod")
    [issue] = [i for i in exc.value.issues if i.path == "mesh.locality.distribute[0].to"]
    assert issue.value == to and all(r in issue.message for r in regions[2:])
    full = {r: (100 - 10 * (len(regions) - 1) if i == 0 else 10) for i, r in enumerate(regions)}
    raw["mesh"] = {"locality": {"distribute": [{"from": regions[0], "to": full}]}}
    spec = build_spec(raw, "prod")
    setting = locality_lb_setting(spec.mesh, regions)
    assert all(_reachable(setting, regions[0], {r}) == {r} for r in regions)


def test_failover_order_from_config(variant_plan) -> None:
    for c in variant_plan.spec.clusters:
        policy = _one(variant_plan, DESTINATION_RULE, c.name)["inputs"]["spec"]["trafficPolicy"]
        lb = policy["loadBalancer"]["localityLbSetting"]
        assert "distribute" not in lb
        assert lb["failover"] == [{"from": "us-east-1", "to": "us-west-2"}, {"from": "westeurope", "to": "europe-west1"}]
        assert policy["outlierDetection"] == {"consecutiveGatewayErrors": 3, "interval": "10s", "baseEjectionTime": "1m"}
        assert schemas.validate_custom_resource(manifest(_one(variant_plan, DESTINATION_RULE, c.name))) == []


# --- config errors ----------------------------------------------------------------------------

@pytest.mark.parametrize("mesh,path,value", [
    ({"locality": {"failover": [{"from": "us-east-1", "to": "mars-1"}]}}, "mesh.locality.failover[0].to", "'mars-1'"),
    ({"locality": {"failover": [{"from": "eu-north-1", "to": "us-east-1"}]}}, "mesh.locality.failover[0].from", "'eu-north-1'"),
    ({"locality": {"failover": [{"from": "us-east-1", "to": "us-east-1"}]}}, "mesh.locality.failover[0].to", "own region"),
    ({"locality": {"distribute": [{"from": "us-east-1", "to": {"us-east-2": 10, "us-east-1": 60, "westeurope": 10, "asia-southeast1": 10}}]}},
     "mesh.locality.distribute[0].to", "sum to 90"),
    ({"locality": {"distribute": [{"from": "us-east-1", "to": {"us-east-1": 120}}]}},
     "mesh.locality.distribute[0].to.us-east-1", "120"),
    ({"locality": {"distribute": [{"from": "us-east-1", "to": {"atlantis": 100}}]}},
     "mesh.locality.distribute[0].to.atlantis", "'atlantis'"),
    ({"locality": {"distribute": [{"from": "us-east-1", "to": {"us-east-1": 100}}],
                   "failover": [{"from": "us-east-1", "to": "westeurope"}]}}, "mesh.locality", "both 'distribute' and 'failover'"),
    ({"networks": {"prod-nowhere": "net-x"}}, "mesh.networks.prod-nowhere", "not a cluster"),
    ({"networks": {"prod-weu": "Net_Weu"}}, "mesh.networks.prod-weu", "'Net_Weu'"),
    ({"meshId": "Mesh One"}, "mesh.meshId", "'Mesh One'"),
    ({"gatewayExposure": "public"}, "mesh.gatewayExposure", "'public'"),
    ({"outlierDetection": {"interval": "30"}}, "mesh.outlierDetection.interval", "'30'"),
    ({"outlierDetection": {"consecutiveGatewayErrors": 0}}, "mesh.outlierDetection.consecutiveGatewayErrors", "0"),
    ({"failover": []}, "mesh.failover", "unknown key"),
])
def test_mesh_config_errors(mesh, path, value) -> None:
    raw = stack_raw("prod")
    raw["mesh"] = mesh
    with pytest.raises(ConfigError) as exc:
        build_spec(raw, "prod")
    lines = [str(i) for i in exc.value.issues]
    assert any(line.startswith(f"{path}:") and value in line for line in lines), lines


def test_mesh_errors_are_all_reported_together() -> None:
    raw = stack_raw("prod")
    raw["mesh"] = {"locality": {"failover": [{"from": "mars-1", "to": "venus-1"}]}, "networks": {"nope": "net"}}
    raw["clusters"][0]["region"] = "us-nowhere-1"
    with pytest.raises(ConfigError) as exc:
        build_spec(raw, "prod")
    paths = {i.path for i in exc.value.issues}
    assert {"mesh.locality.failover[0].from", "mesh.locality.failover[0].to", "mesh.networks.nope", "clusters[0].region"} <= paths


def test_mesh_defaults_reach_the_spec() -> None:
    spec = build_spec(stack_raw("prod"), "prod")
    assert spec.mesh.mesh_id == "archipelago" and spec.mesh.gateway_exposure == "internal"
    assert spec.mesh.network_of("prod-weu") == "network-prod-weu"



# --- the east-west gateway needs no Secrets; one cross-cluster path per workload ---------------

def test_eastwest_gateway_has_no_secret_rbac(plan) -> None:
    """The gateway chart's Role grants get/watch/list on every Secret of istio-system (cacerts, the
    remote secrets) for TLS credentialName (manifests/charts/gateway/templates/role.yaml @1.30.3);
    AUTO_PASSTHROUGH on 15443 terminates no TLS. Rendered with the plan's values: no Role."""
    from .addon_support import render_chart

    for c in plan.spec.clusters:
        values = istio_releases(plan, c.name)["gateway"]["inputs"]["values"]
        assert values["rbac"] == {"enabled": False}
        docs = render_chart("gateway", values, name="istio-eastwestgateway", namespace="istio-system")
        assert not [d for d in docs if d["kind"] in ("Role", "RoleBinding", "ClusterRole", "ClusterRoleBinding")], c.name
        assert [d for d in docs if d["kind"] == "Deployment"]


def _policy_admits(expression: str, labels: dict[str, str] | None) -> bool:
    import celpy
    from celpy.adapter import json_to_cel

    env = celpy.Environment()
    program = env.program(env.compile(expression))
    ns: dict[str, Any] = {"metadata": {"name": "shop", **({"labels": labels} if labels is not None else {})}}
    return bool(program.evaluate({"namespaceObject": json_to_cel(ns)}))


@pytest.mark.parametrize("labels, admitted", [
    ({"istio-injection": "enabled"}, False),
    ({"istio.io/rev": "default"}, False),
    ({"istio-injection": "disabled"}, True),
    ({"team": "shop"}, True),
    (None, True),
])
def test_lighthouse_never_exports_a_meshed_service(plan, labels, admitted) -> None:
    """One cross-cluster path per workload. A meshed client resolving ``*.clusterset.local`` gets
    a remote ClusterIP Istio does not know, goes out through the passthrough cluster in plain
    TCP, and the remote sidecar rejects it under STRICT mTLS. So meshed namespaces reach other
    clusters through Istio only, and a ValidatingAdmissionPolicy on every cluster refuses
    ServiceExports there (CEL evaluated here with cel-python, as the API server would over
    ``namespaceObject``). Non-meshed Services exported through Lighthouse stay reachable from
    meshed clients: plain TCP to a pod without a sidecar."""
    policies = {cluster_name(r, plan.by_urn()): r["inputs"]["spec"] for r in plan.of_type(
        "kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicy") if r["inputs"]["metadata"]["name"] == ONE_PATH_POLICY}
    assert sorted(policies) == sorted(c.name for c in plan.spec.clusters)
    bindings = [r for r in plan.of_type("kubernetes:admissionregistration.k8s.io/v1:ValidatingAdmissionPolicyBinding")
                if r["inputs"]["spec"]["policyName"] == ONE_PATH_POLICY]
    assert len(bindings) == len(policies) and all(b["inputs"]["spec"]["validationActions"] == ["Deny"] for b in bindings)
    for spec in policies.values():
        [rule] = spec["matchConstraints"]["resourceRules"]
        assert rule["apiGroups"] == ["multicluster.x-k8s.io"] and rule["resources"] == ["serviceexports"]
        [validation] = spec["validations"]
        assert _policy_admits(validation["expression"], labels) is admitted
        obj = {"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
               "metadata": {"name": ONE_PATH_POLICY}, "spec": spec}
        assert schemas.validate_builtin(obj, "1.33") == []
