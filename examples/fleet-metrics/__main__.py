"""FleetMetrics on its own: a hub and two spokes from three kubeconfigs. The component makes the
metrics CA and every certificate; the hub federates one spoke through an internal load balancer
and reports the other, which has no private path, as not federated.

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI,
``pulumi config set hubKubeconfig --secret ...`` (and ``westKubeconfig``, ``labKubeconfig``) and
``pulumi preview``.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.fleet.metrics import FleetMetrics, FleetMetricsArgs

config = pulumi.Config()


def provider(name: str) -> k8s.Provider:
    return k8s.Provider(name, kubeconfig=config.get_secret(f"{name}Kubeconfig") or "{}")


metrics = FleetMetrics(
    "shop-metrics",
    FleetMetricsArgs(
        environment="staging",
        clusters=[
            {"name": "hub", "kubernetes_provider": provider("hub"), "hub": True},
            {"name": "west", "kubernetes_provider": provider("west"), "federation": "load-balancer",
             "load_balancer_address": "10.1.0.250",
             "load_balancer_annotations": {"service.beta.kubernetes.io/azure-load-balancer-internal": "true",
                                           "service.beta.kubernetes.io/azure-load-balancer-ipv4": "10.1.0.250"}},
            {"name": "lab", "kubernetes_provider": provider("lab"), "not_federated_reason": "an isolated lab network"},
        ],
        hub_source_ranges=["10.0.0.0/16"],
        prometheus={"scrape_interval": "2m", "sample_limit": 50000},
    ),
)

pulumi.export("federated", metrics.federated)
pulumi.export("notFederated", metrics.not_federated)
