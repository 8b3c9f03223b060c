"""Fleet metrics (kube-prometheus-stack 88.5.3 per cluster, hub federation) and VPA.

Sources:
- prometheus docs/federation.md and web/federate.go (v3.14.0): ``/federate`` with ``match[]``,
  ``honor_labels: true``, source external labels appended to federated series;
- prometheus-operator pkg/apis/monitoring/v1alpha1/scrapeconfig_types.go (ScrapeConfig fields) and
  WebTLSConfig (``clientAuthType``); no basic auth in the operator (https://github.com/prometheus-operator/prometheus-operator/issues/4200);
- kube-prometheus-stack values.yaml at kube-prometheus-stack-88.5.3: externalLabels,
  replicaExternalLabelNameClear, prometheus-node-exporter.namespaceOverride,
  scrapeConfigSelectorNilUsesHelmValues (selects release=<release>);
- Submariner Lighthouse: ``<clusterid>.<svc>.<ns>.svc.clusterset.local`` names one cluster's export
  (https://github.com/rook/rook/pull/12064, which relies on it for Submariner-exported services);
- kubernetes/autoscaler vertical-pod-autoscaler-chart-0.11.0 values.yaml (certGen hook Jobs,
  pod/container security contexts); GKE ``vertical_pod_autoscaling`` (pulumi-gcp 10.2.0) and AKS
  ``workloadAutoScalerProfile.verticalPodAutoscaler`` (azure-native 3.29.0); VPA 1.7.1 types.go
  update modes (``Auto`` deprecated, so never emitted).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from components.addons import metrics as m
from components.addons.vpa import chart_values as vpa_values
from components.fleet.metrics import platform_targets
from offline.plan import Plan
from offline.report import cluster_name
from stacks.sections.metrics import ENVIRONMENT_DEFAULTS, MetricsConfig
from stacks.versions import CHARTS

from .addon_support import assert_config_error, releases_named, render_chart, restricted_violations

SCRAPE = "kubernetes:monitoring.coreos.com/v1alpha1:ScrapeConfig"
VPA = "kubernetes:autoscaling.k8s.io/v1:VerticalPodAutoscaler"


releases = releases_named


def test_prometheus_on_every_cluster_with_external_labels(plan: Plan) -> None:
    rels = releases(plan, m.RELEASE)
    assert sorted(rels) == sorted(c.name for c in plan.spec.clusters)
    want = ENVIRONMENT_DEFAULTS[plan.spec.environment]
    for c in plan.spec.clusters:
        r = rels[c.name]
        assert r["provider"].endswith(f"::{c.name}-k8s") and r["inputs"]["version"] == CHARTS["kube-prometheus-stack"]["version"]
        spec = r["inputs"]["values"]["prometheus"]["prometheusSpec"]
        assert spec["externalLabels"] == {"cluster": c.name, "cloud": c.cloud, "region": c.region, "environment": plan.spec.environment}
        assert spec["replicaExternalLabelNameClear"] and spec["prometheusExternalLabelNameClear"]
        assert spec["retention"] == want["retention"] and spec["resources"]["requests"]["memory"] == want["memory"]
        assert ("storageSpec" in spec) is bool(want["storage_gi"])


def test_hub_federates_every_spoke_the_fabric_reaches(plan: Plan) -> None:
    """Every spoke Submariner joins is federated through its clusterset export; with the VPN fabric
    (prod) every other spoke (AKS and GKE: Submariner 0.18.1 does not support their Cilium
    dataplanes, stacks/sections/connectivity.py SUBMARINER_SUPPORT) is federated through an internal
    load balancer at a fixed node-subnet address; without a fabric (dev) those are listed in
    ``notFederated`` with the reason. Internal-LB settings: AKS
    ``service.beta.kubernetes.io/azure-load-balancer-internal`` and ``-ipv4``
    (learn.microsoft.com/azure/aks/internal-lb), GKE ``networking.gke.io/load-balancer-type: Internal``
    pinned by ``networking.gke.io/load-balancer-ip-addresses`` (see the GKE test below); ScrapeConfig
    fields per prometheus-operator v0.93 CRD."""
    from stacks.flows import federate_address, federation_paths, source_ranges

    hub = plan.spec.management.name
    by_urn = plan.by_urn()
    paths = federation_paths(plan.spec)
    via_lb = {n for n, p in paths.items() if p == "fabric"}
    assert any(p == "submariner" for p in paths.values()), "the stack has a spoke Submariner joins"
    out = plan.outputs["metrics"]["value"]
    assert out["hub"] == hub and sorted(out["federates"]) == sorted(paths)
    assert set(out["notFederated"]) == {c.name for c in plan.spec.workloads if c.name not in paths}
    if plan.spec.network.enabled:
        assert out["notFederated"] == {} and len(paths) == len(plan.spec.workloads) and via_lb
    scrapes = {r["inputs"]["metadata"]["name"]: r for r in plan.of_type(SCRAPE)}
    assert sorted(scrapes) == sorted(f"federate-{n}" for n in paths)
    hub_ranges = [str(n) for n in source_ranges(plan.spec.management, "pods")]
    for c in plan.spec.workloads:
        if c.name not in paths:
            continue
        r = scrapes[f"federate-{c.name}"]
        assert cluster_name(r, by_urn) == hub
        assert r["inputs"]["metadata"]["labels"] == {"release": m.RELEASE}
        s = r["inputs"]["spec"]
        assert s["metricsPath"] == "/federate" and s["honorLabels"] is True
        assert s["params"]["match[]"] == plan.spec.metrics.federation_match
        host = str(federate_address(c)) if c.name in via_lb else f"{c.name}.prometheus-federate.monitoring.svc.clusterset.local"
        assert s["staticConfigs"] == [{"targets": [f"{host}:9090"]}]
        # mTLS either way; the server certificate is verified against the clusterset name it carries.
        assert s["scheme"] == "HTTPS" and s["tlsConfig"]["cert"] and s["tlsConfig"]["keySecret"]["name"] == m.TLS_SECRET
        assert s["tlsConfig"]["serverName"] == m.federate_host(c.name)
    svcs = {cluster_name(r, by_urn): r["inputs"] for r in plan.of_type("kubernetes:core/v1:Service")
            if r["inputs"]["metadata"]["name"] == m.FEDERATE_SERVICE}
    for name in via_lb:
        c = plan.spec.cluster(name)
        svc = svcs[name]
        assert svc["spec"]["type"] == "LoadBalancer" and svc["spec"]["externalTrafficPolicy"] == "Local"
        assert svc["spec"]["loadBalancerSourceRanges"] == hub_ranges  # never an open port
        annotations = svc["metadata"]["annotations"]
        internal = {"azure": ("service.beta.kubernetes.io/azure-load-balancer-internal", "true"),
                    "gcp": ("networking.gke.io/load-balancer-type", "Internal")}[c.cloud]
        assert annotations[internal[0]] == internal[1]
        assert "loadBalancerIP" not in svc["spec"]  # deprecated upstream; both clouds pin by annotation
        if c.cloud == "azure":
            assert annotations["service.beta.kubernetes.io/azure-load-balancer-ipv4"] == str(federate_address(c))
        pols = [r["inputs"] for r in plan.of_type("kubernetes:networking.k8s.io/v1:NetworkPolicy")
                if cluster_name(r, by_urn) == name and r["inputs"]["metadata"]["namespace"] == m.NAMESPACE]
        assert [p["spec"]["ingress"][0]["ports"] for p in pols] == [[{"port": 9090, "protocol": "TCP"}]]
        assert [x["ipBlock"]["cidr"] for x in pols[0]["spec"]["ingress"][0]["from"] if "ipBlock" in x] == hub_ranges
    exports = [r for r in plan.of_type("kubernetes:multicluster.x-k8s.io/v1alpha1:ServiceExport")
               if r["inputs"]["metadata"]["name"] == m.FEDERATE_SERVICE]
    assert sorted(cluster_name(r, by_urn) for r in exports) == sorted(n for n, p in paths.items() if p == "submariner")
    joins = {cluster_name(r, by_urn): r["urn"] for r in plan.of_type("kubernetes:helm.sh/v3:Release")
             if r["inputs"]["name"] == "submariner-operator"}
    assert all(joins[cluster_name(r, by_urn)] in r["dependencies"] for r in exports)  # the CRD comes with the join


def test_spokes_demand_client_certificates(plan: Plan) -> None:
    """Never an open port: a spoke's Prometheus serves TLS and requires a fleet-CA client certificate."""
    rels = releases(plan, m.RELEASE)
    for c in plan.spec.workloads:
        web = rels[c.name]["inputs"]["values"]["prometheus"]["prometheusSpec"]["web"]["tlsConfig"]
        assert web["clientAuthType"] == "RequireAndVerifyClientCert" and web["client_ca"]["secret"]["name"] == m.TLS_SECRET
    secrets = [r for r in plan.of_type("kubernetes:core/v1:Secret") if r["inputs"]["metadata"]["name"] == m.TLS_SECRET]
    assert len(secrets) == len(plan.spec.clusters)
    assert all("PRIVATE KEY" not in json.dumps(s["inputs"]) for s in secrets)  # the key stays a Pulumi secret


