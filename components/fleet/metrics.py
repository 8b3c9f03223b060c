"""Fleet metrics and right-sizing: the metrics CA, a Prometheus on every cluster, the hub's
federation of every spoke, and VPA (managed or chart) with recommendation-only VPAs for the
platform's own workloads.

The metrics PKI is its own small CA (pulumi-tls), separate from the mesh's: a spoke's Prometheus
trusts only client certificates it signed, and only the hub holds a client-only one. Spokes get
a server+client certificate for their clusterset name (their own self-scrape presents it too).
"""

import re
from dataclasses import dataclass
from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random
import pulumi_tls as tls

from components import naming
from components.addons import external_dns, metrics
from components.addons.metrics import (
    FEDERATE_SERVICE,
    NAMESPACE,
    FederatedSpokeArgs,
    Monitoring,
    MonitoringArgs,
    PrometheusArgs,
    federate_host,
)
from components.addons.vpa import VerticalPodAutoscaler, VpaTargetArgs, vpa_args
from components.fleet import check_cluster_entries, moved_child_opts, previous_child_urns
from components.handle import ClusterHandle
from components.tokens import component_type, renamed_from
from stacks.config import DNS_LABEL
from stacks.flows import federate_address, federation_paths, source_ranges
from stacks.spec import FleetSpec

KEY_ALGORITHM = "ECDSA"
KEY_CURVE = "P256"
CA_VALIDITY_HOURS = 5 * 365 * 24
CERT_VALIDITY_HOURS = 365 * 24
# Re-issued by `pulumi up` once less than this is left (pulumi-tls early_renewal_hours).
EARLY_RENEWAL_HOURS = 30 * 24
FEDERATION_PATHS = ("export", "load-balancer", "")


@dataclass(frozen=True)
class Target:
    namespace: str
    kind: str
    name: str

    def args(self) -> VpaTargetArgs:
        return VpaTargetArgs(namespace=self.namespace, kind=self.kind, name=self.name)


def platform_targets() -> list[Target]:
    """The platform workloads this area installs on every cluster, each with a recommendation-only VPA."""
    return [
        Target(external_dns.NAMESPACE, "Deployment", "external-dns"),
        Target(NAMESPACE, "Deployment", f"{metrics.RELEASE}-operator"),
        Target(NAMESPACE, "Deployment", f"{metrics.RELEASE}-kube-state-metrics"),
    ]


class MetricsClusterArgs(TypedDict):
    """One cluster of the fleet's metrics: the hub or a spoke, and how the hub reaches a spoke."""

    name: str
    """The cluster's name (a DNS-1123 label, unique): its children, certificate and clusterset name derive from it."""
    kubernetes_provider: k8s.Provider
    """The Kubernetes provider of the cluster."""
    hub: NotRequired[bool]
    """This cluster is the hub (exactly one is). Default: false."""
    external_labels: NotRequired[dict[str, str]]
    """Labels added to every series of this cluster at the hub. Default: {cluster: name}."""
    federation: NotRequired[str]
    """Spokes: how the hub reaches this one: export (a Submariner ServiceExport, scraped at the
    clusterset name), load-balancer (an internal load balancer at loadBalancerAddress) or empty (not
    federated). Default: empty."""
    load_balancer_address: NotRequired[str]
    """load-balancer spokes: the private address the hub scrapes (pinned by loadBalancerAnnotations)."""
    load_balancer_annotations: NotRequired[dict[str, pulumi.Input[str]]]
    """load-balancer spokes: the Service annotations that make it an internal load balancer at that address."""
    export_after: NotRequired[list[k8s.helm.v3.Release]]
    """export spokes: releases the ServiceExport waits for (the one installing its CRD). Default: none."""
    not_federated_reason: NotRequired[str]
    """Spokes not federated: why, reported in notFederated. Default: no private path from the hub."""
    previous_urns: NotRequired[list[pulumi.Input[str]]]
    """The URNs this cluster's Monitoring had before (in programs that built it under their
    cluster component), kept as aliases so deployed stacks keep it and its resources. Default: none."""


class FleetMetricsArgs(TypedDict):
    """Inputs of a FleetMetrics: the clusters, where the hub's traffic comes from, the Prometheus settings."""

    environment: str
    """The environment's name (a DNS-1123 label), in the metrics CA's name."""
    clusters: list[MetricsClusterArgs]
    """Every cluster, exactly one of them the hub; names unique."""
    hub_source_ranges: NotRequired[list[str]]
    """The hub's addresses as the spokes see them: what load-balancer spokes admit. Default: none
    (required when a spoke is federated through a load balancer)."""
    prometheus: NotRequired[PrometheusArgs]
    """Every cluster's Prometheus settings. Default: see each field."""
    protect_keys: NotRequired[bool]
    """Protect the CA and the keys (every spoke trusts the CA). Default: false."""


