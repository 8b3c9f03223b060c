"""AKS: a hardened cluster (Entra ID + Azure RBAC, no local accounts, Cilium on Azure CNI overlay,
workload identity, Key Vault KMS), returned as a handle."""

import base64
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s
import pulumiverse_time as time
import yaml
from pulumi_azure_native import authorization, containerservice, keyvault, managedidentity

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
from components.identity import AwsWebIdentity, CloudPermissions, WorkloadIdentity, subject
from components.network.azure import AzureNetwork
from components.tokens import component_type, renamed_from
from stacks.sections.connectivity import GATEWAY_NODE_LABELS
from stacks.spec import ClusterSpec, FleetSpec

# Built-in Azure role definition ids.
NETWORK_CONTRIBUTOR = "4d97b98b-1d4f-4787-a291-c67834d212e7"
KEY_VAULT_CRYPTO_USER = "12338af0-0e69-4776-bea7-57ae8d297424"
AKS_RBAC_CLUSTER_ADMIN = "b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b"
KEY_VAULT_CONTRIBUTOR = "f25e0fa2-a7c8-4377-a976-54943a77a395"
# Azure RBAC role assignments take effect after a propagation delay ("up to 10 minutes" is the
# documented worst case; in practice one to two): the cluster's Kubernetes provider waits this long
# after the deployer's assignment before its first call, instead of meeting 403s.
RBAC_PROPAGATION = "120s"
# The two schedules AKS reads (containerservice MaintenanceConfiguration config_name).
MAINTENANCE_CONFIGS = ("aksManagedAutoUpgradeSchedule", "aksManagedNodeOSUpgradeSchedule")
WORKLOAD_IDENTITY_AUDIENCE = "api://AzureADTokenExchange"


def role_definition(subscription: pulumi.Input[str], guid: str) -> pulumi.Output[str]:
    return pulumi.Output.concat("/subscriptions/", subscription, "/providers/Microsoft.Authorization/roleDefinitions/", guid)


