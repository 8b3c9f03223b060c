"""EKS: a hardened cluster with a managed node group on a launch template, returned as a handle."""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components import naming
from components.clusters import kubeconfig
from components.clusters.base import (
    DEFAULT_DISK_GB,
    POOL_LABEL,
    ManagedCluster,
    NodePoolArgs,
    check_choice,
    check_node_pool,
    node_pool_args,
)
from components.identity import AwsAccess, CloudPermissions, WorkloadIdentity
from components.network.aws import AwsNetwork
from components.tokens import component_type, renamed_from
from stacks.sections.connectivity import GATEWAY_NODE_LABELS
from stacks.spec import ClusterSpec, FleetSpec
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


EKS_LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
# The retention values CloudWatch Logs accepts: retentionInDays of PutRetentionPolicy,
# https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutRetentionPolicy.html
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)
CLUSTER_ROLES = ("cluster-admin", "view")


class EksAccessGroupArgs(TypedDict):
    """An IAM role whose sessions may use the Kubernetes API, as a member of a Kubernetes group."""

    name: str
    """The Kubernetes group the role's sessions join (RBAC binds it); the access entry's logical
    name is derived from it (the part before any '@', dots as '-')."""
    role_arn: pulumi.Input[str]
    """ARN of the IAM role (access entries take roles, not sessions or users of an SSO portal)."""
    cluster_role: NotRequired[str]
    """Also associate the EKS access policy for cluster-admin (AmazonEKSClusterAdminPolicy) or view
    (AmazonEKSViewPolicy), cluster-wide. Default: none (RBAC bindings alone decide)."""


class EksClusterArgs(TypedDict):
    """Inputs of an EksCluster: where it runs, its version and network, its nodes and hardening."""

    region: str
    """AWS region of the cluster, e.g. eu-west-1; the AWS provider (default or passed in the
    resource options) must be for the same region."""
    kubernetes_version: str
    """Kubernetes minor version, e.g. 1.35; one with pinned EKS add-on versions (stacks/versions.py)."""
    zones: list[str]
    """Availability zones of the subnets, e.g. [eu-west-1a, eu-west-1b]. Checked at plan time
    against the account's zone-name to zone-ID mapping: zones EKS refuses are rejected."""
    private_subnet_ids: pulumi.Input[list[pulumi.Input[str]]]
    """Private subnets (one per zone) for the control plane's network interfaces and the nodes."""
    service_cidr: pulumi.Input[str]
    """IPv4 CIDR Kubernetes Services get addresses from, e.g. 172.20.0.0/16; must not overlap
    the VPC. Immutable: a change replaces the cluster."""
    node_pool: NodePoolArgs
    """The system managed node group (AL2023, on-demand, on the private subnets)."""
    cluster_name: NotRequired[str]
    """The EKS cluster's name. Default: the component's name."""
    pod_subnet_ids: NotRequired[dict[str, pulumi.Input[str]]]
    """Zone -> subnet for pod addresses (VPC CNI custom networking, one ENIConfig per zone).
    Default: none, pods take addresses from the node subnets."""
    public_api_cidrs: NotRequired[list[str]]
    """CIDRs allowed to reach the public API endpoint. Default: none, the endpoint is private only."""
    private_endpoint: NotRequired[bool]
    """Reach the API server from inside the VPC. Default: true."""
    node_labels: NotRequired[dict[str, str]]
    """Extra Kubernetes labels on the system nodes (archipelago.io/pool=system is always set). Default: none."""
    log_types: NotRequired[list[str]]
    """Control-plane log types sent to CloudWatch, from api, audit, authenticator,
    controllerManager, scheduler. Default: all five."""
    log_retention_days: NotRequired[int]
    """Retention of the control-plane log group in days, one CloudWatch Logs accepts (1, 3, 5, 7,
    14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653).
    Default: 14."""
    kms_rotation_days: NotRequired[int]
    """Rotation period of the secrets-encryption KMS key, 90-2560 days. Default: 365."""
    imds_hop_limit: NotRequired[int]
    """IMDSv2 response hop limit on the nodes, 1-64 (1 keeps pods off the node's credentials). Default: 1."""
    encrypted_node_volumes: NotRequired[bool]
    """Encrypt the nodes' gp3 root volumes. Default: true."""
    deletion_protection: NotRequired[bool]
    """EKS deletion protection on the cluster. Default: true."""
    protect_stateful: NotRequired[bool]
    """Pulumi-protect what cannot be lost: the cluster, its secrets KMS key and the control-plane
    (audit) log group; a destroy or replacement must unprotect them first. Default: false."""
    deployer_path_ready: NotRequired[pulumi.Input[str]]
    """An Output that resolves once the deployer's network path to this API server exists (routes,
    links, the rule that admits it); the Kubernetes provider waits for it. Default: none (the
    deployer reaches the API server with no further resource)."""
    access_groups: NotRequired[list[EksAccessGroupArgs]]
    """IAM roles given access entries (Kubernetes groups) and optional EKS access policies. The
    identity running the deployment always gets cluster-admin. Default: none."""


