"""AKS: a hardened cluster (Entra ID + Azure RBAC, no local accounts, Cilium on Azure CNI overlay,
workload identity, Key Vault KMS), returned as a handle."""

from __future__ import annotations

import base64
import uuid

import pulumi
import pulumiverse_time as time
import yaml
from pulumi_azure_native import authorization, containerservice, keyvault, managedidentity

from components import naming
from components.clusters import kubeconfig
from components.clusters.base import ClusterArgs, ManagedCluster
from components.handle import CloudPermissions, ClusterHandle, WorkloadIdentity
from components.network.azure import AzureNetwork, AzureNetworkArgs
from stacks.sections.connectivity import GATEWAY_NODE_LABELS
from stacks.spec import FleetSpec

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


def maintenance_window(fleet: FleetSpec) -> containerservice.MaintenanceWindowArgs:
    m = fleet.maintenance
    return containerservice.MaintenanceWindowArgs(
        schedule=containerservice.ScheduleArgs(
            weekly=containerservice.WeeklyScheduleArgs(day_of_week=m.day, interval_weeks=1)
        ),
        duration_hours=m.duration_hours,
        start_time=m.start_utc,
        utc_offset="+00:00",
    )


class AksCluster(ManagedCluster):
    handle: ClusterHandle

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:clusters:AksCluster", name, args, opts)
        c, fleet, base = args.cluster, args.fleet, args.fleet.baseline
        child, stateful = self.child_opts, self.stateful_opts
        client = authorization.get_client_config_output(opts=pulumi.InvokeOutputOptions(provider=args.provider, parent=self))
        self._subscription = client.subscription_id

        self.network = AzureNetwork(
            f"{name}-net", AzureNetworkArgs(cluster=c, provider=args.provider), opts=pulumi.ResourceOptions(parent=self)
        )
        rg = self.network.resource_group_name
        self._resource_group = rg

        # The control plane's own identity, granted what it needs before the cluster exists.
        cp_identity = managedidentity.UserAssignedIdentity(
            f"{name}-control-plane", resource_group_name=rg, location=c.region, resource_name_=f"{c.name}-control-plane",
            opts=child,
        )
        net_role = authorization.RoleAssignment(
            f"{name}-cp-network",
            role_assignment_name=assignment_name(c.name, "cp-network"),
            principal_id=cp_identity.principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition(self._subscription, NETWORK_CONTRIBUTOR),
            scope=self.network.vnet_id,
            opts=child,
        )

        # etcd encryption with a Key Vault key (KMS v2), rotated yearly.
        # A private vault (no public network access; the KMS plugin reaches it over API server
        # VNet integration). A deleted vault keeps its name for the soft-delete period, so the name
        # carries a suffix that is new after a destroy; dev keeps it 7 days and without purge
        # protection (which, once on, can never be turned off).
        vault = keyvault.Vault(
            f"{name}-kms",
            vault_name=self.name_suffix().apply(lambda s: naming.azure_key_vault(c.name, "kms", s)),
            resource_group_name=rg,
            location=c.region,
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=client.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,
                enable_purge_protection=True if base.key_vault_purge_protection else None,
                enable_soft_delete=True,
                soft_delete_retention_in_days=base.key_vault_retention_days,
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
                        trigger=keyvault.TriggerArgs(time_after_create=f"P{base.kms_rotation_days}D"),
                    )],
                ),
            ),
            opts=stateful,
        )
        kms_role = authorization.RoleAssignment(
            f"{name}-cp-kms",
            role_assignment_name=assignment_name(c.name, "cp-kms"),
            principal_id=cp_identity.principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition(self._subscription, KEY_VAULT_CRYPTO_USER),
            scope=vault.id,
            opts=child,
        )
        # A private key vault: AKS creates its private endpoint with the cluster identity.
        kms_network_role = authorization.RoleAssignment(
            f"{name}-cp-kms-network",
            role_assignment_name=assignment_name(c.name, "cp-kms-network"),
            principal_id=cp_identity.principal_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition(self._subscription, KEY_VAULT_CONTRIBUTOR),
            scope=vault.id,
            opts=child,
        )
        # The key's current version, read at every `up`: after Key Vault rotates the key, the next
        # `up` moves the cluster to the new version (AKS KMS takes a versioned key id).
        current_key = keyvault.get_key_output(
            key_name=key.name, resource_group_name=rg, vault_name=vault.name,
            opts=pulumi.InvokeOutputOptions(provider=args.provider, parent=self),
        )

        allowed = fleet.public_api_cidrs
        admin_groups = [g.azure_object_id for g in fleet.security.groups if g.azure_object_id and g.cluster_role == "cluster-admin"]
        self.cluster = containerservice.ManagedCluster(
            f"{name}-aks",
            resource_name_=c.name,
            resource_group_name=rg,
            location=c.region,
            dns_prefix=c.name,
            kubernetes_version=c.kubernetes_version,
            sku=containerservice.ManagedClusterSKUArgs(
                name=containerservice.ManagedClusterSKUName.BASE, tier=base.aks_sku_tier
            ),
            identity=containerservice.ManagedClusterIdentityArgs(
                type=containerservice.ResourceIdentityType.USER_ASSIGNED, user_assigned_identities=[cp_identity.id]
            ),
            aad_profile=containerservice.ManagedClusterAADProfileArgs(
                managed=True, enable_azure_rbac=True, admin_group_object_ids=admin_groups, tenant_id=client.tenant_id
            ),
            disable_local_accounts=True,
            enable_rbac=True,
            api_server_access_profile=containerservice.ManagedClusterAPIServerAccessProfileArgs(
                enable_private_cluster=not allowed,
                # The public FQDN of a private cluster resolves (in public DNS) to the private
                # endpoint's IP, so the other clouds resolve the API name with no DNS forwarding
                # into the privatelink zone (docs/network.md).
                enable_private_cluster_public_fqdn=True if not allowed else None,
                authorized_ip_ranges=allowed or None,
                disable_run_command=True,
                # API server VNet integration: the only tunnel KMS supports to a private key vault.
                enable_vnet_integration=True,
                subnet_id=self.network.apiserver_subnet_id,
            ),
            network_profile=containerservice.ContainerServiceNetworkProfileArgs(
                network_plugin=containerservice.NetworkPlugin.AZURE,
                network_plugin_mode=containerservice.NetworkPluginMode.OVERLAY,
                network_dataplane=containerservice.NetworkDataplane.CILIUM,
                network_policy=containerservice.NetworkPolicy.CILIUM,
                pod_cidr=str(c.network.pods),
                service_cidr=str(c.network.services),
                dns_service_ip=c.network.dns_service_ip,
                outbound_type=containerservice.OutboundType.USER_ASSIGNED_NAT_GATEWAY,
                load_balancer_sku=containerservice.LoadBalancerSku.STANDARD,
            ),
            oidc_issuer_profile=containerservice.ManagedClusterOIDCIssuerProfileArgs(enabled=True),
            security_profile=containerservice.ManagedClusterSecurityProfileArgs(
                workload_identity=containerservice.ManagedClusterSecurityProfileWorkloadIdentityArgs(enabled=True),
                azure_key_vault_kms=containerservice.AzureKeyVaultKmsArgs(
                    enabled=True,
                    key_id=current_key.key_uri_with_version,
                    key_vault_network_access=containerservice.KeyVaultNetworkAccessTypes.PRIVATE,
                    key_vault_resource_id=vault.id,
                ),
                image_cleaner=containerservice.ManagedClusterSecurityProfileImageCleanerArgs(enabled=True, interval_hours=48),
            ),
            auto_upgrade_profile=containerservice.ManagedClusterAutoUpgradeProfileArgs(
                upgrade_channel=base.aks_upgrade_channel, node_os_upgrade_channel=base.aks_node_os_upgrade_channel
            ),
            # Node auto-provisioning (managed Karpenter); its NodePools are set in the add-ons.
            node_provisioning_profile=containerservice.ManagedClusterNodeProvisioningProfileArgs(
                mode=containerservice.NodeProvisioningMode.AUTO
            ),
            # The managed Vertical Pod Autoscaler add-on (off by default): the fleet's VPAs run on it.
            workload_auto_scaler_profile=containerservice.ManagedClusterWorkloadAutoScalerProfileArgs(
                vertical_pod_autoscaler=containerservice.ManagedClusterWorkloadAutoScalerProfileVerticalPodAutoscalerArgs(enabled=True)
            ),
            storage_profile=containerservice.ManagedClusterStorageProfileArgs(
                disk_csi_driver=containerservice.ManagedClusterStorageProfileDiskCSIDriverArgs(enabled=True),
                snapshot_controller=containerservice.ManagedClusterStorageProfileSnapshotControllerArgs(enabled=True),
            ),
            agent_pool_profiles=[
                containerservice.ManagedClusterAgentPoolProfileArgs(
                    name="system",
                    mode=containerservice.AgentPoolMode.SYSTEM,
                    vm_size=c.instance_type,
                    count=c.nodes.desired_size,
                    availability_zones=list(c.zones),
                    vnet_subnet_id=self.network.node_subnet_id,
                    os_type=containerservice.OSType.LINUX,
                    os_sku=containerservice.OSSKU.AZURE_LINUX,
                    os_disk_size_gb=c.nodes.disk_size_gb,
                    enable_node_public_ip=False,
                    node_labels={"archipelago.io/pool": "system", **GATEWAY_NODE_LABELS},
                    type=containerservice.AgentPoolType.VIRTUAL_MACHINE_SCALE_SETS,
                    upgrade_settings=containerservice.AgentPoolUpgradeSettingsArgs(max_surge="33%"),
                )
            ],
            opts=pulumi.ResourceOptions.merge(
                child, pulumi.ResourceOptions(depends_on=[net_role, kms_role, kms_network_role], protect=base.deletion_protection)
            ),
        )

        creds = containerservice.list_managed_cluster_user_credentials_output(
            resource_group_name=rg, resource_name=self.cluster.name, format="exec",
            # Private clusters: the kubeconfig names the public FQDN (resolvable from every
            # network), not the privatelink one that resolves only inside the cluster's VNet.
            server_fqdn="public" if not allowed else None,
            opts=pulumi.InvokeOutputOptions(provider=args.provider, parent=self),
        )
        server_ca = pulumi.Output.secret(creds.kubeconfigs[0].value).apply(_server_and_ca)
        # The API address and CA are not secret; only the credentials document as a whole is.
        endpoint = pulumi.Output.unsecret(server_ca.apply(lambda sc: sc[0]))
        ca = pulumi.Output.unsecret(server_ca.apply(lambda sc: sc[1]))
        # The identity running `pulumi up` installs everything inside the cluster: with local
        # accounts off and Azure RBAC on, it needs an Azure role on the cluster itself.
        deployer_admin = authorization.RoleAssignment(
            f"{name}-deployer-admin",
            # Named after the principal too: a second deployer (a person, CI) gets its own assignment.
            role_assignment_name=client.object_id.apply(lambda oid: assignment_name(c.name, "deployer-admin", oid)),
            principal_id=client.object_id,
            role_definition_id=role_definition(self._subscription, AKS_RBAC_CLUSTER_ADMIN),
            scope=self.cluster.id,
            opts=child,
        )
        rbac_propagated = time.Sleep(
            f"{name}-deployer-admin-propagation", create_duration=RBAC_PROPAGATION,
            triggers={"roleAssignment": deployer_admin.id},
            opts=pulumi.ResourceOptions(parent=self, provider=time.Provider(f"{name}-time", opts=pulumi.ResourceOptions(parent=self))),
        )
        for config_name in MAINTENANCE_CONFIGS:
            containerservice.MaintenanceConfiguration(
                f"{name}-{config_name}",
                resource_group_name=rg,
                resource_name_=self.cluster.name,
                config_name=config_name,
                maintenance_window=maintenance_window(fleet),
                opts=child,
            )
        self._finish(
            c,
            endpoint=endpoint,
            ca_data=ca,
            exec_config=kubeconfig.aks_exec(),
            oidc_issuer=self.cluster.oidc_issuer_profile.apply(lambda p: p.issuer_url if p else ""),
            account=self._subscription,
            cloud_outputs={
                "resourceGroupName": rg,
                "resourceGroupId": self.network.resource_group_id,
                "vnetId": self.network.vnet_id,
                "vnetName": self.network.vnet_name,
                "nodeSubnetId": self.network.node_subnet_id,
                "nodeSecurityGroupName": self.network.node_nsg_name,
                "nodeResourceGroup": self.cluster.node_resource_group,
                "tenantId": client.tenant_id,
                "managedVpa": True,  # workload_auto_scaler_profile above
            },
            lb_annotations={
                "internal": {"service.beta.kubernetes.io/azure-load-balancer-internal": "true"},
                "external": {"service.beta.kubernetes.io/azure-load-balancer-internal": "false"},
            },
            identity=self._bind_identity,
            provider_depends_on=[deployer_admin, rbac_propagated],
        )

    def _bind_identity(
        self, namespace: str, service_account: str, permissions: CloudPermissions, *, purpose: str, parent: pulumi.Resource
    ) -> WorkloadIdentity:
        """Azure workload identity: a user-assigned identity federated with NS/SA on the cluster's
        OIDC issuer, plus its role assignments."""
        c = self.handle.spec
        child = pulumi.ResourceOptions(parent=parent, provider=self._cloud_provider)
        uami = managedidentity.UserAssignedIdentity(
            f"{c.name}-{purpose}-identity", resource_group_name=self._resource_group, location=c.region,
            resource_name_=f"{c.name}-{purpose}", opts=child,
        )
        fic = managedidentity.FederatedIdentityCredential(
            f"{c.name}-{purpose}-federation",
            resource_group_name=self._resource_group,
            resource_name_=uami.name,
            federated_identity_credential_resource_name=f"{c.name}-{purpose}",
            issuer=self.oidc_issuer,
            subject=f"system:serviceaccount:{namespace}:{service_account}",
            audiences=[WORKLOAD_IDENTITY_AUDIENCE],
            opts=child,
        )
        resources: list[pulumi.Resource] = [uami, fic]
        for i, (role_guid, scope) in enumerate(permissions.azure_roles() if permissions.azure_roles else []):
            resources.append(authorization.RoleAssignment(
                f"{c.name}-{purpose}-role-{i}",
                role_assignment_name=assignment_name(c.name, purpose, role_guid, str(i)),
                principal_id=uami.principal_id,
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                role_definition_id=role_definition(self._subscription, role_guid),
                scope=scope,
                opts=child,
            ))
        return WorkloadIdentity(
            service_account_annotations={"azure.workload.identity/client-id": uami.client_id},
            pod_labels={"azure.workload.identity/use": "true"},
            principal=uami.client_id,
            resources=resources,
        )
