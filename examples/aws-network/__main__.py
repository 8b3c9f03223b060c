"""AwsNetwork on its own: a VPC over two zones with pod subnets on a secondary range and one
shared NAT gateway, ready for an EKS cluster named ``shop``.

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI and AWS credentials,
``pulumi preview``.
"""

import pulumi
import pulumi_aws as aws

from components.network.aws import AwsNetwork, AwsNetworkArgs

REGION = "eu-west-1"

provider = aws.Provider(f"aws-{REGION}", region=REGION)
net = AwsNetwork(
    "shop",
    AwsNetworkArgs(
        vpc_cidr="10.10.0.0/16",
        zones=["eu-west-1a", "eu-west-1b"],
        pod_cidr="100.64.0.0/16",
        nat_per_zone=False,
    ),
    pulumi.ResourceOptions(providers=[provider]),
)

pulumi.export("vpcId", net.vpc_id)
pulumi.export("privateSubnetIds", net.private_subnet_ids)
pulumi.export("podSubnetIds", net.pod_subnet_ids)
