"""GKE: a hardened private cluster (no default node pool) plus a managed node pool, returned as a handle."""

from dataclasses import dataclass
from typing import NotRequired, TypedDict

import pulumi
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s

from components import naming
from components.clusters import kubeconfig
from components.clusters.base import (
    DEFAULT_DISK_GB,
    POOL_LABEL,
    MaintenanceWindowArgs,
    ManagedCluster,
    NodePoolArgs,
    check_choice,
    check_maintenance,
    check_node_pool,
    maintenance_args,
    node_pool_args,
)
from components.identity import AwsWebIdentity, CloudPermissions, WorkloadIdentity
from components.network.gcp import PODS_RANGE, SERVICES_RANGE, GcpNetwork
from components.tokens import component_type, renamed_from
from stacks.ports import fleet_space_sources
from stacks.sections.connectivity import GATEWAY_NODE_LABELS
from stacks.sections.maintenance import gke_recurring_window
from stacks.spec import ClusterSpec, FleetSpec

NODE_ROLES = ("roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader")
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
LOG_COMPONENTS = ["SYSTEM_COMPONENTS", "APISERVER", "CONTROLLER_MANAGER", "SCHEDULER", "WORKLOADS"]


RELEASE_CHANNELS = ("UNSPECIFIED", "RAPID", "REGULAR", "STABLE", "EXTENDED")
BINARY_AUTHORIZATION_MODES = ("DISABLED", "PROJECT_SINGLETON_POLICY_ENFORCE")
SECURITY_POSTURE_MODES = ("DISABLED", "BASIC", "ENTERPRISE")
VULNERABILITY_MODES = ("VULNERABILITY_DISABLED", "VULNERABILITY_ENTERPRISE")


def node_config(instance_type: pulumi.Input[str], disk_size_gb: int, service_account: pulumi.Input[str], pool: str, *,
                spot: bool = False, labels: dict[str, str] | None = None) -> gcp.container.NodePoolNodeConfigArgs:
    """Hardened node settings shared by every node pool created on GKE."""
    return gcp.container.NodePoolNodeConfigArgs(
        machine_type=instance_type,
        disk_size_gb=disk_size_gb,
        disk_type="pd-balanced",
        image_type="COS_CONTAINERD",
        spot=spot or None,
        shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
            enable_secure_boot=True, enable_integrity_monitoring=True
        ),
        workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
        labels={POOL_LABEL: pool, **(labels or {})},
        service_account=service_account,
        oauth_scopes=[CLOUD_PLATFORM_SCOPE],
    )


def node_pool_config(
    c: ClusterSpec, service_account: pulumi.Input[str], pool: str, *, spot: bool = False, labels: dict[str, str] | None = None
) -> gcp.container.NodePoolNodeConfigArgs:
    """:func:`node_config` for a fleet cluster's machine type and disk (the fleet's extra pools)."""
    return node_config(c.instance_type, c.nodes.disk_size_gb, service_account, pool, spot=spot, labels=labels)


# The purpose of a reserved address an internal passthrough load balancer is pinned to (see reserve).
ILB_ADDRESS_PURPOSE = "SHARED_LOADBALANCER_VIP"


class GkeAutoProvisioningArgs(TypedDict):
    """Node auto-provisioning: GKE creates node pools for pending pods within these limits."""

    cpu: int
    """Most vCPUs across all nodes, at least 1."""
    memory_gb: int
    """Most memory across all nodes, in GB, at least 1."""
    optimize_utilization: NotRequired[bool]
    """Scale down aggressively (the OPTIMIZE_UTILIZATION profile) instead of BALANCED. Default: false."""


