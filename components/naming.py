"""Names derived from a cluster name, one helper per cloud naming limit.

Logical (Pulumi) names are ``<cluster>-<part>``. Physical names that clouds constrain are made
here so that every limit is handled once: a name that would be too long is cut and given a short
stable hash of the full name, so it stays unique and the same on every run.
"""

from __future__ import annotations

import hashlib
import re


def _digest(text: str, n: int) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:n]


def fit(name: str, limit: int, sep: str = "-") -> str:
    """``name`` if it fits in ``limit`` characters, else a cut of it plus a 6-character hash."""
    if len(name) <= limit:
        return name
    keep = limit - 6 - len(sep)
    return f"{name[:keep].rstrip(sep)}{sep}{_digest(name, 6)}"


def logical(cluster: str, *parts: str) -> str:
    """Pulumi logical name of a cluster's resource: deterministic, readable."""
    return "-".join((cluster, *parts))


def group_slug(group: str) -> str:
    """A name-safe slug of a group for Kubernetes object and Pulumi names
    (``developers@company.com`` -> ``developers-company-com``)."""
    return fit("".join(ch if ch.isalnum() else "-" for ch in group.lower()).strip("-") or "group", 40)


def access_entry_slug(group: str) -> str:
    """The slug of a group's EKS access entry (the part before '@')."""
    return fit(group.split("@")[0].replace(".", "-"), 40)


def iam_role(cluster: str, purpose: str) -> str:
    """AWS IAM role names: 64 characters."""
    return fit(f"{cluster}-{purpose}", 64)


def s3_bucket(cluster: str, purpose: str, account_hint: str = "") -> str:
    """S3 bucket names: 3-63 lowercase letters, digits and '-'."""
    return fit(f"archipelago-{cluster}-{purpose}{account_hint}", 63)


def gcp_service_account(cluster: str, purpose: str) -> str:
    """GCP service-account ids: 6-30 characters, lowercase letters, digits, '-'."""
    return fit(f"{cluster}-{purpose}", 30)


def gcs_bucket(project: str, cluster: str, purpose: str) -> str:
    """GCS bucket names are global: prefix with the project; 63 characters."""
    return fit(f"{project}-{cluster}-{purpose}", 63)


def azure_storage_account(cluster: str, purpose: str) -> str:
    """Azure storage accounts: 3-24 lowercase letters and digits, globally unique."""
    base = re.sub(r"[^a-z0-9]", "", f"{cluster}{purpose}")
    name = f"{base}{_digest(cluster + purpose, 4)}"
    return name if len(name) <= 24 else f"{base[:18]}{_digest(cluster + purpose, 6)}"


def azure_key_vault(cluster: str, purpose: str, suffix: str) -> str:
    """Key Vault names: 3-24 letters, digits and single hyphens, globally unique and reserved for
    the soft-delete period after deletion, hence ``suffix`` (random, new after a destroy)."""
    head = cluster[: 24 - len(purpose) - len(suffix) - 2].rstrip("-")
    return f"{head}-{purpose}-{suffix}"


# --- every derived name against its cloud's rules ----------------------------------------------
#
# (what, cloud, derive(cluster name) -> name, rule, rule in words). The derive functions are the
# helpers above with the purposes the program passes; stacks.validate runs :func:`problems` on
# every cluster so that a name a cloud would refuse is a config error, not a failed ``pulumi up``.
# Rules: AWS IAM CreateRole RoleName (docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html);
# S3 bucket naming rules (docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html);
# Key Vault names (learn.microsoft.com/azure/key-vault/general/about-keys-secrets-certificates,
# "Vault name and Managed HSM pool name": 3-24, letter first, letter or digit last, no "--");
# storage accounts (learn.microsoft.com/azure/storage/common/storage-account-overview#storage-account-name);
# GCP service-account ids (cloud.google.com/iam/docs/service-accounts-create: 6-30, [a-z][-a-z0-9]*[a-z0-9]);
# GCS bucket names (cloud.google.com/storage/docs/buckets#naming: no "goog" prefix, no "google").

_KV = re.compile(r"^[a-zA-Z](?!.*--)[a-zA-Z0-9-]{1,22}[a-zA-Z0-9]$")
_IAM_ROLE = re.compile(r"^[\w+=,.@-]{1,64}$")
_S3 = re.compile(r"^(?!xn--)(?!.*\.\.)(?!.*-s3alias$)(?!.*--ol-s3$)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_GSA = re.compile(r"^[a-z][-a-z0-9]{4,28}[a-z0-9]$")
_GCS = re.compile(r"^(?!goog)(?!.*g[o0]{2}gle)[a-z0-9][a-z0-9_.-]{1,61}[a-z0-9]$")
_STORAGE = re.compile(r"^[a-z0-9]{3,24}$")

# Placeholders for parts only known at deploy time (the longest they can be; the Key Vault
# suffix is the cluster's 4-character random name suffix).
_ACCOUNT = "-123456789012"
_PROJECT = "a-project-id-of-30-characters1"

DERIVED: tuple[tuple[str, str, object, re.Pattern[str], str], ...] = (
    *((f"IAM role {p}", "aws", (lambda c, p=p: iam_role(c, p)), _IAM_ROLE, "1-64 of [A-Za-z0-9+=,.@_-]")
      for p in ("eks-cluster", "eks-node", "karpenter-node", "karpenter", "velero")),
    ("S3 bucket velero", "aws", lambda c: s3_bucket(c, "velero", _ACCOUNT), _S3,
     "3-63 lowercase letters, digits, '.' and '-', no '..'"),
    ("Key Vault kms", "azure", lambda c: azure_key_vault(c, "kms", "a1b2"), _KV,
     "3-24 letters, digits and '-', a letter first, no '--', no '-' last"),
    ("storage account velero", "azure", lambda c: azure_storage_account(c, "velero"), _STORAGE,
     "3-24 lowercase letters and digits"),
    *((f"service account {p}", "gcp", (lambda c, p=p: gcp_service_account(c, p)), _GSA,
       "6-30 of [a-z0-9-], a letter first") for p in ("nodes", "karpenter", "velero")),
    ("GCS bucket velero", "gcp", lambda c: gcs_bucket(_PROJECT, c, "velero"), _GCS,
     "3-63 of [a-z0-9_.-], not starting with 'goog', not containing 'google'"),
)


def problems(cluster: str, cloud: str) -> list[str]:
    """Why a name derived from ``cluster`` would be refused by ``cloud`` (empty if none)."""
    out = []
    for what, on, derive, rule, words in DERIVED:
        if on == cloud:
            name = derive(cluster)  # type: ignore[operator]
            if not rule.match(name):
                out.append(f"derives the {what} name '{name}', which {cloud} refuses ({words})")
    return out
