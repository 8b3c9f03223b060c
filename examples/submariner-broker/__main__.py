"""SubmarinerBroker on its own: one Kubernetes provider from a kubeconfig, the broker on that
cluster, and what a joining cluster needs exported (the token and CA as secrets).

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI,
``pulumi config set kubeconfig --secret "$(cat ~/.kube/config)"``,
``pulumi config set apiServer https://<the API server as other clusters reach it>``,
``pulumi config set caData <base64 PEM of its CA>``, then ``pulumi preview``.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.fleet.submariner import SubmarinerBroker, SubmarinerBrokerArgs

config = pulumi.Config()
kubeconfig = config.get_secret("kubeconfig") or "{}"
provider = k8s.Provider("hub", kubeconfig=kubeconfig)

broker = SubmarinerBroker(
    "hub-broker",
    SubmarinerBrokerArgs(
        kubernetes_provider=provider,
        api_server=config.get("apiServer") or "https://hub.example.com",
        ca_data=config.get("caData") or "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
    ),
)

pulumi.export("brokerServer", broker.server)
pulumi.export("brokerNamespace", broker.namespace)
pulumi.export("brokerToken", broker.token)
pulumi.export("brokerCa", broker.ca)
