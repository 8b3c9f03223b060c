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

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from components import protection
from components.addons.istio import (
    ISTIO_NAMESPACE,
    CaBundle,
    IstioCluster,
    IstioClusterArgs,
)
from components.clusters.kubeconfig import render_token
from components.fleet import FleetArgs
from components.handle import ClusterHandle
from stacks.ports import fleet_sources
from stacks.sections.mesh import locality_lb_setting

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


IstioMeshArgs = FleetArgs


class IstioMesh(pulumi.ComponentResource):
    def __init__(self, name: str, args: IstioMeshArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:mesh:IstioMesh", name, None, opts)
        fleet, mesh = args.fleet, args.fleet.mesh
        self.tls_provider = tls.Provider(f"{name}-tls", opts=pulumi.ResourceOptions(parent=self))
        tls_opts = pulumi.ResourceOptions(parent=self, provider=self.tls_provider)
        # Replacing the root key re-keys the whole mesh: protect it like other stateful keys.
        keep = protection.keep(fleet, tls_opts)

        root_key = tls.PrivateKey(f"{name}-root-key", algorithm=KEY_ALGORITHM, ecdsa_curve=KEY_CURVE, opts=keep)
        self.root_cert = tls.SelfSignedCert(
            f"{name}-root-ca",
            private_key_pem=root_key.private_key_pem,
            subject=tls.SelfSignedCertSubjectArgs(organization=ORGANIZATION, common_name=f"{mesh.mesh_id} Root CA"),
            is_ca_certificate=True,
            # One CA level below the root: the clusters' intermediates may sign workload certificates
            # but no further CA. Set here because the TLS provider cannot write pathlen 0 on the
            # intermediate (offline/pki.py _path_length), while 1 on the root it does write.
            max_path_length=1,
            allowed_uses=CA_USES,
            validity_period_hours=ROOT_VALIDITY_HOURS,
            opts=keep,
        )
        regions = list(dict.fromkeys(c.region for c in fleet.clusters))
        lb_setting = locality_lb_setting(mesh, regions)
        od = mesh.outlier_detection
        outlier = {"consecutiveGatewayErrors": od.consecutive_gateway_errors, "interval": od.interval,
                   "baseEjectionTime": od.base_ejection_time}

        self.clusters: dict[str, IstioCluster] = {}
        for h in args.handles:
            key = tls.PrivateKey(f"{h.name}-istio-ca-key", algorithm=KEY_ALGORITHM, ecdsa_curve=KEY_CURVE, opts=keep)
            csr = tls.CertRequest(
                f"{h.name}-istio-ca-csr",
                private_key_pem=key.private_key_pem,
                subject=tls.CertRequestSubjectArgs(organization=ORGANIZATION, common_name="Intermediate CA", locality=h.name),
                dns_names=[f"istiod.{ISTIO_NAMESPACE}.svc"],
                opts=tls_opts,
            )
            cert = tls.LocallySignedCert(
                f"{h.name}-istio-ca",
                cert_request_pem=csr.cert_request_pem,
                ca_cert_pem=self.root_cert.cert_pem,
                ca_private_key_pem=root_key.private_key_pem,
                is_ca_certificate=True,
                allowed_uses=CA_USES,
                validity_period_hours=INTERMEDIATE_VALIDITY_HOURS,
                opts=keep,
            )
            self.clusters[h.name] = IstioCluster(
                f"{h.name}-istio",
                IstioClusterArgs(
                    handle=h, mesh_id=mesh.mesh_id, network=mesh.network_of(h.name),
                    ca=CaBundle(ca_cert=cert.cert_pem, ca_key=pulumi.Output.secret(key.private_key_pem),
                                root_cert=self.root_cert.cert_pem),
                    gateway_exposure=mesh.gateway_exposure, locality_lb_setting=lb_setting, outlier_detection=outlier,
                    # An internal gateway is reached from the other clusters' private ranges only.
                    lb_source_ranges=[str(n) for n in fleet_sources(fleet, h.spec)] if mesh.gateway_exposure == "internal" else [],
                ),
                pulumi.ResourceOptions(parent=h.component),
            )

        self._kubeconfigs: dict[str, pulumi.Output[str]] = {}
        self.remote_secrets: list[k8s.core.v1.Secret] = [
            self._remote_secret(a, [b for b in args.handles if b.name != a.name]) for a in args.handles if len(args.handles) > 1
        ]
        self.register_outputs({"meshId": mesh.mesh_id, "rootCert": self.root_cert.cert_pem,
                               "networks": {n: c.network for n, c in self.clusters.items()}})

    def _kubeconfig(self, target: ClusterHandle) -> pulumi.Output[str]:
        """``target``'s reader kubeconfig, rendered once and shared by every other cluster's
        remote secret (n renders for the fleet, not n*(n-1))."""
        if target.name not in self._kubeconfigs:
            reader = self.clusters[target.name].reader
            self._kubeconfigs[target.name] = pulumi.Output.secret(
                pulumi.Output.all(reader.server, reader.ca_data, reader.token).apply(
                    lambda v: render_token(target.name, v[0], v[1], v[2])))
        return self._kubeconfigs[target.name]

    def _remote_secret(self, on: ClusterHandle, targets: list[ClusterHandle]) -> k8s.core.v1.Secret:
        """On cluster ``on``: how its istiod reaches every other cluster's API server."""
        return k8s.core.v1.Secret(
            f"{on.name}-istio-remote-secrets",
            metadata=k8s.meta.v1.ObjectMetaArgs(
                name=REMOTE_SECRET_NAME, namespace=ISTIO_NAMESPACE, labels={REMOTE_SECRET_LABEL: "true"},
            ),
            type="Opaque",
            string_data={t.name: self._kubeconfig(t) for t in sorted(targets, key=lambda t: t.name)},
            opts=on.k8s_opts(self, depends_on=[self.clusters[on.name].namespace]),
        )
