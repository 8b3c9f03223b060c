"""ArgoCD on its own: a hub on one cluster, its AppProject allowing two spokes' application
namespaces and the ApplicationSet that makes an Application per joined cluster. The spokes join
with HubRegistration (see ../hub-registration).

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI,
``pulumi config set kubeconfig --secret "$(cat ~/.kube/config)" && pulumi preview``.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.addons.argocd import ArgoCD, ArgoCDArgs

config = pulumi.Config()
provider = k8s.Provider("hub", kubeconfig=config.get_secret("kubeconfig") or "{}")

hub = ArgoCD(
    "gitops",
    ArgoCDArgs(
        kubernetes_provider=provider,
        repo_url="https://github.com/example/shop-manifests",
        revision="main",
        path_prefix="clusters",
        cluster_name="hub",
        namespaces=["shop", "shop-staging"],
        default_namespace="shop-staging",
        spokes=[
            {"name": "shop-eu", "server": "https://shop-eu.example.com"},
            {"name": "shop-us", "server": "https://shop-us.example.com"},
        ],
        ha=True,
        controller_shards=2,
    ),
)

pulumi.export("namespace", hub.namespace_name)
pulumi.export("applicationSet", hub.apps_name)
