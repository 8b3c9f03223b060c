"""Spot-first node provisioning on every cluster, from the ``nodeProvisioning`` config.

- EKS: Karpenter (Helm chart pinned in stacks.versions) with its AWS setup: controller role by
  EKS Pod Identity carrying the upstream controller policy, a node role with an ``EC2_LINUX``
  access entry, the SQS interruption queue fed by EventBridge, discovery tags; then a NodePool and
  an EC2NodeClass.
- AKS: node auto-provisioning (managed Karpenter, enabled on the cluster) gets a NodePool and an
  AKSNodeClass.
- GKE: node auto-provisioning is a cluster setting (components.clusters.gke.auto_provisioning);
  here, when spot is configured, an autoscaled spot pool that scales from zero.

A Karpenter NodePool that allows both capacity types launches spot and falls back to on-demand
when spot is unavailable; ``weight`` puts it ahead of the pools AKS creates by default.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components import naming
from components.addons.helm import release
from components.clusters.eks import node_role
from components.clusters.gke import node_pool_config
from components.handle import CloudPermissions, ClusterHandle
from stacks.sections.autoscaling import NodeProvisioningConfig
from stacks.spec import FleetSpec
from stacks.versions import CRD_API_VERSIONS, KARPENTER_CONTROLLER_IMAGE

NODE_POOL = "spot-first"
SPOT_SERVICE = "spot.amazonaws.com"  # AWSServiceRoleForEC2Spot
NODE_CLASS = "archipelago"
# Above AKS NAP's own "default" pool (weight unset = 0), so new capacity comes from this pool.
NODE_POOL_WEIGHT = 50
# Upstream recommends kube-system for the v1 controller; its pods meet the restricted PSS profile.
KARPENTER_NAMESPACE = "kube-system"
KARPENTER_SA = "karpenter"
DISCOVERY_TAG = "karpenter.sh/discovery"

# EventBridge events Karpenter handles from its queue: rule key -> (source, detail-type).
INTERRUPTION_EVENTS: dict[str, tuple[str, str]] = {
    "scheduled-change": ("aws.health", "AWS Health Event"),
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "instance-state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "capacity-reservation-interruption": ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
}


@dataclass
class NodeProvisioningArgs:
    handle: ClusterHandle
    fleet: FleetSpec


@dataclass
class KarpenterTarget:
    """What a cloud's Karpenter needs in its NodePool and node class."""

    node_class_kind: str
    node_class_spec: dict[str, Any]
    family_requirement: dict[str, Any]
    extra_requirements: list[dict[str, Any]] = field(default_factory=list)
    template_labels: dict[str, str] = field(default_factory=dict)
    startup_taints: list[dict[str, str]] = field(default_factory=list)
    depends_on: list[pulumi.Resource] = field(default_factory=list)


def _in(key: str, values: Sequence[str]) -> dict[str, Any]:
    return {"key": key, "operator": "In", "values": list(values)}


def node_pool_spec(cfg: NodeProvisioningConfig, target: KarpenterTarget) -> dict[str, Any]:
    """The ``karpenter.sh/v1`` NodePool spec: spot first, then on-demand, within the limits."""
    template_spec: dict[str, Any] = {
        "nodeClassRef": {
            "group": CRD_API_VERSIONS[target.node_class_kind].split("/")[0],
            "kind": target.node_class_kind,
            "name": NODE_CLASS,
        },
        "requirements": [
            _in("karpenter.sh/capacity-type", cfg.ordered_capacity_types),
            _in("kubernetes.io/arch", cfg.architectures),
            _in("kubernetes.io/os", ["linux"]),
            target.family_requirement,
            *target.extra_requirements,
        ],
        "expireAfter": cfg.expire_after,
    }
    if target.startup_taints:
        template_spec["startupTaints"] = target.startup_taints
    template: dict[str, Any] = {"spec": template_spec}
    if target.template_labels:
        template["metadata"] = {"labels": target.template_labels}
    return {
        "weight": NODE_POOL_WEIGHT,
        "limits": {"cpu": str(cfg.limits.cpu), "memory": cfg.limits.memory},
        "disruption": {
            "consolidationPolicy": cfg.consolidation_policy,
            "consolidateAfter": cfg.consolidate_after,
            "budgets": [{"nodes": "10%"}],
        },
        "template": template,
    }


