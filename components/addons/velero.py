"""Velero on every cluster: backup storage in the cluster's own cloud, keyless credentials, a daily
Schedule, and a read-only location on a DR peer's storage for cross-cluster restore.

Everything that differs by cloud sits in :data:`BACKENDS`, one :class:`Backend` per cloud:
- the storage it creates;
- the plugin, location config and chart credentials Velero needs for it;
- how another cluster is let in to read it.

Cross-cloud DR reads use no keys. The peer's storage cloud trusts the *reader* cluster's OIDC
issuer for the reader's ``velero/velero`` service account. That is an IAM OIDC provider + role on
AWS, a federated credential on a user-assigned identity on Azure, and a workload identity pool
provider on GCP. The reader's Velero pods present a projected service-account token with the
fleet audience :data:`DR_AUDIENCE`. The DR location's credential file only points at that token
file; it holds no secret material.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

import pulumi
import pulumi_aws as aws
import pulumi_azure_native.storage as azstorage
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pulumi_random as random
from pulumi_azure_native import authorization, managedidentity

from components import naming
from components.addons import aws_federation
from components.addons.helm import release
from components.clusters.aks import assignment_name, role_definition
from components.handle import CloudPermissions, ClusterHandle, WorkloadIdentity
from components.security.namespaces import pss_namespace
from stacks.sections.backup import BackupConfig
from stacks.versions import CRD_API_VERSIONS, VELERO_PLUGINS

NAMESPACE = "velero"
SERVICE_ACCOUNT = "velero"
SUBJECT = f"system:serviceaccount:{NAMESPACE}:{SERVICE_ACCOUNT}"
# Privileged: the node-agent DaemonSet (file-system backup) mounts the kubelet's pod volumes from
# the host (/var/lib/kubelet/pods). Baseline forbids hostPath volumes.
POD_SECURITY_REASON = "node-agent mounts /var/lib/kubelet/pods (hostPath) for file-system backup"
# Audience of the projected token a reader presents to a DR peer's cloud. It is the same for all
# three clouds: the IAM OIDC provider client id, the Azure federated credential audience and the
# GCP pool provider's allowed audience.
DR_AUDIENCE = aws_federation.VELERO_DR_AUDIENCE
DR_TOKEN_DIR = "/var/run/secrets/velero-dr"
DR_TOKEN_FILE = f"{DR_TOKEN_DIR}/token"

# Azure built-in role definition ids.
STORAGE_BLOB_DATA_CONTRIBUTOR = "ba92f5b4-2d11-453d-a403-e96b0029c9fe"
STORAGE_BLOB_DATA_READER = "2a2b9908-6ea1-4ae2-8e65-a410df84e7d1"
CONTRIBUTOR = "b24988ac-6180-42a0-ab88-20f7382dd24c"


@dataclass
class Storage:
    """One cluster's backup storage, as Velero and a DR reader need it."""

    provider: str  # velero.io/aws | velero.io/azure | velero.io/gcp
    bucket: pulumi.Output[str]
    bsl_config: dict[str, pulumi.Input[str]]  # the config a read-only peer location also uses
    vsl_config: dict[str, pulumi.Input[str]]
    permissions: CloudPermissions
    resources: list[pulumi.Resource]
    details: dict[str, Any]  # backend-private values (key ARN, account id, ...)
    # GitOps Bridge annotations naming this storage for add-ons on the hub (bucket, or account + container).
    annotations: dict[str, pulumi.Input[str]]


@dataclass
class ReaderGrant:
    """What a DR reader gets from a peer's cloud: the location's credential file and, where the
    peer's plugin reads its identity from the process environment, that environment."""

    credential_file: pulumi.Output[str]
    env: dict[str, pulumi.Input[str]]