def assignment_name(*parts: str) -> str:
    """Role assignment names must be GUIDs; derive them from stable parts so reruns match."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "archipelago/" + "/".join(parts)))


def _server_and_ca(encoded: str) -> tuple[str, str]:
    doc = yaml.safe_load(base64.b64decode(encoded))
    cluster = doc["clusters"][0]["cluster"]
    return cluster["server"], cluster["certificate-authority-data"]


SKU_TIERS = ("Free", "Standard", "Premium")
UPGRADE_CHANNELS = ("none", "patch", "stable", "rapid", "node-image")
NODE_OS_UPGRADE_CHANNELS = ("None", "Unmanaged", "NodeImage", "SecurityPatch")


def maintenance_window(window: MaintenanceWindowArgs) -> containerservice.MaintenanceWindowArgs:
    return containerservice.MaintenanceWindowArgs(
        schedule=containerservice.ScheduleArgs(
            weekly=containerservice.WeeklyScheduleArgs(day_of_week=window["day"], interval_weeks=1)
        ),
        duration_hours=window["duration_hours"],
        start_time=window["start_utc"],
        utc_offset="+00:00",
    )


class AksClusterArgs(TypedDict):
    """Inputs of an AksCluster: where it runs, its version and network, its nodes and hardening."""

    region: str
    """Azure region (location) of the cluster and its key vault, e.g. westeurope."""
    kubernetes_version: pulumi.Input[str]
    """Kubernetes version AKS supports in the region, e.g. 1.35."""
    zones: list[str]
    """Availability zones of the system pool, e.g. ["1", "2", "3"]."""
    resource_group_name: pulumi.Input[str]
    """Resource group of the cluster, its identity and key vault."""
    vnet_id: pulumi.Input[str]
    """The virtual network: the control plane's identity gets Network Contributor on it."""
    node_subnet_id: pulumi.Input[str]
    """Subnet of the nodes (Azure CNI overlay: pods take addresses from podCidr, not the subnet)."""
    apiserver_subnet_id: pulumi.Input[str]
    """Subnet delegated to Microsoft.ContainerService/managedClusters for API server VNet
    integration (the only path KMS has to a private key vault)."""
    pod_cidr: pulumi.Input[str]
    """Overlay CIDR of pod addresses. Immutable: a change replaces the cluster."""
    service_cidr: pulumi.Input[str]
    """CIDR of Service addresses, must not overlap the VNet. Immutable."""
    dns_service_ip: pulumi.Input[str]
    """The cluster DNS Service's address, inside serviceCidr (conventionally its .10). Immutable."""
    node_pool: NodePoolArgs
    """The system agent pool (Azure Linux, VM scale sets, no public IPs)."""
    cluster_name: NotRequired[str]
    """The AKS cluster's name, also its DNS prefix. Default: the component's name."""
    public_api_cidrs: NotRequired[list[str]]
    """CIDRs authorized on a public API server. Default: none, the cluster is private (its public
    FQDN resolves to the private endpoint, and the kubeconfig names that FQDN)."""
    node_labels: NotRequired[dict[str, str]]
    """Extra Kubernetes labels on the system nodes (archipelago.io/pool=system is always set). Default: none."""
    admin_group_object_ids: NotRequired[list[pulumi.Input[str]]]
    """Entra ID group object ids that are cluster admins. Default: none."""
    sku_tier: NotRequired[str]
    """Free, Standard (uptime SLA) or Premium. Default: Standard."""
    upgrade_channel: NotRequired[str]
    """Auto-upgrade channel: none, patch, stable, rapid or node-image. Default: patch."""
    node_os_upgrade_channel: NotRequired[str]
    """Node OS upgrade channel: None, Unmanaged, NodeImage or SecurityPatch. Default: NodeImage."""
    vertical_pod_autoscaling: NotRequired[bool]
    """Turn on the managed Vertical Pod Autoscaler add-on (recommender, updater, admission
    webhook), so VerticalPodAutoscaler objects work without installing one. Default: true."""
    maintenance: NotRequired[MaintenanceWindowArgs]
    """Weekly window for both the auto-upgrade and the node OS schedules. Default: none (AKS
    upgrades at any time)."""
    kms_rotation_days: NotRequired[int]
    """Rotation period of the etcd encryption key, in days. Default: 365."""
    key_vault_purge_protection: NotRequired[bool]
    """Purge protection on the KMS key vault (can never be turned off again). Default: true."""
    key_vault_retention_days: NotRequired[int]
    """Soft-delete retention of the key vault, 7-90 days. Default: 90."""
    deletion_protection: NotRequired[bool]
    """Pulumi-protect the cluster (a destroy must unprotect it first). Default: true."""
    protect_stateful: NotRequired[bool]
    """Pulumi-protect the key vault and key. Default: false."""
    api_allowed_egress: NotRequired[pulumi.Input[Sequence[pulumi.Input[str]]]]
    """Egress addresses (CIDRs) of the clients that call the API server over the internet, e.g. a
    deployment runner and other clusters' NAT addresses. When given, the API server is public but
    admits only these and public_api_cidrs (authorized IP ranges); with VNet integration the
    nodes still reach it on its internal address. Default: none."""
    deployer_path_ready: NotRequired[pulumi.Input[str]]
    """An Output that resolves once the deployer's network path to this API server exists (routes,
    links, the rule that admits it); the Kubernetes provider waits for it. Default: none (the
    deployer reaches the API server with no further resource)."""


def _check(args: AksClusterArgs) -> None:
    check_node_pool(args["node_pool"])
    if not args["zones"]:
        raise ValueError("zones: at least one availability zone is needed")
    check_choice("skuTier", args.get("sku_tier", "Standard"), SKU_TIERS)
    check_choice("upgradeChannel", args.get("upgrade_channel", "patch"), UPGRADE_CHANNELS)
    check_choice("nodeOsUpgradeChannel", args.get("node_os_upgrade_channel", "NodeImage"), NODE_OS_UPGRADE_CHANNELS)
    if "maintenance" in args:
        check_maintenance(args["maintenance"])
    days = args.get("key_vault_retention_days", 90)
    if not 7 <= days <= 90:
        raise ValueError(f"keyVaultRetentionDays: {days} is not between 7 and 90")