def _check(args: EksClusterArgs) -> None:
    check_choice("kubernetesVersion", args["kubernetes_version"], list(EKS_ADDON_VERSIONS))
    if not args["zones"]:
        raise ValueError("zones: at least one availability zone is needed")
    check_node_pool(args["node_pool"])
    for t in args.get("log_types", EKS_LOG_TYPES):
        check_choice("logTypes", t, EKS_LOG_TYPES)
    retention = args.get("log_retention_days", 14)
    if retention not in LOG_RETENTION_DAYS:
        raise ValueError(f"logRetentionDays: {retention} is not a retention CloudWatch Logs accepts ({', '.join(map(str, LOG_RETENTION_DAYS))})")
    rotation = args.get("kms_rotation_days", 365)
    if not 90 <= rotation <= 2560:
        raise ValueError(f"kmsRotationDays: {rotation} is not between 90 and 2560")
    hops = args.get("imds_hop_limit", 1)
    if not 1 <= hops <= 64:
        raise ValueError(f"imdsHopLimit: {hops} is not between 1 and 64")
    for g in args.get("access_groups") or []:
        if "cluster_role" in g:
            check_choice(f"accessGroups[{g['name']}].clusterRole", g["cluster_role"], CLUSTER_ROLES)


def cni_configuration(region: str, pod_subnets: dict[str, pulumi.Input[str]], security_group: pulumi.Input[str]) -> pulumi.Output[str]:
    """The VPC CNI add-on's configuration: NetworkPolicy enforcement on (its network policy agent;
    without it default-deny policies are inert on EKS), and with pod subnets, custom networking
    with one ENIConfig per zone."""
    eni_subnets = {zone: {"id": sid, "securityGroups": [security_group]} for zone, sid in pod_subnets.items()}

    def render(subnets: dict[str, Any]) -> str:
        doc: dict[str, Any] = {"enableNetworkPolicy": "true"}
        if subnets:
            doc["env"] = {"AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG": "true", "ENI_CONFIG_LABEL_DEF": "topology.kubernetes.io/zone"}
            doc["eniConfig"] = {"create": True, "region": region, "subnets": subnets}
        return json.dumps(doc, sort_keys=True)

    return pulumi.Output.from_input(eni_subnets).apply(render)