class Backend(Protocol):
    provider: str

    def create(self, h: ClusterHandle, parent: pulumi.Resource, protect: bool, key_rotation_days: int,
               cfg: BackupConfig) -> Storage: ...

    def reader_env(self, secret_name: str) -> list[dict[str, Any]]:
        """Process environment a reader's server and node-agent need for this cloud's plugin."""
        ...

    def own_config(self, s: Storage, identity: WorkloadIdentity) -> dict[str, pulumi.Input[str]]: ...

    def chart_credentials(self, h: ClusterHandle, s: Storage) -> dict[str, Any]: ...

    def after_identity(self, h: ClusterHandle, s: Storage, identity: WorkloadIdentity, parent: pulumi.Resource) -> list[pulumi.Resource]:
        """Grants that need the identity itself (empty on most clouds)."""
        ...

    def grant_reader(self, peer: ClusterHandle, s: Storage, reader: ClusterHandle, parent: pulumi.Resource) -> ReaderGrant:
        """Let ``reader``'s velero SA read ``s``: the credential file and environment for the reader's DR location."""
        ...


def aws_credentials_file(role_arn: str, region: str) -> str:
    """AWS shared config: assume ``role_arn`` with the projected token (web identity), in ``region``.

    The region is in the profile because a reader outside AWS has no AWS_REGION, and the kopia
    uploader loads the profile without the location's config."""
    return f"[default]\nrole_arn = {role_arn}\nweb_identity_token_file = {DR_TOKEN_FILE}\nregion = {region}\n"


# Velero's Azure credential takes the workload-identity branch only when AZURE_FEDERATED_TOKEN_FILE
# is in the process environment, and the SDK then reads AZURE_CLIENT_ID and AZURE_TENANT_ID from
# the environment too (velero pkg/util/azure/credential.go @v1.18.1): the keys in a location's
# credential file are not used for it.
AZURE_IDENTITY_ENV = ("AZURE_CLIENT_ID", "AZURE_TENANT_ID")


def azure_credentials_file(subscription: str, resource_group: str, client_id: str, tenant_id: str) -> str:
    """The Azure plugin's env-style credential file, authenticating with the federated token."""
    return (f"AZURE_SUBSCRIPTION_ID={subscription}\nAZURE_RESOURCE_GROUP={resource_group}\nAZURE_CLOUD_NAME=AzurePublicCloud\n"
            f"AZURE_CLIENT_ID={client_id}\nAZURE_TENANT_ID={tenant_id}\nAZURE_FEDERATED_TOKEN_FILE={DR_TOKEN_FILE}\n")


def gcp_credentials_file(project_number: str, pool: str, provider: str) -> str:
    """A Google external-account credential: exchange the projected token at STS for the pool principal."""
    return json.dumps({
        "type": "external_account",
        "audience": f"//iam.googleapis.com/projects/{project_number}/locations/global/workloadIdentityPools/{pool}/providers/{provider}",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "https://sts.googleapis.com/v1/token",
        "credential_source": {"file": DR_TOKEN_FILE},
    }, indent=2)


def _stateful(h: ClusterHandle, parent: pulumi.Resource, protect: bool) -> pulumi.ResourceOptions:
    return h.cloud_opts(parent, protect=protect)


