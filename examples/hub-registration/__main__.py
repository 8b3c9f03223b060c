"""HubRegistration with ArgoCD: a hub on one cluster and a spoke joined to it. On the spoke, Argo
CD's own service account, allowed only in the application namespaces; on the hub, the cluster
Secret that carries its token (a Pulumi secret).

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI,
``pulumi config set --secret hubKubeconfig ...``, ``spokeKubeconfig``, ``spokeServer`` and
``spokeCaData`` (base64 PEM), then ``pulumi preview``.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.addons.argocd import ArgoCD, ArgoCDArgs, HubRegistration, HubRegistrationArgs

config = pulumi.Config()
hub_provider = k8s.Provider("hub", kubeconfig=config.get_secret("hubKubeconfig") or "{}")
spoke_provider = k8s.Provider("spoke", kubeconfig=config.get_secret("spokeKubeconfig") or "{}")
server = config.get("spokeServer") or "https://shop-eu.example.com"
namespaces = ["shop"]

hub = ArgoCD("gitops", ArgoCDArgs(kubernetes_provider=hub_provider, repo_url="git@github.com:example/shop-manifests.git",
                                  cluster_name="hub", namespaces=namespaces, spokes=[{"name": "shop-eu", "server": server}]))
# The spoke's namespaces must exist: Argo CD never creates one.
shop = k8s.core.v1.Namespace("shop", metadata={"name": "shop"}, opts=pulumi.ResourceOptions(provider=spoke_provider))

join = HubRegistration(
    "shop-eu",
    HubRegistrationArgs(
        hub_kubernetes_provider=hub_provider,
        spoke_kubernetes_provider=spoke_provider,
        spoke_name="shop-eu",
        spoke_server=server,
        spoke_ca_data=config.get("spokeCaData") or "LS0tLS1CRUdJTi0tLS0t",
        namespaces=namespaces,
        labels={"purpose": "workload", "region": "eu-west-1"},
    ),
    # The cluster Secret and the bindings wait for these (the hub's argocd namespace, the spoke's
    # application namespaces).
    pulumi.ResourceOptions(depends_on=[hub, shop]),
)

pulumi.export("clusterSecret", join.secret_name)