def test_spoke_prometheus_still_starts_behind_mtls() -> None:
    """With client certificates required, the operator's HTTPS probes and the reloader's
    POST /-/reload would fail (prometheus-operator v0.93.0 pkg/prometheus/promcfg.go BuildProbes,
    pkg/prometheus/common.go reload URL). The spoke's Prometheus CR, as the chart renders it,
    probes over TCP (the operator lets a containers patch replace probe handlers,
    pkg/k8s/merge.go sanitizeProbeHandlers) and reloads by signal."""
    prom = next(d for d in _render(hub=False) if d["kind"] == "Prometheus")["spec"]
    assert prom["web"]["tlsConfig"]["clientAuthType"] == "RequireAndVerifyClientCert"
    assert prom["reloadStrategy"] == "ProcessSignal"
    [patch] = prom["containers"]
    assert patch["name"] == "prometheus"
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert set(patch[probe]) == {"tcpSocket", "periodSeconds", "failureThreshold"}
    hub = next(d for d in _render(hub=True) if d["kind"] == "Prometheus")["spec"]
    assert "web" not in hub and "containers" not in hub


def test_grafana_only_on_the_hub_without_a_default_password(plan: Plan) -> None:
    rels = releases(plan, m.RELEASE)
    for c in plan.spec.clusters:
        grafana = rels[c.name]["inputs"]["values"]["grafana"]
        assert grafana["enabled"] is c.is_management
        if c.is_management:
            assert grafana["admin"]["existingSecret"] == m.GRAFANA_SECRET


