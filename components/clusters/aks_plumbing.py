"""Azure plumbing of the add-ons, beside the AKS cluster: Velero's storage account and container,
its writer identity and DR reader identities, and what AKS node auto-provisioning's NodePool
needs (an AKSNodeClass on the cluster's node subnet). The add-ons take what these hand over as
plain values and Inputs.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pulumi
import pulumi_azure_native.storage as azstorage
from pulumi_azure_native import authorization, managedidentity

from components import naming
from components.addons.autoscaling import NodeProvisioningArgs
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
from components.clusters.aks import assignment_name, role_definition
from components.identity import CloudPermissions

if TYPE_CHECKING:
    from components.handle import ClusterHandle
    from stacks.sections.backup import BackupConfig
    from stacks.spec import FleetSpec

# Azure built-in role definition ids.
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"

# Velero's Azure credential takes the workload-identity branch only when AZURE_FEDERATED_TOKEN_FILE
# is in the process environment, and the SDK then reads AZURE_CLIENT_ID and AZURE_TENANT_ID from
# the environment too (velero pkg/util/azure/credential.go @v1.18.1): the keys in a location's
# credential file are not used for it.
AZURE_IDENTITY_ENV = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID")


def azure_credentials_file(subscription: str, resource_group: str, client_id: str, tenant_id: str) -> str:
    """The Azure plugin's env-style credential file, authenticating with the federated token."""
    return (f"AZURE_SUBSCRIPTION_ID={subscription}\nAZURE_RESOURCE_GROUP={resource_group}\nAZURE_CLOUD_NAME=AzurePublicCloud\n"
            f"AZURE_CLIENT_ID={client_id}\nAZURE_TENANT_ID={tenant_id}\nAZURE_FEDERATED_TOKEN_FILE={DR_TOKEN_FILE}\n")


