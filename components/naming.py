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
