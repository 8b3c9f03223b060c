"""Where `pulumi up` runs for a private fleet: a CodeBuild-hosted GitHub Actions runner inside the
management cluster's VPC.

The runner's build containers get network interfaces in the management VPC's private subnets
(CodeBuild ``vpc_config``), so they reach the management cluster's private API endpoint directly
and every other cluster's through the fabric; egress to GitHub and the cloud APIs leaves through
the VPC's NAT gateways. A workflow job picks it with ``runs-on: codebuild-<project>-<run id>-<run
attempt>``: the project's webhook on ``WORKFLOW_JOB_QUEUED`` starts one build per queued job
(docs.aws.amazon.com/codebuild/latest/userguide/action-runner-overview.html and
action-runner-questions.html, "Can I use CloudFormation": filter group EVENT WORKFLOW_JOB_QUEUED).

GitHub access: the project authenticates with a GitHub token kept in an AWS Secrets Manager secret
(source auth ``SECRETS_MANAGER``), which an operator creates once before the first run (see
docs/network.md, "Bootstrap"); nothing waits for a console approval, unlike a CodeConnections
connection, which is created PENDING. The token never passes through Pulumi: the program looks the
secret up by name and grants the build role read access to it.

Everything here talks only to cloud APIs, so the bootstrap phase that creates the runner needs no
Kubernetes API (offline/bootstrap.py). :meth:`DeployerRunner.path_to` names what the runner's
traffic to each API server crosses, which that cluster's Kubernetes provider waits for.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.handle import ClusterHandle
from components.network.fabric import Fabric
from stacks.fabric import FabricPlan

BUILD_IMAGE = "aws/codebuild/amazonlinux-x86_64-standard:5.0"
COMPUTE_TYPE = "BUILD_GENERAL1_MEDIUM"
BUILD_TIMEOUT_MINUTES = 120  # the deploy workflow's own timeout


# CodeBuild reads a GitHub token from Secrets Manager when the secret holds
# {"ServerType": "GITHUB", "AuthType": "PERSONAL_ACCESS_TOKEN", "Token": ...} and carries the
# codebuild:source tags (docs.aws.amazon.com/codebuild/latest/userguide/asm-create-secret.html).
TOKEN_AUTH = "SECRETS_MANAGER"


def token_secret_name(cluster: str) -> str:
    """The Secrets Manager secret an operator creates once with the runner's GitHub token."""
    return f"{cluster}-deployer-github-token"


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


class Later:
    """An Output given to a resource before its value exists: the deployer's path to an API server
    (known once the fabric is built), or the fleet's egress addresses (known once every network
    is). :meth:`resolve` or :meth:`resolve_with` must be called, or the program never finishes."""

    def __init__(self) -> None:
        loop = asyncio.get_event_loop()
        self._resources: asyncio.Future[set[pulumi.Resource]] = loop.create_future()
        self._value: asyncio.Future[Any] = loop.create_future()
        self._known: asyncio.Future[bool] = loop.create_future()
        self._secret: asyncio.Future[bool] = loop.create_future()
        self.output: pulumi.Output[Any] = pulumi.Output(self._resources, self._value, self._known, self._secret)

    def resolve(self, value: Any, resources: list[pulumi.Resource] | None = None) -> None:
        """A plain value, waiting on ``resources`` (their custom children for components)."""
        self._resources.set_result(set(resources or []))
        self._known.set_result(True)
        self._secret.set_result(False)
        self._value.set_result(value)

    def resolve_with(self, out: pulumi.Output[Any]) -> None:
        """The value, dependencies, knownness and secrecy of another Output."""
        async def read() -> tuple[set[pulumi.Resource], bool, bool, Any]:
            return await out.resources(), await out.is_known(), await out.is_secret(), await out.future()

        def copy(task: asyncio.Future[tuple[set[pulumi.Resource], bool, bool, Any]]) -> None:
            exc = task.exception()
            if exc is not None:  # surfaced to whatever awaits this Output
                for f in (self._resources, self._known, self._secret, self._value):
                    f.set_exception(exc)
                return
            resources, known, secret, value = task.result()
            self._resources.set_result(resources)
            self._known.set_result(known)
            self._secret.set_result(secret)
            self._value.set_result(value)

        asyncio.ensure_future(read()).add_done_callback(copy)

    @property
    def done(self) -> bool:
        return self._value.done()