def auto_provisioning(cfg: GkeAutoProvisioningArgs, zones: list[str], service_account: pulumi.Input[str]
                      ) -> gcp.container.ClusterClusterAutoscalingArgs:
    """Node auto-provisioning: pools run as the nodes' least-privilege service account, shielded,
    auto-repaired and auto-upgraded, inside the CPU/memory ceiling."""
    return gcp.container.ClusterClusterAutoscalingArgs(
        enabled=True,
        autoscaling_profile="OPTIMIZE_UTILIZATION" if cfg.get("optimize_utilization") else "BALANCED",
        resource_limits=[
            gcp.container.ClusterClusterAutoscalingResourceLimitArgs(resource_type="cpu", minimum=0, maximum=cfg["cpu"]),
            gcp.container.ClusterClusterAutoscalingResourceLimitArgs(resource_type="memory", minimum=0, maximum=cfg["memory_gb"]),
        ],
        auto_provisioning_locations=list(zones) or None,
        auto_provisioning_defaults=gcp.container.ClusterClusterAutoscalingAutoProvisioningDefaultsArgs(
            service_account=service_account,
            oauth_scopes=[CLOUD_PLATFORM_SCOPE],
            disk_type="pd-balanced",
            image_type="COS_CONTAINERD",
            shielded_instance_config=gcp.container.ClusterClusterAutoscalingAutoProvisioningDefaultsShieldedInstanceConfigArgs(
                enable_secure_boot=True, enable_integrity_monitoring=True
            ),
            management=gcp.container.ClusterClusterAutoscalingAutoProvisioningDefaultsManagementArgs(auto_repair=True, auto_upgrade=True),
        ),
    )


def maintenance_policy(window: MaintenanceWindowArgs) -> gcp.container.ClusterMaintenancePolicyArgs:
    """Auto-upgrades only inside the weekly window."""
    start, end, rrule = gke_recurring_window(window["day"], window["start_utc"], window["duration_hours"])
    return gcp.container.ClusterMaintenancePolicyArgs(
        recurring_window=gcp.container.ClusterMaintenancePolicyRecurringWindowArgs(start_time=start, end_time=end, recurrence=rrule)
    )


class GkeClusterArgs(TypedDict):
    """Inputs of a GkeCluster: where it runs, its version and network, its nodes and hardening."""

    project: str
    """The GCP project of the cluster (its workload identity pool is <project>.svc.id.goog)."""
    region: str
    """GCP region of the (regional) cluster, e.g. europe-west1."""
    kubernetes_version: pulumi.Input[str]
    """Minimum control-plane version, e.g. 1.35; the release channel upgrades from there."""
    network_id: pulumi.Input[str]
    """The VPC network."""
    subnetwork_id: pulumi.Input[str]
    """The subnetwork of the nodes, with secondary ranges for pods and Services."""
    vpc_cidr: pulumi.Input[str]
    """The subnetwork's primary range, authorized on the API server (display name cluster-vpc)."""
    control_plane_cidr: pulumi.Input[str]
    """A /28 for the control plane's private endpoint, unused elsewhere. Immutable."""
    node_pool: NodePoolArgs
    """The system node pool (sizes are cluster-wide totals; per-zone counts are derived)."""
    zones: NotRequired[list[str]]
    """Zones of the nodes and of auto-provisioned pools. Default: GKE's choice of the region's zones."""
    cluster_name: NotRequired[str]
    """The GKE cluster's name. Default: the component's name."""
    pods_range_name: NotRequired[str]
    """Name of the subnetwork's secondary range for pods. Default: pods."""
    services_range_name: NotRequired[str]
    """Name of the subnetwork's secondary range for Services. Default: services."""
    public_api_cidrs: NotRequired[list[str]]
    """CIDRs authorized on the public endpoint (display names allowed-N). Default: none, the
    endpoint is private."""
    peer_cidrs: NotRequired[list[str]]
    """Other networks that call this API server over private routes, e.g. other clusters'
    ranges (display names fleet-<cidr>). Default: none."""
    node_labels: NotRequired[dict[str, str]]
    """Extra Kubernetes labels on the system nodes (archipelago.io/pool=system is always set). Default: none."""
    release_channel: NotRequired[str]
    """UNSPECIFIED, RAPID, REGULAR, STABLE or EXTENDED. Default: REGULAR."""
    binary_authorization: NotRequired[str]
    """Binary Authorization evaluation mode: DISABLED or PROJECT_SINGLETON_POLICY_ENFORCE.
    Default: PROJECT_SINGLETON_POLICY_ENFORCE."""
    security_posture: NotRequired[str]
    """Security posture mode: DISABLED, BASIC or ENTERPRISE. Default: BASIC."""
    vulnerability_mode: NotRequired[str]
    """Workload vulnerability scanning: VULNERABILITY_DISABLED or VULNERABILITY_ENTERPRISE.
    Default: VULNERABILITY_DISABLED."""
    security_group: NotRequired[str]
    """Google Groups for RBAC: the gke-security-groups@<domain> group. Default: none."""
    vertical_pod_autoscaling: NotRequired[bool]
    """Turn on GKE's built-in Vertical Pod Autoscaler, so VerticalPodAutoscaler objects work
    without installing one. Default: true."""
    maintenance: NotRequired[MaintenanceWindowArgs]
    """Weekly window for auto-upgrades. Default: none (GKE upgrades at any time)."""
    auto_provisioning: NotRequired[GkeAutoProvisioningArgs]
    """Node auto-provisioning limits. Default: off."""
    kms_rotation_days: NotRequired[int]
    """Rotation period of the secrets-encryption key, in days. Default: 365."""
    deletion_protection: NotRequired[bool]
    """The provider's deletion protection on the cluster. Default: true."""
    protect_stateful: NotRequired[bool]
    """Pulumi-protect what cannot be lost: the cluster and its KMS key ring and key. Default: false."""
    deployer_path_ready: NotRequired[pulumi.Input[str]]
    """An Output that resolves once the deployer's network path to this API server exists (routes,
    links, the rule that admits it); the Kubernetes provider waits for it. Default: none (the
    deployer reaches the API server with no further resource)."""


