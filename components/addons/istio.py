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

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components.addons.helm import release
from components.fleet.tokens import ServiceAccountToken, service_account_token
from components.handle import ClusterHandle
from components.security.namespaces import pss_namespace
from stacks import ports as port_table
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


@dataclass
class CaBundle:
    """A cluster's plugged-in CA, PEM text: its intermediate and key, and the fleet root."""

    ca_cert: pulumi.Output[str]
    ca_key: pulumi.Output[str]  # secret
    root_cert: pulumi.Output[str]

    def secret_data(self) -> dict[str, pulumi.Input[str]]:
        """The ``cacerts`` keys istiod reads (pilot/pkg/bootstrap/istio_ca.go)."""
        chain = pulumi.Output.all(self.ca_cert, self.root_cert).apply(lambda p: p[0].rstrip("\n") + "\n" + p[1])
        return {"ca-cert.pem": self.ca_cert, "ca-key.pem": pulumi.Output.secret(self.ca_key),
                "root-cert.pem": self.root_cert, "cert-chain.pem": chain}


@dataclass
class IstioClusterArgs:
    handle: ClusterHandle
    mesh_id: str
    network: str
    ca: CaBundle
    gateway_exposure: str  # "internal" | "external": a key of handle.lb_annotations
    # DestinationRule trafficPolicy pieces, Istio field names (see stacks.sections.mesh).
    locality_lb_setting: dict[str, Any]
    outlier_detection: dict[str, Any]
    # Who may reach the east-west gateway's load balancer: the other clusters' fleet ranges.
    lb_source_ranges: list[str] = field(default_factory=list)


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


def cni_values(h: ClusterHandle) -> dict[str, Any]:
    """istio-cni values for the cluster's nodes, from what the handle says about them. The chart's
    gke platform profile sets cniBinDir "" so that the template guesses from the Kubernetes version
    string ("-gke"); rendered offline, a cniBinDir given next to ``platform: gke`` did not reach the
    DaemonSet. So the profile's two settings are given explicitly, where the nodes need them: the
    directory, and the ResourceQuota that system-node-critical pods need outside kube-system."""
    values: dict[str, Any] = {}
    if h.node_cni_bin_dir:
        values["cniBinDir"] = h.node_cni_bin_dir
    if h.critical_pods_need_quota:
        values["resourceQuotas"] = {"enabled": True}
    return values


class IstioCluster(pulumi.ComponentResource):
    """One cluster's share of the mesh: control plane, east-west gateway, mesh-wide policy."""

    def __init__(self, name: str, args: IstioClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:istio:IstioCluster", name, None, opts)
        h = args.handle
        self.network = args.network
        self.namespace = pss_namespace(
            h, ISTIO_NAMESPACE, "baseline", parent=self, labels={NETWORK_LABEL: args.network},
            reason="istiod and the east-west gateway run as non-root with all capabilities dropped, but the "
                   "gateway chart's pods carry no seccomp profile, which restricted requires; the privileged "
                   "CNI agent lives in istio-cni, so nothing here needs NET_ADMIN",
        )
        cni_ns = pss_namespace(
            h, CNI_NAMESPACE, "privileged", parent=self,
            reason="the istio-cni node agent installs a CNI plugin on every node (hostPath, privileged) so that "
                   "meshed pods need no NET_ADMIN/NET_RAW init container",
        )
        self.cacerts = k8s.core.v1.Secret(
            f"{h.name}-istio-cacerts",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="cacerts", namespace=ISTIO_NAMESPACE),
            type="Opaque",
            string_data=args.ca.secret_data(),
            opts=h.k8s_opts(self, depends_on=[self.namespace]),
        )
        base = release(h, "istio-base", release_name="istio-base", namespace=ISTIO_NAMESPACE,
                       values={"global": {"enableReaderRBAC": False}}, parent=self, depends_on=[self.namespace])
        cni = release(h, "istio-cni", release_name="istio-cni", namespace=CNI_NAMESPACE,
                      values=cni_values(h), parent=self, depends_on=[cni_ns, base])
        self.istiod = release(h, "istiod", release_name="istiod", namespace=ISTIO_NAMESPACE,
                              values=istiod_values(h.name, args.mesh_id, args.network), parent=self,
                              depends_on=[base, cni, self.cacerts])
        self.gateway = release(h, "istio-gateway", release_name=EASTWEST_RELEASE, namespace=ISTIO_NAMESPACE,
                               values=gateway_values(args.network, h.lb_annotations[args.gateway_exposure], args.lb_source_ranges),
                               parent=self, depends_on=[self.istiod])
        after_istiod = h.k8s_opts(self, depends_on=[self.istiod])
        self.cross_network_gateway = _custom(
            f"{h.name}-istio-cross-network-gateway", "Gateway", "cross-network-gateway",
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
        self.peer_authentication = _custom(f"{h.name}-istio-mtls-strict", "PeerAuthentication", "default",
                                           {"mtls": {"mode": "STRICT"}}, after_istiod)
        self.destination_rule = _custom(
            f"{h.name}-istio-locality", "DestinationRule", "locality-failover",
            {
                # A root-namespace rule for every service of the mesh; a service's own rule overrides it.
                "host": "*.local",
                "trafficPolicy": {
                    "loadBalancer": {"simple": "ROUND_ROBIN", "localityLbSetting": args.locality_lb_setting},
                    # Without outlier detection no endpoint is ever ejected and locality failover never happens.
                    "outlierDetection": args.outlier_detection,
                },
            },
            after_istiod,
        )
        self.one_path = one_path_policy(h, self)
        reader_role = k8s.rbac.v1.ClusterRole(
            f"{h.name}-istio-reader-role",
            metadata=k8s.meta.v1.ObjectMetaArgs(name=READER),
            rules=[k8s.rbac.v1.PolicyRuleArgs(api_groups=g, resources=r, verbs=v) for g, r, v in READER_RULES],
            opts=h.k8s_opts(self),
        )
        self.reader: ServiceAccountToken = service_account_token(
            h, namespace=ISTIO_NAMESPACE, name=READER, cluster_role=READER, parent=self,
            logical_prefix=f"{h.name}-istio-reader", depends_on=[self.namespace, reader_role],
        )
        self.register_outputs({"network": args.network, "namespace": self.namespace.metadata.name})


def one_path_policy(h: ClusterHandle, parent: pulumi.Resource) -> k8s.admissionregistration.v1.ValidatingAdmissionPolicy:
    """Refuse Lighthouse ServiceExports in meshed namespaces: one cross-cluster path per workload."""
    policy = k8s.admissionregistration.v1.ValidatingAdmissionPolicy(
        f"{h.name}-mesh-one-path",
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
        opts=h.k8s_opts(parent))
    k8s.admissionregistration.v1.ValidatingAdmissionPolicyBinding(
        f"{h.name}-mesh-one-path",
        metadata=k8s.meta.v1.ObjectMetaArgs(name=ONE_PATH_POLICY),
        spec=k8s.admissionregistration.v1.ValidatingAdmissionPolicyBindingSpecArgs(
            policy_name=ONE_PATH_POLICY, validation_actions=["Deny"]),
        opts=h.k8s_opts(parent, depends_on=[policy]))
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