class EksCluster(ManagedCluster):
    """An EKS cluster hardened by default: API authentication mode with access entries (no
    aws-auth ConfigMap, no implicit creator admin), secrets encrypted with a rotating
    customer-managed KMS key, control-plane logs with retention, managed add-ons (VPC CNI with
    NetworkPolicy, kube-proxy, CoreDNS, Pod Identity agent, EBS CSI with a default gp3 class), and a
    system managed node group on a launch template (IMDSv2 only, encrypted gp3 root volumes)."""

    cluster_name: pulumi.Output[str]
    """The EKS cluster's name."""
    endpoint: pulumi.Output[str]
    """HTTPS URL of the Kubernetes API server."""
    certificate_authority: pulumi.Output[str]
    """Base64 PEM of the API server's certificate authority."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (secret) for the cluster; it authenticates with `aws eks get-token`, which must
    be on PATH wherever it is used."""
    kubernetes_provider: pulumi.Output[k8s.Provider]
    """A Kubernetes provider for the cluster (server-side apply), usable once the nodes and the
    deployer's access entry exist."""
    oidc_issuer: pulumi.Output[str]
    """The cluster's OIDC issuer URL (service-account token issuer)."""
    cluster_arn: pulumi.Output[str]
    """ARN of the EKS cluster."""
    cluster_security_group_id: pulumi.Output[str]
    """The security group EKS created for the control plane and managed nodes."""
    node_role_arn: pulumi.Output[str]
    """ARN of the nodes' IAM role (for other node groups or Karpenter)."""

    def __init__(self, name: str, args: EksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(EksCluster), name, args, "aws", renamed_from("archipelago:clusters:EksCluster", opts))
        _check(args)
        invoke = self.invoke_opts()
        identity = aws.get_caller_identity_output(opts=invoke)
        deployer = aws.iam.get_session_context_output(arn=identity.arn, opts=invoke).issuer_arn
        subnet_ids = self._zone_checked_subnets(args)
        self.cluster = self._control_plane(name, args, identity.account_id, deployer, subnet_ids)
        addons = self._addons(name, args)
        self.node_group = self._nodes(name, args, addons["vpc-cni"])
        addons.update(self._late_addons(name, args, addons["eks-pod-identity-agent"]))
        self._pod_identity_agent = addons["eks-pod-identity-agent"]
        self._access_entries(name, args.get("access_groups") or [])
        deployer_admin = self._deployer_access(name, deployer)
        self._outputs(identity.account_id, args["region"], [self.node_group, deployer_admin])

    def _zone_checked_subnets(self, args: EksClusterArgs) -> pulumi.Output[list[str]]:
        """The private subnets, released only once the account's own zone-name -> zone-ID mapping
        shows every zone is one EKS accepts."""
        region, zones = args["region"], list(args["zones"])
        azs = aws.get_availability_zones_output(state="available", opts=self.invoke_opts())
        checked = pulumi.Output.all(azs.names, azs.zone_ids).apply(lambda a: eks_zones(region, zones, a[0], a[1]))
        return pulumi.Output.all(checked, pulumi.Output.from_input(args["private_subnet_ids"])).apply(lambda a: list(a[1]))

    def _control_plane(self, name: str, args: EksClusterArgs, account: pulumi.Output[str], deployer: pulumi.Output[str],
                       subnet_ids: pulumi.Output[list[str]]) -> aws.eks.Cluster:
        """Log group, cluster role, secrets key, and the cluster itself."""
        cname, child = self._cluster_name, self.child_opts
        # Control-plane logs land in a group we own, so retention is set rather than "never expire".
        log_group = aws.cloudwatch.LogGroup(
            f"{name}-control-plane", name=f"/aws/eks/{cname}/cluster", retention_in_days=args.get("log_retention_days", 14),
            opts=self.stateful_opts,  # the control plane's audit log
        )
        cluster_role = aws.iam.Role(
            f"{name}-cluster-role",
            name=naming.iam_role(cname, "eks-cluster"),
            assume_role_policy=assume_role_policy("eks.amazonaws.com", tag_session=True),
            opts=child,
        )
        cluster_policy = aws.iam.RolePolicyAttachment(
            f"{name}-cluster-policy", role=cluster_role.name, policy_arn=MANAGED_POLICY + "AmazonEKSClusterPolicy", opts=child
        )
        # Secrets envelope encryption with a customer-managed, rotating key.
        self.kms_key = aws.kms.Key(
            f"{name}-secrets",
            description=f"EKS secrets encryption for {cname}",
            enable_key_rotation=True,
            rotation_period_in_days=args.get("kms_rotation_days", 365),
            deletion_window_in_days=30,
            policy=pulumi.Output.all(account, deployer, cluster_role.arn).apply(lambda a: kms_key_policy(*a)),
            opts=self.stateful_opts,
        )
        aws.kms.Alias(f"{name}-secrets", name=f"alias/eks/{cname}-secrets", target_key_id=self.kms_key.key_id, opts=child)
        allowed = list(args.get("public_api_cidrs") or [])
        return aws.eks.Cluster(
            f"{name}-eks",
            name=cname,
            version=args["kubernetes_version"],
            role_arn=cluster_role.arn,
            vpc_config=aws.eks.ClusterVpcConfigArgs(
                subnet_ids=subnet_ids,
                endpoint_private_access=args.get("private_endpoint", True),
                endpoint_public_access=bool(allowed),
                public_access_cidrs=allowed or None,
            ),
            access_config=aws.eks.ClusterAccessConfigArgs(authentication_mode="API", bootstrap_cluster_creator_admin_permissions=False),
            encryption_config=aws.eks.ClusterEncryptionConfigArgs(
                provider=aws.eks.ClusterEncryptionConfigProviderArgs(key_arn=self.kms_key.arn), resources=["secrets"]
            ),
            enabled_cluster_log_types=list(args.get("log_types", EKS_LOG_TYPES)),
            kubernetes_network_config=aws.eks.ClusterKubernetesNetworkConfigArgs(service_ipv4_cidr=args["service_cidr"], ip_family="ipv4"),
            upgrade_policy=aws.eks.ClusterUpgradePolicyArgs(support_type="STANDARD"),
            zonal_shift_config=aws.eks.ClusterZonalShiftConfigArgs(enabled=True),
            bootstrap_self_managed_addons=False,
            deletion_protection=args.get("deletion_protection", True),
            tags={"karpenter.sh/discovery": cname},
            opts=pulumi.ResourceOptions.merge(self.stateful_opts, pulumi.ResourceOptions(depends_on=[cluster_policy, log_group])),
        )

    def _addon(self, name: str, addon: str, version: str, *, depends_on: list[pulumi.Resource] | None = None,
               on_update: str = "OVERWRITE", **kwargs: Any) -> aws.eks.Addon:
        return aws.eks.Addon(
            f"{name}-{addon}",
            cluster_name=self.cluster.name,
            addon_name=addon,
            addon_version=version,
            resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update=on_update,
            opts=pulumi.ResourceOptions.merge(self.child_opts, pulumi.ResourceOptions(depends_on=depends_on or [])),
            **kwargs,
        )

    def _addons(self, name: str, args: EksClusterArgs) -> dict[str, aws.eks.Addon]:
        """Managed add-ons that need no nodes (self-managed bootstrap is off)."""
        self._addon_versions = EKS_ADDON_VERSIONS[args["kubernetes_version"]]
        cni = cni_configuration(args["region"], dict(args.get("pod_subnet_ids") or {}), self.cluster.vpc_config.cluster_security_group_id)
        # CoreDNS needs nodes to become ACTIVE, so it is added after the node group.
        return {
            addon: self._addon(name, addon, self._addon_versions[addon], configuration_values=cni if addon == "vpc-cni" else None)
            for addon in EKS_ADDONS if addon != "coredns"
        }

    def _nodes(self, name: str, args: EksClusterArgs, cni: aws.eks.Addon) -> aws.eks.NodeGroup:
        """The system node group: IMDSv2 only, encrypted gp3 root volumes, private subnets."""
        cname, child, pool = self._cluster_name, self.child_opts, args["node_pool"]
        self.node_role, node_policies = node_role(f"{name}-node-role", f"{name}-node", naming.iam_role(cname, "eks-node"), child)
        self.launch_template = aws.ec2.LaunchTemplate(
            f"{name}-nodes",
            name_prefix=f"{cname}-nodes-",
            update_default_version=True,
            metadata_options=aws.ec2.LaunchTemplateMetadataOptionsArgs(
                http_endpoint="enabled", http_tokens="required", http_put_response_hop_limit=args.get("imds_hop_limit", 1),
                instance_metadata_tags="disabled",
            ),
            block_device_mappings=[aws.ec2.LaunchTemplateBlockDeviceMappingArgs(
                device_name="/dev/xvda",
                ebs=aws.ec2.LaunchTemplateBlockDeviceMappingEbsArgs(
                    volume_size=pool.get("disk_size_gb", DEFAULT_DISK_GB), volume_type="gp3",
                    encrypted=str(args.get("encrypted_node_volumes", True)).lower(), delete_on_termination="true",
                ),
            )],
            tag_specifications=[aws.ec2.LaunchTemplateTagSpecificationArgs(resource_type="instance", tags={"Name": f"{cname}-system"})],
            opts=child,
        )
        return aws.eks.NodeGroup(
            f"{name}-system",
            cluster_name=self.cluster.name,
            node_group_name=f"{cname}-system",
            node_role_arn=self.node_role.arn,
            subnet_ids=args["private_subnet_ids"],
            instance_types=[pool["instance_type"]],
            ami_type="AL2023_x86_64_STANDARD",
            capacity_type="ON_DEMAND",
            scaling_config=aws.eks.NodeGroupScalingConfigArgs(
                min_size=pool["min_size"], desired_size=pool["desired_size"], max_size=pool["max_size"]
            ),
            update_config=aws.eks.NodeGroupUpdateConfigArgs(max_unavailable=1),
            launch_template=aws.eks.NodeGroupLaunchTemplateArgs(
                id=self.launch_template.id, version=self.launch_template.latest_version.apply(str)
            ),
            labels={POOL_LABEL: "system", **(args.get("node_labels") or {})},
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[*node_policies, cni], ignore_changes=["scalingConfig.desiredSize"])
            ),
        )

    def _late_addons(self, name: str, args: EksClusterArgs, pod_identity: aws.eks.Addon) -> dict[str, aws.eks.Addon]:
        """CoreDNS, and the EBS CSI driver (PersistentVolumeClaims on gp3) with its controller on
        EKS Pod Identity: both need nodes."""
        child = self.child_opts
        # PRESERVE: an add-on update keeps the Corefile section the Submariner operator adds for
        # clusterset.local; OVERWRITE would drop it.
        out = {"coredns": self._addon(name, "coredns", self._addon_versions["coredns"], depends_on=[self.node_group],
                                      on_update="PRESERVE")}
        ebs_role = aws.iam.Role(
            f"{name}-ebs-csi-role", name=naming.iam_role(self._cluster_name, "ebs-csi"),
            assume_role_policy=assume_role_policy("pods.eks.amazonaws.com", tag_session=True), opts=child,
        )
        ebs_policy = aws.iam.RolePolicyAttachment(f"{name}-ebs-csi-policy", role=ebs_role.name, policy_arn=EBS_CSI_POLICY, opts=child)
        out["aws-ebs-csi-driver"] = self._addon(
            name, "aws-ebs-csi-driver", self._addon_versions["aws-ebs-csi-driver"],
            depends_on=[self.node_group, pod_identity, ebs_policy],
            # EKS 1.30+ marks no StorageClass default: the add-on's gp3 class becomes the default so
            # PVCs without a class bind.
            configuration_values=json.dumps({"defaultStorageClass": {"enabled": True}}),
            pod_identity_associations=[aws.eks.AddonPodIdentityAssociationArgs(role_arn=ebs_role.arn, service_account=EBS_CSI_SA)],
        )
        return out

    def _access_entries(self, name: str, groups: list[EksAccessGroupArgs]) -> None:
        """Access entries mapping IAM roles to Kubernetes groups (RBAC binds the groups);
        cluster-admin/view groups also get the matching EKS access policy."""
        for g in groups:
            slug = naming.access_entry_slug(g["name"])
            entry = aws.eks.AccessEntry(
                f"{name}-access-{slug}", cluster_name=self.cluster.name, principal_arn=g["role_arn"],
                kubernetes_groups=[g["name"]], type="STANDARD", opts=self.child_opts,
            )
            role = g.get("cluster_role")
            if role:
                aws.eks.AccessPolicyAssociation(
                    f"{name}-access-{slug}",
                    cluster_name=self.cluster.name,
                    principal_arn=g["role_arn"],
                    policy_arn=ADMIN_POLICY if role == "cluster-admin" else VIEW_POLICY,
                    access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
                    opts=pulumi.ResourceOptions.merge(self.child_opts, pulumi.ResourceOptions(depends_on=[entry])),
                )

    def _deployer_access(self, name: str, deployer: pulumi.Output[str]) -> aws.eks.AccessPolicyAssociation:
        """The identity running the deployment installs everything inside the cluster. With API
        authentication and no implicit creator admin it needs its own access entry: the IAM role
        behind the caller's session (access entries take role ARNs, not sessions)."""
        entry = aws.eks.AccessEntry(
            f"{name}-access-deployer", cluster_name=self.cluster.name, principal_arn=deployer, type="STANDARD", opts=self.child_opts
        )
        return aws.eks.AccessPolicyAssociation(
            f"{name}-access-deployer",
            cluster_name=self.cluster.name,
            principal_arn=deployer,
            policy_arn=ADMIN_POLICY,
            access_scope=aws.eks.AccessPolicyAssociationAccessScopeArgs(type="cluster"),
            opts=pulumi.ResourceOptions.merge(self.child_opts, pulumi.ResourceOptions(depends_on=[entry])),
        )

    def _outputs(self, account: pulumi.Output[str], region: str, provider_depends_on: list[pulumi.Resource]) -> None:
        self.cluster_name = self.cluster.name
        self.endpoint = self.cluster.endpoint
        self.certificate_authority = self.cluster.certificate_authority.data
        self.kubeconfig = self._connect(
            self._cluster_name, endpoint=self.endpoint, ca_data=self.certificate_authority,
            exec_config=kubeconfig.eks_exec(self._cluster_name, region), provider_depends_on=provider_depends_on,
        )
        self.kubernetes_provider = pulumi.Output.from_input(self.k8s_provider)
        self.oidc_issuer = self.cluster.identities.apply(_oidc_issuer)
        self.cluster_arn = self.cluster.arn
        self.cluster_security_group_id = self.cluster.vpc_config.cluster_security_group_id
        self.node_role_arn = self.node_role.arn
        self.account = account  # AWS account id (Python only, for the fleet's handle)
        self.cloud_outputs = {"clusterArn": self.cluster_arn, "clusterSecurityGroupId": self.cluster_security_group_id,
                              "nodeRoleArn": self.node_role_arn}
        # The in-tree cloud provider's NLB: no AWS Load Balancer Controller is installed, and it
        # ignores Services annotated for that controller ("external"/target type "ip").
        self.lb_annotations = {
            "internal": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
                         "service.beta.kubernetes.io/aws-load-balancer-internal": "true"},
            "external": {"service.beta.kubernetes.io/aws-load-balancer-type": "nlb"},
        }
        # Python only: the cluster's workload identity, for the fleet's handle.
        self.workload_identity = EksPodIdentity(self._name, self._cluster_name, self.cluster.name, self._pod_identity_agent,
                                                self._cloud_provider)
        self.register_declared_outputs()


