"""The policy pack: every policy passes the real dev and prod plans and fails a weakened record.

Weakenings of resources the plans have (clusters, node pools, launch templates) edit a copy of
the real plan record. Backup storage, RBAC bindings and namespaces are built here with the SDKs'
typed args under the mock engine (so the props are exactly what the SDK sends), once as the
baseline wants them and once with one setting weakened. The same records then go through the
offline evaluator and through the real policy pack process over the analyzer gRPC protocol.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pulumi_gcp as gcp
import pulumi_kubernetes as k8s
import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await
from pulumi_azure_native import storage as azure_storage
from rich.console import Console

from components.security.namespaces import REASON_ANNOTATION, pss_labels
from offline.mocks import FleetMocks, RecordingMonitor
from offline.policy import command, evaluate, mandatory
from policy import controls, rules
from stacks.baseline import PROD

ROOT = Path(__file__).resolve().parent.parent

# --- weakened copies of the real plans --------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation of one record's inputs at a dotted path (``None`` deletes the key)."""

    def mutate(record: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = record["inputs"]
        for key in parents:
            node = node.setdefault(key, {})
        if value is None:
            node.pop(last, None)
        else:
            node[last] = value

    return mutate


def _both(*mutations: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def both(record: dict[str, Any]) -> None:
        for m in mutations:
            m(record)

    return both


def _no_provider(record: dict[str, Any]) -> None:
    record["provider"] = None


def _default_provider(record: dict[str, Any]) -> None:
    record["provider"] = "urn:pulumi:dev::archipelago::pulumi:providers:aws::default_7_51_1"


# (policy, resource type, weakening) over the real plans' records.
PLAN_WEAKENINGS = [
    ("eks-secrets-encryption", rules.EKS, _set("encryptionConfig", None)),
    ("eks-secrets-encryption", rules.EKS, _set("encryptionConfig.resources", [])),
    ("eks-private-endpoint", rules.EKS, _set("vpcConfig.endpointPrivateAccess", False)),
    ("eks-private-endpoint", rules.EKS, _both(_set("vpcConfig.endpointPublicAccess", True), _set("vpcConfig.publicAccessCidrs", None))),
    ("aks-local-accounts-disabled", rules.AKS, _set("disableLocalAccounts", False)),
    ("aks-azure-rbac", rules.AKS, _set("aadProfile.enableAzureRBAC", False)),
    ("aks-secrets-encryption", rules.AKS, _set("securityProfile.azureKeyVaultKms.enabled", False)),
    ("gke-private-nodes", rules.GKE, _set("privateClusterConfig.enablePrivateNodes", False)),
    ("gke-workload-identity", rules.GKE, _set("workloadIdentityConfig", None)),
    ("gke-workload-identity", rules.GKE_POOL, _set("nodeConfig.workloadMetadataConfig.mode", "GCE_METADATA")),
    ("gke-secrets-encryption", rules.GKE, _set("databaseEncryption.state", "DECRYPTED")),
    ("explicit-provider", rules.EKS, _no_provider),
    ("explicit-provider", "aws:ec2/vpc:Vpc", _default_provider),
    ("eks-control-plane-logs", rules.EKS, _set("enabledClusterLogTypes", ["api"])),
    ("imdsv2-required", "aws:ec2/launchTemplate:LaunchTemplate", _set("metadataOptions.httpTokens", "optional")),
    ("aks-api-access-limited", rules.AKS, _both(_set("apiServerAccessProfile.enablePrivateCluster", False),
                                                _set("apiServerAccessProfile.authorizedIPRanges", None))),
    ("gke-shielded-nodes", rules.GKE_POOL, _set("nodeConfig.shieldedInstanceConfig.enableSecureBoot", False)),
    ("gke-shielded-nodes", rules.GKE, _set("nodeConfig.shieldedInstanceConfig.enableSecureBoot", False)),
    ("aks-secrets-encryption", rules.AKS, _set("securityProfile.azureKeyVaultKms.keyId", "")),
    ("gke-secrets-encryption", rules.GKE, _set("databaseEncryption.keyName", None)),
    ("aks-azure-rbac", rules.AKS, _set("enableRBAC", False)),
    ("baseline-aws", "aws:kms/key:Key", _set("enableKeyRotation", False)),
    ("baseline-azure", rules.AKS, _set("networkProfile.networkPolicy", "azure")),
    ("baseline-gcp", rules.GKE, _set("datapathProvider", "LEGACY_DATAPATH")),
    ("baseline-kubernetes", "kubernetes:rbac.authorization.k8s.io/v1:Role", _set("rules", [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}])),
]


def _records(plan: Any) -> list[dict[str, Any]]:
    return copy.deepcopy(plan.to_json()["resources"])


def _named(violations: list[Any], policy: str) -> list[Any]:
    return [v for v in violations if v.policy == policy]


def test_real_plans_pass_every_policy(plan: Any) -> None:
    # Only advisory findings remain (platform-managed keys on Azure and GCS backup storage).
    found = evaluate(_records(plan))
    assert [v for v in found if v.level != rules.ADVISORY] == []
    assert {v.policy for v in found} <= {"backup-storage-cmk"}


@pytest.mark.parametrize("stack", ["dev", "prod"])
@pytest.mark.parametrize(("policy", "typ", "weaken"), PLAN_WEAKENINGS, ids=[f"{p}-{i}" for i, (p, _, _) in enumerate(PLAN_WEAKENINGS)])
def test_weakened_plan_fails(stack: str, policy: str, typ: str, weaken: Callable, dev_plan: Any, prod_plan: Any) -> None:
    records = _records({"dev": dev_plan, "prod": prod_plan}[stack])
    target = next(r for r in records if r["type"] == typ)
    weaken(target)
    found = _named(evaluate(records), policy)
    assert found and {v.urn for v in found} == {target["urn"]}, found
    level = next(p.level for p in (*rules.CONTROL_POLICIES, *rules.RESOURCE_POLICIES, *rules.PROVIDER_POLICIES) if p.name == policy)
    assert all(v.level == level for v in found)


def test_prod_aks_api_is_private_or_public_to_single_addresses(prod_plan: Any) -> None:
    """Prod's AKS API server is public only to the fleet's NAT addresses (/32s, docs/network.md):
    a network range among its authorized ranges fails the mandatory policy; dev, which relaxes
    ``public_api_endpoint`` for the configured office CIDRs, is not held to it."""
    records = _records(prod_plan)
    target = next(r for r in records if r["type"] == rules.AKS)
    assert target["inputs"]["apiServerAccessProfile"]["enablePrivateCluster"] is False
    assert not _named(evaluate(records), "aks-api-access-limited")
    _set("apiServerAccessProfile.authorizedIPRanges", ["10.0.0.0/8", "18.1.2.3/32"])(target)
    found = _named(evaluate(records), "aks-api-access-limited")
    assert found and {v.urn for v in found} == {target["urn"]}


@pytest.mark.parametrize("control", [c for c in controls.CONTROLS if "prod" in c.envs], ids=lambda c: f"{c.policy_name}:{c.what}")
def test_each_control_bites_through_its_pack_policy(control: Any, prod_plan: Any) -> None:
    """The pack is the statement of the controls: weaken one control's property in the prod plan
    record and the policy run (the same objects ``pulumi preview --policy-pack`` uses) reports
    that control's policy on that resource, mandatory."""
    if any(path == control.path for path, _ in control.where):
        # A presence control (an add-on that must exist): only the plan-wide walk sees it missing.
        assert control.required
        return
    records = _records(prod_plan)
    target = next(r for r in records if r["type"] == control.type and controls._matches(r, control.where))
    controls.set_at(target, control.path, control.expect.violation(PROD))
    found = [v for v in evaluate(records) if v.policy == control.policy_name and v.urn == target["urn"]]
    assert found and all(v.level == rules.MANDATORY for v in found), control
    if not control.where:  # (a weakened selector makes the resource no longer a subject instead)
        assert any(control.what in v.reason for v in found), found


def test_offline_run_exits_nonzero_naming_policy_resource_and_reason(dev_plan: Any) -> None:
    records = _records(dev_plan)
    for typ, weaken in [(rules.AKS, _set("disableLocalAccounts", False)), (rules.GKE, _set("privateClusterConfig.enablePrivateNodes", False))]:
        weaken(next(r for r in records if r["type"] == typ))
    assert len(mandatory(evaluate(records))) == 2
    console = Console(record=True, width=300)
    assert command(records, console) == 3
    text = console.export_text()
    assert "aks-local-accounts-disabled: azure-native:containerservice:ManagedCluster::dev-aks-aks: disableLocalAccounts is False" in text
    assert "gke-private-nodes: gcp:container/cluster:Cluster::dev-gke-gke: privateClusterConfig.enablePrivateNodes" in text
    assert "2 mandatory" in text


def test_cli_policy_flag_passes_the_real_plan() -> None:
    run = subprocess.run([sys.executable, "-m", "offline", "plan", "dev", "--policy"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    # Advisory findings (e.g. platform-managed keys on Azure/GCS backup storage) do not fail a plan.
    assert re.search(r"policy pack: 0 mandatory and \d+ advisory violation\(s\)", run.stdout), run.stdout


# --- synthetic backup storage, RBAC and namespaces ------------------------------------------------

TLS_ONLY = {"Version": "2012-10-17", "Statement": [{
    "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
    "Resource": ["arn:aws:s3:::fleet-backups", "arn:aws:s3:::fleet-backups/*"],
    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
}]}


def _storage_program(weaken: str | None) -> None:
    """Backup storage on three clouds, an admin binding and two namespaces, as the baseline wants
    them, except for the one ``weaken`` names."""
    w = weaken
    aws_p = aws.Provider("aws-us-east-1", region="us-east-1")
    on_aws = pulumi.ResourceOptions(provider=aws_p)
    key = aws.kms.Key("backups", enable_key_rotation=True, rotation_period_in_days=365, opts=on_aws)
    bucket = aws.s3.Bucket("backups", bucket="fleet-backups", opts=on_aws)
    s3 = aws.s3
    if w != "s3-no-sse":
        s3.BucketServerSideEncryptionConfiguration(
            "backups", bucket=bucket.id,
            rules=[s3.BucketServerSideEncryptionConfigurationRuleArgs(
                apply_server_side_encryption_by_default=s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs(
                    sse_algorithm="AES256" if w == "s3-sse-aes256" else "aws:kms",
                    kms_master_key_id=None if w == "s3-sse-aes256" else key.arn),
                bucket_key_enabled=True)],
            opts=on_aws)
    s3.BucketPublicAccessBlock("backups", bucket=bucket.id, block_public_acls=True, block_public_policy=w != "s3-pab-off",
                               ignore_public_acls=True, restrict_public_buckets=True, opts=on_aws)
    doc = {"Version": "2012-10-17", "Statement": []} if w == "s3-no-tls-policy" else TLS_ONLY
    s3.BucketPolicy("backups", bucket=bucket.id, policy=json.dumps(doc), opts=on_aws)
    s3.BucketVersioning("backups", bucket=bucket.id, versioning_configuration=s3.BucketVersioningVersioningConfigurationArgs(
        status="Suspended" if w == "s3-no-versioning" else "Enabled"), opts=on_aws)

    on_azure = pulumi.ResourceOptions(provider=azure_native.Provider("azure"))
    account = azure_storage.StorageAccount(
        "backups", account_name="fleetbackups", resource_group_name="rg-backups", location="westeurope",
        kind=azure_storage.Kind.STORAGE_V2, sku=azure_storage.SkuArgs(name=azure_storage.SkuName.STANDARD_ZRS),
        allow_blob_public_access=w == "azure-public-blobs",
        enable_https_traffic_only=w != "azure-http",
        minimum_tls_version=azure_storage.MinimumTlsVersion.TLS1_0 if w == "azure-tls10" else azure_storage.MinimumTlsVersion.TLS1_2,
        allow_shared_key_access=False,
        encryption=azure_storage.EncryptionArgs(
            key_source=azure_storage.KeySource.MICROSOFT_STORAGE if w == "azure-platform-keys" else azure_storage.KeySource.MICROSOFT_KEYVAULT,
            key_vault_properties=None if w == "azure-platform-keys" else azure_storage.KeyVaultPropertiesArgs(
                key_name="backups", key_vault_uri="https://kv-backups.vault.azure.net/")),
        opts=on_azure)
    azure_storage.BlobContainer(
        "velero", container_name="velero", account_name=account.name, resource_group_name="rg-backups",
        public_access=azure_storage.PublicAccess.BLOB if w == "azure-container-public" else azure_storage.PublicAccess.NONE,
        opts=on_azure)

    on_gcp = pulumi.ResourceOptions(provider=gcp.Provider("gcp-europe-west1", project="archipelago-dev", region="europe-west1"))
    gcs = gcp.storage.Bucket(
        "backups", name="fleet-backups-gcs", location="EU",
        uniform_bucket_level_access=w != "gcs-fine-grained", public_access_prevention="enforced",
        versioning=gcp.storage.BucketVersioningArgs(enabled=w != "gcs-no-versioning"),
        encryption=gcp.storage.BucketEncryptionArgs(default_kms_key_name="projects/p/locations/europe/keyRings/r/cryptoKeys/backups"),
        opts=None if w == "default-provider" else on_gcp)
    gcp.storage.BucketIAMMember(
        "backups-velero", bucket=gcs.name, role="roles/storage.objectViewer",
        member="allUsers" if w == "gcs-all-users" else "serviceAccount:velero@archipelago-dev.iam.gserviceaccount.com",
        opts=on_gcp)

    on_k8s = pulumi.ResourceOptions(provider=k8s.Provider("dev-eks-k8s", kubeconfig="{}"))
    subject = ("Group", "system:authenticated") if w == "rbac-authenticated-admin" else ("Group", "platform-team@company.com")
    k8s.rbac.v1.ClusterRoleBinding(
        "platform-admins", metadata=k8s.meta.v1.ObjectMetaArgs(name="platform-admins"),
        role_ref=k8s.rbac.v1.RoleRefArgs(api_group="rbac.authorization.k8s.io", kind="ClusterRole", name="cluster-admin"),
        subjects=[k8s.rbac.v1.SubjectArgs(api_group="rbac.authorization.k8s.io", kind=subject[0], name=subject[1])],
        opts=on_k8s)
    k8s.core.v1.Namespace(
        "production", metadata=k8s.meta.v1.ObjectMetaArgs(
            name="production", labels={} if w == "ns-no-pss" else pss_labels("restricted")), opts=on_k8s)
    k8s.core.v1.Namespace(
        "velero", metadata=k8s.meta.v1.ObjectMetaArgs(
            name="velero", labels=pss_labels("privileged"),
            annotations=None if w == "ns-no-reason" else {REASON_ANNOTATION: "node-agent mounts host paths"}),
        opts=on_k8s)


def synthetic(weaken: str | None) -> list[dict[str, Any]]:
    """The plan record of ``_storage_program(weaken)`` under the fleet's mock engine."""
    mocks = FleetMocks()
    monitor = RecordingMonitor(mocks)
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_mocks(mocks, project="archipelago", stack="dev", preview=False, monitor=monitor)
    _sync_await(run_pulumi_func(lambda: _storage_program(weaken)))
    monitor.check_unique()
    return copy.deepcopy(monitor.records)


# (weakening, policy that must catch it, type of the resource it is reported on)
SYNTHETIC_WEAKENINGS = [
    ("s3-sse-aes256", "backup-storage-locked-down", rules.S3_SSE[0]),
    ("s3-no-sse", "s3-bucket-guarded", rules.S3_BUCKET),
    ("s3-pab-off", "backup-storage-locked-down", rules.S3_PAB),
    ("s3-no-tls-policy", "backup-storage-locked-down", rules.S3_POLICY),
    ("s3-no-tls-policy", "s3-bucket-guarded", rules.S3_BUCKET),
    ("azure-public-blobs", "backup-storage-locked-down", rules.AZ_STORAGE),
    ("azure-http", "backup-storage-locked-down", rules.AZ_STORAGE),
    ("azure-tls10", "backup-storage-locked-down", rules.AZ_STORAGE),
    ("azure-container-public", "backup-storage-locked-down", rules.AZ_CONTAINER),
    ("gcs-fine-grained", "backup-storage-locked-down", rules.GCS_BUCKET),
    ("gcs-all-users", "backup-storage-locked-down", rules.GCS_IAM[0]),
    ("rbac-authenticated-admin", "no-broad-admin-binding", rules.BINDINGS[0]),
    ("ns-no-pss", "namespace-pss-labels", rules.NAMESPACE),
    ("default-provider", "explicit-provider", rules.GCS_BUCKET),
    ("azure-platform-keys", "backup-storage-cmk", rules.AZ_STORAGE),
    ("gcs-no-versioning", "backup-storage-versioning", rules.GCS_BUCKET),
    ("s3-no-versioning", "backup-storage-versioning", rules.S3_VERSIONING[0]),
    ("ns-no-reason", "namespace-pss-complete", rules.NAMESPACE),
]


@pytest.fixture(scope="module")
def compliant() -> list[dict[str, Any]]:
    return synthetic(None)


def test_synthetic_baseline_passes_every_policy(compliant: list[dict[str, Any]]) -> None:
    types = {r["type"] for r in compliant}
    # Every type a backup-storage / RBAC / namespace policy names is exercised here.
    assert {rules.S3_BUCKET, *rules.S3_SSE[:1], rules.S3_PAB, rules.S3_POLICY, rules.AZ_STORAGE, rules.AZ_CONTAINER,
            rules.GCS_BUCKET, rules.GCS_IAM[0], rules.BINDINGS[0], rules.NAMESPACE} <= types
    assert evaluate(compliant) == []


@pytest.mark.parametrize(("weaken", "policy", "typ"), SYNTHETIC_WEAKENINGS, ids=[f"{w}-{p}" for w, p, _ in SYNTHETIC_WEAKENINGS])
def test_synthetic_weakening_fails(weaken: str, policy: str, typ: str) -> None:
    found = _named(evaluate(synthetic(weaken)), policy)
    assert found, f"{policy} did not catch {weaken}"
    assert all(f"{typ}::" in v.urn for v in found), found


def test_every_policy_has_a_failing_case() -> None:
    tested = {p for p, _, _ in PLAN_WEAKENINGS} | {p for _, p, _ in SYNTHETIC_WEAKENINGS}
    assert set(rules.all_names()) == tested


def test_every_policy_type_is_a_real_sdk_type() -> None:
    """A typo in a type token would make a policy silently never apply."""
    site = Path(pulumi.__file__).parent.parent
    sources = {pkg: "\n".join(p.read_text() for p in (site / pkg).rglob("*.py") if "_inputs" not in p.name)
               for pkg in ("pulumi_aws/s3", "pulumi_aws/eks", "pulumi_aws/ec2", "pulumi_azure_native/storage",
                           "pulumi_azure_native/containerservice", "pulumi_azure_native/keyvault", "pulumi_azure_native/network",
                           "pulumi_aws/kms", "pulumi_gcp/storage", "pulumi_gcp/container", "pulumi_gcp/kms")}
    corpus = "\n".join(sources.values())
    for pol in (*rules.CONTROL_POLICIES, *rules.RESOURCE_POLICIES):
        for typ in pol.types:
            if typ.startswith("kubernetes:"):
                continue  # checked by the synthetic records, which the kubernetes SDK registers
            assert f"'{typ}'" in corpus, f"{pol.name}: {typ} is not a type token of the installed SDKs"


# --- the same rules through the real policy pack (pulumi_policy over the analyzer protocol) ----

@pytest.fixture(scope="module")
def analyzer():
    """The pack started as the Pulumi CLI's Python analyzer host starts it (``python -m
    pulumi.policy <engine> <pack dir>`` in the pack's folder); it prints its gRPC port."""
    proc = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."], cwd=ROOT / "policy",
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    try:
        port = int(proc.stdout.readline().strip())
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        yield analyzer_pb2_grpc.AnalyzerStub(channel)
        channel.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _struct(props: dict[str, Any]) -> struct_pb2.Struct:
    s = struct_pb2.Struct()
    json_format.ParseDict(props, s)
    return s


def _analyze(stub: Any, records: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """(policy, urn) of every mandatory/advisory diagnostic the pack reports for ``records``."""
    out: set[tuple[str, str]] = set()
    for r in records:
        if not r["custom"]:
            continue
        # As the engine does: a custom resource always comes with its provider, a default one if unset.
        provider = r.get("provider") or rules.default_provider_urn(r["type"])
        req = analyzer_pb2.AnalyzeRequest(
            type=r["type"], properties=_struct(r["inputs"]), urn=r["urn"], name=r["name"],
            provider=analyzer_pb2.AnalyzerProviderResource(type=provider.split("::")[-2], urn=provider, name=provider.rsplit("::", 1)[-1]))
        out |= {(d.policyName, r["urn"]) for d in stub.Analyze(req).diagnostics}
    stack = analyzer_pb2.AnalyzeStackRequest(resources=[
        analyzer_pb2.AnalyzerResource(type=r["type"], properties=_struct(r["inputs"]), urn=r["urn"], name=r["name"],
                                      dependencies=[d for d in r["dependencies"] if d in {x["urn"] for x in records}])
        for r in records])
    out |= {(d.policyName, d.urn) for d in stub.AnalyzeStack(stack).diagnostics}
    return out


def test_pack_describes_every_policy_with_its_level(analyzer: Any) -> None:
    from google.protobuf import empty_pb2

    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    levels = {p.name: p.enforcementLevel for p in info.policies}
    expected = {p.name: p.level for p in (*rules.CONTROL_POLICIES, *rules.RESOURCE_POLICIES, *rules.PROVIDER_POLICIES, *rules.STACK_POLICIES)}
    assert set(levels) == set(expected)
    assert {n for n, lvl in levels.items() if lvl == analyzer_pb2.MANDATORY} == {n for n, lvl in expected.items() if lvl == rules.MANDATORY}


def test_pack_agrees_with_offline_run(analyzer: Any, dev_plan: Any, compliant: list[dict[str, Any]]) -> None:
    real = _records(dev_plan)
    found = evaluate(real)
    assert all(v.level == rules.ADVISORY for v in found)
    assert _analyze(analyzer, real) == {(v.policy, v.urn) for v in found}
    assert _analyze(analyzer, compliant) == set()
    for typ, weaken in [(rules.EKS, _set("encryptionConfig", None)), (rules.AKS, _set("disableLocalAccounts", False)),
                        (rules.GKE, _set("privateClusterConfig.enablePrivateNodes", False))]:
        weaken(next(r for r in real if r["type"] == typ))
    # The synthetic programs share logical names: take only the binding from the second one.
    weak = real + synthetic("s3-no-tls-policy") + [r for r in synthetic("rbac-authenticated-admin") if r["type"] in rules.BINDINGS]
    weak += [r for r in synthetic("default-provider") if r["type"] == rules.GCS_BUCKET]
    offline = {(v.policy, v.urn) for v in evaluate(weak)}
    assert {"eks-secrets-encryption", "aks-local-accounts-disabled", "gke-private-nodes", "s3-bucket-guarded",
            "no-broad-admin-binding", "explicit-provider"} <= {p for p, _ in offline}
    assert _analyze(analyzer, weak) == offline


@pytest.mark.parametrize("role,subject,violates", [
    ("cluster-admin", ("Group", "system:authenticated"), True),
    ("edit", ("Group", "system:authenticated"), True),
    ("admin", ("Group", "system:serviceaccounts"), True),
    ("view", ("User", "system:anonymous"), True),
    ("view", ("Group", "system:authenticated"), False),
    ("cluster-admin", ("Group", "platform-team@company.com"), False),
])
def test_broad_binding_rule(role: str, subject: tuple[str, str], violates: bool) -> None:
    props = {"roleRef": {"kind": "ClusterRole", "name": role}, "subjects": [{"kind": subject[0], "name": subject[1]}]}
    assert bool(rules.no_broad_admin_binding(rules.BINDINGS[0], props)) is violates


@pytest.mark.parametrize(("urn", "configured", "env"), [
    ("urn:pulumi:dev::archipelago::aws:eks/cluster:Cluster::dev-eks-eks", None, "dev"),
    ("urn:pulumi:prod::archipelago::aws:eks/cluster:Cluster::prod-use1-eks", None, "prod"),
    ("urn:pulumi:staging::archipelago::aws:eks/cluster:Cluster::x", None, "staging"),
    ("urn:pulumi:dev-eu::archipelago::aws:eks/cluster:Cluster::x", None, "prod"),  # unknown stack: strictest
    ("urn:pulumi:dev-eu::archipelago::aws:eks/cluster:Cluster::x", "dev", "dev"),  # the pack's config wins
    ("urn:pulumi:prod::archipelago::aws:eks/cluster:Cluster::x", "bogus", "prod"),
])
def test_environment_of_a_resource(urn: str, configured: str | None, env: str) -> None:
    """Which baseline the pack holds a resource to. The config is the pack's policy config
    (``PolicyConfigSchema`` / ``ResourceValidationArgs.get_config()`` in pulumi-policy 1.21.0,
    .venv/lib/python3.11/site-packages/pulumi_policy/policy.py), set with
    ``pulumi preview --policy-pack-config``; the URN's second field is the stack name."""
    assert controls.environment_of(urn, configured) == env


def test_dev_relaxations_apply_only_in_dev(dev_plan: Any) -> None:
    """The dev plan's public EKS endpoint passes as dev and fails when held to prod."""
    records = _records(dev_plan)
    eks = [r for r in records if r["type"] == rules.EKS]
    assert not [v for v in evaluate(eks) if v.level == rules.MANDATORY]
    held_to_prod = {v.policy for v in evaluate(eks, "prod")}
    assert "eks-private-endpoint" in held_to_prod