def network_profile(args: AksClusterArgs) -> containerservice.ContainerServiceNetworkProfileArgs:
    """Azure CNI overlay with the Cilium dataplane (which enforces NetworkPolicy), egress through
    the subnet's NAT gateway."""
    return containerservice.ContainerServiceNetworkProfileArgs(
        network_plugin=containerservice.NetworkPlugin.AZURE,
        network_plugin_mode=containerservice.NetworkPluginMode.OVERLAY,
        network_dataplane=containerservice.NetworkDataplane.CILIUM,
        network_policy=containerservice.NetworkPolicy.CILIUM,
        pod_cidr=args["pod_cidr"],
        service_cidr=args["service_cidr"],
        dns_service_ip=args["dns_service_ip"],
        outbound_type=containerservice.OutboundType.USER_ASSIGNED_NAT_GATEWAY,
        load_balancer_sku=containerservice.LoadBalancerSku.STANDARD,
    )


def security_profile(vault_id: pulumi.Input[str], key_id: pulumi.Input[str]) -> containerservice.ManagedClusterSecurityProfileArgs:
    """Workload identity, KMS v2 with the private vault's key, image cleaner."""
    return containerservice.ManagedClusterSecurityProfileArgs(
        workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True),
        azure_key_vault_kms=containerservice.AzureKeyVaultKmsArgs(
            enabled=True, key_id=key_id, key_vault_network_access=containerservice.KeyVaultNetworkAccessTypes.PRIVATE,
            key_vault_resource_id=vault_id,
        ),
        image_cleaner=containerservice.ManagedClusterSecurityProfileImageCleanerArgs(enabled=True, interval_hours=48),
    )


def system_pool(args: AksClusterArgs) -> containerservice.ManagedClusterAgentPoolProfileArgs:
    """The system agent pool: Azure Linux on VM scale sets, no public IPs."""
    pool = args["node_pool"]
    return containerservice.ManagedClusterAgentPoolProfileArgs(
        name="system",
        mode=containerservice.AgentPoolMode.SYSTEM,
        vm_size=pool["instance_type"],
        count=pool["desired_size"],
        availability_zones=list(args["zones"]),
        vnet_subnet_id=args["node_subnet_id"],
        os_type=containerservice.OSType.LINUX,
        os_sku=containerservice.OSSKU.AZURE_LINUX,
        os_disk_size_gb=pool.get("disk_size_gb", DEFAULT_DISK_GB),
        enable_node_public_ip=False,
        node_labels={POOL_LABEL: "system", **(args.get("node_labels") or {})},
        type=containerservice.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
        upgrade_settings=containerservice.AgentPoolUpgradeSettingsArgs(max_surge="33%"),
    )


