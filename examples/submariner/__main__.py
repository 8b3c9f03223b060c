"""Submariner on its own: two clusters, a Kubernetes provider each from a kubeconfig, the broker on
the first, both joined (one PSK made by the component), and the broker details a third cluster
would need exported as one secret.

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI,
``pulumi config set --secret westKubeconfig ...``, ``pulumi config set --secret eastKubeconfig ...``,
``pulumi config set westApiServer https://...``, ``pulumi config set westCaData <base64 PEM>``,
then ``pulumi preview``.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.fleet.submariner import Submariner, SubmarinerArgs

config = pulumi.Config()
west = k8s.Provider("west", kubeconfig=config.get_secret("westKubeconfig") or "{}")
east = k8s.Provider("east", kubeconfig=config.get_secret("eastKubeconfig") or "{}")

clusterset = Submariner(
    "shop",
    SubmarinerArgs(
        broker={
            "name": "west",
            "kubernetes_provider": west,
            "api_server": config.get("westApiServer") or "https://west.example.com",
            "ca_data": config.get("westCaData") or "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t",
        },
        clusters=[
            # Disjoint ranges: no Globalnet needed.
            {"cluster_id": "west", "kubernetes_provider": west, "cluster_cidr": "10.10.0.0/16", "service_cidr": "172.20.0.0/16"},
            {"cluster_id": "east", "kubernetes_provider": east, "cluster_cidr": "10.20.0.0/16", "service_cidr": "172.21.0.0/16"},
        ],
        cable_driver="libreswan",
    ),
)

pulumi.export("brokerServer", clusterset.broker_server)
pulumi.export("clusterIds", clusterset.cluster_ids)
pulumi.export("brokerInfo", clusterset.broker_info)
