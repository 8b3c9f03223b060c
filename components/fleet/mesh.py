"""The Istio mesh across the fleet: one root of trust, a primary per cluster, remote secrets.

- PKI (pulumi-tls, no cluster involved): one root CA for the mesh and one intermediate CA per
  cluster, signed by the root. The root key never reaches a cluster; each cluster gets its own
  intermediate and key as ``cacerts`` so workloads of every cluster chain to the same root.
- Per cluster: :class:`components.addons.istio.IstioCluster`, under the cluster's component.
- On every cluster A: ONE remote secret holding a kubeconfig per other cluster B (key = B's
  name), each made from the token of B's reader service account. istiod reads every key of a
  labelled secret as one remote cluster and skips its own name
  (pkg/kube/multicluster/secretcontroller.go addRemoteConfig @1.30.3), so the fleet needs N
  secrets, not N*(N-1) as ``istioctl create-remote-secret`` would make. They are the only links
  between clusters: each depends on A's namespace and the other clusters' tokens.
"""

import re
from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from components.addons.istio import (
    DNS_LABEL,
    ISTIO_NAMESPACE,
    IstioCluster,
    IstioClusterArgs,
    LocalityArgs,
    OutlierDetectionArgs,
    check_cidrs,
    check_locality_and_outliers,
)
from components.fleet import check_cluster_entries, moved_child_opts, previous_child_urns
from components.handle import ClusterHandle
from components.tokens import component_type, renamed_from
from stacks.ports import fleet_sources
from stacks.sections.mesh import locality_lb_setting
from stacks.spec import FleetSpec

# ECDSA P-256: accepted by Istio's plugged-in CA (keys in PEM, SEC 1 or PKCS#8) and fast to sign.
KEY_ALGORITHM = "ECDSA"
KEY_CURVE = "P256"
ROOT_VALIDITY_HOURS = 10 * 365 * 24
INTERMEDIATE_VALIDITY_HOURS = 5 * 365 * 24  # inside the root's lifetime; rotate before it ends
# Upstream's tooling (tools/certs) gives both CA levels these usages.
CA_USES = ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"]
ORGANIZATION = "Archipelago"
REMOTE_SECRET_LABEL = "istio/multiCluster"
REMOTE_SECRET_NAME = "istio-remote-secrets"


class MeshClusterArgs(TypedDict):
    """One cluster of the mesh: where it is and how its east-west gateway is exposed."""

    name: str
    """The cluster's name in the mesh (a DNS-1123 label, unique in the mesh); its children are named
    from it, and the other clusters' remote secrets key it by it."""
    network: str
    """The cluster's network (a DNS-1123 label)."""
    kubernetes_provider: k8s.Provider
    """The Kubernetes provider of the cluster."""
    api_server: pulumi.Input[str]
    """The cluster's API server URL as the other clusters reach it."""
    api_server_ca: pulumi.Input[str]
    """The API server's CA certificate, base64-encoded PEM."""
    gateway_annotations: NotRequired[dict[str, str]]
    """Annotations of the east-west gateway's LoadBalancer Service (e.g. the cloud's internal
    load-balancer annotation). Default: none."""
    gateway_source_ranges: NotRequired[list[str]]
    """CIDRs allowed to reach the east-west gateway. Default: none (the cloud's default: open)."""
    cni_bin_dir: NotRequired[str]
    """Where the nodes keep CNI binaries, when not /opt/cni/bin (GKE: /home/kubernetes/bin). Default: the chart's."""
    cni_resource_quotas: NotRequired[bool]
    """Create the ResourceQuota system-node-critical CNI pods need outside kube-system (GKE). Default: false."""
    previous_urns: NotRequired[list[pulumi.Input[str]]]
    """The URNs this cluster's IstioCluster had before (in programs that built it under their
    cluster component), kept as aliases so deployed stacks keep it and its resources. Default: none."""


class IstioMeshArgs(TypedDict):
    """Inputs of an IstioMesh: the mesh's identity, its clusters and its traffic policy."""

    mesh_id: str
    """The mesh ID (a DNS-1123 label); the root CA is named after it."""
    clusters: list[MeshClusterArgs]
    """The clusters of the mesh, each a primary; at least one, names unique."""
    locality: NotRequired[LocalityArgs]
    """Locality load balancing of every cluster's mesh-wide DestinationRule. Default: enabled, no
    explicit failover."""
    outlier_detection: NotRequired[OutlierDetectionArgs]
    """Outlier detection of every cluster's mesh-wide DestinationRule. Default: 5 gateway errors, 30s, 30s."""
    protect_keys: NotRequired[bool]
    """Protect the root and intermediate CA keys and certificates (replacing the root re-keys the whole
    mesh). Default: false."""


