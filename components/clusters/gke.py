"""GKE: a hardened private cluster (no default node pool) plus a managed node pool, returned as a handle."""

from __future__ import annotations

import pulumi
import pulumi_gcp as gcp

from components import naming, protection
from components.clusters import kubeconfig
from components.clusters.base import ClusterArgs, ManagedCluster
from components.handle import CloudPermissions, ClusterHandle, WorkloadIdentity
from components.network.gcp import PODS_RANGE, SERVICES_RANGE, GcpNetwork, GcpNetworkArgs
from stacks.ports import fleet_sources
from stacks.sections.connectivity import GATEWAY_NODE_LABELS
from stacks.spec import ClusterSpec, FleetSpec

NODE_ROLES = ("roles/container.defaultNodeServiceAccount", "roles/artifactregistry.reader")
CLOUD_PLATFORM_SCOPE = "https://www.googleapis.com/auth/cloud-platform"
LOG_COMPONENTS = ["SYSTEM_COMPONENTS", "APISERVER", "CONTROLLER_MANAGER", "SCHEDULER", "WORKLOADS"]


def node_pool_config(
    c: ClusterSpec, service_account: pulumi.Input[str], pool: str, *, spot: bool = False, labels: dict[str, str] | None = None
) -> gcp.container.NodePoolNodeConfigArgs:
    """Hardened node settings shared by every node pool the fleet creates on GKE."""
    return gcp.container.NodePoolNodeConfigArgs(
        machine_type=c.instance_type,
        disk_size_gb=c.nodes.disk_size_gb,
        disk_type="pd-balanced",
        image_type="COS_CONTAINERD",
        spot=spot or None,
        shielded_instance_config=gcp.container.NodePoolNodeConfigShieldedInstanceConfigArgs(
            enable_secure_boot=True, enable_integrity_monitoring=True
        ),
        workload_metadata_config=gcp.container.NodePoolNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
        labels={"archipelago.io/pool": pool, **(labels or {})},
        service_account=service_account,
        oauth_scopes=[CLOUD_PLATFORM_SCOPE],
    )


def auto_provisioning(fleet: FleetSpec, c: ClusterSpec, service_account: pulumi.Input[str]) -> gcp.container.ClusterClusterAutoscalingArgs:
    """Node auto-provisioning from ``nodeProvisioning``: NAP-created pools run as the nodes'
    least-privilege service account, shielded, auto-repaired and auto-upgraded, inside the
    configured CPU/memory ceiling. GKE caps memory in GB; the config's GiB are used as-is."""
    cfg = fleet.node_provisioning
    return gcp.container.ClusterClusterAutoscalingArgs(
        enabled=True,
        # Karpenter's WhenEmptyOrUnderutilized corresponds to GKE's aggressive scale-down profile.
        autoscaling_profile="OPTIMIZE_UTILIZATION" if cfg.consolidation_policy == "WhenEmptyOrUnderutilized" else "BALANCED",
        resource_limits=[
            gcp.container.ClusterClusterAutoscalingResourceLimitArgs(resource_type="cpu", minimum=0, maximum=cfg.limits.cpu),
            gcp.container.ClusterClusterAutoscalingResourceLimitArgs(resource_type="memory", minimum=0, maximum=cfg.limits.memory_gib),
        ],
        auto_provisioning_locations=list(c.zones) or None,
        auto_provisioning_defaults=gcp.container.ClusterClusterAutoscalingAutoProvisioningDefaultsArgs(
            service_account=service_account,
            oauth_scopes=[CLOUD_PLATFORM_SCOPE],
            disk_type="pd-balanced",
            image_type="COS_CONTAINERD",
            shielded_instance_config=gcp.container.ClusterClusterAutoscalingAutoProvisioningDefaultsShieldedInstanceConfigArgs(
                enable_secure_boot=True, enable_integrity_monitoring=True
            ),
            management=gcp.container.ClusterClusterAutoscalingAutoProvisioningDefaultsManagementArgs(
                auto_repair=True, auto_upgrade=True
            ),
        ),
    )


