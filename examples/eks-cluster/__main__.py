"""EksCluster on its own: a small VPC with two private subnets, the cluster on them, and a
namespace created through the cluster's Kubernetes provider.

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI and AWS credentials,
``pulumi preview``.
"""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.clusters.eks import EksCluster, EksClusterArgs

REGION = "eu-west-1"
ZONES = ["eu-west-1a", "eu-west-1b"]

provider = aws.Provider(f"aws-{REGION}", region=REGION)
opts = pulumi.ResourceOptions(provider=provider)
vpc = aws.ec2.Vpc("shop-vpc", cidr_block="10.10.0.0/16", enable_dns_hostnames=True, enable_dns_support=True, opts=opts)
subnets = [
    aws.ec2.Subnet(f"shop-private-{zone}", vpc_id=vpc.id, availability_zone=zone, cidr_block=f"10.10.{i * 16}.0/20",
                   tags={"kubernetes.io/role/internal-elb": "1"}, opts=opts)
    for i, zone in enumerate(ZONES)
]

cluster = EksCluster(
    "shop",
    EksClusterArgs(
        region=REGION,
        kubernetes_version="1.35",
        zones=ZONES,
        private_subnet_ids=[s.id for s in subnets],
        service_cidr="172.20.0.0/16",
        node_pool={"instance_type": "m7i.large", "min_size": 2, "desired_size": 2, "max_size": 4},
        public_api_cidrs=["203.0.113.0/24"],
        deletion_protection=False,
    ),
    pulumi.ResourceOptions(providers=[provider]),
)

k8s.core.v1.Namespace("shop-apps", metadata={"name": "apps"}, opts=pulumi.ResourceOptions(provider=cluster.k8s_provider))

pulumi.export("endpoint", cluster.endpoint)
pulumi.export("kubeconfig", cluster.kubeconfig)
pulumi.export("oidcIssuer", cluster.oidc_issuer)
