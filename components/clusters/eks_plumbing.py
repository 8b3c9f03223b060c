"""AWS plumbing of the add-ons, beside the EKS cluster: Velero's S3 storage (KMS key, writer
identity, DR reader roles) and Karpenter's controller role, node role, interruption queue and
EventBridge rules. The add-ons themselves (components/addons/velero.py, autoscaling.py) take what
these hand over as plain values and Inputs.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pulumi
import pulumi_aws as aws

from components import naming
from components.addons import aws_federation
from components.addons.autoscaling import (
    DISCOVERY_TAG,
    KARPENTER_NAMESPACE,
    KARPENTER_SA,
    NodeProvisioningArgs,
)
from components.backup_storage import (
    DR_AUDIENCE,
    DR_TOKEN_FILE,
    NAMESPACE,
    SERVICE_ACCOUNT,
    SUBJECT,
    BackupStore,
    ReaderEnv,
    ReaderGrant,
    after,
    protected,
)
from components.clusters.eks import node_role
from components.identity import CloudPermissions
from components.options import moved_from as moved

if TYPE_CHECKING:
    from components.handle import ClusterHandle
    from stacks.sections.backup import BackupConfig
    from stacks.spec import FleetSpec

SPOT_SERVICE = "spot.amazonaws.com"  # AWSServiceRoleForEC2Spot

# EventBridge events Karpenter handles from its queue: rule key -> (source, detail-type).
INTERRUPTION_EVENTS: dict[str, tuple[str, str]] = {
    "scheduled-change": ("aws.health", "AWS Health Event"),
    "spot-interruption": ("aws.ec2", "EC2 Spot Instance Interruption Warning"),
    "rebalance": ("aws.ec2", "EC2 Instance Rebalance Recommendation"),
    "instance-state-change": ("aws.ec2", "EC2 Instance State-change Notification"),
    "capacity-reservation-interruption": ("aws.ec2", "EC2 Capacity Reservation Instance Interruption Warning"),
}


def aws_credentials_file(role_arn: str, region: str) -> str:
    """AWS shared config: assume ``role_arn`` with the projected token (web identity), in ``region``.

    The region is in the profile because a reader outside AWS has no AWS_REGION, and the kopia
    uploader loads the profile without the location's config."""
    return f"[default]\nrole_arn = {role_arn}\nweb_identity_token_file = {DR_TOKEN_FILE}\nregion = {region}\n"


