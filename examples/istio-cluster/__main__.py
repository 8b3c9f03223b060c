"""IstioCluster on its own: one primary of a multi-primary, multi-network mesh on a cluster a
kubeconfig reaches, with a CA the program is given (the mesh root and this cluster's intermediate,
PEM, from config: the key as a secret). IstioMesh makes these for a whole fleet.

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI,
``pulumi config set kubeconfig --secret "$(cat ~/.kube/config)"``, the same for ``caKey``, then
``caCert``, ``rootCert``, ``apiServer``, ``apiServerCa`` and ``pulumi preview``.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.addons.istio import IstioCluster, IstioClusterArgs

config = pulumi.Config()
provider = k8s.Provider("cluster", kubeconfig=config.get_secret("kubeconfig") or "{}")

east = IstioCluster(
    "east",
    IstioClusterArgs(
        kubernetes_provider=provider,
        mesh_id="shop-mesh",
        network="east-net",
        ca_cert=config.get("caCert") or "-----BEGIN CERTIFICATE-----\n",
        ca_key=config.get_secret("caKey") or pulumi.Output.secret("(set caKey: the intermediate CA key, PEM)"),
        root_cert=config.get("rootCert") or "-----BEGIN CERTIFICATE-----\n",
        api_server=config.get("apiServer") or "https://east.example.internal",
        api_server_ca=config.get("apiServerCa") or "",
        # An internal east-west gateway that only the other clusters' ranges reach.
        gateway_annotations={"service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"},
        gateway_source_ranges=["10.20.0.0/16"],
        locality={"failover": [{"from_locality": "us-east-1", "to_locality": "us-west-2"}]},
        outlier_detection={"consecutive_gateway_errors": 3},
    ),
)

pulumi.export("network", east.network)
pulumi.export("readerKubeconfig", east.reader_kubeconfig)