class AwsBackend:
    provider = "velero.io/aws"

    def reader_env(self, secret_name: str) -> list[dict[str, Any]]:
        return []

    def create(self, h: ClusterHandle, parent: pulumi.Resource, protect: bool, key_rotation_days: int,
               cfg: BackupConfig) -> Storage:
        opts, stateful = h.cloud_opts(parent), _stateful(h, parent, protect)
        key = aws.kms.Key(f"{h.name}-velero-key", description=f"Velero backups of {h.name}", enable_key_rotation=True,
                          rotation_period_in_days=key_rotation_days, deletion_window_in_days=30, opts=stateful)
        bucket = aws.s3.Bucket(f"{h.name}-velero", bucket=h.account.apply(lambda a: naming.s3_bucket(h.name, "velero", f"-{a}")),
                               force_destroy=not protect, opts=stateful)
        res: list[pulumi.Resource] = [key, bucket]
        res.append(aws.s3.BucketVersioning(
            f"{h.name}-velero-versioning", bucket=bucket.id,
            versioning_configuration=aws.s3.BucketVersioningVersioningConfigurationArgs(status="Enabled"), opts=opts))
        # Versioned: every overwrite or delete keeps a noncurrent version until this rule expires it.
        res.append(aws.s3.BucketLifecycleConfiguration(
            f"{h.name}-velero-lifecycle", bucket=bucket.id,
            rules=[aws.s3.BucketLifecycleConfigurationRuleArgs(
                id="expire-noncurrent", status="Enabled", filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=""),
                noncurrent_version_expiration=aws.s3.BucketLifecycleConfigurationRuleNoncurrentVersionExpirationArgs(
                    noncurrent_days=cfg.noncurrent_version_days),
                abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
                    days_after_initiation=7))],
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[res[-1]]))))
        res.append(aws.s3.BucketServerSideEncryptionConfiguration(
            f"{h.name}-velero-sse", bucket=bucket.id,
            rules=[aws.s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="aws:kms", kms_master_key_id=key.arn),
                bucket_key_enabled=True)],
            opts=opts))
        block = aws.s3.BucketPublicAccessBlock(
            f"{h.name}-velero-public-block", bucket=bucket.id, block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True, opts=opts)
        res.append(block)
        res.append(aws.s3.BucketOwnershipControls(
            f"{h.name}-velero-ownership", bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"), opts=opts))
        tls_only = bucket.arn.apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [{
            "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [arn, f"{arn}/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
        res.append(aws.s3.BucketPolicy(f"{h.name}-velero-tls-only", bucket=bucket.id, policy=tls_only,
                                       opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[block]))))

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

        return Storage(self.provider, bucket.bucket, {"region": h.region}, {"region": h.region},
                       CloudPermissions(aws_policy=policy), res, {"key_arn": key.arn, "bucket_arn": bucket.arn},
                       {"velero_backup_bucket_name": bucket.bucket})

    def own_config(self, s: Storage, identity: WorkloadIdentity) -> dict[str, pulumi.Input[str]]:
        return {**s.bsl_config, "kmsKeyId": s.details["key_arn"]}

    def chart_credentials(self, h: ClusterHandle, s: Storage) -> dict[str, Any]:
        # EKS Pod Identity: the agent hands credentials to the pod; no secret, no SA annotation.
        return {"useSecret": False}

    def after_identity(self, h: ClusterHandle, s: Storage, identity: WorkloadIdentity, parent: pulumi.Resource) -> list[pulumi.Resource]:
        return []

    def grant_reader(self, peer: ClusterHandle, s: Storage, reader: ClusterHandle, parent: pulumi.Resource) -> ReaderGrant:
        opts = peer.cloud_opts(parent)
        prefix = f"{peer.name}-velero-dr-{reader.name}"
        # One IAM OIDC provider per issuer and account, shared with the other add-ons that federate.
        oidc = aws_federation.oidc_provider(reader, peer.cloud_provider)
        trust = aws_federation.web_identity_trust(reader, oidc, SUBJECT, DR_AUDIENCE)
        role = aws.iam.Role(prefix, name=naming.iam_role(peer.name, f"velero-dr-{reader.name}"), assume_role_policy=trust, opts=opts)
        read_only = pulumi.Output.all(s.details["bucket_arn"], s.details["key_arn"]).apply(lambda a: json.dumps({
            "Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": f"{a[0]}/*"},
                {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": a[0]},
                {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:DescribeKey"], "Resource": a[1]},
            ]}))
        aws.iam.RolePolicy(prefix, role=role.id, policy=read_only, opts=opts)
        return ReaderGrant(role.arn.apply(lambda arn: aws_credentials_file(arn, peer.region)), {})


class AzureBackend:
    provider = "velero.io/azure"

    def reader_env(self, secret_name: str) -> list[dict[str, Any]]:
        # The token path is fixed; the peer identity's client and tenant id come from the DR link's
        # Secret (optional: the link may land after the pods start; it then restarts them).
        return [{"name": "AZURE_FEDERATED_TOKEN_FILE", "value": DR_TOKEN_FILE}] + [
            {"name": key, "valueFrom": {"secretKeyRef": {"name": secret_name, "key": key, "optional": True}}}
            for key in AZURE_IDENTITY_ENV]

    def create(self, h: ClusterHandle, parent: pulumi.Resource, protect: bool, key_rotation_days: int,
               cfg: BackupConfig) -> Storage:
        opts, stateful = h.cloud_opts(parent), _stateful(h, parent, protect)
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
        lifecycle = azstorage.ManagementPolicy(
            f"{h.name}-velero-lifecycle", account_name=account.name, resource_group_name=rg, management_policy_name="default",
            policy=azstorage.ManagementPolicySchemaArgs(rules=[azstorage.ManagementPolicyRuleArgs(
                name="expire-noncurrent", type=azstorage.RuleType.LIFECYCLE, enabled=True,
                definition=azstorage.ManagementPolicyDefinitionArgs(
                    filters=azstorage.ManagementPolicyFilterArgs(blob_types=["blockBlob"]),
                    actions=azstorage.ManagementPolicyActionArgs(version=azstorage.ManagementPolicyVersionArgs(
                        delete=azstorage.DateAfterCreationArgs(days_after_creation_greater_than=cfg.noncurrent_version_days)))))]),
            opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[props])))
        container = azstorage.BlobContainer(
            f"{h.name}-velero-container", account_name=account.name, resource_group_name=rg, container_name="velero",
            public_access=azstorage.PublicAccess.NONE, opts=pulumi.ResourceOptions.merge(stateful, pulumi.ResourceOptions(depends_on=[props])))
        node_rg = pulumi.Output.all(h.account, h.cloud_outputs["nodeResourceGroup"]).apply(
            lambda a: f"/subscriptions/{a[0]}/resourceGroups/{a[1]}")
        # storageAccountURI: the plugin uses it as is instead of reading the account's properties
        # (velero pkg/util/azure/storage.go getStorageAccountURI), so no management-plane read is needed.
        config = {"resourceGroup": rg, "storageAccount": account.name, "subscriptionId": h.account, "useAAD": "true",
                  "storageAccountURI": account.primary_endpoints.apply(lambda e: e.blob)}
        # Blob data on the backup account. Disk snapshots, only when taken, in the node resource
        # group (where AKS keeps the disks): the plugin README's minimum is a custom role of
        # Microsoft.Compute disks/snapshots actions; the handle grants built-in roles only, so
        # that path still uses Contributor on that group (see docs/addons.md).
        roles: list[tuple[str, pulumi.Input[str]]] = [(STORAGE_BLOB_DATA_CONTRIBUTOR, account.id)]
        perms = CloudPermissions(azure_roles=lambda: roles + ([(CONTRIBUTOR, node_rg)] if cfg.snapshots else []))
        return Storage(self.provider, container.name, config, {"resourceGroup": h.cloud_outputs["nodeResourceGroup"],
                                                               "subscriptionId": h.account, "incremental": "true"},
                       perms, [account, props, container, lifecycle], {"account_id": account.id, "resource_group": rg},
                       {"velero_backup_bucket_name": container.name, "velero_backup_storage_account": account.name,
                        "velero_backup_resource_group": rg})

    def own_config(self, s: Storage, identity: WorkloadIdentity) -> dict[str, pulumi.Input[str]]:
        return dict(s.bsl_config)

    def chart_credentials(self, h: ClusterHandle, s: Storage) -> dict[str, Any]:
        # The plugin still reads subscription, node resource group and cloud from its credential
        # file. None of it is secret: the client id comes from the SA annotation (workload identity).
        cloud = pulumi.Output.all(h.account, h.cloud_outputs["nodeResourceGroup"]).apply(
            lambda a: f"AZURE_SUBSCRIPTION_ID={a[0]}\nAZURE_RESOURCE_GROUP={a[1]}\nAZURE_CLOUD_NAME=AzurePublicCloud\n")
        return {"useSecret": True, "secretContents": {"cloud": cloud}}

    def after_identity(self, h: ClusterHandle, s: Storage, identity: WorkloadIdentity, parent: pulumi.Resource) -> list[pulumi.Resource]:
        return []

    def grant_reader(self, peer: ClusterHandle, s: Storage, reader: ClusterHandle, parent: pulumi.Resource) -> ReaderGrant:
        opts = peer.cloud_opts(parent)
        prefix = f"{peer.name}-velero-dr-{reader.name}"
        uami = managedidentity.UserAssignedIdentity(prefix, resource_group_name=s.details["resource_group"], location=peer.region,
                                                    resource_name_=naming.fit(prefix, 128), opts=opts)
        managedidentity.FederatedIdentityCredential(
            prefix, resource_group_name=s.details["resource_group"], resource_name_=uami.name,
            federated_identity_credential_resource_name=naming.fit(f"velero-dr-{reader.name}", 120),
            issuer=reader.oidc_issuer, subject=SUBJECT, audiences=[DR_AUDIENCE], opts=opts)
        authorization.RoleAssignment(
            prefix, role_assignment_name=assignment_name(peer.name, "velero-dr", reader.name),
            principal_id=uami.principal_id, principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            role_definition_id=role_definition(peer.account, STORAGE_BLOB_DATA_READER), scope=s.details["account_id"], opts=opts)
        file = pulumi.Output.all(peer.account, s.details["resource_group"], uami.client_id, uami.tenant_id).apply(
            lambda a: azure_credentials_file(*a))
        return ReaderGrant(file, {"AZURE_CLIENT_ID": uami.client_id, "AZURE_TENANT_ID": uami.tenant_id})


