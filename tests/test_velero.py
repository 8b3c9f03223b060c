"""Velero on every cluster: protected storage in the cluster's own cloud, keyless credentials, the
reference Schedule, read-only DR locations on configured peers, and config errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from components.addons.velero import DR_ENV_ANNOTATION, schedule_name
from components.backup_storage import DR_AUDIENCE, DR_TOKEN_FILE
from components.clusters.aks_plumbing import AzureBackupStorage, azure_credentials_file
from components.clusters.eks_plumbing import AwsBackupStorage, aws_credentials_file
from components.clusters.gke_plumbing import GcpBackupStorage, gcp_credentials_file
from offline import schemas
from offline.plan import Plan, run_plan
from offline.report import CLUSTER_COMPONENTS, cluster_name, cluster_of, is_component
from stacks.config import ConfigError
from stacks.validate import build_spec
from stacks.versions import CHARTS, VELERO_PLUGINS

from .addon_support import assert_config_error, render_chart, workloads
from .conftest import ROOT, stack_raw

RELEASE = "kubernetes:helm.sh/v3:Release"
BSL = "kubernetes:velero.io/v1:BackupStorageLocation"
VSL = "kubernetes:velero.io/v1:VolumeSnapshotLocation"
SCHEDULE = "kubernetes:velero.io/v1:Schedule"

# The storage each cloud must create for a cluster, by resource type -> required inputs.
STORAGE: dict[str, dict[str, dict[str, Any]]] = {
    "aws": {
        "aws:s3/bucket:Bucket": {},
        "aws:kms/key:Key": {"enableKeyRotation": True},
        "aws:s3/bucketVersioning:BucketVersioning": {"versioningConfiguration": {"status": "Enabled"}},
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock": {
            "blockPublicAcls": True, "blockPublicPolicy": True, "ignorePublicAcls": True, "restrictPublicBuckets": True},
    },
    "azure": {
        "azure-native:storage:StorageAccount": {"allowSharedKeyAccess": False, "allowBlobPublicAccess": False,
                                                 "enableHttpsTrafficOnly": True, "minimumTlsVersion": "TLS1_2"},
        "azure-native:storage:BlobServiceProperties": {"deleteRetentionPolicy": {"enabled": True, "days": 14},
                                                        "isVersioningEnabled": True},
        "azure-native:storage:BlobContainer": {"publicAccess": "None"},
    },
    "gcp": {
        "gcp:storage/bucket:Bucket": {"uniformBucketLevelAccess": True, "versioning": {"enabled": True},
                                       "publicAccessPrevention": "enforced"},
    },
}
# Each cloud's storage behind the interface (beside its cluster component), by cloud.
BACKENDS = {"aws": AwsBackupStorage(), "azure": AzureBackupStorage(), "gcp": GcpBackupStorage()}
STATEFUL = {"aws:s3/bucket:Bucket", "aws:kms/key:Key", "azure-native:storage:StorageAccount",
            "azure-native:storage:BlobContainer", "gcp:storage/bucket:Bucket"}


def velero_releases(plan: Plan) -> dict[str, dict[str, Any]]:
    by_urn = plan.by_urn()
    return {cluster_name(r, by_urn): r for r in plan.of_type(RELEASE) if r["inputs"]["name"] == "velero"}


def own(plan: Plan, typ: str, cluster: str) -> list[dict[str, Any]]:
    """A cluster's Velero storage: children of its cluster component (the cloud plumbing beside
    the cluster) named <cluster>-velero..., DR grants to readers left out."""
    by_urn = plan.by_urn()
    return [r for r in plan.of_type(typ) if r["name"].startswith(f"{cluster}-velero") and "-velero-dr-" not in r["name"]
            and is_component(by_urn[r["parent"]], CLUSTER_COMPONENTS) and by_urn[r["parent"]]["name"] == cluster]


def test_velero_on_every_cluster_on_its_provider(plan: Plan) -> None:
    releases = velero_releases(plan)
    assert sorted(releases) == sorted(c.name for c in plan.spec.clusters)
    for name, r in releases.items():
        assert r["provider"].endswith(f"::{name}-k8s")
        assert r["inputs"]["version"] == CHARTS["velero"]["version"]
        assert r["inputs"]["namespace"] == "velero"


def test_namespace_privileged_with_reason(plan: Plan) -> None:
    ns = [r for r in plan.of_type("kubernetes:core/v1:Namespace") if r["inputs"]["metadata"]["name"] == "velero"]
    assert len(ns) == len(plan.spec.clusters)
    for r in ns:
        assert r["inputs"]["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"
        assert "hostPath" in r["inputs"]["metadata"]["annotations"]["archipelago.io/pod-security-reason"]


def test_storage_in_own_cloud_hardened_and_protected(plan: Plan) -> None:
    protect = plan.spec.environment == "prod"
    for c in plan.spec.clusters:
        for typ, required in STORAGE[c.cloud].items():
            found = own(plan, typ, c.name)
            assert len(found) == 1, (c.name, typ)
            inputs = found[0]["inputs"]
            for key, value in required.items():
                assert inputs[key] == value, (c.name, typ, key)
            assert found[0]["protect"] is (protect and typ in STATEFUL), (c.name, typ)
            # The cluster's own cloud provider (on AWS, its region's).
            assert f"providers:{ {'aws': 'aws', 'azure': 'azure-native', 'gcp': 'gcp'}[c.cloud]}::" in found[0]["provider"]
            assert c.cloud != "aws" or found[0]["provider"].endswith(f"aws-{c.region}")
        for other, types in STORAGE.items():
            if other != c.cloud:
                assert not any(own(plan, t, c.name) for t in types), (c.name, other)


def test_s3_encryption_and_tls_only_policy(plan: Plan) -> None:
    for c in (c for c in plan.spec.clusters if c.cloud == "aws"):
        [sse] = own(plan, "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration", c.name)
        rule = sse["inputs"]["rules"][0]["applyServerSideEncryptionByDefault"]
        assert rule["sseAlgorithm"] == "aws:kms" and rule["kmsMasterKeyId"].startswith("arn:aws:kms:")
        [policy] = own(plan, "aws:s3/bucketPolicy:BucketPolicy", c.name)
        stmt = json.loads(policy["inputs"]["policy"])["Statement"][0]
        assert stmt["Effect"] == "Deny" and stmt["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_chart_values_keyless_with_plugin_and_node_agent(plan: Plan) -> None:
    for name, r in velero_releases(plan).items():
        c = plan.spec.cluster(name)
        values = r["inputs"]["values"]
        images = [i["image"] for i in values["initContainers"]]
        assert images[0] == VELERO_PLUGINS[BACKENDS[c.cloud].plugin]
        assert values["deployNodeAgent"] is True
        assert values["serviceAccount"]["server"]["name"] == "velero"
        text = json.dumps(values)
        for static in ("aws_access_key_id", "aws_secret_access_key", "AZURE_CLIENT_SECRET", "private_key", "AZURE_STORAGE_ACCOUNT_ACCESS_KEY"):
            assert static not in text, (name, static)
        creds = values["credentials"]
        if c.cloud == "azure":
            assert values["podLabels"] == {"azure.workload.identity/use": "true"}
            assert "azure.workload.identity/client-id" in values["serviceAccount"]["server"]["annotations"]
            assert "AZURE_RESOURCE_GROUP=MC_" in creds["secretContents"]["cloud"]
        else:
            assert creds == {"useSecret": False}
        if c.cloud == "gcp":
            assert "iam.gke.io/gcp-service-account" in values["serviceAccount"]["server"]["annotations"]


def test_workload_identity_granted(plan: Plan) -> None:
    for c in plan.spec.clusters:
        kind = {"aws": "aws:eks/podIdentityAssociation:PodIdentityAssociation",
                "azure": "azure-native:managedidentity:FederatedIdentityCredential",
                "gcp": "gcp:serviceaccount/iAMMember:IAMMember"}[c.cloud]
        grants = [r for r in plan.of_type(kind) if r["name"].startswith(f"{c.name}-velero")]
        assert grants, c.name
        text = json.dumps(grants[0]["inputs"])
        assert "velero" in text and ("system:serviceaccount:velero:velero" in text or "[velero/velero]" in text
                                     or grants[0]["inputs"].get("serviceAccount") == "velero")


def test_locations_and_schedule(plan: Plan) -> None:
    by_urn = plan.by_urn()
    cfg = plan.spec.backup
    schedules = {cluster_name(r, by_urn): r for r in plan.of_type(SCHEDULE)}
    assert sorted(schedules) == sorted(c.name for c in plan.spec.clusters)
    for r in schedules.values():
        spec = r["inputs"]["spec"]
        assert spec["schedule"] == "0 2 * * *"
        assert spec["useOwnerReferencesInBackup"] is False
        t = spec["template"]
        assert t["includedNamespaces"] == ["production", "staging"]
        assert t["excludedResources"] == ["events", "events.events.k8s.io"]
        assert t["ttl"] == cfg.ttl and t["storageLocation"] == "default"
    defaults = [r for r in plan.of_type(BSL) if r["inputs"]["metadata"]["name"] == "default"]
    assert len(defaults) == len(plan.spec.clusters)
    for r in defaults:
        c = plan.spec.cluster(cluster_name(r, by_urn))
        spec = r["inputs"]["spec"]
        assert spec["provider"] == BACKENDS[c.cloud].plugin and spec["accessMode"] == "ReadWrite" and spec["default"] is True
        assert spec["objectStorage"]["prefix"] == c.name and spec["objectStorage"]["bucket"]
        if c.cloud == "azure":
            assert spec["config"]["useAAD"] == "true"
            # Given, the plugin skips reading the account's properties (velero
            # pkg/util/azure/storage.go getStorageAccountURI @v1.18.1): no management-plane read.
            account = spec["config"]["storageAccount"]
            assert spec["config"]["storageAccountURI"] == f"https://{account}.blob.core.windows.net/"
        if c.cloud == "gcp":
            assert spec["config"]["serviceAccount"].endswith(".iam.gserviceaccount.com")
    # Snapshots are off with file-system backup: no snapshot location at all.
    assert len(plan.of_type(VSL)) == (len(plan.spec.clusters) if cfg.snapshots else 0)


def test_dr_peer_read_only_location(plan: Plan) -> None:
    by_urn = plan.by_urn()
    peers = plan.spec.backup.dr_peers
    assert peers, "the stack files configure DR peers"
    buckets = {cluster_name(r, by_urn): r["inputs"]["spec"]["objectStorage"]["bucket"]
               for r in plan.of_type(BSL) if r["inputs"]["metadata"]["name"] == "default"}
    dr = {cluster_name(r, by_urn): r for r in plan.of_type(BSL) if r["inputs"]["metadata"]["name"].startswith("dr-")}
    assert sorted(dr) == sorted(peers)
    releases = velero_releases(plan)
    for reader, peer in peers.items():
        spec = dr[reader]["inputs"]["spec"]
        peer_cloud = plan.spec.cluster(peer).cloud
        assert dr[reader]["inputs"]["metadata"]["name"] == f"dr-{peer}"
        assert spec["accessMode"] == "ReadOnly"
        assert spec["provider"] == BACKENDS[peer_cloud].plugin
        assert spec["objectStorage"] == {"bucket": buckets[peer], "prefix": peer}
        assert spec["credential"] == {"name": f"velero-dr-{peer}", "key": "cloud"}
        values = releases[reader]["inputs"]["values"]
        assert VELERO_PLUGINS[BACKENDS[peer_cloud].plugin] in [i["image"] for i in values["initContainers"]]
        for scope in (values, values["nodeAgent"]):
            [vol] = scope["extraVolumes"]
            assert vol["projected"]["sources"][0]["serviceAccountToken"]["audience"] == DR_AUDIENCE
    for name in set(releases) - set(peers):
        assert releases[name]["inputs"]["values"]["extraVolumes"] == []


def test_dr_links_hang_off_clusters(plan: Plan) -> None:
    """Nothing but the link itself waits on a DR link, and no cluster's Velero waits on another cluster."""
    by_urn = plan.by_urn()
    links = {r["urn"] for r in plan.resources if "archipelago:index:VeleroDrLink" in r["urn"]}
    assert links
    for r in plan.resources:
        if r["urn"] not in links:
            assert not links & set(r["dependencies"]), r["urn"]
    for r in plan.resources:
        if "archipelago:index:Velero$" in r["urn"] and r["custom"]:
            mine = r["name"].split("-velero")[0]
            for dep in r["dependencies"]:
                assert cluster_of(by_urn[dep], by_urn) in (mine, None), (r["urn"], dep)
                assert by_urn[dep]["name"].startswith(mine), (r["urn"], dep)