class AksCluster(ManagedCluster):
    """An AKS cluster hardened by default: Entra ID with Azure RBAC and no local accounts, Cilium
    on Azure CNI overlay, workload identity and OIDC issuer, etcd encrypted with a rotating key in
    a private Key Vault (KMS v2 over API server VNet integration), node auto-provisioning, and a
    system pool on Azure Linux. The deploying identity gets the AKS RBAC Cluster Admin role, and
    the Kubernetes provider waits for it to propagate."""

    cluster_name: pulumi.Output[str]
    """The AKS cluster's name."""
    endpoint: pulumi.Output[str]
    """HTTPS URL of the Kubernetes API server."""
    certificate_authority: pulumi.Output[str]
    """Base64 PEM of the API server's certificate authority."""
    kubeconfig: pulumi.Output[str]
    """Kubeconfig (secret) for the cluster; it authenticates with kubelogin (Azure CLI login),
    which must be on PATH wherever it is used."""
    kubernetes_provider: pulumi.Output[k8s.Provider]
    """A Kubernetes provider for the cluster (server-side apply), usable once the deployer's role
    assignment has propagated."""
    oidc_issuer: pulumi.Output[str]
    """The cluster's OIDC issuer URL (workload identity federation)."""
    cluster_id: pulumi.Output[str]
    """Azure resource id of the cluster."""
    node_resource_group: pulumi.Output[str]
    """The resource group AKS manages for the nodes and load balancers."""
    tenant_id: pulumi.Output[str]
    """The Entra ID tenant of the cluster."""

    def __init__(self, name: str, args: AksClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(AksCluster), name, args, "azure-native", renamed_from("archipelago:clusters:AksCluster", opts))
        _check(args)
        self._region = args["region"]
        self._resource_group = args["resource_group_name"]
        self._managed_vpa = bool(args.get("vertical_pod_autoscaling", True))
        self._private = not args.get("public_api_cidrs") and args.get("api_allowed_egress") is None
        self._client = authorization.get_client_config_output(opts=self.invoke_opts())
        self._subscription = self._client.subscription_id
        cp_identity = self._control_plane_identity(name, args)
        vault, key_id, kms_roles = self._kms(name, args, cp_identity)
        self.cluster = self._managed_cluster(name, args, cp_identity, vault, key_id, kms_roles)
        ready = self._deployer_access(name)
        if "maintenance" in args:
            self._maintenance(name, args["maintenance"])
        self._outputs(ready)

    def _assign(self, name: str, role: str, scope: pulumi.Input[str], principal: pulumi.Input[str]) -> authorization.RoleAssignment:
        """A role for the control plane's identity (a service principal) on ``scope``."""
        return authorization.RoleAssignment(
            f"{self._name}-{name}",
            role_assignment_name=assignment_name(self._cluster_name, name),
            principal_id=principal,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition(self._subscription, role),
            scope=scope,
            opts=self.child_opts,
        )

    def _control_plane_identity(self, name: str, args: AksClusterArgs) -> tuple[managedidentity.UserAssignedIdentity, pulumi.Resource]:
        """The control plane's own identity, granted the network before the cluster exists."""
        identity = managedidentity.UserAssignedIdentity(
            f"{name}-control-plane", resource_group_name=self._resource_group, location=self._region,
            resource_name_=f"{self._cluster_name}-control-plane", opts=self.child_opts,
        )
        return identity, self._assign("cp-network", NETWORK_CONTRIBUTOR, args["vnet_id"], identity.principal_id)

    def _kms(self, name: str, args: AksClusterArgs, cp: tuple[managedidentity.UserAssignedIdentity, pulumi.Resource]
             ) -> tuple[keyvault.Vault, pulumi.Output[str], list[pulumi.Resource]]:
        """etcd encryption with a Key Vault key (KMS v2), rotated on schedule.

        A private vault (no public network access; the KMS plugin reaches it over API server VNet
        integration). A deleted vault keeps its name for the soft-delete period, so the name
        carries a suffix that is new after a destroy; purge protection, once on, can never be
        turned off."""
        cname, rg, stateful = self._cluster_name, self._resource_group, self.stateful_opts
        identity, net_role = cp
        vault = keyvault.Vault(
            f"{name}-kms",
            vault_name=self.name_suffix().apply(lambda s: naming.azure_key_vault(cname, "kms", s)),
            resource_group_name=rg,
            location=self._region,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=self._client.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,
                enable_purge_protection=True if args.get("key_vault_purge_protection", True) else None,
                enable_soft_delete=True,
                soft_delete_retention_in_days=args.get("key_vault_retention_days", 90),
                public_network_access="Disabled",
                network_acls=keyvault.NetworkRuleSetArgs(
                    default_action=keyvault.NetworkRuleAction.DENY, bypass=keyvault.NetworkRuleBypassOptions.AZURE_SERVICES
                ),
            ),
            opts=stateful,
        )
        key = keyvault.Key(
            f"{name}-kms",
            key_name="etcd",
            vault_name=vault.name,
            resource_group_name=rg,
            properties=keyvault.KeyPropertiesArgs(
                kty=keyvault.JsonWebKeyType.RSA,
                key_size=2048,
                rotation_policy=keyvault.RotationPolicyArgs(
                    attributes=keyvault.KeyRotationPolicyAttributesArgs(expiry_time="P2Y"),
                    lifetime_actions=[keyvault.LifetimeActionArgs(
                        action=keyvault.ActionArgs(type=keyvault.KeyRotationPolicyActionType.ROTATE),
                        trigger=keyvault.TriggerArgs(time_after_create=f"P{args.get('kms_rotation_days', 365)}D"),
                    )],
                ),
            ),
            opts=stateful,
        )
        roles: list[pulumi.Resource] = [net_role, self._assign("cp-kms", KEY_VAULT_CRYPTO_USER, vault.id, identity.principal_id)]
        # A private key vault: AKS creates its private endpoint with the cluster identity.
        roles.append(self._assign("cp-kms-network", KEY_VAULT_CONTRIBUTOR, vault.id, identity.principal_id))
        # The key's current version, read at every `up`: after Key Vault rotates the key, the next
        # `up` moves the cluster to the new version (AKS KMS takes a versioned key id).
        current = keyvault.get_key_output(key_name=key.name, resource_group_name=rg, vault_name=vault.name, opts=self.invoke_opts())
        return vault, current.key_uri_with_version, roles

    def _managed_cluster(self, name: str, args: AksClusterArgs, cp: tuple[managedidentity.UserAssignedIdentity, pulumi.Resource],
                         vault: keyvault.Vault, key_id: pulumi.Output[str], roles: list[pulumi.Resource]) -> containerservice.ManagedCluster:
        cname = self._cluster_name
        public = list(args.get("public_api_cidrs") or [])
        egress = args.get("api_allowed_egress")
        allowed: pulumi.Input[Sequence[pulumi.Input[str]]] | None = (
            pulumi.Output.from_input(egress).apply(lambda e: [*public, *e]) if egress is not None else public or None)
        return containerservice.ManagedCluster(
            f"{name}-aks",
            resource_name_=cname,
            resource_group_name=self._resource_group,
            location=self._region,
            dns_prefix=cname,
            kubernetes_version=args["kubernetes_version"],
            sku=containerservice.ManagedClusterSKUArgs(name=containerservice.ManagedClusterSKUName.BASE, tier=args.get("sku_tier", "Standard")),
            identity=containerservice.ManagedClusterIdentityArgs(
                type=containerservice.ResourceIdentityType.USER_ASSIGNED, user_assigned_identities=[cp[0].id]
            ),
            aad_profile=containerservice.ManagedClusterAADProfileArgs(
                managed=True, enable_azure_rbac=True, admin_group_object_ids=list(args.get("admin_group_object_ids") or []),
                tenant_id=self._client.tenant_id,
            ),
            disable_local_accounts=True,
            enable_rbac=True,
            api_server_access_profile=containerservice.ManagedClusterAPIServerAccessProfileArgs(
                enable_private_cluster=self._private,
                # The public FQDN of a private cluster resolves (in public DNS) to the private
                # endpoint's IP, so the other clouds resolve the API name with no DNS forwarding
                # into the privatelink zone (docs/network.md).
                enable_private_cluster_public_fqdn=True if self._private else None,
                authorized_ip_ranges=allowed,
                disable_run_command=True,
                # API server VNet integration: the only tunnel KMS supports to a private key vault.
                enable_vnet_integration=True,
                subnet_id=args["apiserver_subnet_id"],
            ),
            network_profile=network_profile(args),
            oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=security_profile(vault.id, key_id),
            auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel=args.get("upgrade_channel", "patch"), node_os_upgrade_channel=args.get("node_os_upgrade_channel", "NodeImage")
            ),
            # Node auto-provisioning (managed Karpenter); its NodePools are set in the add-ons.
            node_provisioning_profile=containerservice.ManagedClusterNodeProvisioningProfileArgs(mode=containerservice.NodeProvisioningMode.AUTO),
            # The managed Vertical Pod Autoscaler add-on (AKS leaves it off by default).
            workload_auto_scaler_profile=containerservice.ManagedClusterWorkloadAutoScalerProfileArgs(
                vertical_pod_autoscaler=containerservice.ManagedClusterWorkloadAutoScalerProfileVerticalPodAutoscalerArgs(enabled=True)
            ) if args.get("vertical_pod_autoscaling", True) else None,
            storage_profile=containerservice.ManagedClusterStorageProfileArgs(
                disk_csi_driver=containerservice.ManagedClusterStorageProfileDiskCSIDriverArgs(enabled=True),
                snapshot_controller=containerservice.ManagedClusterStorageProfileSnapshotControllerArgs(enabled=True),
            ),
            agent_pool_profiles=[system_pool(args)],
            opts=pulumi.ResourceOptions.merge(
                self.child_opts, pulumi.ResourceOptions(depends_on=roles, protect=args.get("deletion_protection", True))
            ),
        )

    def _deployer_access(self, name: str) -> list[pulumi.Resource]:
        """The identity running the deployment installs everything inside the cluster: with local
        accounts off and Azure RBAC on, it needs an Azure role on the cluster itself, and the
        Kubernetes provider waits for the assignment to propagate instead of meeting 403s."""
        cname = self._cluster_name
        deployer_admin = authorization.RoleAssignment(
            f"{name}-deployer-admin",
            # Named after the principal too: a second deployer (a person, CI) gets its own assignment.
            role_assignment_name=self._client.object_id.apply(lambda oid: assignment_name(cname, "deployer-admin", oid)),
            principal_id=self._client.object_id,
            role_definition_id=role_definition(self._subscription, AKS_RBAC_CLUSTER_ADMIN),
            scope=self.cluster.id,
            opts=self.child_opts,
        )
        propagated = time.Sleep(
            f"{name}-deployer-admin-propagation", create_duration=RBAC_PROPAGATION,
            triggers={"roleAssignment": deployer_admin.id},
            opts=pulumi.ResourceOptions(parent=self, provider=time.Provider(f"{name}-time", opts=pulumi.ResourceOptions(parent=self))),
        )
        return [deployer_admin, propagated]

    def _maintenance(self, name: str, window: MaintenanceWindowArgs) -> None:
        for config_name in MAINTENANCE_CONFIGS:
            containerservice.MaintenanceConfiguration(
                f"{name}-{config_name}",
                resource_group_name=self._resource_group,
                resource_name_=self.cluster.name,
                config_name=config_name,
                maintenance_window=maintenance_window(window),
                opts=self.child_opts,
            )

    def _outputs(self, provider_depends_on: list[pulumi.Resource]) -> None:
        creds = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=self._resource_group, resource_name=self.cluster.name, format="exec",
            # Private clusters: the kubeconfig names the public FQDN (resolvable from every
            # network), not the privatelink one that resolves only inside the cluster's VNet.
            server_fqdn="public" if self._private else None,
            opts=self.invoke_opts(),
        )
        server_ca = pulumi.Output.secret(creds.kubeconfigs[0].value).apply(_server_and_ca)
        # The API address and CA are not secret; only the credentials document as a whole is.
        self.endpoint = pulumi.Output.unsecret(server_ca.apply(lambda sc: sc[0]))
        self.certificate_authority = pulumi.Output.unsecret(server_ca.apply(lambda sc: sc[1]))
        self.kubeconfig = self._connect(self._cluster_name, endpoint=self.endpoint, ca_data=self.certificate_authority,
                                        exec_config=kubeconfig.aks_exec(), provider_depends_on=provider_depends_on)
        self.kubernetes_provider = pulumi.Output.from_input(self.k8s_provider)
        self.cluster_name = self.cluster.name
        self.oidc_issuer = self.cluster.oidc_issuer_profile.apply(lambda p: p.issuer_url if p and p.issuer_url else "")
        self.cluster_id = self.cluster.id
        self.node_resource_group = self.cluster.node_resource_group.apply(lambda g: g or "")
        self.tenant_id = self._client.tenant_id
        self.account = self._subscription  # subscription id (Python only, for the fleet's handle)
        self.cloud_outputs = {"nodeResourceGroup": self.cluster.node_resource_group, "tenantId": self.tenant_id,
                              "managedVpa": self._managed_vpa,
                              # Reached over the internet (authorized ranges), not over the fabric.
                              "apiOverInternet": not self._private}
        self.lb_annotations = {
            "internal": {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"},
            "external": {"service.beta.kubernetes.io/azure-load-balancer-internal": "false"},
        }
        # An internal LB's private address by annotation (learn.microsoft.com/azure/aks/internal-lb,
        # "Specify an IP address").
        self.lb_address_annotation = "service.beta.kubernetes.io/azure-load-balancer-ipv4"
        # Python only: the cluster's workload identity, for the fleet's handle.
        self.workload_identity = AksWorkloadIdentity(
            self._name, self._cluster_name, self, self.oidc_issuer, resource_group=self._resource_group, region=self._region,
            subscription=self._subscription, provider=self._cloud_provider)
        self.register_declared_outputs()


@dataclass(kw_only=True)
class AksWorkloadIdentity(AwsWebIdentity):
    """Workload identity on AKS (a :class:`~components.identity.WorkloadIdentityBinder`): Azure
    workload identity, a user-assigned identity federated with the service account on the cluster's
    OIDC issuer (audience api://AzureADTokenExchange), plus its role assignments; the pod carries
    the azure.workload.identity/use label and the service account the client id. AWS access by web
    identity federation (``AwsWebIdentity``)."""

    resource_group: pulumi.Input[str]  # where the identities go (the cluster's resource group)
    region: str
    subscription: pulumi.Input[str]  # scope of the built-in role definitions
    provider: pulumi.ProviderResource | None = None  # the cluster's azure-native provider (None: the default one)

    def bind(self, namespace: str, service_account: str, permissions: CloudPermissions, *, purpose: str,
             parent: pulumi.Resource, opts: pulumi.ResourceOptions | None = None) -> WorkloadIdentity:
        cname = self.cluster_name
        child = pulumi.ResourceOptions.merge(pulumi.ResourceOptions(parent=parent, provider=self.provider), opts)
        uami = managedidentity.UserAssignedIdentity(
            f"{self.name}-{purpose}-identity", resource_group_name=self.resource_group, location=self.region,
            resource_name_=f"{cname}-{purpose}", opts=child,
        )
        fic = managedidentity.FederatedIdentityCredential(
            f"{self.name}-{purpose}-federation",
            resource_group_name=self.resource_group,
            resource_name_=uami.name,
            federated_identity_credential_resource_name=f"{cname}-{purpose}",
            issuer=self.oidc_issuer,
            subject=subject(namespace, service_account),
            audiences=[WORKLOAD_IDENTITY_AUDIENCE],
            opts=child,
        )
        resources: list[pulumi.Resource] = [uami, fic]
        for i, (role_guid, scope) in enumerate(permissions.azure_roles() if permissions.azure_roles else []):
            resources.append(authorization.RoleAssignment(
                f"{self.name}-{purpose}-role-{i}",
                role_assignment_name=assignment_name(cname, purpose, role_guid, str(i)),
                principal_id=uami.principal_id,
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                role_definition_id=role_definition(self.subscription, role_guid),
                scope=scope,
                opts=child,
            ))
        return WorkloadIdentity(
            service_account_annotations={"azure.workload.identity/client-id": uami.client_id},
            pod_labels={"azure.workload.identity/use": "true"},
            principal=uami.client_id,
            resources=resources,
        )


def aks_cluster_args(cluster: ClusterSpec, fleet: FleetSpec, network: AzureNetwork) -> AksClusterArgs:
    """The fleet's cluster and baseline as an AksCluster's args, on the cluster's own network."""
    base = fleet.baseline
    return AksClusterArgs(
        region=cluster.region,
        kubernetes_version=cluster.kubernetes_version,
        zones=list(cluster.zones),
        resource_group_name=network.resource_group_name,
        vnet_id=network.vnet_id,
        node_subnet_id=network.node_subnet_id,
        apiserver_subnet_id=network.apiserver_subnet_id,
        pod_cidr=str(cluster.network.pods),
        service_cidr=str(cluster.network.services),
        dns_service_ip=cluster.network.dns_service_ip,
        node_pool=node_pool_args(cluster),
        public_api_cidrs=list(fleet.public_api_cidrs),
        node_labels=dict(GATEWAY_NODE_LABELS),
        admin_group_object_ids=[g.azure_object_id for g in fleet.security.groups if g.azure_object_id and g.cluster_role == "cluster-admin"],
        sku_tier=base.aks_sku_tier,
        upgrade_channel=base.aks_upgrade_channel,
        node_os_upgrade_channel=base.aks_node_os_upgrade_channel,
        # The fleet's VPAs run on the managed one (components/addons/vpa.py).
        vertical_pod_autoscaling=True,
        maintenance=maintenance_args(fleet.maintenance),
        kms_rotation_days=base.kms_rotation_days,
        key_vault_purge_protection=base.key_vault_purge_protection,
        key_vault_retention_days=base.key_vault_retention_days,
        deletion_protection=base.deletion_protection,
        protect_stateful=base.protect_stateful,
    )
