"""Istio on one cluster, as one primary of a multi-primary, multi-network mesh.

Everything here is on the cluster's own provider and waits for nothing outside the cluster except
its intermediate CA (made by the program, not by another cluster). The fleet wiring (root CA,
remote secrets between clusters) is in :mod:`components.fleet.mesh`.

Install order on the cluster: namespaces -> ``cacerts`` (istiod reads it at start; without it
istiod would mint its own self-signed root) -> ``base`` (CRDs) -> ``cni`` -> ``istiod`` -> east-west
``gateway`` -> Istio custom resources; plus a reader service account whose token the *other*
clusters' istiod use to watch this one.

Risks stated plainly:

- The reader token in every other cluster's remote secret can read every Secret of this cluster
  (``READER_RULES``): istiod resolves gateway ``credentialName`` Secrets of remote clusters with
  it. Anyone who can read ``istio-system`` Secrets of one cluster can read all Secrets of all.
- ``cacerts`` holds this cluster's intermediate CA private key as a Kubernetes Secret: istiod's
  plugged-in CA reads it from there (pilot/pkg/bootstrap/istio_ca.go). Keeping the key out of the
  cluster needs an external signer (istiod's ``EXTERNAL_CA`` with a Kubernetes CSR signer such as
  cert-manager's istio-csr), which this fleet does not run. A leaked key lets its holder mint
  workload identities trusted by the whole mesh until the intermediate is rotated; the root key
  never reaches a cluster.
"""

import ipaddress
import re
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components.addons.helm import release_on
from components.clusters.kubeconfig import render_token
from components.fleet.tokens import ServiceAccountToken, service_account_token_on
from components.security.namespaces import pss_namespace_on
from components.tokens import component_type, renamed_from
from stacks import ports as port_table
from stacks.config import DNS_LABEL
from stacks.sections.mesh import DURATION
from stacks.versions import CRD_API_VERSIONS

ISTIO_NAMESPACE = "istio-system"
CNI_NAMESPACE = "istio-cni"
NETWORK_LABEL = "topology.istio.io/network"
EASTWEST_RELEASE = "istio-eastwestgateway"
EASTWEST_LABELS = {"istio": "eastwestgateway", "app": "istio-eastwestgateway"}
CROSS_NETWORK_PORT = 15443
READER = "archipelago-istio-reader"

# Meshed namespaces (sidecar injection on). A Service there is reached across clusters through
# Istio (same name, endpoints of every cluster, mTLS through the east-west gateways); Lighthouse
# must not export it too, or meshed clients resolving *.clusterset.local get a remote ClusterIP
# Istio does not know and send plain TCP that the remote sidecar rejects under STRICT mTLS.
MESHED_NAMESPACE_CEL = ("has(namespaceObject.metadata.labels) && "
                        "(namespaceObject.metadata.labels.exists(k, k == 'istio.io/rev') || "
                        "('istio-injection' in namespaceObject.metadata.labels && "
                        "namespaceObject.metadata.labels['istio-injection'] == 'enabled'))")
ONE_PATH_POLICY = "archipelago-one-cross-cluster-path"

# What istiod on another cluster needs to read here: the upstream istio-reader-clusterrole
# (istiod chart 1.30.3, templates/reader-clusterrole.yaml) without write access to MCS
# ServiceExports, which only the (default-off) MCS discovery feature uses. Secrets stay readable:
# istiod resolves gateway credentialName secrets of remote clusters through this account.
READER_RULES: list[tuple[list[str], list[str], list[str]]] = [
    (["config.istio.io", "security.istio.io", "networking.istio.io", "authentication.istio.io",
      "rbac.istio.io", "telemetry.istio.io", "extensions.istio.io"], ["*"], ["get", "list", "watch"]),
    ([""], ["endpoints", "pods", "services", "nodes", "replicationcontrollers", "namespaces", "secrets", "configmaps"],
     ["get", "list", "watch"]),
    (["networking.x-k8s.io", "gateway.networking.k8s.io"], ["gateways"], ["get", "list", "watch"]),
    (["apiextensions.k8s.io"], ["customresourcedefinitions"], ["get", "list", "watch"]),
    (["discovery.k8s.io"], ["endpointslices"], ["get", "list", "watch"]),
    (["multicluster.x-k8s.io"], ["serviceexports", "serviceimports"], ["get", "list", "watch"]),
    (["apps"], ["replicasets"], ["get", "list", "watch"]),
    (["authentication.k8s.io"], ["tokenreviews"], ["create"]),
    (["authorization.k8s.io"], ["subjectaccessreviews"], ["create"]),
]


