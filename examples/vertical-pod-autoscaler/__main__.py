"""VerticalPodAutoscaler on its own: one Kubernetes provider from a kubeconfig, the VPA chart and
recommendation-only VPAs for two workloads, and a second instance for a cluster whose cloud runs
VPA itself (nothing installed, only the VPA objects).

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI,
``pulumi config set kubeconfig --secret "$(cat ~/.kube/config)" && pulumi preview``.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.addons.vpa import VerticalPodAutoscaler, VerticalPodAutoscalerArgs

config = pulumi.Config()
provider = k8s.Provider("cluster", kubeconfig=config.get_secret("kubeconfig") or "{}")

shop = VerticalPodAutoscaler(
    "shop",
    VerticalPodAutoscalerArgs(
        kubernetes_provider=provider,
        targets=[
            {"namespace": "shop", "kind": "Deployment", "name": "web"},
            {"namespace": "shop", "kind": "StatefulSet", "name": "cache"},
        ],
    ),
)
# On GKE or AKS with the cloud's VPA turned on: only the objects.
managed = VerticalPodAutoscaler(
    "billing",
    VerticalPodAutoscalerArgs(kubernetes_provider=provider, managed=True, update_mode="Initial",
                              targets=[{"namespace": "billing", "kind": "Deployment", "name": "api"}]),
)

pulumi.export("vpas", shop.vpa_names)
pulumi.export("managedVpas", managed.vpa_names)