def _check(args: GkeClusterArgs) -> None:
    check_node_pool(args["node_pool"])
    check_choice("releaseChannel", args.get("release_channel", "REGULAR"), RELEASE_CHANNELS)
    check_choice("binaryAuthorization", args.get("binary_authorization", "PROJECT_SINGLETON_POLICY_ENFORCE"), BINARY_AUTHORIZATION_MODES)
    check_choice("securityPosture", args.get("security_posture", "BASIC"), SECURITY_POSTURE_MODES)
    check_choice("vulnerabilityMode", args.get("vulnerability_mode", "VULNERABILITY_DISABLED"), VULNERABILITY_MODES)
    if "maintenance" in args:
        check_maintenance(args["maintenance"])
    if not args["project"]:
        raise ValueError("project: a GCP project id is needed")


def authorized_networks(args: GkeClusterArgs) -> gcp.container.ClusterMasterAuthorizedNetworksConfigArgs:
    """The VPC, the public CIDRs and the peers: nothing else reaches the API server."""
    block = gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs
    blocks = [block(cidr_block=args["vpc_cidr"], display_name="cluster-vpc")]
    blocks += [block(cidr_block=cidr, display_name=f"allowed-{i}") for i, cidr in enumerate(args.get("public_api_cidrs") or [])]
    # Other clusters' ranges: fleet links call this API server.
    # Named by the range, not its position: reordering the list changes no entry.
    blocks += [block(cidr_block=cidr, display_name=f"fleet-{cidr}") for cidr in args.get("peer_cidrs") or []]
    return gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(cidr_blocks=blocks, gcp_public_cidrs_access_enabled=False)


def private_cluster(args: GkeClusterArgs) -> gcp.container.ClusterPrivateClusterConfigArgs:
    """Private nodes always; a private endpoint unless public CIDRs are authorized."""
    return gcp.container.ClusterPrivateClusterConfigArgs(
        enable_private_nodes=True,
        enable_private_endpoint=not args.get("public_api_cidrs"),
        master_ipv4_cidr_block=args["control_plane_cidr"],
        master_global_access_config=gcp.container.ClusterPrivateClusterConfigMasterGlobalAccessConfigArgs(enabled=True),
    )


