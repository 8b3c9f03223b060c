"""Fleet metrics and right-sizing: the metrics CA, a Prometheus on every cluster, the hub's
federation of every spoke, and VPA (managed or chart) with recommendation-only VPAs for the
platform's own workloads.

The metrics PKI is its own small CA (pulumi-tls), separate from the mesh's: a spoke's Prometheus
trusts only client certificates it signed, and only the hub holds a client-only one. Spokes get
a server+client certificate for their clusterset name (their own self-scrape presents it too).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_random as random
import pulumi_tls as tls

from components import naming
from components.addons import external_dns, metrics
from components.addons.metrics import (
    FEDERATE_SERVICE,
    NAMESPACE,
    FederateLoadBalancer,
    MetricsTls,
    Monitoring,
    MonitoringArgs,
    federate_host,
)
from components.addons.vpa import VerticalPodAutoscaler, VpaTargetArgs, vpa_args
from components.handle import ClusterHandle
from components.protection import keep
from stacks.flows import federate_address, federation_paths, source_ranges
from stacks.spec import FleetSpec

KEY_ALGORITHM = "ECDSA"
KEY_CURVE = "P256"
CA_VALIDITY_HOURS = 5 * 365 * 24
CERT_VALIDITY_HOURS = 365 * 24
# Re-issued by `pulumi up` once less than this is left (pulumi-tls early_renewal_hours).
EARLY_RENEWAL_HOURS = 30 * 24


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


@dataclass
class FleetMetricsArgs:
    fleet: FleetSpec
    handles: list[ClusterHandle]
    # The clusters Submariner joins, each with what its ServiceExport needs first (the join's
    # CRDs). The others are federated over the VPN fabric, or not at all without one.
    export_ready: dict[str, list[pulumi.Resource]] = field(default_factory=dict)
    # Why each other cluster has no such path (Submariner's notJoined reasons).
    unreachable: dict[str, str] = field(default_factory=dict)


class FleetMetrics(pulumi.ComponentResource):
    monitoring: dict[str, Monitoring]
    vpa: dict[str, VerticalPodAutoscaler]

    def __init__(self, name: str, args: FleetMetricsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:fleet:FleetMetrics", name, None, opts)
        fleet, cfg = args.fleet, args.fleet.metrics
        tls_provider = tls.Provider(f"{name}-tls", opts=pulumi.ResourceOptions(parent=self))
        tls_opts = pulumi.ResourceOptions(parent=self, provider=tls_provider)
        random_provider = random.Provider(f"{name}-random", opts=pulumi.ResourceOptions(parent=self))
        # Keys and the CA are kept in prod (every spoke trusts the CA); the leaf certificates are
        # not, so pulumi-tls can replace them when they near expiry.
        kept = keep(fleet, tls_opts)
        ca_key = tls.PrivateKey(f"{name}-ca-key", algorithm=KEY_ALGORITHM, ecdsa_curve=KEY_CURVE, opts=kept)
        self.ca = tls.SelfSignedCert(
            f"{name}-ca", private_key_pem=ca_key.private_key_pem, is_ca_certificate=True,
            subject=tls.SelfSignedCertSubjectArgs(organization="Archipelago", common_name=f"Archipelago {fleet.environment} metrics CA"),
            allowed_uses=["cert_signing", "crl_signing", "digital_signature"], validity_period_hours=CA_VALIDITY_HOURS, opts=kept)
        hub = next(h for h in args.handles if h.is_management)
        # A spoke is federated over Submariner (its export) when it joins, else over the VPN fabric
        # through an internal load balancer when the fleet has one (stacks.flows.federation_paths).
        paths = federation_paths(fleet)
        spokes = [h.name for h in args.handles if h.name in paths]
        hub_ranges = [str(n) for n in source_ranges(hub.spec, "pods")]
        targets = {h.name: str(federate_address(h.spec)) for h in args.handles if paths.get(h.name) == "fabric"}
        self.not_federated = {h.name: f"no private path from the hub: {args.unreachable.get(h.name, 'not joined to Submariner')} "
                                      "and network.fabric is 'none'"
                              for h in args.handles if not h.is_management and h.name not in paths}
        self.monitoring = {}
        self.vpa = {}
        for h in args.handles:
            key = tls.PrivateKey(naming.logical(h.name, "metrics", "key"), algorithm=KEY_ALGORITHM, ecdsa_curve=KEY_CURVE, opts=kept)
            is_hub = h.name == hub.name
            csr = tls.CertRequest(
                naming.logical(h.name, "metrics", "csr"), private_key_pem=key.private_key_pem,
                subject=tls.CertRequestSubjectArgs(organization="Archipelago", common_name=f"prometheus-{h.name}"),
                dns_names=[] if is_hub else [federate_host(h.name), f"{FEDERATE_SERVICE}.{NAMESPACE}.svc"], opts=tls_opts)
            cert = tls.LocallySignedCert(
                naming.logical(h.name, "metrics", "cert"), cert_request_pem=csr.cert_request_pem, ca_cert_pem=self.ca.cert_pem,
                ca_private_key_pem=ca_key.private_key_pem, validity_period_hours=CERT_VALIDITY_HOURS, early_renewal_hours=EARLY_RENEWAL_HOURS,
                allowed_uses=["digital_signature", "client_auth"] if is_hub else ["digital_signature", "server_auth", "client_auth"],
                opts=tls_opts)
            mon = Monitoring(naming.logical(h.name, "monitoring"), MonitoringArgs(
                handle=h, environment=fleet.environment, config=cfg,
                tls=MetricsTls(ca_pem=self.ca.cert_pem, cert_pem=cert.cert_pem, key_pem=key.private_key_pem),
                hub=is_hub, spokes=spokes if is_hub else [], targets=targets if is_hub else {}, random_provider=random_provider,
                load_balancer=FederateLoadBalancer(targets[h.name], hub_ranges) if h.name in targets else None,
                export=h.name in spokes and h.name not in targets, export_ready=args.export_ready.get(h.name, [])),
                pulumi.ResourceOptions(parent=h.component))
            self.monitoring[h.name] = mon
            vpa_targets = [t.args() for t in platform_targets()] if fleet.vpa.platform_components else []
            self.vpa[h.name] = VerticalPodAutoscaler(
                naming.logical(h.name, "vpa"), vpa_args(h, fleet.vpa.platform_update_mode, vpa_targets), pulumi.ResourceOptions(parent=h.component),
                # A VPA names its target; the workload may come later (external-dns is installed after).
                depends_on=[mon.release])
        self.hub, self.federates = hub.name, spokes
        self.register_outputs({"hub": hub.name, "federates": spokes, "notFederated": self.not_federated, "caCert": self.ca.cert_pem})