def maintenance_policy(fleet: FleetSpec) -> gcp.container.ClusterMaintenancePolicyArgs:
    """Auto-upgrades only inside the fleet's weekly window."""
    start, end, rrule = fleet.maintenance.gke_recurring_window()
    return gcp.container.ClusterMaintenancePolicyArgs(
        recurring_window=gcp.container.ClusterMaintenancePolicyRecurringWindowArgs(start_time=start, end_time=end, recurrence=rrule)
    )


class GkeCluster(ManagedCluster):
    handle: ClusterHandle

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:clusters:GkeCluster", name, args, opts)
        c, fleet, base = args.cluster, args.fleet, args.fleet.baseline
        project = fleet.gcp_project or ""
        self._project = project
        child, stateful = self.child_opts, self.stateful_opts
        project_info = gcp.organizations.get_project_output(
            project_id=project, opts=pulumi.InvokeOutputOptions(provider=args.provider, parent=self)
        )

        self.network = GcpNetwork(
            f"{name}-net", GcpNetworkArgs(cluster=c, provider=args.provider), opts=pulumi.ResourceOptions(parent=self)
        )

        # Application-layer secrets encryption with a rotating Cloud KMS key.
        # Key rings and keys can never be deleted: a re-created stack would get 409 on the same
        # name. A random suffix (stable in state, new after destroy) keeps re-creation possible.
        suffix = self.name_suffix()
        key_ring = gcp.kms.KeyRing(
            f"{name}-kms", name=suffix.apply(lambda s: f"{c.name}-gke-{s}"), location=c.region, opts=stateful
        )
        key = gcp.kms.CryptoKey(
            f"{name}-secrets",
            name="etcd-secrets",
            key_ring=key_ring.id,
            rotation_period=f"{base.kms_rotation_days * 86400}s",
            purpose="ENCRYPT_DECRYPT",
            opts=stateful,
        )
        kms_grant = gcp.kms.CryptoKeyIAMMember(
            f"{name}-secrets-gke-agent",
            crypto_key_id=key.id,
            role="roles/cloudkms.cryptoKeyEncrypterDecrypter",
            member=project_info.number.apply(lambda n: f"serviceAccount:service-{n}@container-engine-robot.iam.gserviceaccount.com"),
            opts=child,
        )

        # Nodes run as a least-privilege service account, never the default compute one.
        self.node_sa = gcp.serviceaccount.Account(
            f"{name}-nodes", account_id=naming.gcp_service_account(c.name, "nodes"),
            display_name=f"GKE nodes of {c.name}", opts=child,
        )
        node_roles = [
            gcp.projects.IAMMember(
                f"{name}-nodes-{role.split('/')[-1]}", project=project, role=role,
                member=self.node_sa.email.apply(lambda e: f"serviceAccount:{e}"), opts=child,
            )
            for role in NODE_ROLES
        ]
        node_config_common = {"service_account": self.node_sa.email, "oauth_scopes": [CLOUD_PLATFORM_SCOPE]}

        allowed = fleet.public_api_cidrs
        authorized = [gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(cidr_block=str(c.network.vpc), display_name="cluster-vpc")]
        authorized += [
            gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(cidr_block=cidr, display_name=f"allowed-{i}")
            for i, cidr in enumerate(allowed)
        ]
        # The other clusters' ranges: fleet links call this API server (see stacks/ports.py).
        authorized += [
            gcp.container.ClusterMasterAuthorizedNetworksConfigCidrBlockArgs(cidr_block=str(net), display_name=f"fleet-{net}")
            for net in fleet_sources(fleet, c)
        ]
        self.cluster = gcp.container.Cluster(
            f"{name}-gke",
            name=c.name,
            location=c.region,
            node_locations=list(c.zones) or None,
            network=self.network.network_id,
            subnetwork=self.network.subnetwork_id,
            remove_default_node_pool=True,
            initial_node_count=1,
            node_config=gcp.container.ClusterNodeConfigArgs(
                shielded_instance_config=gcp.container.ClusterNodeConfigShieldedInstanceConfigArgs(
                    enable_secure_boot=True, enable_integrity_monitoring=True
                ),
                workload_metadata_config=gcp.container.ClusterNodeConfigWorkloadMetadataConfigArgs(mode="GKE_METADATA"),
                **node_config_common,
            ),
            min_master_version=c.kubernetes_version,
            release_channel=gcp.container.ClusterReleaseChannelArgs(channel=base.gke_release_channel),
            networking_mode="VPC_NATIVE",
            ip_allocation_policy=gcp.container.ClusterIpAllocationPolicyArgs(
                cluster_secondary_range_name=PODS_RANGE, services_secondary_range_name=SERVICES_RANGE
            ),
            private_cluster_config=gcp.container.ClusterPrivateClusterConfigArgs(
                enable_private_nodes=True,
                enable_private_endpoint=not allowed,
                master_ipv4_cidr_block=str(c.network.control_plane),
                master_global_access_config=gcp.container.ClusterPrivateClusterConfigMasterGlobalAccessConfigArgs(enabled=True),
            ),
            master_authorized_networks_config=gcp.container.ClusterMasterAuthorizedNetworksConfigArgs(
                cidr_blocks=authorized, gcp_public_cidrs_access_enabled=False
            ),
            workload_identity_config=gcp.container.ClusterWorkloadIdentityConfigArgs(workload_pool=f"{project}.svc.id.goog"),
            # GKE's built-in Vertical Pod Autoscaler: the fleet's VPAs run on it.
            vertical_pod_autoscaling=gcp.container.ClusterVerticalPodAutoscalingArgs(enabled=True),
            # Dataplane V2 enforces NetworkPolicy itself; network_policy must stay unset with it.
            datapath_provider="ADVANCED_DATAPATH",
            database_encryption=gcp.container.ClusterDatabaseEncryptionArgs(state="ENCRYPTED", key_name=key.id),
            binary_authorization=gcp.container.ClusterBinaryAuthorizationArgs(evaluation_mode=base.gke_binary_authorization),
            security_posture_config=gcp.container.ClusterSecurityPostureConfigArgs(
                mode=base.gke_security_posture, vulnerability_mode=base.gke_vulnerability_mode
            ),
            maintenance_policy=maintenance_policy(fleet),
            enable_shielded_nodes=True,
            enable_legacy_abac=False,
            master_auth=gcp.container.ClusterMasterAuthArgs(
                client_certificate_config=gcp.container.ClusterMasterAuthClientCertificateConfigArgs(issue_client_certificate=False)
            ),
            authenticator_groups_config=(
                gcp.container.ClusterAuthenticatorGroupsConfigArgs(security_group=fleet.security.gke_security_group)
                if fleet.security.gke_security_group else None
            ),
            logging_config=gcp.container.ClusterLoggingConfigArgs(enable_components=LOG_COMPONENTS),
            addons_config=gcp.container.ClusterAddonsConfigArgs(
                gce_persistent_disk_csi_driver_config=gcp.container.ClusterAddonsConfigGcePersistentDiskCsiDriverConfigArgs(enabled=True),
                http_load_balancing=gcp.container.ClusterAddonsConfigHttpLoadBalancingArgs(disabled=False),
            ),
            cluster_autoscaling=auto_provisioning(fleet, c, self.node_sa.email),
            deletion_protection=base.deletion_protection,
            resource_labels={"archipelago-cluster": c.name},
            opts=protection.keep(fleet, child, depends_on=[kms_grant, *node_roles]),
        )

        self.node_pool = gcp.container.NodePool(
            f"{name}-system",
            name="system",
            cluster=self.cluster.id,
            location=c.region,
            # A regional pool's per-zone counts multiply by its zones: size the pool in totals.
            initial_node_count=max(1, -(-c.nodes.desired_size // max(1, len(c.zones) or 3))),
            autoscaling=gcp.container.NodePoolAutoscalingArgs(
                total_min_node_count=c.nodes.min_size, total_max_node_count=c.nodes.max_size, location_policy="BALANCED"
            ),
            management=gcp.container.NodePoolManagementArgs(auto_repair=True, auto_upgrade=True),
            node_config=node_pool_config(c, self.node_sa.email, "system", labels=GATEWAY_NODE_LABELS),
            opts=pulumi.ResourceOptions.merge(child, pulumi.ResourceOptions(ignore_changes=["initialNodeCount"])),
        )

        endpoint = self.cluster.endpoint.apply(lambda e: f"https://{e}")
        ca = self.cluster.master_auth.cluster_ca_certificate
        self._finish(
            c,
            endpoint=endpoint,
            ca_data=ca,
            exec_config=kubeconfig.gke_exec(),
            oidc_issuer=pulumi.Output.from_input(
                f"https://container.googleapis.com/v1/projects/{project}/locations/{c.region}/clusters/{c.name}"
            ),
            account=pulumi.Output.from_input(project),
            cloud_outputs={
                "networkId": self.network.network_id,
                "subnetworkId": self.network.subnetwork_id,
                "clusterId": self.cluster.id,
                "nodeServiceAccount": self.node_sa.email,
                # From the cluster's output: the pool exists only once the cluster does.
                "workloadPool": self.cluster.workload_identity_config.apply(lambda w: w.workload_pool if w else ""),
                "managedVpa": True,  # vertical_pod_autoscaling above
            },
            lb_annotations={
                "internal": {"networking.gke.io/load-balancer-type": "Internal"},
                "external": {"cloud.google.com/l4-rbs": "enabled"},
            },
            identity=self._bind_identity,
            provider_depends_on=[self.node_pool],
        )

    def _bind_identity(
        self, namespace: str, service_account: str, permissions: CloudPermissions, *, purpose: str, parent: pulumi.Resource
    ) -> WorkloadIdentity:
        """GKE Workload Identity: a Google service account that NS/SA may impersonate."""
        c = self.handle.spec
        child = pulumi.ResourceOptions(parent=parent, provider=self._cloud_provider)
        gsa = gcp.serviceaccount.Account(
            f"{c.name}-{purpose}-gsa", account_id=naming.gcp_service_account(c.name, purpose),
            display_name=f"{purpose} on {c.name}", opts=child,
        )
        member = gsa.email.apply(lambda e: f"serviceAccount:{e}")
        resources: list[pulumi.Resource] = [gsa]
        resources.append(gcp.serviceaccount.IAMMember(
            f"{c.name}-{purpose}-wi",
            service_account_id=gsa.name,
            role="roles/iam.workloadIdentityUser",
            # Built from the cluster's output so the binding waits for the pool to exist.
            member=self.handle.cloud_outputs["workloadPool"].apply(lambda pool: f"serviceAccount:{pool}[{namespace}/{service_account}]"),
            opts=child,
        ))
        for role in permissions.gcp_roles() if permissions.gcp_roles else []:
            resources.append(gcp.projects.IAMMember(
                f"{c.name}-{purpose}-{role.split('/')[-1]}", project=self._project, role=role, member=member, opts=child
            ))
        for i, (bucket, role) in enumerate(permissions.gcp_bucket_roles() if permissions.gcp_bucket_roles else []):
            resources.append(gcp.storage.BucketIAMMember(
                f"{c.name}-{purpose}-bucket-{i}", bucket=bucket, role=role, member=member, opts=child
            ))
        return WorkloadIdentity(
            service_account_annotations={"iam.gke.io/gcp-service-account": gsa.email},
            pod_labels={},
            principal=gsa.email,
            resources=resources,
        )
