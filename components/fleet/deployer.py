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

import asyncio
import json
import re
from collections.abc import Mapping
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components.handle import ClusterHandle
from components.network.fabric import Fabric
from components.tokens import component_type, renamed_from
from components.waits import depends_on_of
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


REPOSITORY = re.compile(r"^https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


class DeployerRunnerArgs(TypedDict):
    """Inputs of a :class:`DeployerRunner`. The AWS provider comes from the resource options
    (``providers``); what the runner's first build needs beyond its role (the subnets' NAT and
    routes) is named in the component's ``dependsOn``, which the CodeBuild project waits for."""

    cluster_name: str
    """The management cluster the runner sits beside: prefix of the role, the CodeBuild project
    (``<clusterName>-deployer``) and the token secret's default name. Lowercase letters, digits and
    hyphens, at most 40 characters."""
    repository: str
    """The GitHub repository whose workflows run on the runner, ``https://github.com/<owner>/<repo>``."""
    vpc_id: pulumi.Input[str]
    """The management VPC: the builds get network interfaces in it."""
    subnet_ids: pulumi.Input[list[pulumi.Input[str]]]
    """Private subnets of that VPC with a way out (NAT) to GitHub and the cloud APIs."""
    cluster_security_group_id: pulumi.Input[str]
    """The EKS cluster security group of the management cluster: a rule on it admits the runner to
    the private API endpoint (TCP 443)."""
    token_secret_name: NotRequired[str]
    """The Secrets Manager secret holding the runner's GitHub token, created once by an operator
    (``{"ServerType": "GITHUB", "AuthType": "PERSONAL_ACCESS_TOKEN", "Token": ...}``). Default
    ``<clusterName>-deployer-github-token``."""


def _check_args(args: DeployerRunnerArgs) -> None:
    name = args["cluster_name"]
    if not re.fullmatch(r"[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?", name):
        raise ValueError(f"clusterName: {name!r} is not 1-40 lowercase letters, digits and hyphens")
    if not REPOSITORY.match(args["repository"]):
        raise ValueError(f"repository: {args['repository']!r} is not https://github.com/<owner>/<repo>")


def deployer_runner_args(mgmt: ClusterHandle, repository: str) -> DeployerRunnerArgs:
    """The fleet's management cluster as the runner's args."""
    return DeployerRunnerArgs(
        cluster_name=mgmt.name, repository=repository, vpc_id=mgmt.cloud_outputs["vpcId"],
        subnet_ids=mgmt.cloud_outputs["privateSubnetIds"], cluster_security_group_id=mgmt.cloud_outputs["clusterSecurityGroupId"],
    )


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
    """A CodeBuild-hosted GitHub Actions runner inside a management VPC, for ``pulumi up`` against
    private API servers: no inbound, admitted to the management cluster's private endpoint, GitHub
    access through a token in Secrets Manager (no connection waiting for a console approval)."""

    project_name: pulumi.Output[str]
    """The CodeBuild project; workflow jobs pick the runner with ``runsOn``."""
    runs_on: pulumi.Output[str]
    """The ``runs-on`` label of a workflow job that runs on this runner."""
    security_group_id: pulumi.Output[str]
    """The runner's security group: name it as a source where the runner must be admitted."""

    def __init__(self, name: str, args: DeployerRunnerArgs, opts: pulumi.ResourceOptions | None = None, *,
                 egress_ready: list[pulumi.Resource] | None = None):
        """``egress_ready`` (Python programs): what only the CodeBuild project waits for, rather than
        every child as the component's ``dependsOn`` makes it in this SDK's graph."""
        super().__init__(component_type(DeployerRunner), name, None, renamed_from("archipelago:fleet:DeployerRunner", opts))
        _check_args(args)
        cluster = args["cluster_name"]
        self._cluster_name = cluster
        o = pulumi.ResourceOptions(parent=self)
        self.security_group = aws.ec2.SecurityGroup(
            f"{name}-sg",
            vpc_id=args["vpc_id"],
            description="pulumi up runner: no inbound; out to API servers, GitHub and cloud APIs",
            egress=[aws.ec2.SecurityGroupEgressArgs(protocol="-1", from_port=0, to_port=0, cidr_blocks=["0.0.0.0/0"],
                                                    description="API servers over the fabric; GitHub and cloud APIs via NAT")],
            tags={"Name": f"{cluster}-deployer"},
            opts=o,
        )
        # The management cluster's own API: its cluster security group admits the runner.
        # One rule per resource, like the fleet's rules on the same group (components/fleet/ports.py).
        self.api_rule = aws.vpc.SecurityGroupIngressRule(
            f"{name}-to-api",
            security_group_id=args["cluster_security_group_id"],
            ip_protocol="tcp", from_port=443, to_port=443,
            referenced_security_group_id=self.security_group.id,
            description="pulumi up runner to the private API endpoint",
            opts=o,
        )
        role = aws.iam.Role(
            f"{name}-role",
            name=f"{cluster}-deployer-codebuild",
            assume_role_policy=json.dumps({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Service": "codebuild.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
            opts=o,
        )
        # The GitHub token: created once by an operator (docs/network.md), looked up here by name.
        token = aws.secretsmanager.get_secret_output(
            name=args.get("token_secret_name") or token_secret_name(cluster),
            opts=pulumi.InvokeOutputOptions(parent=self, provider=self.get_provider("aws::")))
        policy = self._build_policy(name, role, token.arn)
        self.project = aws.codebuild.Project(
            f"{name}-project",
            name=project_name(cluster),
            description="GitHub Actions runner for pulumi up, inside the management VPC",
            service_role=role.arn,
            build_timeout=BUILD_TIMEOUT_MINUTES,
            source=aws.codebuild.ProjectSourceArgs(
                type="GITHUB", location=args["repository"],
                auth=aws.codebuild.ProjectSourceAuthArgs(type=TOKEN_AUTH, resource=token.arn),
            ),
            artifacts=aws.codebuild.ProjectArtifactsArgs(type="NO_ARTIFACTS"),
            environment=aws.codebuild.ProjectEnvironmentArgs(compute_type=COMPUTE_TYPE, image=BUILD_IMAGE, type="LINUX_CONTAINER"),
            vpc_config=aws.codebuild.ProjectVpcConfigArgs(
                vpc_id=args["vpc_id"], subnets=args["subnet_ids"], security_group_ids=[self.security_group.id],
            ),
            # A build needs its role's permissions and the subnets' way out (GitHub, cloud APIs)
            # before the first job: both are part of the runner's bootstrap phase. The engine does
            # not pass the component's dependsOn to its children: the project takes it here.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[policy, *depends_on_of(opts), *(egress_ready or [])]),
        )
        aws.codebuild.Webhook(
            f"{name}-webhook",
            project_name=self.project.name,
            build_type="BUILD",
            filter_groups=[aws.codebuild.WebhookFilterGroupArgs(filters=[
                aws.codebuild.WebhookFilterGroupFilterArgs(type="EVENT", pattern="WORKFLOW_JOB_QUEUED")])],
            opts=o,
        )
        self.runs_on = pulumi.Output.from_input(runs_on_label(cluster))
        self.project_name = self.project.name
        self.security_group_id = self.security_group.id
        self.register_outputs({"projectName": self.project_name, "runsOn": self.runs_on, "securityGroupId": self.security_group_id})

    def _build_policy(self, name: str, role: aws.iam.Role, token_arn: pulumi.Output[str]) -> aws.iam.RolePolicy:
        """What CodeBuild itself needs (the deploy job assumes its own roles through GitHub OIDC):
        logs, ENIs in the VPC, and the GitHub token."""
        return aws.iam.RolePolicy(
            f"{name}-policy",
            role=role.id,
            policy=token_arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"},
                {"Effect": "Allow", "Action": ["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface",
                                               "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups", "ec2:DescribeDhcpOptions",
                                               "ec2:DescribeVpcs", "ec2:CreateNetworkInterfacePermission"], "Resource": "*"},
                {"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"], "Resource": arn},
            ]})),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def path_to(self, target: ClusterHandle, fabric: Fabric, plan: FabricPlan,
                fleet_ports: Mapping[str, pulumi.Resource]) -> list[pulumi.Resource]:
        """What the runner's traffic to ``target``'s API server crosses, besides the runner itself:
        its own cluster's rule admitting it, or the fabric between the management network and
        the target's (gateways and the one link joining them), plus the target's fleet rules
        (on EKS the cluster security group admits the fleet's ranges, the runner's subnets among
        them). An API server reached over the internet (AKS limited to the fleet's egress addresses)
        has nothing on the path beyond the runner's own NAT, which the runner's phase creates."""
        if target.name == self._cluster_name:
            return [self.api_rule]
        if target.cloud_outputs.get("apiOverInternet"):
            return []  # through the runner's NAT (phase 1) to authorized ranges on the cluster itself
        out = fabric.path(plan.gateway_of(self._cluster_name).key, plan.gateway_of(target.name).key)
        if target.cloud == "aws" and target.name in fleet_ports:
            out.append(fleet_ports[target.name])
        return out
