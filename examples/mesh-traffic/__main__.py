"""MeshTraffic on its own: in two namespaces labelled for sidecar injection behind default-deny
NetworkPolicies, open exactly the mesh's flows (istiod, sidecar to sidecar, the east-west gateways).

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI,
``pulumi config set kubeconfig --secret "$(cat ~/.kube/config)" && pulumi preview``.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.security.mesh_traffic import MeshTraffic, MeshTrafficArgs

config = pulumi.Config()
provider = k8s.Provider("cluster", kubeconfig=config.get_secret("kubeconfig") or "{}")

traffic = MeshTraffic(
    "shop",
    MeshTrafficArgs(
        kubernetes_provider=provider,
        namespaces=["shop", "shop-staging"],
        # Where the other clusters' east-west gateways listen.
        remote_gateway_ranges=["10.20.0.0/16", "10.30.0.0/16"],
    ),
)

pulumi.export("policies", traffic.policy_names)
