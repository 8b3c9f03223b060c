"""Where `pulumi up` runs for a private fleet: a CodeBuild-hosted GitHub Actions runner inside the
management cluster's VPC.

The runner's build containers get network interfaces in the management VPC's private subnets
(CodeBuild ``vpc_config``), so they reach the management cluster's private API endpoint directly
and every other cluster's through the fabric; egress to GitHub and the cloud APIs leaves through
the VPC's NAT gateways. A workflow job picks it with ``runs-on: codebuild-<project>-<run id>-<run
attempt>``: the project's webhook on ``WORKFLOW_JOB_QUEUED`` starts one build per queued job
(docs.aws.amazon.com/codebuild/latest/userguide/action-runner-overview.html and
action-runner-questions.html, "Can I use CloudFormation": filter group EVENT WORKFLOW_JOB_QUEUED).

GitHub access goes through an AWS CodeConnections connection; a connection is created PENDING and
is authorised once, by an organisation owner, in the AWS console (the only step outside code; see
docs/network.md). Everything else is here, and it is all cloud-API only, so the bootstrap phase
that creates it needs no Kubernetes API (offline/bootstrap.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from components.handle import ClusterHandle

BUILD_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
COMPUTE_TYPE = "BUILD_GENERAL1_MEDIUM"
BUILD_TIMEOUT_MINUTES = 120  # the deploy workflow's own timeout


def project_name(cluster: str) -> str:
    return f"{cluster}-deployer"


def runs_on_label(cluster: str) -> str:
    """The workflow label that routes a job to this runner."""
    return f"codebuild-{project_name(cluster)}-${{{{ github.run_id }}}}-${{{{ github.run_attempt }}}}"


@dataclass
class DeployerRunnerArgs:
    handle: ClusterHandle  # the management cluster (AWS)
    repository: str  # https://github.com/<owner>/<repo>
    protect: bool


class DeployerRunner(pulumi.ComponentResource):
    security_group: aws.ec2.SecurityGroup
    project: aws.codebuild.Project

    def __init__(self, name: str, args: DeployerRunnerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:fleet:DeployerRunner", name, None, opts)
        h = args.handle
        o = h.cloud_opts(self)
        keep = h.cloud_opts(self, protect=args.protect)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=h.cloud_outputs["vpcId"],
            description="pulumi up runner: no inbound; out to API servers, GitHub and cloud APIs",
            egress=[aws.ec2.SecurityGroupEgressArgs(protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"],
                                                    description="API servers over the fabric; GitHub and cloud APIs via NAT")],
            tags={"Name": f"{h.name}-deployer"},
            opts=o,
        )
        # The management cluster's own API: its cluster security group admits the runner.
        # One rule per resource, like the fleet's rules on the same group (components/fleet/ports.py).
        self.api_rule = aws.vpc.SecurityGroupIngressRule(
            f"{name}-to-api",
            security_group_id=h.cloud_outputs["clusterSecurityGroupId"],
            ip_protocol="tcp", from_port=443, to_port=443,
            referenced_security_group_id=self.security_group.id,
            description="pulumi up runner to the private API endpoint",
            opts=o,
        )
        role = aws.iam.Role(
            f"{name}-role",
            name=f"{h.name}-deployer-codebuild",
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            opts=o,
        )
        self.connection = aws.codestarconnections.Connection(
            f"{name}-github", name=f"{h.name}-deployer", provider_type="GitHub", opts=keep,
        )
        # What CodeBuild itself needs (the deploy job assumes its own roles through GitHub OIDC):
        # logs, ENIs in the VPC, and the GitHub connection.
        aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=self.connection.arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"},
                {"Effect": "Allow", "Action": ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
                                               "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeDhcpOptions",
                                               "ec2:DescribeVpcs", "ec2:CreateNetworkInterfacePermission"], "Resource": "*"},
                {"Effect": "Allow", "Action": ["codeconnections:UseConnection", "codeconnections:GetConnectionToken",
                                               "codestar-connections:UseConnection", "codestar-connections:GetConnectionToken"],
                 "Resource": arn},
            ]})),
            opts=o,
        )
        self.project = aws.codebuild.Project(
            f"{name}-project",
            name=project_name(h.name),
            description="GitHub Actions runner for pulumi up, inside the management VPC",
            service_role=role.arn,
            build_timeout=BUILD_TIMEOUT_MINUTES,
            source=aws.codebuild.ProjectSourceArgs(
                type="GITHUB", location=args.repository,
                auth=aws.codebuild.ProjectSourceAuthArgs(type="CODECONNECTIONS", resource=self.connection.arn),
            ),
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
            environment=aws.codebuild.ProjectEnvironmentArgs(compute_type=COMPUTE_TYPE, image=BUILD_IMAGE, type="LINUX_CONTAINER"),
            vpc_config=aws.codebuild.ProjectVpcConfigArgs(
                vpc_id=h.cloud_outputs["vpcId"], subnets=h.cloud_outputs["privateSubnetIds"],
                security_group_ids=[self.security_group.id],
            ),
            opts=o,
        )
        aws.codebuild.Webhook(
            f"{name}-webhook",
            project_name=self.project.name,
            build_type="BUILD",
            filter_groups=[aws.codebuild.WebhookFilterGroupArgs(filters=[
                aws.codebuild.WebhookFilterGroupFilterArgs(type="EVENT", pattern="WORKFLOW_JOB_QUEUED")])],
            opts=o,
        )
        self.runs_on = runs_on_label(h.name)
        self.register_outputs({"project": self.project.name, "runsOn": self.runs_on})