@dataclass
class EksPodIdentity:
    """Workload identity on EKS (a :class:`~components.identity.WorkloadIdentityBinder`): EKS Pod
    Identity, a role trusted by pods.eks.amazonaws.com associated with the service account; the
    cluster's Pod Identity agent hands the pod its credentials (no annotation, no token volume).
    AWS is this cluster's own cloud, so ``bind_aws`` is the same association."""

    name: str  # the cluster component's name: logical names start with it
    cluster_name: str  # the cluster's own name: IAM role names start with it
    cluster: pulumi.Input[str]  # the EKS cluster's name as its output (associations wait for the cluster)
    agent: pulumi.Resource | None = None  # the eks-pod-identity-agent add-on, which associations need running
    provider: pulumi.ProviderResource | None = None  # the cluster's AWS provider (None: the default one)

    def bind(self, namespace: str, service_account: str, permissions: CloudPermissions, *, purpose: str,
             parent: pulumi.Resource, opts: pulumi.ResourceOptions | None = None) -> WorkloadIdentity:
        child = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=parent, provider=self.provider), opts)
        role = aws.iam.Role(
            f"{self.name}-{purpose}-role",
            name=naming.iam_role(self.cluster_name, purpose),
            assume_role_policy=assume_role_policy("pods.eks.amazonaws.com", tag_session=True),
            opts=child,
        )
        resources: list[pulumi.Resource] = [role]
        if permissions.aws_policy is not None:
            resources.append(aws.iam.RolePolicy(f"{self.name}-{purpose}-policy", role=role.id, policy=permissions.aws_policy(), opts=child))
        resources.append(aws.eks.PodIdentityAssociation(
            f"{self.name}-{purpose}-pod-identity",
            cluster_name=self.cluster,
            namespace=namespace,
            service_account=service_account,
            role_arn=role.arn,
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(depends_on=[self.agent] if self.agent else [])),
        ))
        return WorkloadIdentity(service_account_annotations={}, pod_labels={}, principal=role.arn, resources=resources)

    def bind_aws(self, namespace: str, service_account: str, policy: pulumi.Input[str], *, purpose: str,
                 parent: pulumi.Resource, aws_provider: pulumi.ProviderResource) -> WorkloadIdentity:
        return self.bind(namespace, service_account, CloudPermissions(aws_policy=lambda: policy), purpose=purpose, parent=parent)

    def aws_access(self, aws_provider: pulumi.ProviderResource) -> AwsAccess:
        return AwsAccess(provider=self.provider, eks_cluster_name=self.cluster, ready=[self.agent] if self.agent else [])


