"""SubmarinerJoin on its own: one cluster joined to a broker another program (or ``subctl
deploy-broker``) runs, with the broker's address, token and CA and the clusterset's PSK from
config (token and PSK as secrets).

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI,
``pulumi config set kubeconfig --secret "$(cat ~/.kube/config)"``, ``pulumi config set
brokerServer <host:port>``, ``pulumi config set --secret brokerToken ...``, ``pulumi config set
brokerCa <base64 PEM>``, ``pulumi config set --secret ipsecPsk ...``, then ``pulumi preview``.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.addons.submariner import SubmarinerJoin, SubmarinerJoinArgs

config = pulumi.Config()
kubeconfig = config.get_secret("kubeconfig") or "{}"
provider = k8s.Provider("east", kubeconfig=kubeconfig)

join = SubmarinerJoin(
    "east",
    SubmarinerJoinArgs(
        kubernetes_provider=provider,
        cluster_id="east",
        cluster_cidr="10.20.0.0/16",
        service_cidr="172.20.0.0/16",
        broker_server=config.get("brokerServer") or "hub.example.com:443",
        broker_token=config.get_secret("brokerToken") or pulumi.Output.secret("example-token"),
        broker_ca=config.get("brokerCa") or "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
        ipsec_psk=config.get_secret("ipsecPsk") or pulumi.Output.secret("example-psk"),
        cable_driver="libreswan",
        nat_traversal=True,
    ),
)

pulumi.export("clusterId", join.cluster_id)
pulumi.export("operatorNamespace", join.operator_namespace)