def fleet_egress_cidrs(handles: list[ClusterHandle], exclude: str) -> pulumi.Output[list[str]]:
    """The /32 of every egress (NAT) address of the fleet's clusters but ``exclude``, sorted: who
    may call an API server that is public but limited to the fleet. The runner leaves through the
    management cluster's NAT, so its addresses are among them."""
    ips = [ip for h in handles if h.name != exclude for ip in h.cloud_outputs.get("egressIps", [])]
    return pulumi.Output.all(*ips).apply(lambda v: sorted({f"{ip}/32" for ip in v}))


class DeployerRunner(pulumi.ComponentResource):
    security_group: aws.ec2.SecurityGroup
    project: aws.codebuild.Project

    def __init__(self, name: str, args: DeployerRunnerArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:fleet:DeployerRunner", name, None, opts)
        h = args.handle
        self.handle = h
        o = h.cloud_opts(self)
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
        # The GitHub token: created once by an operator (docs/network.md), looked up here by name.
        token = aws.secretsmanager.get_secret_output(name=token_secret_name(h.name), 
                                                  opts=pulumi.InvokeOutputOptions(parent=self, provider=h.cloud_provider))
        # What CodeBuild itself needs (the deploy job assumes its own roles through GitHub OIDC):
        # logs, ENIs in the VPC, and the GitHub token.
        policy = aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=token.arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"},
                {"Effect": "Allow", "Action": ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
                                               "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeDhcpOptions",
                                               "ec2:DescribeVpcs", "ec2:CreateNetworkInterfacePermission"], "Resource": "*"},
                {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": arn},
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
                auth=aws.codebuild.ProjectSourceAuthArgs(type=TOKEN_AUTH, resource=token.arn),
            ),
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
            environment=aws.codebuild.ProjectEnvironmentArgs(compute_type=COMPUTE_TYPE, image=BUILD_IMAGE, type="LINUX_CONTAINER"),
            vpc_config=aws.codebuild.ProjectVpcConfigArgs(
                vpc_id=h.cloud_outputs["vpcId"], subnets=h.cloud_outputs["privateSubnetIds"],
                security_group_ids=[self.security_group.id],
            ),
            # A build needs its role's permissions and the subnets' way out (GitHub, cloud APIs)
            # before the first job: both are part of the runner's bootstrap phase.
            opts=pulumi.ResourceOptions.merge(o, pulumi.ResourceOptions(depends_on=[policy, *h.cloud_outputs.get("egress", [])])),
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

    def path_to(self, target: ClusterHandle, fabric: Fabric, plan: FabricPlan,
                fleet_ports: Mapping[str, pulumi.Resource]) -> list[pulumi.Resource]:
        """What the runner's traffic to ``target``'s API server crosses, besides the runner itself:
        its own cluster's rule admitting it, or the fabric between the management network and
        the target's (gateways and the one link joining them), plus the target's fleet rules
        (on EKS the cluster security group admits the fleet's ranges, the runner's subnets among
        them). An API server reached over the internet (AKS limited to the fleet's egress addresses)
        has nothing on the path beyond the runner's own NAT, which the runner's phase creates."""
        if target.name == self.handle.name:
            return [self.api_rule]
        if target.cloud_outputs.get("apiOverInternet"):
            return []  # through the runner's NAT (phase 1) to authorized ranges on the cluster itself
        out = fabric.path(plan.gateway_of(self.handle.name).key, plan.gateway_of(target.name).key)
        if target.cloud == "aws" and target.name in fleet_ports:
            out.append(fleet_ports[target.name])
        return out
