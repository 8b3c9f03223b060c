"""NodeProvisioning on its own: Karpenter's controller and a spot-first NodePool on an EKS
cluster whose AWS side (interruption queue, controller role, node role with an EC2_LINUX access
entry, discovery tags) exists already and is named in config.

For AKS node auto-provisioning leave out ``karpenter`` and give an AKSNodeClass; on GKE node
auto-provisioning needs no NodePool at all. Planned under the mock engine by tests/test_package.py;
with the Pulumi CLI, ``pulumi config set kubeconfig --secret "$(cat ~/.kube/config)"`` and the
values below, then ``pulumi preview``.
"""

import pulumi
import pulumi_kubernetes as k8s

from components.addons.autoscaling import NodeProvisioning, NodeProvisioningArgs

config = pulumi.Config()
cluster = config.get("clusterName") or "shop"
provider = k8s.Provider("cluster", kubeconfig=config.get_secret("kubeconfig") or "{}")
discovery = [{"tags": {"karpenter.sh/discovery": cluster}}]

nodes = NodeProvisioning(
    "shop",
    NodeProvisioningArgs(
        kubernetes_provider=provider,
        capacity_types=["spot", "on-demand"],
        cpu_limit=200,
        memory_limit="800Gi",
        node_class_kind="EC2NodeClass",
        node_class_spec={
            "amiSelectorTerms": [{"alias": "al2023@latest"}],
            "role": config.get("nodeRoleName") or f"{cluster}-karpenter-node",
            "subnetSelectorTerms": discovery,
            "securityGroupSelectorTerms": discovery,
            "metadataOptions": {"httpTokens": "required", "httpPutResponseHopLimit": 1},
        },
        requirements=[{"key": "karpenter.k8s.aws/instance-category", "operator": "In", "values": ["c", "m"]}],
        karpenter={
            "cluster_name": cluster,
            "cluster_endpoint": config.get("clusterEndpoint") or "https://ABCD.gr7.eu-west-1.eks.amazonaws.com",
            "interruption_queue": config.get("interruptionQueue") or f"{cluster}-karpenter",
            "region": "eu-west-1",
            "replicas": 2,
        },
    ),
)

pulumi.export("nodePool", nodes.node_pool_name)
pulumi.export("capacityTypes", nodes.capacity_types)