class GkeCluster(ManagedCluster):
    """A private, regional GKE cluster hardened by default: private nodes, authorized networks
    only, Workload Identity, Dataplane V2 (NetworkPolicy enforced), secrets encrypted with a
    rotating Cloud KMS key, shielded nodes running as a least-privilege service account, Binary
    Authorization and security posture, no default node pool, and a system node pool."""

    cluster_name: pulumi.Output[str]
    """The GKE cluster's name."""
    endpoint: pulumi.Output[str]
    """HTTPS URL of the Kubernetes API server."""
    certificate_authority: pulumi.Output[str]
    """Base64 PEM of the API server's certificate authority."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (secret) for the cluster; it authenticates with gke-gcloud-auth-plugin, which
    must be on PATH wherever it is used."""
    kubernetes_provider: pulumi.Output[k8s.Provider]
    """A Kubernetes provider for the cluster (server-side apply), usable once the system pool exists."""
    oidc_issuer: pulumi.Output[str]
    """The cluster's OIDC issuer URL."""
    cluster_id: pulumi.Output[str]
    """The cluster's id (projects/<project>/locations/<region>/clusters/<name>)."""
    node_service_account: pulumi.Output[str]
    """E-mail of the nodes' service account (for other node pools)."""
    workload_pool: pulumi.Output[str]
    """The Workload Identity pool, <project>.svc.id.goog, read from the cluster so users wait for it."""

    def __init__(self, name: str, args: GkeClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(GkeCluster), name, args, "gcp", renamed_from("archipelago:clusters:GkeCluster", opts))
        _check(args)
        self._project = args["project"]
        project_info = gcp.organizations.get_project_output(project_id=self._project, opts=self.invoke_opts())
        kms_grant, key = self._kms(name, args, project_info.number)
        node_roles = self._node_identity(name)
        self.cluster = self._gke(name, args, key, [kms_grant, *node_roles])
        self.node_pool = self._system_pool(name, args)
        self._outputs(args)

    def _kms(self, name: str, args: GkeClusterArgs, project_number: pulumi.Output[str]) -> tuple[pulumi.Resource, gcp.kms.CryptoKey]:
        """Application-layer secrets encryption with a rotating Cloud KMS key. Key rings and keys
        can never be deleted: a re-created stack would get 409 on the same name, so the ring's name
        carries a random suffix (stable in state, new after destroy)."""
        cname, stateful = self._cluster_name, self.stateful_opts
        suffix = self.name_suffix()
        key_ring = gcp.kms.KeyRing(f"{name}-kms", name=suffix.apply(lambda s: f"{cname}-gke-{s}"), location=args["region"], opts=stateful)
        key = gcp.kms.CryptoKey(
            f"{name}-secrets",
            name="etcd-secrets",
            key_ring=key_ring.id,
            rotation_period=f"{args.get('kms_rotation_days', 365) * 86400}s",
            purpose="ENCRYPT_DECRYPT",
            opts=stateful,
        )
        grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-secrets-gke-agent",
            crypto_key_id=key.id,
            role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member=project_number.apply(lambda n: f"serviceAccount:service-{n}@container-engine-robot.iam.gserviceaccount.com"),
            opts=self.child_opts,
        )
        return grant, key

    def _node_identity(self, name: str) -> list[pulumi.Resource]:
        """Nodes run as a least-privilege service account, never the default compute one."""
        self.node_sa = gcp.serviceaccount.Account(
            f"{name}-nodes", account_id=naming.gcp_service_account(self._cluster_name, "nodes"),
            display_name=f"GKE nodes of {self._cluster_name}", opts=self.child_opts,
        )
        return [
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.split('/')[-1]}", project=self._project, role=role,
                member=self.node_sa.email.apply(lambda e: f"serviceAccount:{e}"), opts=self.child_opts,
            )
            for role in NODE_ROLES
        ]

    def _gke(self, name: str, args: GkeClusterArgs, key: gcp.kms.CryptoKey, depends_on: list[pulumi.Resource]) -> gcp.container.Cluster:
        zones = list(args.get("zones") or [])
        group = args.get("security_group")
        window = args.get("maintenance")
        nap = args.get("auto_provisioning")
        return gcp.container.Cluster(
            f"{name}-gke",
            name=self._cluster_name,
            location=args["region"],
            node_locations=zones or None,
            network=args["network_id"],
            subnetwork=args["subnetwork_id"],
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config=gcp.container.ClusterNodeConfigArgs(
                shielded_instance_config=gcp.container.ClusterNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
                workload_metadata_config=gcp.container.ClusterNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
                service_account=self.node_sa.email,
                oauth_scopes=[CLOUD_PLATFORM_SCOPE],
            ),
            min_master_version=args["kubernetes_version"],
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=args.get("release_channel", "REGULAR")),
            networking_mode="VPC_NATIVE",
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=args.get("pods_range_name", PODS_RANGE),
                services_secondary_range_name=args.get("services_range_name", SERVICES_RANGE),
            ),
            private_cluster_config=private_cluster(args),
            master_authorized_networks_config=authorized_networks(args),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(workload_pool=f"{self._project}.svc.id.goog"),
            # GKE's built-in Vertical Pod Autoscaler.
            vertical_pod_autoscaling=gcp.container.ClusterVerticalPodAutoscalingArgs(enabled=True)
            if args.get("vertical_pod_autoscaling", True) else None,
            # Dataplane V2 enforces NetworkPolicy itself; network_policy must stay unset with it.
            datapath_provider="ADVANCED_DATAPATH",
            database_encryption=gcp.container.ClusterDatabaseEncryptionArgs(state="ENCRYPTED", key_name=key.id),
            binary_authorization=gcp.container.ClusterBinaryAuthorizationArgs(
                evaluation_mode=args.get("binary_authorization", "PROJECT_SINGLETON_POLICY_ENFORCE")
            ),
            security_posture_config=gcp.container.ClusterSecurityPostureConfigArgs(
                mode=args.get("security_posture", "BASIC"), vulnerability_mode=args.get("vulnerability_mode", "VULNERABILITY_DISABLED")
            ),
            maintenance_policy=maintenance_policy(window) if window else None,
            enable_shielded_nodes=True,
            enable_legacy_abac=False,
            master_auth=gcp.container.ClusterMasterAuthArgs(
                client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(issue_client_certificate=False)
            ),
            authenticator_groups_config=gcp.container.ClusterAuthenticatorGroupsConfigArgs(security_group=group) if group else None,
            logging_config=gcp.container.ClusterLoggingConfigArgs(enable_components=LOG_COMPONENTS),
            addons_config=gcp.container.ClusterAddonsConfigArgs(
                gce_persistent_disk_csi_driver_config=gcp.container.ClusterAddonsConfigGcePersistentDiskCsiDriverConfigArgs(enabled=True),
                http_load_balancing=gcp.container.ClusterAddonsConfigHttpLoadBalancingArgs(disabled=False),
            ),
            cluster_autoscaling=auto_provisioning(nap, zones, self.node_sa.email) if nap else None,
            deletion_protection=args.get("deletion_protection", True),
            resource_labels={"archipelago-cluster": self._cluster_name},
            opts=pulumi.ResourceOptions.merge(self.stateful_opts, pulumi.ResourceOptions(depends_on=depends_on)),
        )

    def _system_pool(self, name: str, args: GkeClusterArgs) -> gcp.container.NodePool:
        pool, zones = args["node_pool"], list(args.get("zones") or [])
        return gcp.container.NodePool(
            f"{name}-system",
            name="system",
            cluster=self.cluster.id,
            location=args["region"],
            # A regional pool's per-zone counts multiply by its zones: size the pool in totals.
            initial_node_count=max(1, -(-pool["desired_size"] // max(1, len(zones) or 3))),
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=pool["min_size"], total_max_node_count=pool["max_size"], location_policy="BALANCED"
            ),
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            node_config=node_config(pool["instance_type"], pool.get("disk_size_gb", DEFAULT_DISK_GB), self.node_sa.email, "system",
                                    labels=dict(args.get("node_labels") or {})),
            opts=pulumi.ResourceOptions.merge(self.child_opts, pulumi.ResourceOptions(ignore_changes=["initialNodeCount"])),
        )

    def _outputs(self, args: GkeClusterArgs) -> None:
        self.cluster_name = self.cluster.name
        self.endpoint = self.cluster.endpoint.apply(lambda e: f"https://{e}")
        self.certificate_authority = self.cluster.master_auth.cluster_ca_certificate.apply(lambda c: c or "")
        self.kubeconfig = self._connect(self._cluster_name, endpoint=self.endpoint, ca_data=self.cluster.master_auth.cluster_ca_certificate,
                                        exec_config=kubeconfig.gke_exec(), provider_depends_on=[self.node_pool])
        self.kubernetes_provider = pulumi.Output.from_input(self.k8s_provider)
        self.oidc_issuer = pulumi.Output.from_input(
            f"https://container.googleapis.com/v1/projects/{self._project}/locations/{args['region']}/clusters/{self._cluster_name}"
        )
        self.cluster_id = self.cluster.id
        self.node_service_account = self.node_sa.email
        # From the cluster's output: the pool exists only once the cluster does.
        self.workload_pool = self.cluster.workload_identity_config.apply(lambda w: w.workload_pool if w and w.workload_pool else "")
        self.account = pulumi.Output.from_input(self._project)  # project id (Python only, for the fleet's handle)
        self.cloud_outputs = {"clusterId": self.cluster_id, "nodeServiceAccount": self.node_service_account,
                              "workloadPool": self.workload_pool, "managedVpa": bool(args.get("vertical_pod_autoscaling", True))}
        self.lb_annotations = {
            "internal": {"networking.gke.io/load-balancer-type": "Internal"},
            "external": {"cloud.google.com/l4-rbs": "enabled"},
        }
        # GKE pins an internal load balancer by the NAME of a reserved regional internal address
        # in the node subnet, which its L4 controller resolves in the cluster's region and prefers
        # over the deprecated spec.loadBalancerIP (kubernetes/ingress-gce pkg/address/to_use.go
        # IPv4ToUse and pkg/l4annotations/l4_static_address.go @34f7873;
        # cloud.google.com/kubernetes-engine/docs/concepts/service-load-balancer-parameters "Static IP
        # addresses"). Purpose SHARED_LOADBALANCER_VIP: the one GKE keeps across Service updates of an
        # internal passthrough NLB (cloud.google.com/kubernetes-engine/docs/how-to/internal-load-balancing,
        # restrictions).
        self.lb_address_annotation = "networking.gke.io/load-balancer-ip-addresses"
        subnetwork, region = args["subnetwork_id"], args["region"]

        def reserve(name: str, address: str, parent: pulumi.Resource) -> pulumi.Input[str]:
            return gcp.compute.Address(
                name, name=name, address_type="INTERNAL", purpose=ILB_ADDRESS_PURPOSE, address=address, subnetwork=subnetwork,
                region=region, description="a fixed address of an internal load balancer of the cluster",
                opts=pulumi.ResourceOptions(parent=parent, provider=self._cloud_provider)).name

        self.reserve_lb_address = reserve
        # GKE nodes keep CNI binaries in /home/kubernetes/bin, and GKE admits system-node-critical pods
        # outside kube-system only under a ResourceQuota for that priority class (istio cni chart
        # 1.30.3: files/profile-platform-gke.yaml and README.md "GKE notes").
        self.node_cni_bin_dir = "/home/kubernetes/bin"
        self.critical_pods_need_quota = True
        # Python only: the cluster's workload identity, for the fleet's handle.
        self.workload_identity = GkeWorkloadIdentity(
            self._name, self._cluster_name, self, self.oidc_issuer, project=self._project, workload_pool=self.workload_pool,
            provider=self._cloud_provider)
        self.register_declared_outputs()


@dataclass(kw_only=True)
class GkeWorkloadIdentity(AwsWebIdentity):
    """Workload identity on GKE (a :class:`~components.identity.WorkloadIdentityBinder`): a Google
    service account the Kubernetes service account may impersonate (roles/iam.workloadIdentityUser
    for <pool>[<namespace>/<name>]), with the project and bucket roles asked for; the service
    account carries the iam.gke.io/gcp-service-account annotation. AWS access by web identity
    federation (``AwsWebIdentity``)."""

    project: str
    workload_pool: pulumi.Input[str]  # the cluster's output, so bindings wait for the pool to exist
    provider: pulumi.ProviderResource | None = None  # the cluster's gcp provider (None: the default one)

    def bind(self, namespace: str, service_account: str, permissions: CloudPermissions, *, purpose: str,
             parent: pulumi.Resource, opts: pulumi.ResourceOptions | None = None) -> WorkloadIdentity:
        cname = self.cluster_name
        child = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=parent, provider=self.provider), opts)
        gsa = gcp.serviceaccount.Account(
            f"{self.name}-{purpose}-gsa", account_id=naming.gcp_service_account(cname, purpose),
            display_name=f"{purpose} on {cname}", opts=child,
        )
        member = gsa.email.apply(lambda e: f"serviceAccount:{e}")
        resources: list[pulumi.Resource] = [gsa]
        resources.append(gcp.serviceaccount.IAMMember(
            f"{self.name}-{purpose}-wi",
            service_account_id=gsa.name,
            role="roles/iam.workloadIdentityUser",
            member=pulumi.Output.from_input(self.workload_pool).apply(lambda pool: f"serviceAccount:{pool}[{namespace}/{service_account}]"),
            opts=child,
        ))
        for role in permissions.gcp_roles() if permissions.gcp_roles else []:
            resources.append(gcp.projects.IAMMember(
                f"{self.name}-{purpose}-{role.split('/')[-1]}", project=self.project, role=role, member=member, opts=child
            ))
        for i, (bucket, role) in enumerate(permissions.gcp_bucket_roles() if permissions.gcp_bucket_roles else []):
            resources.append(gcp.storage.BucketIAMMember(
                f"{self.name}-{purpose}-bucket-{i}", bucket=bucket, role=role, member=member, opts=child
            ))
        return WorkloadIdentity(
            service_account_annotations={"iam.gke.io/gcp-service-account": gsa.email},
            pod_labels={},
            principal=gsa.email,
            resources=resources,
        )