def eks_cluster_args(cluster: ClusterSpec, fleet: FleetSpec, network: AwsNetwork) -> EksClusterArgs:
    """The fleet's cluster and baseline as an EksCluster's args, on the cluster's own network."""
    base = fleet.baseline
    private_subnets: list[pulumi.Input[str]] = [s.id for s in network.private_subnets]
    return EksClusterArgs(
        region=cluster.region,
        kubernetes_version=cluster.kubernetes_version,
        zones=list(cluster.zones),
        private_subnet_ids=private_subnets,
        pod_subnet_ids={zone: s.id for zone, s in network.pod_subnets.items()},
        service_cidr=str(cluster.network.services),
        node_pool=node_pool_args(cluster),
        public_api_cidrs=list(fleet.public_api_cidrs),
        private_endpoint=base.private_endpoint,
        node_labels=dict(GATEWAY_NODE_LABELS),
        log_types=list(base.eks_log_types),
        log_retention_days=90 if fleet.is_prod else 14,
        kms_rotation_days=base.kms_rotation_days,
        imds_hop_limit=base.imds_hop_limit,
        encrypted_node_volumes=base.encrypted_node_volumes,
        deletion_protection=base.deletion_protection,
        protect_stateful=base.protect_stateful,
        access_groups=[
            EksAccessGroupArgs(name=g.name, role_arn=g.aws_role_arn, **({"cluster_role": g.cluster_role} if g.cluster_role else {}))
            for g in fleet.security.groups if g.aws_role_arn
        ],
    )
