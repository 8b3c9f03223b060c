"""The ``dns`` config section: external-dns on every cluster and DNS failover between clusters.

```yaml
archipelago:dns:
  zone: apps.company.com          # the one authoritative zone (Route 53, public), created by the program
  region: us-east-1               # AWS region of the STS endpoint the non-AWS clusters exchange tokens at
  policy: sync                    # external-dns policy: sync | upsert-only | create-only
  healthCheck: {type: HTTP, port: 80, path: /, interval: 30, failureThreshold: 3}   # what <cluster>.<zone> serves
  records:
    - name: api                   # api.apps.company.com
      routing: failover           # one PRIMARY, one SECONDARY
      primary: prod-use1
      secondary: prod-weu
    - name: shop
      routing: weighted           # every listed cluster answers in proportion to its weight
      weights: {prod-use1: 60, prod-weu: 30, prod-ase1: 10}
```

Each cluster's public entry point is ``<cluster>.<zone>``, published by that cluster's own
external-dns (its owner id is the cluster name). A shared name is one Route 53 record set per
cluster, each with the cluster's name as its set identifier and a program-created health check on
``<cluster>.<zone>``. So no two clusters ever own the same (name, set identifier) row.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field

from stacks.core import EXTRA_MODELS, ClusterConfig, ConfigIssue, Model

if TYPE_CHECKING:
    from stacks.config import FleetConfig

# A fully qualified zone name: at least two labels, lowercase, no trailing dot.
ZONE = r"^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$"
LABEL = r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$"
AWS_REGION = r"^[a-z]{2}(-gov)?-[a-z]+-\d$"


class HealthCheckConfig(Model):
    """The Route 53 health check created for each cluster's public endpoint (``<cluster>.<zone>``).

    The defaults probe what the GitOps sample publishes there (HTTP on port 80); a fleet whose
    entry is a TLS ingress sets ``type: HTTPS``, ``port: 443`` and its readiness path.

    Route 53 checkers call every ``interval`` seconds (10 or 30) from around the world; an endpoint
    is unhealthy after ``failureThreshold`` consecutive failures (1-10)."""

    type: Literal["HTTPS", "HTTP", "TCP"] = Field(default="HTTP", description="Route 53 health check type.")
    port: int = Field(default=80, ge=1, le=65535, description="Port probed on <cluster>.<zone>.")
    path: str = Field(default="/", pattern=r"^/[\x21-\x7e]*$", max_length=255,
                      description="Path probed (HTTP/HTTPS); a 2xx/3xx within 2 s is healthy.")
    interval: Literal[10, 30] = Field(default=30, description="Seconds between checks from each Route 53 checker.")
    failure_threshold: int = Field(default=3, ge=1, le=10, description="Consecutive failures before the cluster's rows stop answering.")


class RecordConfig(Model):
    """One shared name answered by several clusters."""

    name: str = Field(pattern=LABEL, description="First label of the shared name: <name>.<zone>.")
    routing: Literal["failover", "weighted"] = Field(description="failover (one primary, one secondary) or weighted.")
    primary: str | None = Field(default=None, description="Failover: the cluster that answers while healthy.")
    secondary: str | None = Field(default=None, description="Failover: the cluster that answers when the primary is unhealthy.")
    weights: dict[str, Annotated[int, Field(ge=0, le=255)]] = Field(
        default_factory=dict, description="Weighted: cluster -> weight (0-255); healthy clusters answer in proportion.")
    ttl: int = Field(default=60, ge=1, le=86400, description="Record TTL in seconds (part of the failover time).")


class DnsConfig(Model):
    """external-dns on every cluster, writing into one Route 53 zone; failover records between clusters."""

    zone: str = Field(default="apps.example.com", pattern=ZONE, max_length=200,
                      description="The one authoritative zone (a Route 53 public hosted zone the program creates).")
    region: str = Field(default="us-east-1", pattern=AWS_REGION,
                        description="AWS region of the zone's provider and of the STS endpoint non-AWS clusters use.")
    policy: Literal["sync", "upsert-only", "create-only"] = Field(
        default="sync", description="external-dns policy: sync deletes the rows its owner id created once their source is gone.")
    interval: str = Field(default="1m", pattern=r"^[0-9]+[smh]$",
                          description="external-dns sync interval (at least 1m: Route 53 allows 5 requests/s per account).")
    health_check: HealthCheckConfig = Field(default=HealthCheckConfig(),
                                            description="The health check made for each answering cluster's endpoint.")
    records: list[RecordConfig] = Field(default_factory=list, description="Shared names answered by several clusters.")

    def fqdn(self, name: str) -> str:
        return f"{name}.{self.zone}"

    def cluster_endpoint(self, cluster: str) -> str:
        """The cluster-specific public name its health check probes and the shared records point at."""
        return self.fqdn(cluster)


EXTRA_MODELS.extend([DnsConfig, RecordConfig, HealthCheckConfig])


def record_members(record: RecordConfig) -> dict[str, str | int]:
    """Cluster -> its routing value (``PRIMARY``/``SECONDARY`` or a weight)."""
    if record.routing == "failover":
        return {c: role for c, role in ((record.primary, "PRIMARY"), (record.secondary, "SECONDARY")) if c}
    return dict(record.weights)


def check(raw: dict[str, Any], fleet: FleetConfig, parsed: dict[int, ClusterConfig]) -> list[ConfigIssue]:
    cfg: DnsConfig = fleet.dns
    names = {c.name for c in parsed.values()}
    listing = ", ".join(sorted(names))
    issues: list[ConfigIssue] = []
    seen: dict[str, int] = {}
    for j, rec in enumerate(cfg.records):
        p = f"dns.records[{j}]"
        if rec.name in seen:
            issues.append(ConfigIssue(f"{p}.name", rec.name, f"is already the name of dns.records[{seen[rec.name]}]"))
        seen.setdefault(rec.name, j)
        if rec.name in names:
            # <cluster>.<zone> is that cluster's own endpoint, owned by its external-dns alone.
            issues.append(ConfigIssue(f"{p}.name", rec.name, "is a cluster name, reserved for that cluster's own endpoint"))
        if rec.routing == "failover":
            if rec.weights:
                issues.append(ConfigIssue(f"{p}.weights", rec.weights, "is for weighted routing; failover takes primary and secondary"))
            for key in ("primary", "secondary"):
                value = getattr(rec, key)
                if value is None:
                    issues.append(ConfigIssue(f"{p}.{key}", None, "is required for failover routing"))
                elif value not in names:
                    issues.append(ConfigIssue(f"{p}.{key}", value, f"is not a cluster of the fleet (clusters: {listing})"))
            if rec.primary and rec.primary == rec.secondary:
                issues.append(ConfigIssue(f"{p}.secondary", rec.secondary, "is the primary too; failover needs two clusters"))
        else:
            if rec.primary or rec.secondary:
                issues.append(ConfigIssue(p, rec.name, "weighted routing takes weights, not primary/secondary"))
            if not rec.weights:
                issues.append(ConfigIssue(f"{p}.weights", rec.weights, "must list at least one cluster for weighted routing"))
            elif not any(rec.weights.values()):
                issues.append(ConfigIssue(f"{p}.weights", rec.weights, "are all 0: Route 53 would answer with every record equally"))
            for cluster in rec.weights:
                if cluster not in names:
                    issues.append(ConfigIssue(f"{p}.weights.{cluster}", cluster, f"is not a cluster of the fleet (clusters: {listing})"))
    for cluster in names:
        # <cluster>.<zone> must fit a DNS name (253) with the TXT registry's "cname-" prefix.
        if len(f"cname-{cluster}.{cfg.zone}") > 253:
            issues.append(ConfigIssue("dns.zone", cfg.zone, f"is too long for the record {cluster}.{cfg.zone}"))
    if re.fullmatch(r"[0-9]+s", cfg.interval) and int(cfg.interval[:-1]) < 60:
        # Route 53 allows 5 API requests/s per account, shared by every cluster's external-dns.
        issues.append(ConfigIssue("dns.interval", cfg.interval, "is under 1m: the fleet would exceed Route 53's 5 requests/s"))
    return issues