def istiod_values(cluster: str, mesh_id: str, network: str) -> dict[str, Any]:
    return {
        "global": {
            "meshID": mesh_id,
            "multiCluster": {"clusterName": cluster},
            "network": network,
            # Remote clusters are read through our own least-privilege reader (READER_RULES).
            "enableReaderRBAC": False,
        },
        # Sidecars get no NET_ADMIN/NET_RAW istio-init container: istio-cni sets up redirection.
        "cni": {"enabled": True},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


# The east-west Service's ports: the LB health check and cross-network mTLS (AUTO_PASSTHROUGH).
GATEWAY_PORTS = (("status-port", 15021), ("tls", port_table.port("istio-mtls")))


def gateway_values(network: str, annotations: dict[str, str], source_ranges: list[str] | None = None) -> dict[str, Any]:
    service: dict[str, Any] = {"type": "LoadBalancer", "annotations": annotations}
    if source_ranges:
        # Only the fleet may reach the gateway: each cloud's controller turns these into its LB
        # or node firewall rules instead of opening the ports to 0.0.0.0/0.
        service["loadBalancerSourceRanges"] = list(source_ranges)
    # What the chart's ``networkGateway`` does, minus two ports: it always renders the four
    # network-gateway ports (templates/service.yaml), but 15012 (istiod) and 15017 (webhook) serve
    # primary-remote meshes only; a multi-primary, multi-network mesh crosses networks on 15443
    # (istio.io/latest/docs/setup/install/multicluster/multi-primary_multi-network). So the Service
    # gets the status and tls ports, the network label comes from ``labels`` (pod and Service) and
    # the requested network view from ``env``.
    service["ports"] = [{"name": name, "port": p, "targetPort": p, "protocol": "TCP"} for name, p in GATEWAY_PORTS]
    return {
        "env": {"ISTIO_META_REQUESTED_NETWORK_VIEW": network},
        "labels": {**EASTWEST_LABELS, NETWORK_LABEL: network, "istio.io/dataplane-mode": "none"},
        "service": service,
        # The chart's Role lets the gateway read every Secret in its namespace (cacerts, the remote
        # secrets) for TLS credentialName; AUTO_PASSTHROUGH on 15443 terminates no TLS and needs none.
        "rbac": {"enabled": False},
    }


def cni_values(bin_dir: str | None, resource_quotas: bool) -> dict[str, Any]:
    """istio-cni values: where the nodes keep CNI binaries (when not the chart's default) and the
    ResourceQuota that system-node-critical pods need outside kube-system. The chart's gke platform
    profile sets cniBinDir "" so that the template guesses from the Kubernetes version string
    ("-gke"); rendered offline, a cniBinDir given next to ``platform: gke`` did not reach the
    DaemonSet. So the profile's two settings are given explicitly, where the nodes need them."""
    values: dict[str, Any] = {}
    if bin_dir:
        values["cniBinDir"] = bin_dir
    if resource_quotas:
        values["resourceQuotas"] = {"enabled": True}
    return values


class OutlierDetectionArgs(TypedDict):
    """When an endpoint is ejected; locality failover only moves on once endpoints are ejected."""

    consecutive_gateway_errors: NotRequired[int]
    """502/503/504 errors in a row that eject an endpoint, 1 to 1000. Default: 5."""
    interval: NotRequired[str]
    """Time between ejection sweeps, a duration such as 30s. Default: 30s."""
    base_ejection_time: NotRequired[str]
    """Minimum ejection duration, a duration such as 30s. Default: 30s."""


class LocalityFailoverArgs(TypedDict):
    """Where traffic for one locality goes when its endpoints are ejected."""

    from_locality: str
    """The locality (region, or region/zone) whose traffic fails over."""
    to_locality: str
    """The locality it fails over to."""


class LocalityDistributeArgs(TypedDict):
    """How traffic from one locality is shared out, by weight."""

    from_locality: str
    """The source locality, Istio's form: region/zone/subzone, '*' for any part (e.g. us-east-1/*)."""
    to: dict[str, int]
    """Destination locality -> weight (percent); the weights sum to 100."""


class LocalityArgs(TypedDict):
    """The mesh-wide DestinationRule's localityLbSetting: failover or weighted distribution, not both."""

    failover: NotRequired[list[LocalityFailoverArgs]]
    """Failover pairs. Default: none (endpoints of the same locality first, then any)."""
    distribute: NotRequired[list[LocalityDistributeArgs]]
    """Weighted distribution per source locality. Default: none."""


class IstioClusterArgs(TypedDict):
    """Inputs of an IstioCluster: one cluster's share of a multi-primary, multi-network mesh."""

    kubernetes_provider: k8s.Provider
    """The Kubernetes provider of the cluster; every object is created through it."""
    mesh_id: str
    """The mesh ID, the same on every cluster of the mesh (a DNS-1123 label)."""
    network: str
    """This cluster's network name (a DNS-1123 label); clusters on different networks reach each other
    through their east-west gateways."""
    cluster_name: NotRequired[str]
    """The cluster's name in the mesh (istiod's multiCluster.clusterName, and the key other clusters'
    remote secrets give it), a DNS-1123 label unique in the mesh. Default: the component's name."""
    ca_cert: pulumi.Input[str]
    """This cluster's intermediate CA certificate (PEM), signed by the mesh root."""
    ca_key: pulumi.Input[str]
    """The intermediate CA's private key (PEM); kept a Pulumi secret, written to the cacerts Secret
    istiod reads."""
    root_cert: pulumi.Input[str]
    """The mesh's root CA certificate (PEM), the same on every cluster."""
    api_server: pulumi.Input[str]
    """The cluster's API server URL as other clusters reach it, for the reader kubeconfig."""
    api_server_ca: pulumi.Input[str]
    """The API server's CA certificate, base64-encoded PEM, for the reader kubeconfig."""
    gateway_annotations: NotRequired[dict[str, str]]
    """Annotations of the east-west gateway's LoadBalancer Service, e.g. the cloud's internal
    load-balancer annotation. Default: none (the cloud's default load balancer)."""
    gateway_source_ranges: NotRequired[list[str]]
    """CIDRs allowed to reach the east-west gateway (loadBalancerSourceRanges). Default: none (the
    cloud's default: open)."""
    cni_bin_dir: NotRequired[str]
    """Where the nodes keep CNI plugin binaries, when not /opt/cni/bin (GKE: /home/kubernetes/bin).
    Default: the chart's."""
    cni_resource_quotas: NotRequired[bool]
    """Create the ResourceQuota that lets system-node-critical CNI pods run outside kube-system (GKE
    needs it). Default: false."""
    locality: NotRequired[LocalityArgs]
    """Locality load balancing of the mesh-wide DestinationRule. Default: enabled, no explicit failover."""
    outlier_detection: NotRequired[OutlierDetectionArgs]
    """Outlier detection of the mesh-wide DestinationRule. Default: 5 gateway errors, 30s, 30s."""
    name_prefix: NotRequired[str]
    """Prefix of every child's logical name. Default: the component's own name."""


OUTLIER_DEFAULTS = {"consecutive_gateway_errors": 5, "interval": "30s", "base_ejection_time": "30s"}


def locality_setting(locality: LocalityArgs) -> dict[str, Any]:
    """The DestinationRule ``localityLbSetting`` (Istio field names)."""
    setting: dict[str, Any] = {"enabled": True}
    distribute, failover = locality.get("distribute") or [], locality.get("failover") or []
    if distribute:
        setting["distribute"] = [{"from": d["from_locality"], "to": dict(d["to"])} for d in distribute]
    elif failover:
        setting["failover"] = [{"from": f["from_locality"], "to": f["to_locality"]} for f in failover]
    return setting


def outlier_setting(od: OutlierDetectionArgs) -> dict[str, Any]:
    """The DestinationRule ``outlierDetection`` (Istio field names)."""
    v = {**OUTLIER_DEFAULTS, **od}
    return {"consecutiveGatewayErrors": v["consecutive_gateway_errors"], "interval": v["interval"],
            "baseEjectionTime": v["base_ejection_time"]}


def _label(field: str, value: str) -> None:
    if not isinstance(value, str) or not re.fullmatch(DNS_LABEL, value) or len(value) > 63:
        raise ValueError(f"{field}: {value!r} is not a DNS-1123 label")


def check_cidrs(field: str, cidrs: list[str]) -> None:
    """Refuse a value that is not an IPv4 CIDR, naming the field."""
    for c in cidrs:
        try:
            ipaddress.IPv4Network(c)
        except ValueError:
            raise ValueError(f"{field}: {c!r} is not an IPv4 CIDR") from None


def check_locality_and_outliers(locality: LocalityArgs, od: OutlierDetectionArgs) -> None:
    if locality.get("failover") and locality.get("distribute"):
        raise ValueError("locality: failover and distribute are exclusive (Istio refuses both)")
    for d in locality.get("distribute") or []:
        if sum(d["to"].values()) != 100:
            raise ValueError(f"locality.distribute[{d['from_locality']}].to: weights sum to {sum(d['to'].values())}, not 100")
    errors = od.get("consecutive_gateway_errors", 5)
    if not 1 <= errors <= 1000:
        raise ValueError(f"outlierDetection.consecutiveGatewayErrors: {errors} is not between 1 and 1000")
    for key, camel in (("interval", "interval"), ("base_ejection_time", "baseEjectionTime")):
        if key in od and not re.fullmatch(DURATION, od[key]):
            raise ValueError(f"outlierDetection.{camel}: {od[key]!r} is not a duration such as 30s")


class IstioCluster(pulumi.ComponentResource):
    """One cluster's share of an Istio multi-primary, multi-network mesh: istio-base, istio-cni,
    istiod with the mesh's plugged-in intermediate CA, an east-west gateway, STRICT mutual TLS, a
    mesh-wide locality-failover DestinationRule, and a least-privilege reader whose kubeconfig the
    other clusters' istiod use to watch this one."""

    network: pulumi.Output[str]
    """The cluster's network name."""
    cluster_name: pulumi.Output[str]
    """The cluster's name in the mesh."""
    namespace_name: pulumi.Output[str]
    """The namespace of istiod and the east-west gateway (istio-system)."""
    reader_kubeconfig: pulumi.Output[str]
    """A kubeconfig of this cluster's reader service account (bearer token), a secret: what the
    other clusters' remote secrets hold for this one. It can read every Secret of the cluster."""

    def __init__(self, name: str, args: IstioClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(IstioCluster), name, None, renamed_from("archipelago:istio:IstioCluster", opts))
        provider = args["kubernetes_provider"]
        p = args.get("name_prefix") or name
        cluster = args.get("cluster_name") or name
        _label("meshId", args["mesh_id"])
        _label("network", args["network"])
        _label("clusterName", cluster)
        check_cidrs("gatewaySourceRanges", list(args.get("gateway_source_ranges") or []))
        locality, od = args.get("locality") or {}, args.get("outlier_detection") or {}
        check_locality_and_outliers(locality, od)

        def k8s_opts(**kw: Any) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, provider=provider, **kw)

        self.namespace = pss_namespace_on(
            provider, ISTIO_NAMESPACE, "baseline", parent=self, logical_name=f"{p}-ns-{ISTIO_NAMESPACE}",
            labels={NETWORK_LABEL: args["network"]},
            reason="istiod and the east-west gateway run as non-root with all capabilities dropped, but the "
                   "gateway chart's pods carry no seccomp profile, which restricted requires; the privileged "
                   "CNI agent lives in istio-cni, so nothing here needs NET_ADMIN",
        )
        cni_ns = pss_namespace_on(
            provider, CNI_NAMESPACE, "privileged", parent=self, logical_name=f"{p}-ns-{CNI_NAMESPACE}",
            reason="the istio-cni node agent installs a CNI plugin on every node (hostPath, privileged) so that "
                   "meshed pods need no NET_ADMIN/NET_RAW init container",
        )
        self.cacerts = k8s.core.v1.Secret(
            f"{p}-istio-cacerts",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="cacerts", namespace=ISTIO_NAMESPACE),
            type="Opaque",
            string_data=cacerts_data(args["ca_cert"], args["ca_key"], args["root_cert"]),
            opts=k8s_opts(depends_on=[self.namespace]),
        )

        def rel(chart: str, release_name: str, namespace: str, values: dict[str, Any], deps: list[pulumi.Resource]) -> k8s.helm.v3.Release:
            return release_on(provider, chart, logical_name=f"{p}-{release_name}", release_name=release_name,
                              namespace=namespace, values=values, parent=self, depends_on=deps)

        base = rel("istio-base", "istio-base", ISTIO_NAMESPACE, {"global": {"enableReaderRBAC": False}}, [self.namespace])
        cni = rel("istio-cni", "istio-cni", CNI_NAMESPACE,
                  cni_values(args.get("cni_bin_dir"), bool(args.get("cni_resource_quotas"))), [cni_ns, base])
        self.istiod = rel("istiod", "istiod", ISTIO_NAMESPACE, istiod_values(cluster, args["mesh_id"], args["network"]),
                          [base, cni, self.cacerts])
        self.gateway = rel("istio-gateway", EASTWEST_RELEASE, ISTIO_NAMESPACE,
                           gateway_values(args["network"], dict(args.get("gateway_annotations") or {}),
                                          list(args.get("gateway_source_ranges") or [])),
                           [self.istiod])
        after_istiod = k8s_opts(depends_on=[self.istiod])
        self.cross_network_gateway = _custom(
            f"{p}-istio-cross-network-gateway", "Gateway", "cross-network-gateway",
            {
                "selector": {"istio": EASTWEST_LABELS["istio"]},
                "servers": [{
                    "port": {"number": CROSS_NETWORK_PORT, "name": "tls", "protocol": "TLS"},
                    "tls": {"mode": "AUTO_PASSTHROUGH"},
                    "hosts": ["*.local"],
                }],
            },
            after_istiod,
        )
        # In the root namespace, so mesh-wide: sidecars accept mutual TLS only.
        self.peer_authentication = _custom(f"{p}-istio-mtls-strict", "PeerAuthentication", "default",
                                           {"mtls": {"mode": "STRICT"}}, after_istiod)
        self.destination_rule = _custom(
            f"{p}-istio-locality", "DestinationRule", "locality-failover",
            {
                # A root-namespace rule for every service of the mesh; a service's own rule overrides it.
                "host": "*.local",
                "trafficPolicy": {
                    "loadBalancer": {"simple": "ROUND_ROBIN", "localityLbSetting": locality_setting(locality)},
                    # Without outlier detection no endpoint is ever ejected and locality failover never happens.
                    "outlierDetection": outlier_setting(od),
                },
            },
            after_istiod,
        )
        self.one_path = one_path_policy(provider, p, self)
        reader_role = k8s.rbac.v1.ClusterRole(
            f"{p}-istio-reader-role",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=READER),
            rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=g, resources=r, verbs=v) for g, r, v in READER_RULES],
            opts=k8s_opts(),
        )
        self.reader: ServiceAccountToken = service_account_token_on(
            provider, server=args["api_server"], ca_data=args["api_server_ca"], namespace=ISTIO_NAMESPACE, name=READER,
            cluster_role=READER, parent=self, logical_prefix=f"{p}-istio-reader", depends_on=[self.namespace, reader_role],
        )
        reader = self.reader
        self.network = pulumi.Output.from_input(args["network"])
        self.cluster_name = pulumi.Output.from_input(cluster)
        self.namespace_name = self.namespace.metadata.name  # type: ignore[assignment]
        self.reader_kubeconfig = pulumi.Output.secret(pulumi.Output.all(reader.server, reader.ca_data, reader.token).apply(
            lambda v: render_token(cluster, v[0], v[1], v[2])))
        self.register_outputs({"network": self.network, "namespace": self.namespace_name, "namespaceName": self.namespace_name,
                               "clusterName": self.cluster_name, "readerKubeconfig": self.reader_kubeconfig})