def _check(args: FleetMetricsArgs) -> None:
    if not re.fullmatch(DNS_LABEL, args["environment"]):
        raise ValueError(f"environment: {args['environment']!r} is not a DNS-1123 label")
    hubs = [c["name"] for c in args["clusters"] if c.get("hub")]
    if len(hubs) != 1:
        raise ValueError(f"clusters: exactly one hub, found {len(hubs)} ({', '.join(hubs) or 'none'})")
    check_cluster_entries(args["clusters"])
    for c in args["clusters"]:
        path = c.get("federation", "")
        if path not in FEDERATION_PATHS:
            raise ValueError(f"clusters[{c['name']}].federation: {path!r} is not one of export, load-balancer or empty")
        if c.get("hub") and path:
            raise ValueError(f"clusters[{c['name']}].federation: the hub is not federated")
        if path == "load-balancer":
            if not c.get("load_balancer_address") or not c.get("load_balancer_annotations"):
                raise ValueError(f"clusters[{c['name']}].loadBalancerAddress: a load-balancer spoke needs its address and annotations")
            if not args.get("hub_source_ranges"):
                raise ValueError("hubSourceRanges: needed when a spoke is federated through a load balancer")


class FleetMetrics(pulumi.ComponentResource):
    """Prometheus on every cluster of a fleet, federated at a hub over mutual TLS: a small metrics CA
    (separate from any mesh CA), a server+client certificate per spoke and a client-only one for the
    hub, Monitoring on each cluster, and the hub's federation of every spoke that has a path."""

    hub: pulumi.Output[str]
    """The hub cluster's name."""
    federated: pulumi.Output[list[str]]
    """The spokes the hub federates, in the clusters' order."""
    not_federated: pulumi.Output[dict[str, str]]
    """Spokes the hub cannot reach -> why."""
    ca_cert: pulumi.Output[str]
    """The metrics CA certificate (PEM)."""

    def __init__(self, name: str, args: FleetMetricsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(FleetMetrics), name, None, renamed_from("archipelago:fleet:FleetMetrics", opts))
        _check(args)
        tls_provider = tls.Provider(f"{name}-tls", opts=pulumi.ResourceOptions(parent=self))
        tls_opts = pulumi.ResourceOptions(parent=self, provider=tls_provider)
        random_provider = random.Provider(f"{name}-random", opts=pulumi.ResourceOptions(parent=self))
        # Keys and the CA are kept in prod (every spoke trusts the CA); the leaf certificates are
        # not, so pulumi-tls can replace them when they near expiry.
        kept = pulumi.ResourceOptions.merge(tls_opts, pulumi.ResourceOptions(protect=bool(args.get("protect_keys"))))
        ca_key = tls.PrivateKey(f"{name}-ca-key", algorithm=KEY_ALGORITHM, ecdsa_curve=KEY_CURVE, opts=kept)
        self.ca = tls.SelfSignedCert(
            f"{name}-ca", private_key_pem=ca_key.private_key_pem, is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(organization="Archipelago", common_name=f"Archipelago {args['environment']} metrics CA"),
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"], validity_period_hours=CA_VALIDITY_HOURS, opts=kept)
        clusters = args["clusters"]
        hub = next(c["name"] for c in clusters if c.get("hub"))
        spokes: list[FederatedSpokeArgs] = []
        for c in clusters:
            if c.get("federation") == "load-balancer":
                spokes.append({"name": c["name"], "target": c.get("load_balancer_address", "")})
            elif c.get("federation") == "export":
                spokes.append({"name": c["name"]})
        self.not_federated_reasons = {c["name"]: c.get("not_federated_reason") or "no private path from the hub"
                                      for c in clusters if not c.get("hub") and not c.get("federation")}
        self.monitoring: dict[str, Monitoring] = {}
        for c in clusters:
            cname, is_hub = c["name"], bool(c.get("hub"))
            key = tls.PrivateKey(naming.logical(cname, "metrics", "key"), algorithm=KEY_ALGORITHM, ecdsa_curve=KEY_CURVE, opts=kept)
            csr = tls.CertRequest(
                naming.logical(cname, "metrics", "csr"), private_key_pem=key.private_key_pem,
                subject=tls.CertRequestSubjectArgs(organization="Archipelago", common_name=f"prometheus-{cname}"),
                dns_names=[] if is_hub else [federate_host(cname), f"{FEDERATE_SERVICE}.{NAMESPACE}.svc"], opts=tls_opts)
            cert = tls.LocallySignedCert(
                naming.logical(cname, "metrics", "cert"), cert_request_pem=csr.cert_request_pem, ca_cert_pem=self.ca.cert_pem,
                ca_private_key_pem=ca_key.private_key_pem, validity_period_hours=CERT_VALIDITY_HOURS, early_renewal_hours=EARLY_RENEWAL_HOURS,
                allowed_uses=["digital_signature", "client_auth"] if is_hub else ["digital_signature", "server_auth", "client_auth"],
                opts=tls_opts)
            mon_args = MonitoringArgs(
                kubernetes_provider=c["kubernetes_provider"], cluster_name=cname,
                external_labels=dict(c.get("external_labels") or {"cluster": cname}), prometheus=args.get("prometheus") or {},
                ca_cert=self.ca.cert_pem, cert=cert.cert_pem, key=key.private_key_pem, hub=is_hub,
                random_provider=random_provider, name_prefix=cname)
            if is_hub:
                mon_args["spokes"] = spokes
            elif c.get("federation") == "load-balancer":
                mon_args["federate_load_balancer"] = {"annotations": dict(c.get("load_balancer_annotations") or {}),
                                                      "source_ranges": list(args.get("hub_source_ranges") or [])}
            elif c.get("federation") == "export":
                mon_args["export"] = True
                mon_args["export_after"] = list(c.get("export_after") or [])
            self.monitoring[cname] = Monitoring(naming.logical(cname, "monitoring"), mon_args, moved_child_opts(self, c.get("previous_urns")))
        self.hub_name, self.federates = hub, [s["name"] for s in spokes]
        self.hub = pulumi.Output.from_input(hub)
        self.federated = pulumi.Output.from_input(self.federates)
        self.not_federated = pulumi.Output.from_input(self.not_federated_reasons)
        self.ca_cert = self.ca.cert_pem
        self.register_outputs({"hub": hub, "federates": self.federates, "notFederated": self.not_federated_reasons,
                               "caCert": self.ca_cert, "federated": self.federated})


def internal_lb_annotations(h: ClusterHandle, address: str) -> dict[str, pulumi.Input[str]]:
    """The federation Service's annotations on ``h``'s cloud: an internal load balancer pinned at
    ``address`` (the handle's answer; on GKE a reserved internal address beside the cluster)."""
    annotations, spec = h.internal_load_balancer(address, name=naming.logical(h.name, "prometheus", "federate"), parent=h.component)
    if spec:
        raise ValueError(f"{h.name}: {h.cloud} pins an internal load balancer's address only through the Service spec")
    return annotations


def fleet_metrics_args(fleet: FleetSpec, handles: list[ClusterHandle], export_ready: dict[str, list[k8s.helm.v3.Release]],
                       unreachable: dict[str, str]) -> FleetMetricsArgs:
    """The fleet's metrics config and clusters as a FleetMetrics's inputs: each spoke's path
    (stacks.flows.federation_paths: a Submariner export where the spoke joins, else an internal load
    balancer over the VPN fabric when there is one), its external labels, and the reason a spoke
    without a path is not federated (``unreachable``: Submariner's notJoined reasons)."""
    paths = federation_paths(fleet)
    hub = next(h for h in handles if h.is_management)
    clusters: list[MetricsClusterArgs] = []
    for h in handles:
        entry = MetricsClusterArgs(
            name=h.name, kubernetes_provider=h.provider, hub=h.name == hub.name,
            external_labels={"cluster": h.name, "cloud": h.cloud, "region": h.region, "environment": fleet.environment},
            previous_urns=previous_child_urns(h.component, f"{h.name}-monitoring", "archipelago:addons:Monitoring"))
        path = paths.get(h.name)
        if path == "fabric":
            address = str(federate_address(h.spec))
            entry.update(federation="load-balancer", load_balancer_address=address,
                         load_balancer_annotations=internal_lb_annotations(h, address))
        elif path == "submariner":
            entry.update(federation="export", export_after=list(export_ready.get(h.name, [])))
        elif not h.is_management:
            entry["not_federated_reason"] = (f"no private path from the hub: {unreachable.get(h.name, 'not joined to Submariner')} "
                                             "and network.fabric is 'none'")
        clusters.append(entry)
    s = fleet.metrics.settings(fleet.environment)
    return FleetMetricsArgs(
        environment=fleet.environment, clusters=clusters, hub_source_ranges=[str(n) for n in source_ranges(hub.spec, "pods")],
        prometheus=PrometheusArgs(retention=s["retention"], retention_size=s["retention_size"], storage_gi=s["storage_gi"],
                                  cpu=s["cpu"], memory=s["memory"], federation_match=list(fleet.metrics.federation_match),
                                  scrape_interval=fleet.metrics.scrape_interval, sample_limit=fleet.metrics.sample_limit),
        protect_keys=fleet.baseline.protect_stateful)


def fleet_vpas(fleet: FleetSpec, handles: list[ClusterHandle], monitoring: dict[str, Monitoring]) -> dict[str, VerticalPodAutoscaler]:
    """VPA on every cluster (managed or the chart) with recommendation-only VPAs for the platform's
    own workloads, under the cluster, after that cluster's Prometheus release."""
    targets = [t.args() for t in platform_targets()] if fleet.vpa.platform_components else []
    return {h.name: VerticalPodAutoscaler(
        naming.logical(h.name, "vpa"), vpa_args(h, fleet.vpa.platform_update_mode, targets), pulumi.ResourceOptions(parent=h.component),
        # A VPA names its target; the workload may come later (external-dns is installed after).
        depends_on=[monitoring[h.name].release])
        for h in handles}
