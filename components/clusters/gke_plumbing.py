"""GCP plumbing of the add-ons, beside the GKE cluster: Velero's GCS bucket, its writer identity
(with signBlob on itself) and DR reader pools, and the autoscaled spot pool that complements node
auto-provisioning (a cluster setting, components.clusters.gke). The add-ons take what these hand
over as plain values and Inputs.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pulumi
import pulumi_gcp as gcp
import pulumi_random as random

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
from components.clusters.gke import node_pool_config
from components.identity import CloudPermissions
from components.options import moved_from as moved

if TYPE_CHECKING:
    from components.handle import ClusterHandle
    from stacks.sections.backup import BackupConfig
    from stacks.spec import FleetSpec


def gcp_credentials_file(project_number: str, pool: str, provider: str) -> str:
    """A Google external-account credential: exchange the projected token at STS for the pool principal."""
    return json.dumps({
        "type": "external_account",
        "audience": f"//iam.googleapis.com/projects/{project_number}/locations/global/workloadIdentityPools/{pool}/providers/{provider}",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "https://sts.googleapis.com/v1/token",
        "credential_source": {"file": DR_TOKEN_FILE},
    }, indent=2)


class GcpBackupStorage:
    """A GCS bucket (uniform access, public access prevented, versioned) and a GKE Workload
    Identity writer."""

    plugin = "velero.io/gcp"
    reader_env = ReaderEnv()

    def create(self, h: ClusterHandle, cfg: BackupConfig, *, protect: bool, key_rotation_days: int,
               opts: pulumi.ResourceOptions) -> BackupStore:
        bucket = gcp.storage.Bucket(
            f"{h.name}-velero", name=h.account.apply(lambda p: naming.gcs_bucket(p, h.name, "velero")), location=h.region.upper(),
            uniform_bucket_level_access=True, public_access_prevention="enforced",
            versioning=gcp.storage.BucketVersioningArgs(enabled=True),
            # Versioned: noncurrent versions are deleted this many days after they stop being current.
            lifecycle_rules=[gcp.storage.BucketLifecycleRuleArgs(
                action=gcp.storage.BucketLifecycleRuleActionArgs(type="Delete"),
                condition=gcp.storage.BucketLifecycleRuleConditionArgs(
                    days_since_noncurrent_time=cfg.noncurrent_version_days, with_state="ARCHIVED"))],
            force_destroy=not protect, opts=protected(opts, protect))
        # Disk snapshot rights only when Velero takes snapshots (plugin README lists compute.disks.*
        # and compute.snapshots.* for them).
        perms = CloudPermissions(gcp_bucket_roles=lambda: [(bucket.name, "roles/storage.objectAdmin")],
                                 gcp_roles=lambda: ["roles/compute.storageAdmin"] if cfg.snapshots else [])
        identity = h.grant_workload_identity(NAMESPACE, SERVICE_ACCOUNT, perms, purpose="velero", parent=h.component, opts=opts)
        # Under Workload Identity the plugin signs GCS download URLs (velero backup logs/download)
        # with iam.serviceAccounts.signBlob on its own service account. It may do so on no other.
        gsa = pulumi.Output.all(h.account, identity.principal).apply(lambda a: f"projects/{a[0]}/serviceAccounts/{a[1]}")
        member = pulumi.Output.from_input(identity.principal).apply(lambda e: f"serviceAccount:{e}")
        sign = gcp.serviceaccount.IAMMember(f"{h.name}-velero-signblob", service_account_id=gsa,
                                            role="roles/iam.serviceAccountTokenCreator", member=member,
                                            opts=after(opts, *identity.resources))
        return BackupStore(
            plugin=self.plugin, bucket=bucket.name, location_config={},
            own_location_config={"serviceAccount": identity.principal},
            snapshot_location_config={"project": h.account, "snapshotLocation": h.region},
            credentials_file=None, service_account_annotations=identity.service_account_annotations,
            pod_labels=identity.pod_labels, grants=[*identity.resources, sign],
            annotations={"velero_backup_bucket_name": bucket.name}, details={"protect": protect})

    def grant_reader(self, peer: ClusterHandle, store: BackupStore, reader: ClusterHandle, *,
                     opts: pulumi.ResourceOptions) -> ReaderGrant:
        prefix = f"{peer.name}-velero-dr-{reader.name}"
        parent = opts.parent
        # One pool per (peer, reader): every reader's subject is the same velero SA, so the pool
        # is what tells readers apart. A deleted pool keeps its id for 30 days
        # (cloud.google.com/iam/docs/manage-workload-identity-pools-providers#delete-pool), so the
        # id ends in a random suffix that a re-created link draws anew; protected in prod.
        local = pulumi.ResourceOptions(parent=parent, aliases=opts.aliases)
        rand = random.Provider(f"{prefix}-random", opts=local)
        suffix = random.RandomId(f"{prefix}-pool-suffix", byte_length=2, keepers={"peer": peer.name, "reader": reader.name},
                                 opts=pulumi.ResourceOptions.merge(local, pulumi.ResourceOptions(provider=rand)))
        base_id = naming.fit(f"vdr-{peer.name}-{reader.name}", 27)
        pool = gcp.iam.WorkloadIdentityPool(prefix, workload_identity_pool_id=suffix.hex.apply(lambda x: f"{base_id}-{x}"),
                                            project=peer.account, opts=protected(opts, bool(store.details.get("protect"))))
        pool_id = pool.workload_identity_pool_id
        provider = gcp.iam.WorkloadIdentityPoolProvider(
            prefix, workload_identity_pool_id=pool.workload_identity_pool_id, workload_identity_pool_provider_id=naming.fit(reader.name, 32),
            project=peer.account, attribute_mapping={"google.subject": "assertion.sub"},
            attribute_condition=f"assertion.sub == '{SUBJECT}'",
            oidc=gcp.iam.WorkloadIdentityPoolProviderOidcArgs(issuer_uri=reader.oidc_issuer, allowed_audiences=[DR_AUDIENCE]),
            opts=opts)
        number = gcp.organizations.get_project_output(project_id=peer.account,
                                                      opts=pulumi.InvokeOutputOptions(provider=peer.cloud_provider, parent=parent)).number
        gcp.storage.BucketIAMMember(prefix, bucket=store.bucket, role="roles/storage.objectViewer",
                                    member=pulumi.Output.all(number, pool_id).apply(
                                        lambda a: f"principal://iam.googleapis.com/projects/{a[0]}/locations/global/workloadIdentityPools/{a[1]}/subject/{SUBJECT}"),
                                    opts=after(opts, provider))
        return ReaderGrant(pulumi.Output.all(number, pool_id, provider.workload_identity_pool_provider_id).apply(
            lambda a: gcp_credentials_file(*a)), {})


def machine_vcpus(machine_type: str) -> int:
    """vCPUs of a GCE machine type: e2-standard-4 -> 4, n2-custom-8-32768 -> 8; shared-core and
    other unnumbered types (e2-medium) count as 2."""
    parts = machine_type.split("-")
    if "custom" in parts and parts.index("custom") + 1 < len(parts):
        n = parts[parts.index("custom") + 1]
    else:
        n = parts[-1]
    return int(n) if n.isdigit() and int(n) > 0 else 2


class GkePlumbing:
    """The GCP side of the add-ons on one GKE cluster."""

    backup_storage = GcpBackupStorage()

    def node_provisioning(self, h: ClusterHandle, fleet: FleetSpec, args: NodeProvisioningArgs, *,
                          moved_from: list[pulumi.Input[str]]) -> tuple[NodeProvisioningArgs, list[pulumi.Resource]]:
        """Node auto-provisioning is on the cluster; spot capacity is an autoscaled pool from zero.
        No Karpenter objects: the args carry no node class."""
        cfg, c = fleet.node_provisioning, h.spec
        if cfg.spot:
            gcp.container.NodePool(
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
                opts=pulumi.ResourceOptions.merge(h.cloud_opts(h.component), moved(*moved_from)),
            )
        return args, []