def test_only_node_exporter_is_privileged(plan: Plan) -> None:
    levels = {r["inputs"]["metadata"]["name"]: r["inputs"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
              for r in plan.of_type("kubernetes:core/v1:Namespace")}
    assert levels[m.NODE_NAMESPACE] == "privileged" and levels[m.NAMESPACE] == "baseline"
    for r in releases(plan, m.RELEASE).values():
        assert r["inputs"]["values"]["prometheus-node-exporter"]["namespaceOverride"] == m.NODE_NAMESPACE


def _render(hub: bool) -> list[dict[str, Any]]:
    labels = {"cluster": "c1", "cloud": "aws", "region": "us-east-1", "environment": "prod"}
    settings = m.prometheus_settings({**MetricsConfig().settings("prod")})  # type: ignore[typeddict-item]
    return render_chart("kube-prometheus-stack", m.chart_values(labels, settings, hub, "c1"),
                        name=m.RELEASE, namespace=m.NAMESPACE)


def test_chart_places_node_exporter_alone_in_its_namespace() -> None:
    docs = _render(hub=True)
    node = [d for d in docs if d["kind"] == "DaemonSet"]
    assert [d["metadata"]["namespace"] for d in node] == [m.NODE_NAMESPACE]
    others = [d for d in docs if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet") and d not in node]
    assert others and all(d["metadata"].get("namespace") == m.NAMESPACE for d in others)
    names = {d["metadata"]["name"] for d in docs if d["kind"] == "Deployment"}
    assert {t.name for t in platform_targets() if t.namespace == m.NAMESPACE} <= names  # the VPAs' targets exist
    prom = next(d for d in docs if d["kind"] == "Prometheus")
    assert prom["metadata"]["name"] == m.PROMETHEUS_NAME and prom["spec"]["scrapeConfigSelector"] == {"matchLabels": {"release": m.RELEASE}}


def test_vpa_managed_on_gke_and_aks_chart_on_eks(plan: Plan) -> None:
    rels = releases(plan, "vpa")
    assert sorted(rels) == sorted(c.name for c in plan.spec.clusters if c.cloud == "aws")
    gke = plan.of_type("gcp:container/cluster:Cluster")
    assert gke and all(r["inputs"]["verticalPodAutoscaling"] == {"enabled": True} for r in gke)
    aks = plan.of_type("azure-native:containerservice:ManagedCluster")
    assert aks and all(r["inputs"]["workloadAutoScalerProfile"]["verticalPodAutoscaler"] == {"enabled": True} for r in aks)


def test_platform_vpas_recommend_only(plan: Plan) -> None:
    by_urn = plan.by_urn()
    vpas = plan.of_type(VPA)
    for c in plan.spec.clusters:
        mine = {r["inputs"]["metadata"]["name"] for r in vpas if cluster_name(r, by_urn) == c.name}
        assert mine == {t.name for t in platform_targets()}
    assert {r["inputs"]["spec"]["updatePolicy"]["updateMode"] for r in vpas} == {"Off"}


def test_vpa_chart_is_restricted_with_generated_certs() -> None:
    docs = render_chart("vertical-pod-autoscaler", vpa_values(), name="vpa", namespace="vpa-system")
    assert restricted_violations(docs) == []
    hooks = {d["metadata"]["name"].rsplit("-", 1)[-1]: d["metadata"]["annotations"]["helm.sh/hook"] for d in docs if d["kind"] == "Job"}
    # certgen creates the secret before install; the patch job writes its CA into the webhook after.
    assert hooks == {"certgen": "pre-install,pre-upgrade", "patch": "post-install,post-upgrade"}
    assert any(d["kind"] == "MutatingWebhookConfiguration" for d in docs)


@pytest.mark.parametrize("section, path, value, text", [
    ({"federationMatch": ["up{"]}, "metrics.federationMatch[0]", "up{", "selector"),
    ({"federationMatch": ['{__name__=~".*"}']}, "metrics.federationMatch[0]", '{__name__=~".*"}', "every series"),
    ({"scrapeInterval": "5s"}, "metrics.scrapeInterval", "5s", "between"),
    ({"storageGi": 0}, "metrics.storageGi", 0, "emptyDir"),
])
def test_bad_metrics_config(section: dict[str, Any], path: str, value: Any, text: str) -> None:
    assert_config_error("prod", "metrics", section, path, value, text)


def test_vpa_auto_mode_is_refused() -> None:
    """``Auto`` is deprecated in VPA 1.7 (equivalent to Recreate, to be removed)."""
    assert_config_error("prod", "vpa", {"platformUpdateMode": "Auto"}, "vpa.platformUpdateMode", "Auto", "Input should be")


def test_new_releases_are_admitted(prod_plan: Plan) -> None:
    """The offline admission check over the prod plan with external-dns, kube-prometheus-stack and
    VPA rendered from ../shared/charts: schemas, CRDs, Pod Security of each namespace, chart values.
    Of their workloads only node-exporter runs in a privileged namespace."""
    import dataclasses

    from offline import render
    from offline.admission import check_plan, landings, namespace_levels

    from .addon_support import CHARTS_DIR

    mine = {"external-dns", m.RELEASE, "vpa"}
    plan = dataclasses.replace(prod_plan, resources=[
        r for r in prod_plan.resources if r["type"] != render.RELEASE_TYPE or r["inputs"]["name"] in mine])
    releases = render.render_plan(plan, CHARTS_DIR)
    assert {r.release for r in releases} == mine and len(releases) == 2 * len(plan.spec.clusters) + 2
    assert check_plan(plan, releases) == []
    for cluster, items in landings(plan, releases).items():
        levels = namespace_levels(items)
        privileged = {i.name for i in items if i.source.startswith("helm:") and i.kind in ("Deployment", "StatefulSet", "DaemonSet", "Job")
                      and levels.get(i.ns) == "privileged"}
        assert privileged == {f"{m.RELEASE}-prometheus-node-exporter"}, cluster


def test_metrics_ca_kept_in_prod_leaf_certificates_renewable(plan: Plan) -> None:
    """The CA every spoke trusts and all keys are protected in prod; the leaf certificates are not,
    so pulumi-tls can replace them inside their early-renewal window."""
    prod = plan.spec.environment == "prod"
    [ca] = [r for r in plan.of_type("tls:index/selfSignedCert:SelfSignedCert") if r["name"] == "metrics-ca"]
    assert ca["protect"] is prod
    leaves = [r for r in plan.of_type("tls:index/locallySignedCert:LocallySignedCert") if r["name"].endswith("-metrics-cert")]
    assert len(leaves) == len(plan.spec.clusters)
    assert all(not r["protect"] and r["inputs"]["earlyRenewalHours"] == 30 * 24 for r in leaves)


def test_gke_federation_load_balancer_is_pinned_to_a_reserved_internal_address(prod_plan: Plan) -> None:
    """A GKE spoke's federation load balancer takes its fixed address from a reserved regional
    internal address named in ``networking.gke.io/load-balancer-ip-addresses``, not from the
    deprecated ``spec.loadBalancerIP``: GKE's L4 controller resolves the annotation's address names
    in the cluster's region and prefers them over the field (kubernetes/ingress-gce
    pkg/address/to_use.go ``IPv4ToUse`` and pkg/l4annotations/l4_static_address.go @34f7873;
    cloud.google.com/kubernetes-engine/docs/concepts/service-load-balancer-parameters "Static IP
    addresses"). The address is INTERNAL in the node subnet, at the node-subnet address the hub
    scrapes, with purpose SHARED_LOADBALANCER_VIP, the one GKE keeps across Service updates of an
    internal passthrough load balancer (cloud.google.com/kubernetes-engine/docs/how-to/
    internal-load-balancing, restrictions)."""
    from stacks.flows import federate_address, federation_paths

    plan = prod_plan
    by_urn = plan.by_urn()
    gke = [plan.spec.cluster(n) for n, p in federation_paths(plan.spec).items() if p == "fabric" and plan.spec.cluster(n).cloud == "gcp"]
    assert gke, "prod federates a GKE spoke over the fabric"
    addresses = {r["inputs"]["name"]: r for r in plan.of_type("gcp:compute/address:Address")}
    svcs = {cluster_name(r, by_urn): r["inputs"] for r in plan.of_type("kubernetes:core/v1:Service")
            if r["inputs"]["metadata"]["name"] == m.FEDERATE_SERVICE}
    subnets = {cluster_name(r, by_urn): r for r in plan.of_type("gcp:compute/subnetwork:Subnetwork")}
    for c in gke:
        name = svcs[c.name]["metadata"]["annotations"]["networking.gke.io/load-balancer-ip-addresses"]
        a = addresses[name]["inputs"]
        assert a["addressType"] == "INTERNAL" and a["purpose"] == "SHARED_LOADBALANCER_VIP"
        assert a["address"] == str(federate_address(c)) and a["region"] == c.region
        assert subnets[c.name]["urn"] in addresses[name]["dependencies"] and a["subnetwork"]  # the node subnet's id
        assert "loadBalancerIP" not in svcs[c.name]["spec"]