class GcpBackend:
    provider = "velero.io/gcp"

    def reader_env(self, secret_name: str) -> list[dict[str, Any]]:
        return []

    def create(self, h: ClusterHandle, parent: pulumi.Resource, protect: bool, key_rotation_days: int,
               cfg: BackupConfig) -> Storage:
        stateful = _stateful(h, parent, protect)
        bucket = gcp.storage.Bucket(
            f"{h.name}-velero", name=h.account.apply(lambda p: naming.gcs_bucket(p, h.name, "velero")), location=h.region.upper(),
            uniform_bucket_level_access=True, public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            # Versioned: noncurrent versions are deleted this many days after they stop being current.
            lifecycle_rules=[gcp.storage.BucketLifecycleRuleArgs(
                action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                    days_since_noncurrent_time=cfg.noncurrent_version_days, with_state="ARCHIVED"))],
            force_destroy=not protect, opts=stateful)
        # Disk snapshot rights only when Velero takes snapshots (plugin README lists compute.disks.*
        # and compute.snapshots.* for them).
        perms = CloudPermissions(gcp_bucket_roles=lambda: [(bucket.name, "roles/storage.objectAdmin")],
                                 gcp_roles=lambda: ["roles/compute.storageAdmin"] if cfg.snapshots else [])
        return Storage(self.provider, bucket.name, {}, {"project": h.account, "snapshotLocation": h.region}, perms, [bucket],
                       {"protect": protect}, {"velero_backup_bucket_name": bucket.name})

    def own_config(self, s: Storage, identity: WorkloadIdentity) -> dict[str, pulumi.Input[str]]:
        return {**s.bsl_config, "serviceAccount": identity.principal}

    def chart_credentials(self, h: ClusterHandle, s: Storage) -> dict[str, Any]:
        return {"useSecret": False}

    def after_identity(self, h: ClusterHandle, s: Storage, identity: WorkloadIdentity, parent: pulumi.Resource) -> list[pulumi.Resource]:
        # Under Workload Identity the plugin signs GCS download URLs (velero backup logs/download)
        # with iam.serviceAccounts.signBlob on its own service account. It may do so on no other.
        gsa = pulumi.Output.all(h.account, identity.principal).apply(lambda a: f"projects/{a[0]}/serviceAccounts/{a[1]}")
        member = pulumi.Output.from_input(identity.principal).apply(lambda e: f"serviceAccount:{e}")
        return [gcp.serviceaccount.IAMMember(f"{h.name}-velero-signblob", service_account_id=gsa,
                                             role="roles/iam.serviceAccountTokenCreator", member=member,
                                             opts=h.cloud_opts(parent, depends_on=identity.resources))]

    def grant_reader(self, peer: ClusterHandle, s: Storage, reader: ClusterHandle, parent: pulumi.Resource) -> ReaderGrant:
        opts = peer.cloud_opts(parent)
        prefix = f"{peer.name}-velero-dr-{reader.name}"
        # One pool per (peer, reader): every reader's subject is the same velero SA, so the pool
        # is what tells readers apart. A deleted pool keeps its id for 30 days
        # (cloud.google.com/iam/docs/manage-workload-identity-pools-providers#delete-pool), so the
        # id ends in a random suffix that a re-created link draws anew; protected in prod.
        rand = random.Provider(f"{prefix}-random", opts=pulumi.ResourceOptions(parent=parent))
        suffix = random.RandomId(f"{prefix}-pool-suffix", byte_length=2, keepers={"peer": peer.name, "reader": reader.name},
                                 opts=pulumi.ResourceOptions(parent=parent, provider=rand))
        base_id = naming.fit(f"vdr-{peer.name}-{reader.name}", 27)
        pool = gcp.iam.WorkloadIdentityPool(prefix, workload_identity_pool_id=suffix.hex.apply(lambda x: f"{base_id}-{x}"),
                                            project=peer.account, opts=peer.cloud_opts(parent, protect=bool(s.details.get("protect"))))
        pool_id = pool.workload_identity_pool_id
        provider = gcp.iam.WorkloadIdentityPoolProvider(
            prefix, workload_identity_pool_id=pool.workload_identity_pool_id, workload_identity_pool_provider_id=naming.fit(reader.name, 32),
            project=peer.account, attribute_mapping={"google.subject": "assertion.sub"},
            attribute_condition=f"assertion.sub == '{SUBJECT}'",
            oidc=gcp.iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri=reader.oidc_issuer, allowed_audiences=[DR_AUDIENCE]),
            opts=opts)
        number = gcp.organizations.get_project_output(project_id=peer.account,
                                                      opts=pulumi.InvokeOutputOptions(provider=peer.cloud_provider, parent=parent)).number
        gcp.storage.BucketIAMMember(prefix, bucket=s.bucket, role="roles/storage.objectViewer",
                                    member=pulumi.Output.all(number, pool_id).apply(
                                        lambda a: f"principal://iam.googleapis.com/projects/{a[0]}/locations/global/workloadIdentityPools/{a[1]}/subject/{SUBJECT}"),
                                    opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[provider])))
        return ReaderGrant(pulumi.Output.all(number, pool_id, provider.workload_identity_pool_provider_id).apply(
            lambda a: gcp_credentials_file(*a)), {})