def gke_cluster_args(cluster: ClusterSpec, fleet: FleetSpec, network: GcpNetwork) -> GkeClusterArgs:
    """The fleet's cluster and baseline as a GkeCluster's args, on the cluster's own network."""
    base, nap = fleet.baseline, fleet.node_provisioning
    args = GkeClusterArgs(
        project=fleet.gcp_project or "",
        region=cluster.region,
        kubernetes_version=cluster.kubernetes_version,
        network_id=network.network_id,
        subnetwork_id=network.subnetwork_id,
        vpc_cidr=str(cluster.network.vpc),
        control_plane_cidr=str(cluster.network.control_plane),
        node_pool=node_pool_args(cluster),
        zones=list(cluster.zones),
        public_api_cidrs=list(fleet.public_api_cidrs),
        # The other clusters' ranges (fleet links call this API server): the fleet's address space
        # minus this cluster's own block, a bounded list whatever the fleet's size (stacks/ports.py).
        peer_cidrs=[str(net) for net in fleet_space_sources(fleet, cluster)],
        node_labels=dict(GATEWAY_NODE_LABELS),
        release_channel=base.gke_release_channel,
        binary_authorization=base.gke_binary_authorization,
        security_posture=base.gke_security_posture,
        vulnerability_mode=base.gke_vulnerability_mode,
        # The fleet's VPAs run on the managed one (components/addons/vpa.py).
        vertical_pod_autoscaling=True,
        maintenance=maintenance_args(fleet.maintenance),
        # GKE caps memory in GB; the config's GiB are used as-is. Karpenter's
        # WhenEmptyOrUnderutilized corresponds to GKE's aggressive scale-down profile.
        auto_provisioning=GkeAutoProvisioningArgs(
            cpu=nap.limits.cpu, memory_gb=nap.limits.memory_gib,
            optimize_utilization=nap.consolidation_policy == "WhenEmptyOrUnderutilized",
        ),
        kms_rotation_days=base.kms_rotation_days,
        deletion_protection=base.deletion_protection,
        protect_stateful=base.protect_stateful,
    )
    if fleet.security.gke_security_group:
        args["security_group"] = fleet.security.gke_security_group
    return args
