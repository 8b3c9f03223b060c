"""EKS: a hardened cluster with a managed node group on a launch template, returned as a handle."""

from __future__ import annotations

import json
from collections.abc import Sequence

import pulumi
import pulumi_aws as aws

from components import naming, protection
from components.clusters import kubeconfig
from components.clusters.base import ClusterArgs, ManagedCluster
from components.handle import CloudPermissions, ClusterHandle, WorkloadIdentity
from components.network.aws import AwsNetwork, AwsNetworkArgs
from stacks.sections.connectivity import GATEWAY_NODE_LABELS
from stacks.versions import EKS_ADDON_VERSIONS

ADMIN_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"
VIEW_POLICY = "arn:aws:eks::aws:cluster-access-policy/AmazonEKSViewPolicy"
MANAGED_POLICY = "arn:aws:iam::aws:policy/"
NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly",
                 "AmazonSSMManagedInstanceCore")
EKS_ADDONS = ("vpc-cni", "kube-proxy", "coredns", "eks-pod-identity-agent")
EBS_CSI_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
EBS_CSI_SA = "ebs-csi-controller-sa"
# Key administration and key use, as terraform-aws-modules/terraform-aws-kms writes them for the
# terraform-aws-eks module (key_administrators: the caller; key_users: the cluster role).
KMS_ADMIN_ACTIONS = ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*", "kms:Revoke*",
                     "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
                     "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"]
KMS_USER_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]


def kms_key_policy(account: str, admin_arn: str, user_arn: str) -> str:
    """The EKS secrets key's policy: the account root (so IAM can still govern the key), the
    deployer as administrator, the cluster role as the only user."""
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "Default", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*"},
            {"Sid": "KeyAdministration", "Effect": "Allow", "Principal": {"AWS": admin_arn}, "Action": KMS_ADMIN_ACTIONS, "Resource": "*"},
            {"Sid": "KeyUsage", "Effect": "Allow", "Principal": {"AWS": user_arn}, "Action": KMS_USER_ACTIONS, "Resource": "*"},
        ],
    }, sort_keys=True)


def _oidc_issuer(identities: Sequence[aws.eks.outputs.ClusterIdentity]) -> str:
    """The cluster's OIDC issuer URL (the SDK types it optional; EKS sets it on every cluster)."""
    oidcs = identities[0].oidcs
    issuer = oidcs[0].issuer if oidcs else None
    if not issuer:
        raise ValueError("the EKS cluster reports no OIDC issuer")
    return issuer


# Zone IDs EKS refuses for control-plane subnets (UnsupportedAvailabilityZoneException). Zone names
# map to IDs per account in these older regions, so the mapping is read at plan time.
# Source: https://docs.aws.amazon.com/eks/latest/userguide/network-reqs.html (subnet requirements).
EKS_UNSUPPORTED_ZONE_IDS = frozenset({"use1-az3", "usw1-az2", "cac1-az3"})


def eks_zones(region: str, zones: list[str], names: list[str], zone_ids: list[str]) -> list[str]:
    """``zones`` if each is an available zone of the account in ``region`` that EKS accepts."""
    ids = dict(zip(names, zone_ids))
    for z in zones:
        if z not in ids:
            raise ValueError(f"{z} is not an available zone of {region} in this account (zones: {', '.join(names)})")
        if ids[z] in EKS_UNSUPPORTED_ZONE_IDS:
            raise ValueError(f"{z} is zone {ids[z]} in this account, which EKS does not support: list other zones")
    return zones


def assume_role_policy(service: str, *, tag_session: bool = False) -> str:
    actions = ["sts:AssumeRole", "sts:TagSession"] if tag_session else "sts:AssumeRole"
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": actions}],
    })


def node_role(
    logical: str, attachment_prefix: str, role_name: str, opts: pulumi.ResourceOptions
) -> tuple[aws.iam.Role, list[aws.iam.RolePolicyAttachment]]:
    """An EC2 instance role with the managed policies every EKS node needs."""
    role = aws.iam.Role(logical, name=role_name, assume_role_policy=assume_role_policy("ec2.amazonaws.com"), opts=opts)
    attachments = [
        aws.iam.RolePolicyAttachment(f"{attachment_prefix}-{p}", role=role.name, policy_arn=MANAGED_POLICY + p, opts=opts)
        for p in NODE_POLICIES
    ]
    return role, attachments