BACKENDS: dict[str, Backend] = {"aws": AwsBackend(), "azure": AzureBackend(), "gcp": GcpBackend()}


def dr_secret_name(peer: str) -> str:
    return f"velero-dr-{peer}"


DR_ENV_ANNOTATION = "archipelago.io/velero-dr-env"


def plugin_init_container(provider: str) -> dict[str, Any]:
    image = VELERO_PLUGINS[provider]
    return {"name": image.split("/")[-1].split(":")[0], "image": image, "imagePullPolicy": "IfNotPresent",
            "volumeMounts": [{"mountPath": "/target", "name": "plugins"}]}


def dr_token_volume() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    volume = {"name": "velero-dr-token", "projected": {"sources": [{"serviceAccountToken": {
        "path": "token", "audience": DR_AUDIENCE, "expirationSeconds": 3600}}]}}
    mount = {"name": "velero-dr-token", "mountPath": DR_TOKEN_DIR, "readOnly": True}
    return [volume], [mount]


def schedule_name(cluster: str) -> str:
    """Per cluster: a Schedule's backups are named ``<schedule>-<timestamp>``, and backup sync
    only imports names not already present, so a peer's ``daily-…`` would hide behind the
    reader's own (velero pkg/controller/backup_sync_controller.go @v1.18.1)."""
    return f"{cluster}-daily"


