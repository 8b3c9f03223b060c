"""Monitoring on its own: kube-prometheus-stack as a spoke whose Prometheus serves HTTPS with
required client certificates, exposed to a hub at 10.0.0.0/24 through a GKE internal load balancer
pinned to a reserved internal address (named in the annotation).

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI,
``pulumi config set kubeconfig --secret ...``, the same for ``key``, then ``caCert``, ``cert`` and
``pulumi preview``.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.addons.metrics import Monitoring, MonitoringArgs

config = pulumi.Config()
provider = k8s.Provider("cluster", kubeconfig=config.get_secret("kubeconfig") or "{}")

spoke = Monitoring(
    "shop-west",
    MonitoringArgs(
        kubernetes_provider=provider,
        cluster_name="shop-west",
        external_labels={"cluster": "shop-west", "region": "us-west1"},
        prometheus={"retention": "7d", "retention_size": "20GiB", "storage_gi": 30},
        ca_cert=config.get("caCert") or "-----BEGIN CERTIFICATE-----\n",
        cert=config.get("cert") or "-----BEGIN CERTIFICATE-----\n",
        key=config.get_secret("key") or pulumi.Output.secret("(set key: the client key, PEM)"),
        federate_load_balancer={
            "annotations": {"networking.gke.io/load-balancer-type": "Internal",
                            "networking.gke.io/load-balancer-ip-addresses": "shop-west-prometheus"},
            "source_ranges": ["10.0.0.0/24"],
        },
    ),
)

pulumi.export("release", spoke.release_name)
