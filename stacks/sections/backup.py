"""The ``backup`` config section: the Velero schedule every cluster runs and each cluster's DR peer."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from croniter import croniter
from pydantic import Field

from stacks.core import ClusterConfig, ConfigIssue, Model

if TYPE_CHECKING:
    from stacks.config import FleetConfig

# A Go duration as Velero's ttl takes it, in hours/minutes/seconds: 720h, 24h0m0s, 90m.
TTL = re.compile(r"^(?=\d)(\d+h)?(\d+m)?(\d+s)?$")
K8S_NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"


class BackupConfig(Model):
    """Velero on every cluster. Defaults follow the reference design (daily at 02:00, production
    and staging, events excluded); the TTL is set explicitly because Velero's own default differs
    between its docs (30 days) and the chart (72h)."""

    schedule: str = Field(default="0 2 * * *", description="Cron expression (UTC) of the daily backup.")
    ttl: str = Field(default="720h0m0s", description="How long each backup is kept (Go duration).")
    included_namespaces: list[str] = Field(
        default=["production", "staging"], min_length=1, description="Namespaces the daily Schedule backs up.")
    excluded_resources: list[str] = Field(
        default=["events", "events.events.k8s.io"], description="Resources left out of every backup.")
    file_system_backup: bool = Field(
        default=True,
        description="File-system (kopia) backup of every pod volume: the only way volume data crosses clouds or "
                    "regions, which a DR peer in another cloud needs (snapshots stay in their cloud and region).")
    noncurrent_version_days: int = Field(
        default=30, ge=1, le=3650,
        description="Days a replaced or deleted object version is kept in the versioned backup storage.")
    dr_peers: dict[str, str] = Field(default={}, description="cluster -> the cluster whose backups it can restore.")


    @property
    def snapshots(self) -> bool:
        """Cloud disk snapshots: only when volumes are not backed up file by file."""
        return not self.file_system_backup


def _ttl_seconds(text: str) -> int:
    total = 0
    for amount, unit in re.findall(r"(\d+)([hms])", text):
        total += int(amount) * {"h": 3600, "m": 60, "s": 1}[unit]
    return total


def cron_problem(schedule: str) -> str | None:
    """Why ``schedule`` is not a cron expression Velero's parser takes, or None."""
    # croniter also takes L, W, # and day-of-week 7, which Velero's cron parser rejects.
    if not croniter.is_valid(schedule) or len(schedule.split()) != 5 \
            or not re.fullmatch(r"[0-9*,/?\- ]+", schedule) or any(int(n) > 6 for n in re.findall(r"\d+", schedule.split()[4])):
        return "is not a valid 5-field cron expression"
    return None


def ttl_problem(ttl: str) -> str | None:
    """Why ``ttl`` is not a positive Go duration in h/m/s, or None."""
    if not TTL.match(ttl) or _ttl_seconds(ttl) == 0:
        return "must be a positive duration such as 720h, 24h0m0s or 90m"
    return None


def check(raw: dict[str, Any], fleet: FleetConfig, parsed: dict[int, ClusterConfig]) -> list[ConfigIssue]:

    cfg: BackupConfig = fleet.backup
    issues: list[ConfigIssue] = []
    for key, problem in (("schedule", cron_problem(cfg.schedule)), ("ttl", ttl_problem(cfg.ttl))):
        if problem:
            issues.append(ConfigIssue(f"backup.{key}", getattr(cfg, key), problem))
    for key in ("included_namespaces", "excluded_resources"):
        alias = BackupConfig.model_fields[key].alias
        for j, item in enumerate(getattr(cfg, key)):
            if not re.match(K8S_NAME if key == "included_namespaces" else r"^[a-z0-9.-]+$", item):
                issues.append(ConfigIssue(f"backup.{alias}[{j}]", item, "is not a namespace or resource name"))
    names = {c.name for c in parsed.values()}
    clouds = {c.name: c.cloud for c in parsed.values()}
    for cluster, peer in cfg.dr_peers.items():
        path = f"backup.drPeers.{cluster}"
        if cluster not in names:
            issues.append(ConfigIssue(path, cluster, "is not a cluster of the fleet"))
        if peer == cluster:
            issues.append(ConfigIssue(path, peer, "is the cluster itself; a DR peer must be another cluster"))
        elif peer not in names:
            issues.append(ConfigIssue(path, peer, f"is not a cluster of the fleet (clusters: {', '.join(sorted(names))})"))
        elif clouds.get(cluster) == clouds[peer] == "azure":
            # Velero's Azure credential reads one workload identity from the process environment
            # (velero pkg/util/azure/credential.go): an AKS reader's own identity already holds it.
            issues.append(ConfigIssue(path, peer, "is on Azure like the reader; Velero can hold one Azure "
                                      "workload identity per pod, so pick a peer on another cloud"))
    return issues