def schedule_spec(cfg: BackupConfig) -> dict[str, Any]:
    template: dict[str, Any] = {
        "includedNamespaces": list(cfg.included_namespaces),
        "excludedResources": list(cfg.excluded_resources),
        "storageLocation": "default",
        "ttl": cfg.ttl,
        "defaultVolumesToFsBackup": cfg.file_system_backup,
        # With file-system backup of every volume, snapshots would only duplicate the data.
        "snapshotVolumes": cfg.snapshots,
    }
    if cfg.snapshots:
        template["volumeSnapshotLocations"] = ["default"]
    # Deleting the Schedule must never delete its backups.
    return {"schedule": cfg.schedule, "useOwnerReferencesInBackup": False, "template": template}


def _cr(h: ClusterHandle, kind: str, name: str, spec: dict[str, Any], opts: pulumi.ResourceOptions,
        labels: dict[str, str] | None = None) -> k8s.apiextensions.CustomResource:
    return k8s.apiextensions.CustomResource(
        naming.logical(h.name, "velero", kind.lower(), name), api_version=CRD_API_VERSIONS[kind], kind=kind,
        metadata=k8s.meta.v1.ObjectMetaArgs(name=name, namespace=NAMESPACE, labels=labels), spec=spec, opts=opts)


@dataclass
class VeleroArgs:
    handle: ClusterHandle
    backup: BackupConfig
    protect_stateful: bool
    key_rotation_days: int
    # This cluster's DR peer (name, cloud), if any: its plugin, the token volume and the
    # environment its plugin reads are installed with Velero, so the later DR link only adds a
    # Secret and a location.
    dr_peer: str | None = None
    dr_peer_cloud: str | None = None