def _check(args: IstioMeshArgs) -> None:
    if not re.fullmatch(DNS_LABEL, args["mesh_id"]) or len(args["mesh_id"]) > 63:
        raise ValueError(f"meshId: {args['mesh_id']!r} is not a DNS-1123 label")
    if not args["clusters"]:
        raise ValueError("clusters: the mesh needs at least one cluster")
    check_cluster_entries(args["clusters"], ("name", "network"))
    for c in args["clusters"]:
        check_cidrs(f"clusters[{c['name']}].gatewaySourceRanges", list(c.get("gateway_source_ranges") or []))
    check_locality_and_outliers(args.get("locality") or {}, args.get("outlier_detection") or {})


class IstioMesh(pulumi.ComponentResource):
    """An Istio multi-primary, multi-network mesh over several clusters: one root CA (its key never
    reaches a cluster), an intermediate CA per cluster, an IstioCluster on each, and on each cluster
    one remote secret with a reader kubeconfig of every other cluster."""

    mesh_id: pulumi.Output[str]
    """The mesh ID."""
    root_cert: pulumi.Output[str]
    """The mesh's root CA certificate (PEM): what workloads of every cluster chain to."""
    networks: pulumi.Output[dict[str, str]]
    """Cluster name -> its network."""

    def __init__(self, name: str, args: IstioMeshArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(IstioMesh), name, None, renamed_from("archipelago:mesh:IstioMesh", opts))
        _check(args)
        mesh_id = args["mesh_id"]
        self.tls_provider = tls.Provider(f"{name}-tls", opts=pulumi.ResourceOptions(parent=self))
        tls_opts = pulumi.ResourceOptions(parent=self, provider=self.tls_provider)
        # Replacing the root key re-keys the whole mesh: protect it like other stateful keys.
        keep = pulumi.ResourceOptions.merge(tls_opts, pulumi.ResourceOptions(protect=bool(args.get("protect_keys"))))

        root_key = tls.PrivateKey(f"{name}-root-key", algorithm=KEY_ALGORITHM, ecdsa_curve=KEY_CURVE, opts=keep)
        self.root_ca = tls.SelfSignedCert(
            f"{name}-root-ca",
            private_key_pem=root_key.private_key_pem,
            subject=tls.SelfSignedCertSubjectArgs(organization=ORGANIZATION, common_name=f"{mesh_id} Root CA"),
            is_ca_certificate=True,
            # One CA level below the root: the clusters' intermediates may sign workload certificates
            # but no further CA. Set here because the TLS provider cannot write pathlen 0 on the
            # intermediate (offline/pki.py _path_length), while 1 on the root it does write.
            max_path_length=1,
            allowed_uses=CA_USES,
            validity_period_hours=ROOT_VALIDITY_HOURS,
            opts=keep,
        )
        self.clusters: dict[str, IstioCluster] = {}
        for c in args["clusters"]:
            cname = c["name"]
            key = tls.PrivateKey(f"{cname}-istio-ca-key", algorithm=KEY_ALGORITHM, ecdsa_curve=KEY_CURVE, opts=keep)
            csr = tls.CertRequest(
                f"{cname}-istio-ca-csr",
                private_key_pem=key.private_key_pem,
                subject=tls.CertRequestSubjectArgs(organization=ORGANIZATION, common_name="Intermediate CA", locality=cname),
                dns_names=[f"istiod.{ISTIO_NAMESPACE}.svc"],
                opts=tls_opts,
            )
            cert = tls.LocallySignedCert(
                f"{cname}-istio-ca",
                cert_request_pem=csr.cert_request_pem,
                ca_cert_pem=self.root_ca.cert_pem,
                ca_private_key_pem=root_key.private_key_pem,
                is_ca_certificate=True,
                allowed_uses=CA_USES,
                validity_period_hours=INTERMEDIATE_VALIDITY_HOURS,
                opts=keep,
            )
            cluster_args = IstioClusterArgs(
                kubernetes_provider=c["kubernetes_provider"], mesh_id=mesh_id, network=c["network"], cluster_name=cname,
                ca_cert=cert.cert_pem, ca_key=pulumi.Output.secret(key.private_key_pem), root_cert=self.root_ca.cert_pem,
                api_server=c["api_server"], api_server_ca=c["api_server_ca"],
                gateway_annotations=dict(c.get("gateway_annotations") or {}),
                gateway_source_ranges=list(c.get("gateway_source_ranges") or []),
                cni_resource_quotas=bool(c.get("cni_resource_quotas")), name_prefix=cname,
                locality=args.get("locality") or {}, outlier_detection=args.get("outlier_detection") or {})
            if bin_dir := c.get("cni_bin_dir"):
                cluster_args["cni_bin_dir"] = bin_dir
            self.clusters[cname] = IstioCluster(f"{cname}-istio", cluster_args, moved_child_opts(self, c.get("previous_urns")))

        names = sorted(self.clusters)
        self.remote_secrets: list[k8s.core.v1.Secret] = [
            self._remote_secret(c, [n for n in names if n != c["name"]]) for c in args["clusters"] if len(names) > 1
        ]
        self.mesh_id = pulumi.Output.from_input(mesh_id)
        self.root_cert = self.root_ca.cert_pem
        self.networks = pulumi.Output.from_input({c["name"]: c["network"] for c in args["clusters"]})
        self.register_outputs({"meshId": self.mesh_id, "rootCert": self.root_cert, "networks": self.networks})

    def _remote_secret(self, on: MeshClusterArgs, targets: list[str]) -> k8s.core.v1.Secret:
        """On cluster ``on``: how its istiod reaches every other cluster's API server (one key per
        cluster: istiod reads every key of a labelled secret as one remote cluster)."""
        return k8s.core.v1.Secret(
            f"{on['name']}-istio-remote-secrets",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=REMOTE_SECRET_NAME, namespace=ISTIO_NAMESPACE, labels={REMOTE_SECRET_LABEL: "true"},
            ),
            type="Opaque",
            string_data={t: self.clusters[t].reader_kubeconfig for t in targets},
            opts=pulumi.ResourceOptions(parent=self, provider=on["kubernetes_provider"],
                                        depends_on=[self.clusters[on["name"]].namespace]),
        )