def controller_policy(cluster: str, region: str, partition: str, account: str, node_role_arn: str, queue_arn: str) -> str:
    """Karpenter's controller permissions as the v1.14 getting-started CloudFormation scopes them
    (node lifecycle, IAM/instance profiles, EKS, interruption queue, zonal shift, discovery)."""
    ec2 = f"arn:{partition}:ec2:{region}"
    cluster_arn = f"arn:{partition}:eks:{region}:{account}:cluster/{cluster}"
    profiles = f"arn:{partition}:iam::{account}:instance-profile/*"
    owned = f"kubernetes.io/cluster/{cluster}"
    tagged = [f"{ec2}:*:{kind}/*" for kind in
              ("fleet", "instance", "volume", "network-interface", "launch-template", "spot-instances-request")]
    request_tags = {f"aws:RequestTag/{owned}": "owned", "aws:RequestTag/eks:eks-cluster-name": cluster}
    nodepool_resource = {"StringLike": {"aws:ResourceTag/karpenter.sh/nodepool": "*"}}
    statements = [
        {"Sid": "AllowScopedEC2InstanceAccessActions", "Effect": "Allow",
         "Resource": [f"{ec2}::image/*", f"{ec2}::snapshot/*", f"{ec2}:*:security-group/*", f"{ec2}:*:subnet/*",
                      f"{ec2}:*:capacity-reservation/*", f"{ec2}:*:placement-group/*"],
         "Action": ["ec2:RunInstances", "ec2:CreateFleet"]},
        {"Sid": "AllowScopedEC2LaunchTemplateAccessActions", "Effect": "Allow", "Resource": f"{ec2}:*:launch-template/*",
         "Action": ["ec2:RunInstances", "ec2:CreateFleet"],
         "Condition": {"StringEquals": {f"aws:ResourceTag/{owned}": "owned"}, **nodepool_resource}},
        {"Sid": "AllowScopedEC2InstanceActionsWithTags", "Effect": "Allow", "Resource": tagged,
         "Action": ["ec2:RunInstances", "ec2:CreateFleet", "ec2:CreateLaunchTemplate"],
         "Condition": {"StringEquals": request_tags, "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "AllowScopedResourceCreationTagging", "Effect": "Allow", "Resource": tagged, "Action": "ec2:CreateTags",
         "Condition": {"StringEquals": {**request_tags, "ec2:CreateAction": ["RunInstances", "CreateFleet", "CreateLaunchTemplate"]},
                       "StringLike": {"aws:RequestTag/karpenter.sh/nodepool": "*"}}},
        {"Sid": "AllowScopedResourceTagging", "Effect": "Allow", "Resource": f"{ec2}:*:instance/*", "Action": "ec2:CreateTags",
         "Condition": {"StringEquals": {f"aws:ResourceTag/{owned}": "owned"}, **nodepool_resource,
                       "StringEqualsIfExists": {"aws:RequestTag/eks:eks-cluster-name": cluster},
                       "ForAllValues:StringEquals": {"aws:TagKeys": ["eks:eks-cluster-name", "karpenter.sh/nodeclaim", "Name"]}}},
        {"Sid": "AllowScopedDeletion", "Effect": "Allow", "Resource": [f"{ec2}:*:instance/*", f"{ec2}:*:launch-template/*"],
         "Action": ["ec2:TerminateInstances", "ec2:DeleteLaunchTemplate"],
         "Condition": {"StringEquals": {f"aws:ResourceTag/{owned}": "owned"}, **nodepool_resource}},
        {"Sid": "AllowPassingInstanceRole", "Effect": "Allow", "Resource": node_role_arn, "Action": "iam:PassRole",
         "Condition": {"StringEquals": {"iam:PassedToService": ["ec2.amazonaws.com", "ec2.amazonaws.com.cn"]}}},
        {"Sid": "AllowScopedInstanceProfileCreationActions", "Effect": "Allow", "Resource": profiles,
         "Action": ["iam:CreateInstanceProfile"],
         "Condition": {"StringEquals": {**request_tags, "aws:RequestTag/topology.kubernetes.io/region": region},
                       "StringLike": {"aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        {"Sid": "AllowScopedInstanceProfileTagActions", "Effect": "Allow", "Resource": profiles,
         "Action": ["iam:TagInstanceProfile"],
         "Condition": {"StringEquals": {f"aws:ResourceTag/{owned}": "owned", "aws:ResourceTag/topology.kubernetes.io/region": region,
                                        **request_tags, "aws:RequestTag/topology.kubernetes.io/region": region},
                       "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*",
                                      "aws:RequestTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        {"Sid": "AllowScopedInstanceProfileActions", "Effect": "Allow", "Resource": profiles,
         "Action": ["iam:AddRoleToInstanceProfile", "iam:RemoveRoleFromInstanceProfile", "iam:DeleteInstanceProfile"],
         "Condition": {"StringEquals": {f"aws:ResourceTag/{owned}": "owned", "aws:ResourceTag/topology.kubernetes.io/region": region},
                       "StringLike": {"aws:ResourceTag/karpenter.k8s.aws/ec2nodeclass": "*"}}},
        {"Sid": "AllowAPIServerEndpointDiscovery", "Effect": "Allow", "Resource": cluster_arn, "Action": "eks:DescribeCluster"},
        {"Sid": "AllowInterruptionQueueActions", "Effect": "Allow", "Resource": queue_arn,
         "Action": ["sqs:DeleteMessage", "sqs:GetQueueUrl", "sqs:ReceiveMessage"]},
        {"Sid": "AllowZonalShiftStatusReadOnly", "Effect": "Allow", "Resource": "*", "Action": ["arc-zonal-shift:GetManagedResource"],
         "Condition": {"StringEquals": {"arc-zonal-shift:ResourceIdentifier": cluster_arn}}},
        {"Sid": "AllowRegionalReadActions", "Effect": "Allow", "Resource": "*",
         "Action": [f"ec2:Describe{x}" for x in ("CapacityReservations", "Images", "Instances", "InstanceStatus",
                                                  "InstanceTypeOfferings", "InstanceTypes", "LaunchTemplates",
                                                  "PlacementGroups", "SecurityGroups", "SpotPriceHistory", "Subnets")],
         "Condition": {"StringEquals": {"aws:RequestedRegion": region}}},
        {"Sid": "AllowSSMReadActions", "Effect": "Allow", "Resource": f"arn:{partition}:ssm:{region}::parameter/aws/service/*",
         "Action": "ssm:GetParameter"},
        {"Sid": "AllowPricingReadActions", "Effect": "Allow", "Resource": "*", "Action": "pricing:GetProducts"},
        {"Sid": "AllowUnscopedInstanceProfileListAction", "Effect": "Allow", "Resource": "*", "Action": "iam:ListInstanceProfiles"},
        {"Sid": "AllowInstanceProfileReadActions", "Effect": "Allow", "Resource": profiles, "Action": "iam:GetInstanceProfile"},
    ]
    # Compact JSON: one inline role policy holds all of it (IAM allows 10,240 characters per role).
    return json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":"))


def queue_policy(queue_arn: str) -> str:
    """EventBridge (and SQS) may send; nothing may use the queue without TLS."""
    return json.dumps({
        "Version": "2012-10-17",
        "Id": "EC2InterruptionPolicy",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": ["events.amazonaws.com", "sqs.amazonaws.com"]},
             "Action": "sqs:SendMessage", "Resource": queue_arn},
            {"Sid": "DenyHTTP", "Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": queue_arn,
             "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
        ],
    })


def machine_vcpus(machine_type: str) -> int:
    """vCPUs of a GCE machine type: e2-standard-4 -> 4, n2-custom-8-32768 -> 8; shared-core and
    other unnumbered types (e2-medium) count as 2."""
    parts = machine_type.split("-")
    if "custom" in parts and parts.index("custom") + 1 < len(parts):
        n = parts[parts.index("custom") + 1]
    else:
        n = parts[-1]
    return int(n) if n.isdigit() and int(n) > 0 else 2


class NodeProvisioning(pulumi.ComponentResource):
    """Spot-first node provisioning on one cluster."""

    node_pool: k8s.apiextensions.CustomResource | None
    node_class: k8s.apiextensions.CustomResource | None

    def __init__(self, name: str, args: NodeProvisioningArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:autoscaling:NodeProvisioning", name, None, opts)
        h, fleet = args.handle, args.fleet
        self.node_pool = self.node_class = None
        self.karpenter: k8s.helm.v3.Release | None = None
        # The one per-cloud branch: what each cloud needs besides the shared NodePool shape.
        backends: dict[str, Callable[[ClusterHandle, FleetSpec], KarpenterTarget | None]] = {
            "aws": self._eks, "azure": self._aks, "gcp": self._gke,
        }
        target = backends[h.cloud](h, fleet)
        if target is not None:
            cr_opts = h.k8s_opts(self, depends_on=target.depends_on)
            self.node_class = k8s.apiextensions.CustomResource(
                f"{h.name}-{NODE_CLASS}-nodeclass",
                api_version=CRD_API_VERSIONS[target.node_class_kind],
                kind=target.node_class_kind,
                metadata=k8s.meta.v1.ObjectMetaArgs(name=NODE_CLASS),
                spec=target.node_class_spec,
                opts=cr_opts,
            )
            self.node_pool = k8s.apiextensions.CustomResource(
                f"{h.name}-{NODE_POOL}-nodepool",
                api_version=CRD_API_VERSIONS["NodePool"],
                kind="NodePool",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=NODE_POOL),
                spec=node_pool_spec(fleet.node_provisioning, target),
                opts=h.k8s_opts(self, depends_on=[*target.depends_on, self.node_class]),
            )
        self.register_outputs({
            # CustomResource sets its output properties as attributes at run time; its stubs declare none.
            "nodePool": self.node_pool.metadata["name"] if self.node_pool else None,  # pyright: ignore[reportAttributeAccessIssue]
            "capacityTypes": fleet.node_provisioning.ordered_capacity_types,
        })

    # -- EKS: self-managed Karpenter ------------------------------------------------------------

    def _eks(self, h: ClusterHandle, fleet: FleetSpec) -> KarpenterTarget:
        cfg, base, c = fleet.node_provisioning, fleet.baseline, h.spec
        child = h.cloud_opts(self)
        out = h.cloud_outputs
        # From the ARN rather than the spec, so everything below waits for the cluster.
        cluster_name = pulumi.Output.from_input(out["clusterArn"]).apply(lambda arn: arn.split("/")[-1])
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(provider=h.cloud_provider, parent=self)).partition

        # Nodes Karpenter launches get their own role (the managed node group's role already has
        # its own access entry); Karpenter creates the instance profile for it.
        self.node_role, node_policies = node_role(
            f"{c.name}-karpenter-node", f"{c.name}-karpenter-node", naming.iam_role(c.name, "karpenter-node"), child
        )
        self.node_access = aws.eks.AccessEntry(
            f"{c.name}-karpenter-node", cluster_name=cluster_name, principal_arn=self.node_role.arn, type="EC2_LINUX", opts=child
        )

        self.queue = aws.sqs.Queue(
            f"{c.name}-karpenter",
            name=naming.fit(f"{c.name}-karpenter", 80),
            message_retention_seconds=300,
            sqs_managed_sse_enabled=True,
            opts=child,
        )
        aws.sqs.QueuePolicy(f"{c.name}-karpenter", queue_url=self.queue.url, policy=self.queue.arn.apply(queue_policy), opts=child)
        self.rules = {}
        for key, (source, detail_type) in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{c.name}-karpenter-{key}",
                name=naming.fit(f"{c.name}-karpenter-{key}", 64),
                description=f"{detail_type} events for Karpenter on {c.name}",
                event_pattern=json.dumps({"source": [source], "detail-type": [detail_type]}),
                opts=child,
            )
            aws.cloudwatch.EventTarget(
                f"{c.name}-karpenter-{key}", rule=rule.name, arn=self.queue.arn, target_id="KarpenterInterruptionQueueTarget", opts=child
            )
            self.rules[key] = rule

        # Subnets carry the discovery tag from the network; the cluster security group (created
        # by EKS) gets it here.
        sg_tag = aws.ec2.Tag(
            f"{c.name}-karpenter-sg-discovery", resource_id=out["clusterSecurityGroupId"], key=DISCOVERY_TAG, value=c.name, opts=child
        )

        # Spot launches need the account's EC2 Spot service-linked role. It exists once per
        # account: one EKS cluster creates it (all EKS clusters share the account), chosen by a key
        # that reordering the clusters list does not change: the management cluster if it runs on
        # EKS, else the EKS cluster whose name sorts first.
        self.spot_role: aws.iam.ServiceLinkedRole | None = None
        first_eks = min((x for x in fleet.clusters if x.cloud == "aws"), key=lambda x: (not x.is_management, x.name))
        if cfg.spot and cfg.aws_spot_service_linked_role == "create" and first_eks.name == c.name:
            self.spot_role = aws.iam.ServiceLinkedRole(
                "ec2-spot-service-linked-role", aws_service_name=SPOT_SERVICE, description="EC2 Spot (Karpenter spot capacity)",
                opts=child,
            )

        policy = pulumi.Output.all(partition, h.account, self.node_role.arn, self.queue.arn).apply(
            lambda a: controller_policy(c.name, c.region, a[0], a[1], a[2], a[3])
        )
        identity = h.grant_workload_identity(
            KARPENTER_NAMESPACE, KARPENTER_SA, CloudPermissions(aws_policy=lambda: policy), purpose="karpenter", parent=self
        )
        self.karpenter = release(
            h, "karpenter", release_name="karpenter", namespace=KARPENTER_NAMESPACE, parent=self,
            depends_on=[*identity.resources, self.node_access, *node_policies],
            values={
                "settings": {
                    "clusterName": c.name,
                    "clusterEndpoint": h.endpoint,
                    "interruptionQueue": self.queue.name,
                    # VPC CNI custom networking: pods use secondary ENIs, never the primary one.
                    "reservedENIs": "1",
                },
                "serviceAccount": {"create": True, "name": KARPENTER_SA, "annotations": identity.service_account_annotations},
                "podLabels": identity.pod_labels,
                # Hostname anti-affinity needs a system node per replica.
                "replicas": 2 if c.nodes.min_size >= 2 else 1,
                "controller": {
                    "image": KARPENTER_CONTROLLER_IMAGE,
                    # Karpenter reads its region from AWS_REGION or IMDS; EKS Pod Identity injects
                    # no region, the chart sets none, and IMDS hop limit 1 keeps the pod off IMDS.
                    "env": [{"name": "AWS_REGION", "value": c.region}],
                    "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
                },
            },
        )
        discovery = [{"tags": {DISCOVERY_TAG: c.name}}]
        return KarpenterTarget(
            node_class_kind="EC2NodeClass",
            node_class_spec={
                "amiSelectorTerms": [{"alias": f"al2023@{cfg.eks_ami_version}"}],
                "role": self.node_role.name,
                "subnetSelectorTerms": discovery,
                "securityGroupSelectorTerms": discovery,
                "metadataOptions": {
                    "httpEndpoint": "enabled",
                    "httpProtocolIPv6": "disabled",
                    "httpPutResponseHopLimit": base.imds_hop_limit,
                    "httpTokens": "required",
                },
                "blockDeviceMappings": [{
                    "deviceName": "/dev/xvda",
                    "rootVolume": True,
                    "ebs": {"volumeSize": f"{c.nodes.disk_size_gb}Gi", "volumeType": "gp3",
                            "encrypted": base.encrypted_node_volumes, "deleteOnTermination": True},
                }],
            },
            family_requirement=_in("karpenter.k8s.aws/instance-category", cfg.instance_families.aws),
            extra_requirements=[{"key": "karpenter.k8s.aws/instance-generation", "operator": "Gt", "values": ["2"]}],
            depends_on=[self.karpenter, sg_tag, *([self.spot_role] if self.spot_role else [])],
        )

    # -- AKS: node auto-provisioning (managed Karpenter) --------------------------------------------

    def _aks(self, h: ClusterHandle, fleet: FleetSpec) -> KarpenterTarget:
        cfg, c = fleet.node_provisioning, h.spec
        return KarpenterTarget(
            node_class_kind="AKSNodeClass",
            node_class_spec={
                "imageFamily": "AzureLinux",  # as the system pool
                "osDiskSizeGB": max(30, c.nodes.disk_size_gb),
                "vnetSubnetID": h.cloud_outputs["nodeSubnetId"],
            },
            family_requirement=_in("karpenter.azure.com/sku-family", cfg.instance_families.azure),
            # The cluster runs the Cilium dataplane: the label lets Karpenter count the Cilium
            # DaemonSet's overhead, the startup taint keeps pods off a node until Cilium is ready.
            template_labels={"kubernetes.azure.com/ebpf-dataplane": "cilium"},
            startup_taints=[{"key": "node.cilium.io/agent-not-ready", "value": "true", "effect": "NoExecute"}],
        )

    # -- GKE: node auto-provisioning is on the cluster; spot capacity is a pool from zero ---------

    def _gke(self, h: ClusterHandle, fleet: FleetSpec) -> None:
        cfg, c = fleet.node_provisioning, h.spec
        self.spot_pool: gcp.container.NodePool | None = None
        if cfg.spot:
            self.spot_pool = gcp.container.NodePool(
                f"{c.name}-spot",
                name="spot",
                cluster=h.cloud_outputs["clusterId"],
                location=c.region,
                initial_node_count=0,
                autoscaling=gcp.container.NodePoolAutoscalingArgs(
                    total_min_node_count=0,
                    total_max_node_count=max(1, cfg.limits.cpu // machine_vcpus(c.instance_type)),
                    location_policy="ANY",  # take spot capacity from whichever zone has it
                ),
                management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
                node_config=node_pool_config(c, h.cloud_outputs["nodeServiceAccount"], "spot", spot=True),
                opts=h.cloud_opts(self),
            )


def node_provisioning(handle: ClusterHandle, fleet: FleetSpec) -> NodeProvisioning:
    # Under the cluster's component, so plans and reports attribute its cloud resources to the cluster.
    return NodeProvisioning(f"{handle.name}-node-provisioning", NodeProvisioningArgs(handle, fleet),
                            pulumi.ResourceOptions(parent=handle.component))