class Velero(pulumi.ComponentResource):
    storage: Storage
    release: k8s.helm.v3.Release
    bucket: pulumi.Output[str]

    def __init__(self, name: str, args: VeleroArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:addons:Velero", name, None, opts)
        h, cfg = args.handle, args.backup
        backend = BACKENDS[h.cloud]
        self.storage = backend.create(h, self, args.protect_stateful, args.key_rotation_days, cfg)
        self.bucket = self.storage.bucket
        self.hub_annotations = {**self.storage.annotations, "velero_backup_prefix": h.name}
        identity = h.grant_workload_identity(NAMESPACE, SERVICE_ACCOUNT, self.storage.permissions, purpose="velero", parent=self)
        grants = [*identity.resources, *backend.after_identity(h, self.storage, identity, self)]
        self.namespace = pss_namespace(h, NAMESPACE, "privileged", parent=self, reason=POD_SECURITY_REASON)

        providers = [backend.provider]
        if args.dr_peer_cloud and BACKENDS[args.dr_peer_cloud].provider not in providers:
            providers.append(BACKENDS[args.dr_peer_cloud].provider)
        volumes, mounts = dr_token_volume() if args.dr_peer_cloud else ([], [])
        dr_env = BACKENDS[args.dr_peer_cloud].reader_env(dr_secret_name(args.dr_peer)) if args.dr_peer and args.dr_peer_cloud else []
        configuration: dict[str, Any] = {
            "uploaderType": "kopia",
            "defaultBackupStorageLocation": "default",
            "defaultBackupTTL": cfg.ttl,
            "defaultVolumesToFsBackup": cfg.file_system_backup,
        }
        if cfg.snapshots:
            configuration["defaultVolumeSnapshotLocations"] = f"{backend.provider}:default"
        if dr_env:
            # Rendered into both the server Deployment and the node-agent DaemonSet (chart 12.1.0).
            configuration["extraEnvVars"] = dr_env
        values = {
            "initContainers": [plugin_init_container(p) for p in providers],
            "serviceAccount": {"server": {"create": True, "name": SERVICE_ACCOUNT, "annotations": identity.service_account_annotations}},
            "podLabels": identity.pod_labels,
            # Projected token files (Pod Identity, the DR token) get this group, so a non-root server can read them.
            "podSecurityContext": {"fsGroup": 65534},
            "credentials": backend.chart_credentials(h, self.storage),
            # The locations and the schedule are first-class custom resources below, not chart templates.
            "backupsEnabled": False,
            "snapshotsEnabled": False,
            "deployNodeAgent": True,
            "nodeAgent": {"podLabels": identity.pod_labels, "extraVolumes": volumes, "extraVolumeMounts": mounts},
            "extraVolumes": volumes,
            "extraVolumeMounts": mounts,
            "configuration": configuration,
        }
        self.release = release(h, "velero", release_name="velero", namespace=NAMESPACE, values=values, parent=self,
                               depends_on=[self.namespace, *grants])
        cr_opts = h.k8s_opts(self, depends_on=[self.release])
        self.bsl = _cr(h, "BackupStorageLocation", "default", {
            "provider": backend.provider, "default": True, "accessMode": "ReadWrite",
            "objectStorage": {"bucket": self.storage.bucket, "prefix": h.name},
            "config": backend.own_config(self.storage, identity),
        }, cr_opts)
        locations: list[pulumi.Resource] = [self.bsl]
        self.vsl: k8s.apiextensions.CustomResource | None = None
        if cfg.snapshots:
            self.vsl = _cr(h, "VolumeSnapshotLocation", "default", {"provider": backend.provider, "config": self.storage.vsl_config}, cr_opts)
            locations.append(self.vsl)
        self.schedule = _cr(h, "Schedule", schedule_name(h.name), schedule_spec(cfg),
                            pulumi.ResourceOptions.merge(cr_opts, pulumi.ResourceOptions(depends_on=locations)))
        self.register_outputs({"bucket": self.bucket})


@dataclass
class VeleroDrLinkArgs:
    reader: ClusterHandle
    reader_velero: Velero
    peer: ClusterHandle
    peer_velero: Velero


class VeleroDrLink(pulumi.ComponentResource):
    """A read-only location on ``reader`` over ``peer``'s backups, and the keyless grant behind it."""

    def __init__(self, name: str, args: VeleroDrLinkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:fleet:VeleroDrLink", name, None, opts)
        reader, peer, storage = args.reader, args.peer, args.peer_velero.storage
        backend = BACKENDS[peer.cloud]
        grant = backend.grant_reader(peer, storage, reader, self)
        secret_name = dr_secret_name(peer.name)
        self.secret = k8s.core.v1.Secret(
            naming.logical(reader.name, "velero", "dr", peer.name),
            metadata=k8s.meta.v1.ObjectMetaArgs(name=secret_name, namespace=NAMESPACE),
            string_data={"cloud": grant.credential_file, **grant.env},
            opts=reader.k8s_opts(self, depends_on=[args.reader_velero.namespace]),
        )
        if grant.env:
            # The pods read this environment at start: roll them when it changes (or first lands).
            stamp = pulumi.Output.all(*grant.env.values()).apply(
                lambda v: hashlib.sha256("\n".join(map(str, v)).encode()).hexdigest()[:16])
            patch_opts = reader.k8s_opts(self, depends_on=[args.reader_velero.release, self.secret])
            template = k8s.core.v1.PodTemplateSpecPatchArgs(
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(annotations={DR_ENV_ANNOTATION: stamp}))
            k8s.apps.v1.DeploymentPatch(
                naming.logical(reader.name, "velero", "dr-env", "server"),
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(name="velero", namespace=NAMESPACE,
                                                         annotations={"pulumi.com/patchForce": "true"}),
                spec=k8s.apps.v1.DeploymentSpecPatchArgs(template=template), opts=patch_opts)
            k8s.apps.v1.DaemonSetPatch(
                naming.logical(reader.name, "velero", "dr-env", "node-agent"),
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(name="node-agent", namespace=NAMESPACE,
                                                         annotations={"pulumi.com/patchForce": "true"}),
                spec=k8s.apps.v1.DaemonSetSpecPatchArgs(template=template), opts=patch_opts)
        self.bsl = _cr(reader, "BackupStorageLocation", f"dr-{peer.name}", {
            "provider": backend.provider,
            # ReadOnly: a restore from the peer can never delete or overwrite the peer's backups.
            "accessMode": "ReadOnly",
            "objectStorage": {"bucket": storage.bucket, "prefix": peer.name},
            "config": storage.bsl_config,
            "credential": {"name": secret_name, "key": "cloud"},
        }, reader.k8s_opts(self, depends_on=[args.reader_velero.release, self.secret]),
            labels={"archipelago.io/dr-peer": peer.name})
        self.register_outputs({"location": f"dr-{peer.name}"})