class AwsBackupStorage:
    """S3 bucket (versioned, KMS-encrypted, TLS-only, no public access) and an EKS Pod Identity writer."""

    plugin = "velero.io/aws"
    reader_env = ReaderEnv()

    def create(self, h: ClusterHandle, cfg: BackupConfig, *, protect: bool, key_rotation_days: int,
               opts: pulumi.ResourceOptions) -> BackupStore:
        stateful = protected(opts, protect)
        key = aws.kms.Key(f"{h.name}-velero-key", description=f"Velero backups of {h.name}", enable_key_rotation=True,
                          rotation_period_in_days=key_rotation_days, deletion_window_in_days=30, opts=stateful)
        bucket = aws.s3.Bucket(f"{h.name}-velero", bucket=h.account.apply(lambda a: naming.s3_bucket(h.name, "velero", f"-{a}")),
                               force_destroy=not protect, opts=stateful)
        versioning = aws.s3.BucketVersioning(
            f"{h.name}-velero-versioning", bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"), opts=opts)
        # Versioned: every overwrite or delete keeps a noncurrent version until this rule expires it.
        aws.s3.BucketLifecycleConfiguration(
            f"{h.name}-velero-lifecycle", bucket=bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-noncurrent", status="Enabled", filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=cfg.noncurrent_version_days),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=7))],
            opts=after(opts, versioning))
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{h.name}-velero-sse", bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=key.arn),
                bucket_key_enabled=True)],
            opts=opts)
        block = aws.s3.BucketPublicAccessBlock(
            f"{h.name}-velero-public-block", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=opts)
        aws.s3.BucketOwnershipControls(
            f"{h.name}-velero-ownership", bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=opts)
        tls_only = bucket.arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
        aws.s3.BucketPolicy(f"{h.name}-velero-tls-only", bucket=bucket.id, policy=tls_only, opts=after(opts, block))

        # EBS snapshot actions (plugin README policy) only when Velero takes snapshots.
        snapshot = [{"Effect": "Allow", "Action": ["ec2:DescribeVolumes", "ec2:DescribeSnapshots", "ec2:CreateTags",
                                                   "ec2:CreateVolume", "ec2:CreateSnapshot", "ec2:DeleteSnapshot"],
                     "Resource": "*"}] if cfg.snapshots else []

        def policy() -> pulumi.Output[str]:
            return pulumi.Output.all(bucket.arn, key.arn).apply(lambda a: json.dumps({"Version": "2012-10-17", "Statement": [
                *snapshot,
                {"Effect": "Allow", "Action": ["s3:GetObject", "s3:DeleteObject", "s3:PutObject", "s3:PutObjectTagging",
                                               "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], "Resource": f"{a[0]}/*"},
                {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": a[0]},
                {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"], "Resource": a[1]},
            ]}))

        # EKS Pod Identity: the agent hands credentials to the pod; no secret, no SA annotation.
        identity = h.grant_workload_identity(NAMESPACE, SERVICE_ACCOUNT, CloudPermissions(aws_policy=policy), purpose="velero",
                                             parent=h.component, opts=opts)
        location: dict[str, pulumi.Input[str]] = {"region": h.region}
        return BackupStore(
            plugin=self.plugin, bucket=bucket.bucket, location_config=location,
            own_location_config={**location, "kmsKeyId": key.arn}, snapshot_location_config={"region": h.region},
            credentials_file=None, service_account_annotations=identity.service_account_annotations,
            pod_labels=identity.pod_labels, grants=identity.resources,
            annotations={"velero_backup_bucket_name": bucket.bucket},
            details={"key_arn": key.arn, "bucket_arn": bucket.arn})

    def grant_reader(self, peer: ClusterHandle, store: BackupStore, reader: ClusterHandle, *,
                     opts: pulumi.ResourceOptions) -> ReaderGrant:
        prefix = f"{peer.name}-velero-dr-{reader.name}"
        # One IAM OIDC provider per issuer and account, shared with the other add-ons that federate.
        oidc = aws_federation.oidc_provider(reader, peer.cloud_provider)
        trust = aws_federation.web_identity_trust(reader, oidc, SUBJECT, DR_AUDIENCE)
        role = aws.iam.Role(prefix, name=naming.iam_role(peer.name, f"velero-dr-{reader.name}"), assume_role_policy=trust, opts=opts)
        read_only = pulumi.Output.all(store.details["bucket_arn"], store.details["key_arn"]).apply(lambda a: json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"{a[0]}/*"},
                {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": a[0]},
                {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": a[1]},
            ]}))
        aws.iam.RolePolicy(prefix, role=role.id, policy=read_only, opts=opts)
        return ReaderGrant(role.arn.apply(lambda arn: aws_credentials_file(arn, peer.region)), {})


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


class EksPlumbing:
    """The AWS side of the add-ons on one EKS cluster."""

    backup_storage = AwsBackupStorage()

    def node_provisioning(self, h: ClusterHandle, fleet: FleetSpec, args: NodeProvisioningArgs, *,
                          moved_from: list[pulumi.Input[str]]) -> tuple[NodeProvisioningArgs, list[pulumi.Resource]]:
        """Karpenter's AWS setup, then the args of its in-cluster part: the controller chart and
        an EC2NodeClass (AL2023, discovery tags, IMDSv2, encrypted gp3 root volume)."""
        cfg, base, c = fleet.node_provisioning, fleet.baseline, h.spec
        child = pulumi.ResourceOptions.merge(h.cloud_opts(h.component), moved(*moved_from))
        out = h.cloud_outputs
        # From the ARN rather than the spec, so everything below waits for the cluster.
        cluster_name = pulumi.Output.from_input(out["clusterArn"]).apply(lambda arn: arn.split("/")[-1])
        partition = aws.get_partition_output(opts=pulumi.InvokeOutputOptions(provider=h.cloud_provider, parent=h.component)).partition

        # Nodes Karpenter launches get their own role (the managed node group's role already has
        # its own access entry); Karpenter creates the instance profile for it.
        role, node_policies = node_role(f"{c.name}-karpenter-node", f"{c.name}-karpenter-node",
                                        naming.iam_role(c.name, "karpenter-node"), child)
        access = aws.eks.AccessEntry(f"{c.name}-karpenter-node", cluster_name=cluster_name, principal_arn=role.arn,
                                     type="EC2_LINUX", opts=child)
        queue = aws.sqs.Queue(f"{c.name}-karpenter", name=naming.fit(f"{c.name}-karpenter", 80), message_retention_seconds=300,
                              sqs_managed_sse_enabled=True, opts=child)
        aws.sqs.QueuePolicy(f"{c.name}-karpenter", queue_url=queue.url, policy=queue.arn.apply(queue_policy), opts=child)
        for key, (source, detail_type) in INTERRUPTION_EVENTS.items():
            rule = aws.cloudwatch.EventRule(
                f"{c.name}-karpenter-{key}", name=naming.fit(f"{c.name}-karpenter-{key}", 64),
                description=f"{detail_type} events for Karpenter on {c.name}",
                event_pattern=json.dumps({"source": [source], "detail-type": [detail_type]}), opts=child)
            aws.cloudwatch.EventTarget(f"{c.name}-karpenter-{key}", rule=rule.name, arn=queue.arn,
                                       target_id="KarpenterInterruptionQueueTarget", opts=child)

        # Subnets carry the discovery tag from the network; the cluster security group (created
        # by EKS) gets it here.
        sg_tag = aws.ec2.Tag(f"{c.name}-karpenter-sg-discovery", resource_id=out["clusterSecurityGroupId"], key=DISCOVERY_TAG,
                             value=c.name, opts=child)

        # Spot launches need the account's EC2 Spot service-linked role. It exists once per
        # account: one EKS cluster creates it (all EKS clusters share the account), chosen by a key
        # that reordering the clusters list does not change: the management cluster if it runs on
        # EKS, else the EKS cluster whose name sorts first.
        spot_role: list[pulumi.Resource] = []
        first_eks = min((x for x in fleet.clusters if x.cloud == "aws"), key=lambda x: (not x.is_management, x.name))
        if cfg.spot and cfg.aws_spot_service_linked_role == "create" and first_eks.name == c.name:
            spot_role.append(aws.iam.ServiceLinkedRole(
                "ec2-spot-service-linked-role", aws_service_name=SPOT_SERVICE, description="EC2 Spot (Karpenter spot capacity)",
                opts=child))

        policy = pulumi.Output.all(partition, h.account, role.arn, queue.arn).apply(
            lambda a: controller_policy(c.name, c.region, a[0], a[1], a[2], a[3]))
        identity = h.grant_workload_identity(KARPENTER_NAMESPACE, KARPENTER_SA, CloudPermissions(aws_policy=lambda: policy),
                                             purpose="karpenter", parent=h.component, opts=moved(*moved_from))
        discovery = [{"tags": {DISCOVERY_TAG: c.name}}]
        out = NodeProvisioningArgs(**args)
        out["node_class_kind"] = "EC2NodeClass"
        out["node_class_spec"] = {
            "amiSelectorTerms": [{"alias": f"al2023@{cfg.eks_ami_version}"}],
            "role": role.name,
            "subnetSelectorTerms": discovery,
            "securityGroupSelectorTerms": discovery,
            "metadataOptions": {"httpEndpoint": "enabled", "httpProtocolIPv6": "disabled",
                                "httpPutResponseHopLimit": base.imds_hop_limit, "httpTokens": "required"},
            "blockDeviceMappings": [{
                "deviceName": "/dev/xvda",
                "rootVolume": True,
                "ebs": {"volumeSize": f"{c.nodes.disk_size_gb}Gi", "volumeType": "gp3",
                        "encrypted": base.encrypted_node_volumes, "deleteOnTermination": True},
            }],
        }
        out["requirements"] = [
            {"key": "karpenter.k8s.aws/instance-category", "operator": "In", "values": list(cfg.instance_families.aws)},
            {"key": "karpenter.k8s.aws/instance-generation", "operator": "Gt", "values": ["2"]},
        ]
        out["karpenter"] = {
            "cluster_name": c.name, "cluster_endpoint": h.endpoint, "interruption_queue": queue.name, "region": c.region,
            "reserved_enis": 1, "replicas": 2 if c.nodes.min_size >= 2 else 1,
            "service_account_annotations": identity.service_account_annotations, "pod_labels": identity.pod_labels,
        }
        return out, [*identity.resources, access, *node_policies, sg_tag, *spot_role]