def cacerts_data(ca_cert: pulumi.Input[str], ca_key: pulumi.Input[str], root_cert: pulumi.Input[str]) -> dict[str, pulumi.Input[str]]:
    """The ``cacerts`` keys istiod reads (pilot/pkg/bootstrap/istio_ca.go); the key stays a secret."""
    chain = pulumi.Output.all(ca_cert, root_cert).apply(lambda p: p[0].rstrip("\n") + "\n" + p[1])
    return {"ca-cert.pem": ca_cert, "ca-key.pem": pulumi.Output.secret(ca_key), "root-cert.pem": root_cert, "cert-chain.pem": chain}


def one_path_policy(provider: pulumi.ProviderResource, prefix: str, parent: pulumi.Resource) -> k8s.admissionregistration.v1.ValidatingAdmissionPolicy:
    """Refuse Lighthouse ServiceExports in meshed namespaces: one cross-cluster path per workload."""
    opts = pulumi.ResourceOptions(parent=parent, provider=provider)
    policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
        f"{prefix}-mesh-one-path",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=ONE_PATH_POLICY),
        spec=k8s.admissionregistration.v1.ValidatingAdmissionPolicySpecArgs(
            failure_policy="Fail",
            match_constraints=k8s.admissionregistration.v1.MatchResourcesArgs(resource_rules=[
                k8s.admissionregistration.v1.NamedRuleWithOperationsArgs(
                    api_groups=["multicluster.x-k8s.io"], api_versions=["*"], operations=["CREATE", "UPDATE"],
                    resources=["serviceexports"])]),
            validations=[k8s.admissionregistration.v1.ValidationArgs(
                expression=f"!({MESHED_NAMESPACE_CEL})",
                message="meshed namespaces reach other clusters through Istio: do not export their Services "
                        "through Lighthouse (clusterset.local) as well",
                reason="Forbidden")],
        ),
        opts=opts)
    k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
        f"{prefix}-mesh-one-path",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=ONE_PATH_POLICY),
        spec=k8s.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpecArgs(
            policy_name=ONE_PATH_POLICY, validation_actions=["Deny"]),
        opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[policy])))
    return policy


def _custom(logical: str, kind: str, name: str, spec: dict[str, Any], opts: pulumi.ResourceOptions) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        logical,
        api_version=CRD_API_VERSIONS[kind],
        kind=kind,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=ISTIO_NAMESPACE),
        spec=spec,
        opts=opts,
    )