def locality_args(fleet: FleetSpec) -> LocalityArgs:
    """The fleet's mesh locality config (stacks.sections.mesh.locality_lb_setting) as component inputs."""
    setting = locality_lb_setting(fleet.mesh, list(dict.fromkeys(c.region for c in fleet.clusters)))
    out: LocalityArgs = {}
    if "distribute" in setting:
        out["distribute"] = [{"from_locality": d["from"], "to": d["to"]} for d in setting["distribute"]]
    if "failover" in setting:
        out["failover"] = [{"from_locality": f["from"], "to_locality": f["to"]} for f in setting["failover"]]
    return out


def istio_mesh_args(fleet: FleetSpec, handles: list[ClusterHandle]) -> IstioMeshArgs:
    """The fleet's mesh config and clusters as an IstioMesh's inputs: each cluster's network, the
    load-balancer annotations of the gateway exposure and the CNI settings its handle gives, and (for an
    internal gateway) the other clusters' private ranges as the gateway's allowed sources."""
    mesh = fleet.mesh
    od = mesh.outlier_detection
    clusters: list[MeshClusterArgs] = []
    for h in handles:
        # What the nodes need of a CNI agent, as the cluster says (GKE: its binaries directory and
        # the critical-pod ResourceQuota).
        bin_dir, quotas = h.node_cni_bin_dir, h.critical_pods_need_quota
        entry = MeshClusterArgs(
            name=h.name, network=mesh.network_of(h.name), kubernetes_provider=h.provider, api_server=h.endpoint,
            api_server_ca=h.ca_data, gateway_annotations=dict(h.lb_annotations[mesh.gateway_exposure]),
            # An internal gateway is reached from the other clusters' private ranges only.
            gateway_source_ranges=[str(n) for n in fleet_sources(fleet, h.spec)] if mesh.gateway_exposure == "internal" else [],
            cni_resource_quotas=quotas, previous_urns=previous_child_urns(h.component, f"{h.name}-istio", "archipelago:istio:IstioCluster"))
        if bin_dir:
            entry["cni_bin_dir"] = bin_dir
        clusters.append(entry)
    return IstioMeshArgs(
        mesh_id=mesh.mesh_id, clusters=clusters, locality=locality_args(fleet),
        outlier_detection={"consecutive_gateway_errors": od.consecutive_gateway_errors, "interval": od.interval,
                           "base_ejection_time": od.base_ejection_time},
        protect_keys=fleet.baseline.protect_stateful)