def test_dr_grant_is_keyless_and_read_only(prod_plan: Plan) -> None:
    """The peer's cloud trusts the reader's OIDC issuer; the reader's credential file points at a token."""
    plan = prod_plan
    roles = {r["name"]: r for r in plan.of_type("aws:iam/rolePolicy:RolePolicy") if "-velero-dr-" in r["name"]}
    assert roles, "an AWS peer grants its readers a role"
    for r in roles.values():
        actions = {a for s in json.loads(r["inputs"]["policy"])["Statement"] for a in s["Action"]}
        assert actions == {"s3:GetObject", "s3:ListBucket", "kms:Decrypt", "kms:DescribeKey"}
    # The reader's issuer is one IAM OIDC provider shared with other add-ons (IAM allows one per
    # URL); the DR role's trust is what pins the Velero service account and the DR audience.
    oidc = {r["inputs"]["url"]: r for r in plan.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")}
    trusts = [json.loads(r["inputs"]["assumeRolePolicy"])["Statement"][0] for r in plan.of_type("aws:iam/role:Role")
              if "-velero-dr-" in r["name"]]
    assert trusts
    for t in trusts:
        assert sorted(t["Condition"]["StringEquals"].values()) == sorted([DR_AUDIENCE, "system:serviceaccount:velero:velero"])
        url = "https://" + t["Principal"]["Federated"].split(":oidc-provider/")[1]
        assert DR_AUDIENCE in oidc[url]["inputs"]["clientIdLists"]
    fics = [r for r in plan.of_type("azure-native:managedidentity:FederatedIdentityCredential") if "-velero-dr-" in r["name"]]
    assert fics and all(r["inputs"]["audiences"] == [DR_AUDIENCE] for r in fics)
    assignments = [r for r in plan.of_type("azure-native:authorization:RoleAssignment") if "-velero-dr-" in r["name"]]
    assert assignments and all(r["inputs"]["roleDefinitionId"].endswith("2a2b9908-6ea1-4ae2-8e65-a410df84e7d1") for r in assignments)
    pools = [r for r in plan.of_type("gcp:iam/workloadIdentityPoolProvider:WorkloadIdentityPoolProvider") if "-velero-dr-" in r["name"]]
    assert pools and all(r["inputs"]["oidc"]["allowedAudiences"] == [DR_AUDIENCE] for r in pools)
    members = [r for r in plan.of_type("gcp:storage/bucketIAMMember:BucketIAMMember") if "-velero-dr-" in r["name"]]
    assert members and all(r["inputs"]["role"] == "roles/storage.objectViewer" for r in members)
    for s in (r for r in plan.of_type("kubernetes:core/v1:Secret") if r["inputs"]["metadata"]["name"].startswith("velero-dr-")):
        assert s["inputs"]["metadata"]["namespace"] == "velero"


def test_rendered_chart(plan: Plan) -> None:
    """Render the pinned chart with each cluster's values (schema-checked): plugins, identity,
    node-agent and the DR token reach the pods; the chart itself renders no locations."""
    peers = plan.spec.backup.dr_peers
    for name, r in velero_releases(plan).items():
        values = r["inputs"]["values"]
        docs = render_chart("velero", values, name="velero", namespace="velero")
        kinds = {d["kind"] for d in docs}
        assert not kinds & {"BackupStorageLocation", "VolumeSnapshotLocation", "Schedule"}, name
        pods = {d["metadata"]["name"]: d["spec"]["template"]["spec"] for d in workloads(docs) if d["kind"] != "Job"}
        assert set(pods) == {"velero", "node-agent"}, name
        server = pods["velero"]
        assert server["serviceAccountName"] == pods["node-agent"]["serviceAccountName"] == "velero"
        assert [c["image"] for c in server["initContainers"]] == [c["image"] for c in values["initContainers"]]
        sa = next(d for d in docs if d["kind"] == "ServiceAccount" and d["metadata"]["name"] == "velero")
        assert (sa["metadata"].get("annotations") or {}) == values["serviceAccount"]["server"]["annotations"]
        for pod in pods.values():
            has_token = any(v["name"] == "velero-dr-token" for v in pod.get("volumes", []))
            assert has_token is (name in peers), name
        secrets = [d for d in docs if d["kind"] == "Secret"]
        assert bool(secrets) is (plan.spec.cluster(name).cloud == "azure"), name


def test_credential_files_point_at_the_token() -> None:
    """The DR credential files carry no secret: each names an identity and the projected token."""
    aws_file = aws_credentials_file("arn:aws:iam::123456789012:role/x", "us-east-1")
    assert "role_arn = arn:aws:iam::123456789012:role/x" in aws_file and f"web_identity_token_file = {DR_TOKEN_FILE}" in aws_file
    assert "aws_secret_access_key" not in aws_file
    azure_file = dict(line.split("=", 1) for line in azure_credentials_file("sub", "rg", "cid", "tid").splitlines())
    assert azure_file == {"AZURE_SUBSCRIPTION_ID": "sub", "AZURE_RESOURCE_GROUP": "rg", "AZURE_CLOUD_NAME": "AzurePublicCloud",
                          "AZURE_CLIENT_ID": "cid", "AZURE_TENANT_ID": "tid", "AZURE_FEDERATED_TOKEN_FILE": DR_TOKEN_FILE}
    gcp_file = json.loads(gcp_credentials_file("42", "pool", "prov"))
    assert gcp_file["type"] == "external_account" and gcp_file["credential_source"] == {"file": DR_TOKEN_FILE}
    assert gcp_file["audience"] == "//iam.googleapis.com/projects/42/locations/global/workloadIdentityPools/pool/providers/prov"


def test_gcp_can_sign_urls_only_as_itself(plan: Plan) -> None:
    for c in (c for c in plan.spec.clusters if c.cloud == "gcp"):
        [grant] = [r for r in plan.of_type("gcp:serviceaccount/iAMMember:IAMMember") if r["name"] == f"{c.name}-velero-signblob"]
        email = grant["inputs"]["member"].removeprefix("serviceAccount:")
        assert grant["inputs"]["serviceAccountId"].endswith(f"/serviceAccounts/{email}")


def test_custom_resources_valid(plan: Plan) -> None:
    crs = [r for r in plan.resources if r["type"].startswith("kubernetes:velero.io/")]
    assert {r["type"] for r in crs} >= {BSL, SCHEDULE}
    for r in crs:
        assert schemas.validate_custom_resource(r["inputs"]) == [], r["name"]


def test_plugins_match_velero_minor() -> None:
    """Plugin v1.14.x pairs with Velero 1.18.x (the plugins' compatibility table)."""
    chart = yaml.safe_load((ROOT.parent / "shared" / "charts" / "velero" / "Chart.yaml").read_text())
    assert chart["version"] == CHARTS["velero"]["version"] and chart["appVersion"].startswith("1.18")
    for image in VELERO_PLUGINS.values():
        assert image.rsplit(":", 1)[1].startswith("v1.14.") and "rc" not in image


@pytest.mark.parametrize("section, path, value, text", [
    ({"schedule": "0 25 * * *"}, "backup.schedule", "0 25 * * *", "cron"),
    ({"schedule": "* * * * * *"}, "backup.schedule", "* * * * * *", "5-field"),
    ({"ttl": "30d"}, "backup.ttl", "30d", "positive duration"),
    ({"ttl": "0h"}, "backup.ttl", "0h", "positive duration"),
    ({"drPeers": {"dev-eks": "dev-eks"}}, "backup.drPeers.dev-eks", "dev-eks", "the cluster itself"),
    ({"drPeers": {"dev-eks": "prod-x"}}, "backup.drPeers.dev-eks", "prod-x", "not a cluster of the fleet"),
    ({"drPeers": {"ghost": "dev-eks"}}, "backup.drPeers.ghost", "ghost", "not a cluster of the fleet"),
    ({"includedNamespaces": ["Prod_NS"]}, "backup.includedNamespaces[0]", "Prod_NS", "namespace"),
    ({"includedNamespaces": []}, "backup.includedNamespaces", [], "at least 1"),
])
def test_config_errors(section: dict, path: str, value: Any, text: str) -> None:
    assert_config_error("dev", "backup", section, path, value, text)


def test_all_errors_at_once() -> None:
    raw = stack_raw("dev")
    raw["backup"] = {"schedule": "nope", "ttl": "1y", "drPeers": {"dev-aks": "dev-aks"}}
    raw["argocd"] = {"repoUrl": "ftp://x"}
    with pytest.raises(ConfigError) as exc:
        build_spec(raw, "dev")
    assert {i.path for i in exc.value.issues} >= {"backup.schedule", "backup.ttl", "backup.drPeers.dev-aks", "argocd.repoUrl"}


def test_defaults_are_the_reference() -> None:
    raw = stack_raw("dev")
    raw.pop("backup", None)
    spec = build_spec(raw, "dev")
    assert (spec.backup.schedule, spec.backup.included_namespaces, spec.backup.excluded_resources, spec.backup.ttl) == (
        "0 2 * * *", ["production", "staging"], ["events", "events.events.k8s.io"], "720h0m0s")
    assert spec.backup.dr_peers == {}


# --- Velero 1.18.1 and plugins 1.14 read against upstream ---

def test_schedule_names_are_per_cluster(plan: Plan) -> None:
    """Backup sync imports only backup names not already in the cluster
    (vmware-tanzu/velero pkg/controller/backup_sync_controller.go @v1.18.1:
    ``backupStoreBackups.Difference(clusterBackupsSet)``), and a Schedule names its backups
    ``<schedule>-<timestamp>``: with one ``daily`` everywhere a peer's backup of the same minute
    would be hidden behind the reader's own. Each cluster's Schedule carries its name."""
    by_urn = plan.by_urn()
    names = {cluster_of(r, by_urn): r["inputs"]["metadata"]["name"] for r in plan.of_type(SCHEDULE)}
    assert names == {c.name: schedule_name(c.name) for c in plan.spec.clusters}
    assert len(set(names.values())) == len(names)


LIFECYCLE = {
    "aws": ("aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
            lambda i: i["rules"][0]["noncurrentVersionExpiration"]["noncurrentDays"]),
    "azure": ("azure-native:storage:ManagementPolicy",
              lambda i: i["policy"]["rules"][0]["definition"]["actions"]["version"]["delete"]["daysAfterCreationGreaterThan"]),
    "gcp": ("gcp:storage/bucket:Bucket",
            lambda i: i["lifecycleRules"][0]["condition"]["daysSinceNoncurrentTime"]),
}


@pytest.mark.parametrize("cloud", sorted(LIFECYCLE))
def test_versioned_storage_expires_noncurrent_versions(prod_plan: Plan, cloud: str) -> None:
    """Versioned storage keeps every replaced or deleted object as a noncurrent version, forever
    unless a lifecycle rule expires it (S3 NoncurrentVersionExpiration, Azure blob lifecycle
    ``version.delete``, GCS ``daysSinceNoncurrentTime``)."""
    typ, days = LIFECYCLE[cloud]
    clusters = [c.name for c in prod_plan.spec.clusters if c.cloud == cloud]
    found = {r["name"].split("-velero")[0]: days(r["inputs"]) for r in prod_plan.of_type(typ) if "-velero" in r["name"]}
    assert found == {c: prod_plan.spec.backup.noncurrent_version_days for c in clusters}


def test_readers_of_azure_peers_get_the_identity_environment(plan: Plan) -> None:
    """Velero's Azure credential takes the workload-identity branch only when
    ``AZURE_FEDERATED_TOKEN_FILE`` is in the process environment, and then azidentity reads
    ``AZURE_CLIENT_ID``/``AZURE_TENANT_ID`` from the environment as well
    (vmware-tanzu/velero pkg/util/azure/credential.go @v1.18.1, ``NewCredential``): keys in the
    location's credential file are not read. Render chart velero 12.1.0: both the server and
    the node-agent (kopia restores) carry the three, the ids from the DR link's Secret; the link
    rolls both pods when they change."""
    peers = plan.spec.backup.dr_peers
    azure_readers = {r: p for r, p in peers.items() if plan.spec.cluster(p).cloud == "azure"}
    assert azure_readers, "the stacks have a reader of an Azure peer"
    for name, r in velero_releases(plan).items():
        docs = render_chart("velero", r["inputs"]["values"], name="velero", namespace="velero")
        for d in workloads(docs):
            if d["kind"] == "Job":
                continue
            env = {e["name"]: e for c in d["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
            if name in azure_readers:
                secret = f"velero-dr-{azure_readers[name]}"
                assert env["AZURE_FEDERATED_TOKEN_FILE"]["value"] == DR_TOKEN_FILE, (name, d["metadata"]["name"])
                for key in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID"):
                    assert env[key]["valueFrom"]["secretKeyRef"] == {"name": secret, "key": key, "optional": True}
            elif plan.spec.cluster(name).cloud != "azure":
                assert "AZURE_FEDERATED_TOKEN_FILE" not in env, name
    patches = [r for r in plan.resources if r["type"] in ("kubernetes:apps/v1:DeploymentPatch", "kubernetes:apps/v1:DaemonSetPatch")
               and "velero" in r["name"]]
    by_urn = plan.by_urn()
    assert sorted((cluster_of(r, by_urn), r["inputs"]["metadata"]["name"]) for r in patches) == sorted(
        (reader, n) for reader in azure_readers for n in ("velero", "node-agent"))
    assert all(DR_ENV_ANNOTATION in r["inputs"]["spec"]["template"]["metadata"]["annotations"] for r in patches)


def test_s3_reader_profile_names_the_region() -> None:
    """A reader outside AWS has no AWS_REGION. The kopia repository's S3 credentials come from
    ``GetS3Credentials`` (vmware-tanzu/velero pkg/repository/config/aws.go @v1.18.1), which loads
    the credential file as shared config without the location's ``region``; the web-identity
    exchange at STS then has no region. The profile itself carries the bucket's region."""
    text = aws_credentials_file("arn:aws:iam::123456789012:role/x", "ap-southeast-1")
    assert "region = ap-southeast-1" in text.splitlines()


def test_hub_annotations_name_the_azure_account(prod_plan: Plan) -> None:
    """On Azure the plugin's "bucket" is a container inside a storage account: the hub's cluster
    Secret names the account (and its resource group) too, or an add-on cannot find it."""
    secrets = {r["inputs"]["metadata"]["name"]: r["inputs"]["metadata"]["annotations"] for r in prod_plan.of_type("kubernetes:core/v1:Secret")
               if r["inputs"]["metadata"].get("labels", {}).get("argocd.argoproj.io/secret-type") == "cluster"}
    azure = [c for c in prod_plan.spec.workloads if c.cloud == "azure"]
    assert azure
    for c in azure:
        ann = secrets[f"cluster-{c.name}"]
        assert ann["velero_backup_bucket_name"] == "velero"
        assert ann["velero_backup_storage_account"] and ann["velero_backup_storage_account"] != "velero"
        assert ann["velero_backup_resource_group"]
    for c in prod_plan.spec.workloads:
        assert secrets[f"cluster-{c.name}"]["velero_backup_prefix"] == c.name


def _velero_grants(plan: Plan) -> dict[str, set[str]]:
    """What each cluster's own Velero identity may do in its cloud, in plugin-README terms."""
    out: dict[str, set[str]] = {}
    for c in plan.spec.clusters:
        got: set[str] = set()
        for r in plan.of_type("aws:iam/rolePolicy:RolePolicy"):
            if r["name"].startswith(f"{c.name}-velero") and "-dr-" not in r["name"]:
                got |= {a for st in json.loads(r["inputs"]["policy"])["Statement"] for a in st["Action"]}
        for r in plan.of_type("azure-native:authorization:RoleAssignment"):
            if r["name"].startswith(f"{c.name}-velero") and "-dr-" not in r["name"]:
                got.add(r["inputs"]["roleDefinitionId"].rsplit("/", 1)[-1])
        for typ in ("gcp:projects/iAMMember:IAMMember", "gcp:storage/bucketIAMMember:BucketIAMMember"):
            for r in plan.of_type(typ):
                if r["name"].startswith(f"{c.name}-velero") and "-dr-" not in r["name"]:
                    got.add(r["inputs"]["role"])
        out[c.name] = got
    return out


SNAPSHOT_GRANTS = {"ec2:CreateSnapshot", "ec2:DeleteSnapshot", "ec2:CreateVolume",
                   "b24988ac-6180-42a0-ab88-20f7382dd24c", "roles/compute.storageAdmin"}


def test_no_snapshot_permissions_while_snapshots_are_off(plan: Plan) -> None:
    """With file-system backup Velero takes no disk snapshots, so its identity gets only the
    storage rights of the plugin READMEs (velero-plugin-for-aws/-microsoft-azure/-gcp @v1.14.0-rc.1,
    README permissions sections): no EC2 snapshot actions, no Contributor on the AKS node
    resource group, no roles/compute.storageAdmin."""
    assert plan.spec.backup.snapshots is False
    for name, got in _velero_grants(plan).items():
        assert got, name
        assert not got & SNAPSHOT_GRANTS, (name, got & SNAPSHOT_GRANTS)


def test_snapshot_permissions_follow_snapshots() -> None:
    """Turning file-system backup off turns snapshots on: the snapshot grants and locations come back."""
    raw = stack_raw("dev")
    raw["backup"] = {**raw.get("backup", {}), "fileSystemBackup": False}
    plan = run_plan("dev", raw=raw)
    grants = _velero_grants(plan)
    for c in plan.spec.clusters:
        assert grants[c.name] & SNAPSHOT_GRANTS, c.name
    assert len(plan.of_type(VSL)) == len(plan.spec.clusters)


def test_an_azure_reader_of_an_azure_peer_is_refused() -> None:
    """One Azure workload identity per Velero pod: the SDK reads it from the process environment
    (vmware-tanzu/velero pkg/util/azure/credential.go @v1.18.1), where an AKS reader's own
    identity already sits. A second Azure identity for a peer cannot be added, so such a pair
    is a config error naming the key."""
    raw = stack_raw("dev")
    aks = next(c for c in raw["clusters"] if c["cloud"] == "azure")
    raw["clusters"].append({**aks, "name": "dev-aks2", "network": {}})
    raw["backup"] = {**raw.get("backup", {}), "drPeers": {"dev-aks2": aks["name"]}}
    with pytest.raises(ConfigError) as exc:
        build_spec(raw, "dev")
    hits = [i for i in exc.value.issues if i.path == "backup.drPeers.dev-aks2"]
    assert hits and hits[0].value == aks["name"] and "one Azure workload identity" in hits[0].message, exc.value.render()


# What Velero's pods must find in place before they start: the writer identity of each cloud.
WRITER_GRANTS = {
    "aws": ("aws:eks/podIdentityAssociation:PodIdentityAssociation", "-velero-pod-identity"),
    "azure": ("azure-native:managedidentity:FederatedIdentityCredential", "-velero-federation"),
    "gcp": ("gcp:serviceaccount/iAMMember:IAMMember", "-velero-signblob"),
}


def test_release_waits_for_the_writer_identity(plan: Plan) -> None:
    """The storage and its identity sit beside the cluster now; the fleet hands them to Velero as
    ``dependsOn``, which the component passes to its release (a component's dependsOn does not
    reach its children by itself): the pods never start before their identity exists."""
    by_urn = plan.by_urn()
    for name, r in velero_releases(plan).items():
        typ, suffix = WRITER_GRANTS[plan.spec.cluster(name).cloud]
        [grant] = [g for g in plan.of_type(typ) if g["name"] == f"{name}{suffix}"]
        assert grant["urn"] in r["dependencies"], name
        assert is_component(by_urn[grant["parent"]], CLUSTER_COMPONENTS) and by_urn[grant["parent"]]["name"] == name