class AzureBackupStorage:
    """A ZRS storage account (Entra ID only, versioned, soft delete) with a ``velero`` container,
    and an Azure workload identity writer."""

    plugin = "velero.io/azure"
    # The token path is fixed; the peer identity's client and tenant id come from the DR link's Secret.
    reader_env = ReaderEnv(values={"AZURE_FEDERATED_TOKEN_FILE": DR_TOKEN_FILE}, secret_keys=AZURE_IDENTITY_ENV)

    def create(self, h: ClusterHandle, cfg: BackupConfig, *, protect: bool, key_rotation_days: int,
               opts: pulumi.ResourceOptions) -> BackupStore:
        stateful = protected(opts, protect)
        rg = h.cloud_outputs["resourceGroupName"]
        account = azstorage.StorageAccount(
            f"{h.name}-velero", account_name=naming.azure_storage_account(h.name, "velero"), resource_group_name=rg,
            location=h.region, kind=azstorage.Kind.STORAGE_V2, sku=azstorage.SkuArgs(name=azstorage.SkuName.STANDARD_ZRS),
            # Entra ID only: the plugin authenticates with workload identity (useAAD), never a shared key.
            allow_shared_key_access=False, allow_blob_public_access=False, enable_https_traffic_only=True,
            minimum_tls_version=azstorage.MinimumTlsVersion.TLS1_2, opts=stateful)
        props = azstorage.BlobServiceProperties(
            f"{h.name}-velero-blob", account_name=account.name, resource_group_name=rg, blob_services_name="default",
            is_versioning_enabled=True,
            delete_retention_policy=azstorage.DeleteRetentionPolicyArgs(enabled=True, days=14),
            container_delete_retention_policy=azstorage.DeleteRetentionPolicyArgs(enabled=True, days=14), opts=opts)
        # Versioned: previous versions are deleted this many days after they stop being current.
        azstorage.ManagementPolicy(
            f"{h.name}-velero-lifecycle", account_name=account.name, resource_group_name=rg, management_policy_name="default",
            policy=azstorage.ManagementPolicySchemaArgs(rules=[azstorage.ManagementPolicyRuleArgs(
                name="expire-noncurrent", type=azstorage.RuleType.LIFECYCLE, enabled=True,
                definition=azstorage.ManagementPolicyDefinitionArgs(
                    filters=azstorage.ManagementPolicyFilterArgs(blob_types=["blockBlob"]),
                    actions=azstorage.ManagementPolicyActionArgs(version=azstorage.ManagementPolicyVersionArgs(
                        delete=azstorage.DateAfterCreationArgs(days_after_creation_greater_than=cfg.noncurrent_version_days)))))]),
            opts=after(opts, props))
        container = azstorage.BlobContainer(
            f"{h.name}-velero-container", account_name=account.name, resource_group_name=rg, container_name="velero",
            public_access=azstorage.PublicAccess.NONE, opts=after(stateful, props))
        node_rg = pulumi.Output.all(h.account, h.cloud_outputs["nodeResourceGroup"]).apply(
            lambda a: f"/subscriptions/{a[0]}/resourceGroups/{a[1]}")
        # storageAccountURI: the plugin uses it as is instead of reading the account's properties
        # (velero pkg/util/azure/storage.go getStorageAccountURI), so no management-plane read is needed.
        config = {"resourceGroup": rg, "storageAccount": account.name, "subscriptionId": h.account, "useAAD": "true",
                  "storageAccountURI": account.primary_endpoints.apply(lambda e: e.blob)}
        # Blob data on the backup account. Disk snapshots, only when taken, in the node resource
        # group (where AKS keeps the disks): the plugin README's minimum is a custom role of
        # Microsoft.Compute disks/snapshots actions; the handle grants built-in roles only, so
        # that path still uses Contributor on that group (see docs/addons/velero.md).
        roles: list[tuple[str, pulumi.Input[str]]] = [(STORAGE_BLOB_DATA_CONTRIBUTOR, account.id)]
        perms = CloudPermissions(azure_roles=lambda: roles + ([(CONTRIBUTOR, node_rg)] if cfg.snapshots else []))
        identity = h.grant_workload_identity(NAMESPACE, SERVICE_ACCOUNT, perms, purpose="velero", parent=h.component, opts=opts)
        # The plugin still reads subscription, node resource group and cloud from its credential
        # file. None of it is secret: the client id comes from the SA annotation (workload identity).
        cloud = pulumi.Output.all(h.account, h.cloud_outputs["nodeResourceGroup"]).apply(
            lambda a: f"AZURE_SUBSCRIPTION_ID={a[0]}\nAZURE_RESOURCE_GROUP={a[1]}\nAZURE_CLOUD_NAME=AzurePublicCloud\n")
        return BackupStore(
            plugin=self.plugin, bucket=container.name, location_config=config, own_location_config=dict(config),
            snapshot_location_config={"resourceGroup": h.cloud_outputs["nodeResourceGroup"], "subscriptionId": h.account,
                                      "incremental": "true"},
            credentials_file=cloud, service_account_annotations=identity.service_account_annotations,
            pod_labels=identity.pod_labels, grants=identity.resources,
            annotations={"velero_backup_bucket_name": container.name, "velero_backup_storage_account": account.name,
                         "velero_backup_resource_group": rg},
            details={"account_id": account.id, "resource_group": rg})

    def grant_reader(self, peer: ClusterHandle, store: BackupStore, reader: ClusterHandle, *,
                     opts: pulumi.ResourceOptions) -> ReaderGrant:
        prefix = f"{peer.name}-velero-dr-{reader.name}"
        rg = store.details["resource_group"]
        uami = managedidentity.UserAssignedIdentity(prefix, resource_group_name=rg, location=peer.region,
                                                    resource_name_=naming.fit(prefix, 128), opts=opts)
        managedidentity.FederatedIdentityCredential(
            prefix, resource_group_name=rg, resource_name_=uami.name,
            federated_identity_credential_resource_name=naming.fit(f"velero-dr-{reader.name}", 120),
            issuer=reader.oidc_issuer, subject=SUBJECT, audiences=[DR_AUDIENCE], opts=opts)
        authorization.RoleAssignment(
            prefix, role_assignment_name=assignment_name(peer.name, "velero-dr", reader.name),
            principal_id=uami.principal_id, principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition(peer.account, STORAGE_BLOB_DATA_READER), scope=store.details["account_id"], opts=opts)
        file = pulumi.Output.all(peer.account, rg, uami.client_id, uami.tenant_id).apply(lambda a: azure_credentials_file(*a))
        return ReaderGrant(file, {"AZURE_CLIENT_ID": uami.client_id, "AZURE_TENANT_ID": uami.tenant_id})


class AksPlumbing:
    """The Azure side of the add-ons on one AKS cluster."""

    backup_storage = AzureBackupStorage()

    def node_provisioning(self, h: ClusterHandle, fleet: FleetSpec, args: NodeProvisioningArgs, *,
                          moved_from: list[pulumi.Input[str]]) -> tuple[NodeProvisioningArgs, list[pulumi.Resource]]:
        """Node auto-provisioning runs managed Karpenter (enabled on the cluster): an AKSNodeClass
        on the cluster's node subnet, nothing to create outside the cluster."""
        cfg, c = fleet.node_provisioning, h.spec
        out = NodeProvisioningArgs(**args)
        out["node_class_kind"] = "AKSNodeClass"
        out["node_class_spec"] = {
            "imageFamily": "AzureLinux",  # as the system pool
            "osDiskSizeGB": max(30, c.nodes.disk_size_gb),
            "vnetSubnetID": h.cloud_outputs["nodeSubnetId"],
        }
        out["requirements"] = [{"key": "karpenter.azure.com/sku-family", "operator": "In", "values": list(cfg.instance_families.azure)}]
        # The cluster runs the Cilium dataplane: the label lets Karpenter count the Cilium
        # DaemonSet's overhead, the startup taint keeps pods off a node until Cilium is ready.
        out["node_labels"] = {"kubernetes.azure.com/ebpf-dataplane": "cilium"}
        out["startup_taints"] = [{"key": "node.cilium.io/agent-not-ready", "value": "true", "effect": "NoExecute"}]
        return out, []