class EksCluster(ManagedCluster):
    handle: ClusterHandle

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:clusters:EksCluster", name, args, opts)
        c, fleet, base = args.cluster, args.fleet, args.fleet.baseline
        child, stateful = self.child_opts, self.stateful_opts

        self.network = AwsNetwork(
            f"{name}-net", AwsNetworkArgs(cluster=c, provider=args.provider, nat_per_zone=base.nat_per_zone),
            opts=pulumi.ResourceOptions(parent=self),
        )

        # Control-plane logs land in a group we own, so retention is set rather than "never expire".
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane",
            name=f"/aws/eks/{c.name}/cluster",
            retention_in_days=90 if fleet.is_prod else 14,
            opts=stateful,  # the control plane's audit log
        )

        invoke = pulumi.InvokeOutputOptions(provider=args.provider, parent=self)
        identity = aws.get_caller_identity_output(opts=invoke)
        deployer = aws.iam.get_session_context_output(arn=identity.arn, opts=invoke).issuer_arn
        cluster_role = aws.iam.Role(
            f"{name}-cluster-role",
            name=naming.iam_role(c.name, "eks-cluster"),
            assume_role_policy=assume_role_policy("eks.amazonaws.com", tag_session=True),
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy", role=cluster_role.name, policy_arn=MANAGED_POLICY + "AmazonEKSClusterPolicy", opts=child
        )

        # Secrets envelope encryption with a customer-managed, rotating key.
        self.kms_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"EKS secrets encryption for {c.name}",
            enable_key_rotation=True,
            rotation_period_in_days=base.kms_rotation_days,
            deletion_window_in_days=30,
            policy=pulumi.Output.all(identity.account_id, deployer, cluster_role.arn).apply(lambda a: kms_key_policy(*a)),
            opts=stateful,
        )
        aws.kms.Alias(f"{name}-secrets", name=f"alias/eks/{c.name}-secrets", target_key_id=self.kms_key.key_id, opts=child)

        # The account's own zone-name -> zone-ID mapping, checked before the control plane asks for them.
        azs = aws.get_availability_zones_output(state="available", opts=invoke)
        checked_zones = pulumi.Output.all(azs.names, azs.zone_ids).apply(lambda a: eks_zones(c.region, list(c.zones), a[0], a[1]))
        subnet_ids = pulumi.Output.all(checked_zones, *self.network.private_subnet_ids).apply(lambda a: list(a[1:]))

        allowed = fleet.public_api_cidrs
        self.cluster = aws.eks.Cluster(
            f"{name}-eks",
            name=c.name,
            version=c.kubernetes_version,
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=subnet_ids,
                endpoint_private_access=base.private_endpoint,
                endpoint_public_access=bool(allowed),
                public_access_cidrs=allowed or None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(
                authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False
            ),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=self.kms_key.arn), resources=["secrets"]
            ),
            enabled_cluster_log_types=list(base.eks_log_types),
            kubernetes_network_config=aws.eks.ClusterKubernetesNetworkConfigArgs(
                service_ipv4_cidr=str(c.network.services), ip_family="ipv4"
            ),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            zonal_shift_config=aws.eks.ClusterZonalShiftConfigArgs(enabled=True),
            bootstrap_self_managed_addons=False,
            deletion_protection=base.deletion_protection,
            tags={"karpenter.sh/discovery": c.name},
            opts=protection.keep(fleet, child, depends_on=[cluster_policy, log_group]),
        )
        self.cluster_security_group_id = self.cluster.vpc_config.cluster_security_group_id

        # Managed add-ons (self-managed bootstrap is off). VPC CNI puts pods on the pod subnets.
        eni_subnets = {
            zone: {"id": sid, "securityGroups": [self.cluster_security_group_id]}
            for zone, sid in zip(self.network.pod_subnet_zones, self.network.pod_subnet_ids)
        }
        cni_config = pulumi.Output.from_input(eni_subnets).apply(
            lambda subnets: json.dumps({
                "env": {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true", "ENI_CONFIG_LABEL_DEF": "topology.kubernetes.io/zone"},
                # The VPC CNI enforces NetworkPolicy only when asked (its network policy agent);
                # without this the fleet's default-deny policies would be inert on EKS.
                "enableNetworkPolicy": "true",
                "eniConfig": {"create": True, "region": c.region, "subnets": subnets},
            }, sort_keys=True)
        )
        addons: dict[str, aws.eks.Addon] = {}
        addon_versions = EKS_ADDON_VERSIONS[c.kubernetes_version]
        # CoreDNS needs nodes to become ACTIVE, so it is added after the node group below.
        for addon in (a for a in EKS_ADDONS if a != "coredns"):
            addons[addon] = aws.eks.Addon(
                f"{name}-{addon}",
                cluster_name=self.cluster.name,
                addon_name=addon,
                addon_version=addon_versions[addon],
                configuration_values=cni_config if addon == "vpc-cni" else None,
                resolve_conflicts_on_create="OVERWRITE",
                resolve_conflicts_on_update="OVERWRITE",
                opts=child,
            )

        # Nodes: IMDSv2 only, encrypted gp3 root volumes, private subnets.
        self.node_role, node_policies = node_role(f"{name}-node-role", f"{name}-node", naming.iam_role(c.name, "eks-node"), child)
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-nodes",
            name_prefix=f"{c.name}-nodes-",
            update_default_version=True,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=base.imds_hop_limit,
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[
                aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                    device_name="/dev/xvda",
                    ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                        volume_size=c.nodes.disk_size_gb, volume_type="gp3",
                        encrypted=str(base.encrypted_node_volumes).lower(), delete_on_termination="true"
                    ),
                )
            ],
            tag_specifications=[
                aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="instance", tags={"Name": f"{c.name}-system"})
            ],
            opts=child,
        )
        self.node_group = aws.eks.NodeGroup(
            f"{name}-system",
            cluster_name=self.cluster.name,
            node_group_name=f"{c.name}-system",
            node_role_arn=self.node_role.arn,
            subnet_ids=self.network.private_subnet_ids,
            instance_types=[c.instance_type],
            ami_type="AL2023_x86_64_STANDARD",
            capacity_type="ON_DEMAND",
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=c.nodes.min_size, desired_size=c.nodes.desired_size, max_size=c.nodes.max_size
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=self.launch_template.id, version=self.launch_template.latest_version.apply(str)
            ),
            labels={"archipelago.io/pool": "system", **GATEWAY_NODE_LABELS},
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[*node_policies, addons["vpc-cni"]], ignore_changes=["scalingConfig.desiredSize"])
            ),
        )
        addons["coredns"] = aws.eks.Addon(
            f"{name}-coredns",
            cluster_name=self.cluster.name,
            addon_name="coredns",
            addon_version=addon_versions["coredns"],
            resolve_conflicts_on_create="OVERWRITE",
            # PRESERVE: an add-on update keeps the Corefile section the Submariner operator adds
            # for clusterset.local; OVERWRITE would drop it.
            resolve_conflicts_on_update="PRESERVE",
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.node_group])),
        )

        # EBS CSI driver (PersistentVolumeClaims on gp3), its controller on EKS Pod Identity.
        ebs_role = aws.iam.Role(
            f"{name}-ebs-csi-role", name=naming.iam_role(c.name, "ebs-csi"),
            assume_role_policy=assume_role_policy("pods.eks.amazonaws.com", tag_session=True), opts=child,
        )
        ebs_policy = aws.iam.RolePolicyAttachment(f"{name}-ebs-csi-policy", role=ebs_role.name, policy_arn=EBS_CSI_POLICY, opts=child)
        addons["aws-ebs-csi-driver"] = aws.eks.Addon(
            f"{name}-aws-ebs-csi-driver",
            cluster_name=self.cluster.name,
            addon_name="aws-ebs-csi-driver",
            addon_version=addon_versions["aws-ebs-csi-driver"],
            # EKS 1.30+ marks no StorageClass default: the add-on's gp3 class becomes the default so
            # PVCs without a class bind.
            configuration_values=json.dumps({"defaultStorageClass": {"enabled": True}}),
            pod_identity_associations=[aws.eks.AddonPodIdentityAssociationArgs(role_arn=ebs_role.arn, service_account=EBS_CSI_SA)],
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE",
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[self.node_group, addons["eks-pod-identity-agent"], ebs_policy])
            ),
        )

        # Who may use the API: access entries mapping IAM roles to Kubernetes groups (RBAC binds
        # the groups); cluster-admin groups also get the EKS admin access policy.
        for g in fleet.security.groups:
            if not g.aws_role_arn:
                continue
            slug = naming.access_entry_slug(g.name)
            entry = aws.eks.AccessEntry(
                f"{name}-access-{slug}",
                cluster_name=self.cluster.name,
                principal_arn=g.aws_role_arn,
                kubernetes_groups=[g.name],
                type="STANDARD",
                opts=child,
            )
            if g.cluster_role:
                aws.eks.AccessPolicyAssociation(
                    f"{name}-access-{slug}",
                    cluster_name=self.cluster.name,
                    principal_arn=g.aws_role_arn,
                    policy_arn=ADMIN_POLICY if g.cluster_role == "cluster-admin" else VIEW_POLICY,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[entry])),
                )

        # The identity running `pulumi up` installs everything inside the cluster. With API
        # authentication and no implicit creator admin it needs its own access entry: the IAM
        # role behind the caller's session (access entries take role ARNs, not sessions).
        deployer_entry = aws.eks.AccessEntry(
            f"{name}-access-deployer", cluster_name=self.cluster.name, principal_arn=deployer, type="STANDARD", opts=child
        )
        deployer_admin = aws.eks.AccessPolicyAssociation(
            f"{name}-access-deployer",
            cluster_name=self.cluster.name,
            principal_arn=deployer,
            policy_arn=ADMIN_POLICY,
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[deployer_entry])),
        )

        self._pod_identity_agent = addons["eks-pod-identity-agent"]
        endpoint = self.cluster.endpoint
        ca = self.cluster.certificate_authority.data
        self._finish(
            c,
            endpoint=endpoint,
            ca_data=ca,
            exec_config=kubeconfig.eks_exec(c.name, c.region),
            oidc_issuer=self.cluster.identities.apply(_oidc_issuer),
            account=identity.account_id,
            cloud_outputs={
                "vpcId": self.network.vpc_id,
                "clusterArn": self.cluster.arn,
                "clusterSecurityGroupId": self.cluster_security_group_id,
                "nodeRoleArn": self.node_role.arn,
                "privateSubnetIds": self.network.private_subnet_ids,
                "privateRouteTableIds": self.network.private_route_table_ids,
            },
            # The in-tree cloud provider's NLB: no AWS Load Balancer Controller is installed, and
            # it ignores Services annotated for that controller ("external"/target type "ip").
            lb_annotations={
                "internal": {
                    "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
                    "service.beta.kubernetes.io/aws-load-balancer-internal": "true",
                },
                "external": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
            },
            identity=self._bind_identity,
            provider_depends_on=[self.node_group, deployer_admin],
        )

    def _bind_identity(
        self, namespace: str, service_account: str, permissions: CloudPermissions, *, purpose: str, parent: pulumi.Resource
    ) -> WorkloadIdentity:
        """EKS Pod Identity: a role trusted by pods.eks.amazonaws.com, associated with NS/SA."""
        c = self.handle.spec
        child = pulumi.ResourceOptions(parent=parent, provider=self._cloud_provider)
        role = aws.iam.Role(
            f"{c.name}-{purpose}-role",
            name=naming.iam_role(c.name, purpose),
            assume_role_policy=assume_role_policy("pods.eks.amazonaws.com", tag_session=True),
            opts=child,
        )
        resources: list[pulumi.Resource] = [role]
        if permissions.aws_policy is not None:
            resources.append(aws.iam.RolePolicy(f"{c.name}-{purpose}-policy", role=role.id, policy=permissions.aws_policy(), opts=child))
        resources.append(aws.eks.PodIdentityAssociation(
            f"{c.name}-{purpose}-pod-identity",
            cluster_name=self.cluster.name,
            namespace=namespace,
            service_account=service_account,
            role_arn=role.arn,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self._pod_identity_agent])),
        ))
        return WorkloadIdentity(service_account_annotations={}, pod_labels={}, principal=role.arn, resources=resources)
