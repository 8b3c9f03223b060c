"""The security baseline as policies: plain functions over (resource type, props).

The property-level baseline (encryption, private endpoints, identity, logs, node hardening, the
in-cluster namespaces, network policies and RBAC) is the control table in ``policy/controls.py``:
each :class:`ControlPolicy` below is a group of its controls. The rules written out here are the
ones a single property cannot state (backup storage, bindings, namespaces, providers, relations
between resources).

One table, two runners: ``policy/__main__.py`` wraps every entry in a ``pulumi_policy`` policy for
``pulumi preview --policy-pack policy``; ``offline/policy.py`` evaluates the same entries over the
offline plan record (``python -m offline plan <stack> --policy``). Nothing here imports Pulumi, so
both runners see exactly the same logic.

``props`` are a resource's inputs as the engine receives them (camelCase keys). Checks read them
with ``Mapping`` methods only, so ``pulumi_policy``'s unknown-checking proxy can raise for values
that are not known during a preview.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from policy import controls as _controls
from policy.controls import Control, by_policy, violations

Props = Mapping[str, Any]
# The cluster types, named where the controls define them (tests and rules refer to them here too).
EKS, AKS, GKE = _controls.EKS, _controls.AKS, _controls.GKE
MANDATORY = "mandatory"
ADVISORY = "advisory"


@dataclass(frozen=True)
class ResourcePolicy:
    """Checks one resource: ``check(type, props)`` returns the reasons it violates the policy."""

    name: str
    description: str
    level: str
    types: tuple[str, ...]
    check: Callable[[str, Props], list[str]]


@dataclass(frozen=True)
class ProviderPolicy:
    """Checks which provider a resource is on: ``check(type, provider_urn)`` (None: default)."""

    name: str
    description: str
    level: str
    check: Callable[[str, str | None], list[str]]


@dataclass(frozen=True)
class Subject:
    """A resource as stack-level policies see it (from the plan record or the engine)."""

    urn: str
    type: str
    props: Props
    dependencies: tuple[str, ...] = field(default=())


@dataclass(frozen=True)
class StackPolicy:
    """Checks relations between resources: ``check(subjects)`` returns (urn, reason) pairs."""

    name: str
    description: str
    level: str
    check: Callable[[Sequence[Subject]], list[tuple[str, str]]]


@dataclass(frozen=True)
class ControlPolicy:
    """A group of controls (``policy/controls.py``) checked on one resource in one environment:
    ``check(type, props, protect, environment)``."""

    name: str
    description: str
    level: str
    controls: tuple[Control, ...]

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(c.type for c in self.controls))

    def check(self, resource_type: str, props: Props, protect: bool, environment: str) -> list[str]:
        record = {"inputs": props, "protect": protect}
        return [why for c in self.controls for why in violations(c, resource_type, record, environment)]


# --- helpers ----------------------------------------------------------------------------------

def get(props: Any, path: str, default: Any = None) -> Any:
    """``props["a"]["b"]`` for ``path="a.b"``; ``default`` when any step is missing or not a map."""
    node = props
    for key in path.split("."):
        if not isinstance(node, Mapping) or key not in node:
            return default
        node = node[key]
    return default if node is None else node


def _list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else []


GKE_POOL = "gcp:container/nodePool:NodePool"


# --- backup storage -------------------------------------------------------------------------

S3_BUCKET = "aws:s3/bucket:Bucket"
S3_SSE = ("aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
          "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2")
S3_PAB = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_VERSIONING = ("aws:s3/bucketVersioning:BucketVersioning", "aws:s3/bucketVersioningV2:BucketVersioningV2")
AZ_STORAGE = "azure-native:storage:StorageAccount"
AZ_CONTAINER = "azure-native:storage:BlobContainer"
GCS_BUCKET = "gcp:storage/bucket:Bucket"
GCS_IAM = ("gcp:storage/bucketIAMMember:BucketIAMMember", "gcp:storage/bucketIAMBinding:BucketIAMBinding")
KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")
PUBLIC_ACLS = ("public-read", "public-read-write", "authenticated-read")
GCP_PUBLIC_MEMBERS = ("allUsers", "allAuthenticatedUsers")


def _sse_rules(rules: Any) -> list[str]:
    rules = _list(rules)
    if not rules:
        return ["no server-side encryption rule"]
    reasons = []
    for i, rule in enumerate(rules):
        algo = get(rule, "applyServerSideEncryptionByDefault.sseAlgorithm")
        if algo not in KMS_ALGORITHMS:
            reasons.append(f"rules[{i}] encrypts with {algo!r}, not KMS")
        elif not get(rule, "applyServerSideEncryptionByDefault.kmsMasterKeyId"):
            reasons.append(f"rules[{i}] uses the AWS-managed key, not a customer-managed KMS key")
    return reasons


def tls_only_statement(policy: Any) -> bool:
    """Whether an IAM policy document denies every request made without TLS."""
    policy = _as_doc(policy)
    for st in _list(get(policy, "Statement")) if isinstance(policy, Mapping) else []:
        cond = get(st, "Condition.Bool.aws:SecureTransport")
        values = [str(v).lower() for v in (_list(cond) or [cond])]
        if get(st, "Effect") == "Deny" and values == ["false"]:
            return True
    return False


def _public_principal(st: Any) -> bool:
    principal = get(st, "Principal")
    return principal == "*" or (isinstance(principal, Mapping) and get(principal, "AWS") in ("*", ["*"]))


def backup_storage_locked_down(t: str, p: Props) -> list[str]:
    """KMS, TLS and public-access rules per resource of the backup storage types."""
    if t in S3_SSE:
        return _sse_rules(get(p, "rules"))
    if t == S3_PAB:
        flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
        off = [f for f in flags if get(p, f) is not True]
        return [f"public access block leaves {', '.join(off)} off"] if off else []
    if t == S3_POLICY:
        doc = _policy_doc(p)
        reasons = [] if tls_only_statement(doc) else ["bucket policy does not deny requests without TLS (aws:SecureTransport)"]
        if any(get(st, "Effect") == "Allow" and _public_principal(st) for st in _list(get(doc, "Statement"))):
            reasons.append("bucket policy allows a public principal ('*')")
        return reasons
    if t == S3_BUCKET:
        reasons = []
        if get(p, "acl") in PUBLIC_ACLS:
            reasons.append(f"acl {get(p, 'acl')!r} makes the bucket public")
        inline = get(p, "serverSideEncryptionConfiguration.rule")
        if inline is not None:
            reasons += _sse_rules([inline])
        return reasons
    if t == AZ_STORAGE:
        reasons = []
        if get(p, "allowBlobPublicAccess") is not False:
            reasons.append("allowBlobPublicAccess is not false")
        if get(p, "enableHttpsTrafficOnly", True) is not True:
            reasons.append("enableHttpsTrafficOnly is false: plain HTTP allowed")
        if get(p, "minimumTlsVersion") not in ("TLS1_2", "TLS1_3"):
            reasons.append(f"minimumTlsVersion is {get(p, 'minimumTlsVersion')!r}, want TLS1_2 or later")
        return reasons
    if t == AZ_CONTAINER:
        access = get(p, "publicAccess", "None")
        return [] if access == "None" else [f"container publicAccess is {access!r}"]
    if t == GCS_BUCKET:
        reasons = []
        if get(p, "uniformBucketLevelAccess") is not True:
            reasons.append("uniformBucketLevelAccess is not true: object ACLs can make objects public")
        if get(p, "publicAccessPrevention") != "enforced":
            reasons.append(f"publicAccessPrevention is {get(p, 'publicAccessPrevention')!r}, want 'enforced'")
        return reasons
    if t in GCS_IAM:
        members = [get(p, "member")] + _list(get(p, "members"))
        public = [m for m in members if m in GCP_PUBLIC_MEMBERS]
        return [f"grants {', '.join(public)} access to the bucket"] if public else []
    return []


def backup_storage_cmk(t: str, p: Props) -> list[str]:
    if t == AZ_STORAGE and get(p, "encryption.keySource") != "Microsoft.Keyvault":
        return ["encryption.keySource is not Microsoft.Keyvault (platform-managed keys)"]
    if t == GCS_BUCKET and not get(p, "encryption.defaultKmsKeyName"):
        return ["encryption.defaultKmsKeyName is not set (Google-managed keys)"]
    return []


def backup_storage_versioning(t: str, p: Props) -> list[str]:
    if t in S3_VERSIONING and get(p, "versioningConfiguration.status") != "Enabled":
        return ["versioningConfiguration.status is not Enabled"]
    if t == GCS_BUCKET and get(p, "versioning.enabled") is not True:
        return ["versioning.enabled is not true"]
    if t == AZ_STORAGE and get(p, "allowSharedKeyAccess") is not False:
        return ["allowSharedKeyAccess is not false: account keys still work"]
    return []


def s3_buckets_guarded(subjects: Sequence[Subject]) -> list[tuple[str, str]]:
    """Every S3 bucket has a KMS encryption configuration, a public access block and a TLS-only
    policy attached (found through the attachments' dependencies on the bucket)."""
    attached: dict[str, set[str]] = {}
    for s in subjects:
        kind = ("encryption" if s.type in S3_SSE else "public access block" if s.type == S3_PAB
                else "TLS-only policy" if s.type == S3_POLICY and tls_only_statement(_policy_doc(s.props)) else None)
        if kind:
            for dep in s.dependencies:
                attached.setdefault(dep, set()).add(kind)
    out = []
    for s in subjects:
        if s.type != S3_BUCKET:
            continue
        inline = {"encryption"} if get(s.props, "serverSideEncryptionConfiguration") else set()
        missing = {"encryption", "public access block", "TLS-only policy"} - attached.get(s.urn, set()) - inline
        if missing:
            out.append((s.urn, f"bucket has no {', '.join(sorted(missing))} attached"))
    return out


def _as_doc(doc: Any) -> Any:
    """A policy document given as JSON text or as a map; None when the text is not JSON."""
    if isinstance(doc, str):
        try:
            return json.loads(doc)
        except ValueError:
            return None
    return doc


def _policy_doc(p: Props) -> Any:
    return _as_doc(get(p, "policy"))


# --- Kubernetes -------------------------------------------------------------------------------

NAMESPACE = "kubernetes:core/v1:Namespace"
BINDINGS = ("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding", "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding")
BROAD_GROUPS = ("system:authenticated", "system:unauthenticated", "system:serviceaccounts")
ANONYMOUS_USERS = ("system:anonymous",)
# Roles that write workloads or read Secrets: never for everyone who can authenticate.
ADMIN_ROLES = ("cluster-admin", "admin", "edit")
PSS_LEVELS = ("restricted", "baseline", "privileged")
PSS_PREFIX = "pod-security.kubernetes.io/"
PSS_REASON = "archipelago.io/pod-security-reason"


def _broad(subject: Any) -> bool:
    kind, name = get(subject, "kind"), get(subject, "name")
    return (kind == "Group" and name in BROAD_GROUPS) or (kind == "User" and name in ANONYMOUS_USERS)


def no_broad_admin_binding(_t: str, p: Props) -> list[str]:
    role = get(p, "roleRef.name")
    broad = [f"{get(s, 'kind')} {get(s, 'name')}" for s in _list(get(p, "subjects")) if _broad(s)]
    if not broad:
        return []
    if role in ADMIN_ROLES:
        return [f"binds {role} to {', '.join(broad)}"]
    if any(n.endswith(("system:unauthenticated", "system:anonymous")) for n in broad):
        return [f"binds {role} to unauthenticated callers ({', '.join(broad)})"]
    return []


def pss_labels(_t: str, p: Props) -> list[str]:
    labels = get(p, "metadata.labels", {})
    enforce = labels.get(PSS_PREFIX + "enforce") if isinstance(labels, Mapping) else None
    if enforce not in PSS_LEVELS:
        return [f"label {PSS_PREFIX}enforce is {enforce!r}, want one of {', '.join(PSS_LEVELS)}"]
    return []


def pss_complete(_t: str, p: Props) -> list[str]:
    labels = get(p, "metadata.labels", {})
    labels = labels if isinstance(labels, Mapping) else {}
    annotations = get(p, "metadata.annotations", {})
    reasons = [f"label {PSS_PREFIX}{m} is missing" for m in ("audit", "warn", "enforce-version") if PSS_PREFIX + m not in labels]
    level = labels.get(PSS_PREFIX + "enforce")
    if level in ("baseline", "privileged") and not (isinstance(annotations, Mapping) and annotations.get(PSS_REASON)):
        reasons.append(f"enforces {level} without a {PSS_REASON} annotation saying why")
    return reasons


# --- providers --------------------------------------------------------------------------------

def explicit_provider(t: str, provider_urn: str | None) -> list[str]:
    """The engine gives every custom resource a provider reference; default providers are named
    ``default`` or ``default_<version>``. No reference at all means a component: nothing to check."""
    if provider_urn is None or t.startswith("pulumi:providers:"):
        return []
    name = provider_urn.rsplit("::", 1)[-1]
    if name == "default" or name.startswith("default_"):
        return [f"on the default provider {name}: providers must be explicit"]
    return []


def default_provider_urn(t: str) -> str:
    """The reference the engine would give a custom resource registered without a provider."""
    return f"pulumi:providers:{t.split(':', 1)[0]}::default"


# --- the table ----------------------------------------------------------------------------------

# What each group of controls protects (the controls say how); all mandatory.
CONTROL_DESCRIPTIONS: dict[str, str] = {
    "eks-secrets-encryption": "EKS encrypts Kubernetes secrets with a customer-managed KMS key.",
    "eks-private-endpoint": "EKS has its private endpoint on; a public endpoint is limited to CIDRs.",
    "eks-control-plane-logs": "EKS ships api, audit and authenticator logs.",
    "imdsv2-required": "Launch templates require IMDSv2 with the baseline hop limit.",
    "baseline-aws": "The rest of the AWS baseline: KMS keys, access entries, Pod Identity, network policy, node volumes.",
    "aks-azure-rbac": "AKS uses managed Entra ID with Azure RBAC for Kubernetes authorization.",
    "aks-local-accounts-disabled": "AKS has local accounts disabled.",
    "aks-api-access-limited": "The AKS API server is private or limited to authorized ranges, never the internet.",
    "aks-secrets-encryption": "AKS encrypts etcd with a Key Vault KMS key.",
    "baseline-azure": "The rest of the Azure baseline: Cilium network policy, identity, upgrades, Key Vault, NSGs.",
    "gke-private-nodes": "GKE nodes are private.",
    "gke-workload-identity": "GKE has a workload identity pool and nodes use the GKE metadata server.",
    "gke-secrets-encryption": "GKE encrypts secrets at the application layer with Cloud KMS.",
    "gke-shielded-nodes": "GKE nodes are shielded and boot with Secure Boot.",
    "baseline-gcp": "The rest of the GKE baseline: private endpoint, Dataplane V2, release channel, binary authorization.",
    "baseline-kubernetes": "Application namespaces at PSS restricted with default-deny network policies; no RBAC for all users.",
}

CONTROL_POLICIES: tuple[ControlPolicy, ...] = tuple(
    ControlPolicy(name, CONTROL_DESCRIPTIONS[name], MANDATORY, controls) for name, controls in by_policy().items()
)

RESOURCE_POLICIES: tuple[ResourcePolicy, ...] = (
    ResourcePolicy("backup-storage-locked-down",
                   "Backup storage: KMS encryption, TLS only, no public access (S3, Azure storage, GCS).", MANDATORY,
                   (S3_BUCKET, *S3_SSE, S3_PAB, S3_POLICY, AZ_STORAGE, AZ_CONTAINER, GCS_BUCKET, *GCS_IAM),
                   backup_storage_locked_down),
    ResourcePolicy("no-broad-admin-binding",
                   "No admin binding to everyone (system:authenticated, system:serviceaccounts), nothing to anonymous.",
                   MANDATORY, BINDINGS, no_broad_admin_binding),
    ResourcePolicy("namespace-pss-labels", "Every namespace enforces a Pod Security Standards level.",
                   MANDATORY, (NAMESPACE,), pss_labels),
    # Advisory: recommendations a reviewer should see, that do not block a deployment.
    ResourcePolicy("namespace-pss-complete", "Namespaces also audit and warn at a pinned version; looser levels say why.",
                   ADVISORY, (NAMESPACE,), pss_complete),
    ResourcePolicy("backup-storage-cmk", "Azure and GCS backup storage use customer-managed keys.",
                   ADVISORY, (AZ_STORAGE, GCS_BUCKET), backup_storage_cmk),
    ResourcePolicy("backup-storage-versioning", "Backup storage keeps versions; Azure account keys are off.",
                   ADVISORY, (*S3_VERSIONING, GCS_BUCKET, AZ_STORAGE), backup_storage_versioning),
)

PROVIDER_POLICIES: tuple[ProviderPolicy, ...] = (
    ProviderPolicy("explicit-provider", "Every resource names an explicit provider, never a default one.",
                   MANDATORY, explicit_provider),
)

STACK_POLICIES: tuple[StackPolicy, ...] = (
    StackPolicy("s3-bucket-guarded", "Every S3 bucket has KMS encryption, a public access block and a TLS-only policy.",
                MANDATORY, s3_buckets_guarded),
)


def all_names() -> Iterable[str]:
    for group in (CONTROL_POLICIES, RESOURCE_POLICIES, PROVIDER_POLICIES, STACK_POLICIES):
        yield from (p.name for p in group)
