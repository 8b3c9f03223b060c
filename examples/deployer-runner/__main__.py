"""DeployerRunner on its own: a CodeBuild-hosted GitHub Actions runner in an existing management
VPC, admitted to that VPC's private EKS API endpoint. Before the first workflow run, an operator
creates the Secrets Manager secret ``shop-deployer-github-token`` with the runner's GitHub token.

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI and AWS credentials,
``pulumi preview``.
"""

import pulumi
import pulumi_aws as aws

from components.fleet.deployer import DeployerRunner, DeployerRunnerArgs

provider = aws.Provider("aws-eu-west-1", region="eu-west-1")
runner = DeployerRunner(
    "deployer",
    DeployerRunnerArgs(
        cluster_name="shop",
        repository="https://github.com/example/platform",
        vpc_id="vpc-0123456789abcdef0",
        subnet_ids=["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
        cluster_security_group_id="sg-0cccccccccccccccc",
    ),
    pulumi.ResourceOptions(providers=[provider]),
)

pulumi.export("runsOn", runner.runs_on)
pulumi.export("projectName", runner.project_name)
