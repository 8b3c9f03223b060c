"""The ``metrics`` config section: a Prometheus per cluster, the hub's fleet view and right-sizing.

```yaml
archipelago:metrics:
  retention: 15d                 # per cluster; default per environment (dev 2d, staging 7d, prod 15d)
  retentionSize: 40GiB
  storageGi: 50                  # persistent volume per Prometheus; 0 = emptyDir (dev default)
  resources: {cpu: "1", memory: 4Gi}
  federationMatch:               # the hub's /federate match[] selectors
    - '{__name__=~"job:.*"}'
  scrapeInterval: 60s            # hub -> spoke federation interval
vpa:
  platformUpdateMode: "Off"      # the platform's own VPAs recommend only by default
```
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from stacks.core import EXTRA_MODELS, ClusterConfig, ConfigIssue, Model

if TYPE_CHECKING:
    from stacks.config import FleetConfig

DURATION = r"^[0-9]+(ms|s|m|h|d|w|y)$"
SIZE = r"^[0-9]+(B|KB|MB|GB|TB|PB|EB|KiB|MiB|GiB|TiB)$"
QUANTITY = r"^[0-9]+(\.[0-9]+)?(m|Ki|Mi|Gi|Ti)?$"

# Per environment: (retention, retentionSize, storage GiB (0 = emptyDir), cpu request, memory request).
ENVIRONMENT_DEFAULTS: dict[str, dict[str, Any]] = {
    "dev": {"retention": "2d", "retention_size": "8GiB", "storage_gi": 0, "cpu": "200m", "memory": "1Gi"},
    "staging": {"retention": "7d", "retention_size": "20GiB", "storage_gi": 30, "cpu": "500m", "memory": "2Gi"},
    "prod": {"retention": "15d", "retention_size": "40GiB", "storage_gi": 50, "cpu": "1", "memory": "4Gi"},
}

# kube-prometheus-stack ships no job: rules; these select the aggregates it does record (its
# rule files' record: prefixes) plus `up`, and the job: aggregates a team adds with PrometheusRules.
DEFAULT_MATCH = [
    '{__name__=~"job:.*"}',
    '{__name__=~"cluster:.*|namespace_cpu:.*|namespace_memory:.*|node:.*|instance:.*"}',
    '{__name__="up"}',
]


class ResourcesConfig(Model):
    """Requests of each Prometheus (memory is also its limit)."""

    cpu: str | None = Field(default=None, pattern=QUANTITY, description="CPU request; default per environment (dev 200m, staging 500m, prod 1).")
    memory: str | None = Field(default=None, pattern=QUANTITY,
                               description="Memory request and limit; default per environment (dev 1Gi, staging 2Gi, prod 4Gi).")


class MetricsConfig(Model):
    """kube-prometheus-stack on every cluster; the hub federates (or receives from) the spokes."""

    retention: str | None = Field(default=None, pattern=DURATION,
                                  description="How long each Prometheus keeps data; default per environment (dev 2d, staging 7d, prod 15d).")
    retention_size: str | None = Field(default=None, pattern=SIZE,
                                       description="Size cap of each Prometheus's data; default dev 8GiB, staging 20GiB, prod 40GiB.")
    storage_gi: int | None = Field(default=None, ge=0, le=16384,
                                   description="Persistent volume per Prometheus in GiB, 0 = emptyDir (refused in prod); default dev 0, staging 30, prod 50.")
    resources: ResourcesConfig = Field(default=ResourcesConfig(), description="Prometheus requests.")
    federation_match: list[str] = Field(default_factory=lambda: list(DEFAULT_MATCH), min_length=1,
                                        description="The hub's /federate match[] selectors (aggregates, not every series).")
    scrape_interval: str = Field(default="60s", pattern=r"^[0-9]+(s|m)$", description="Hub-to-spoke federation interval (15s to 5m).")
    sample_limit: int = Field(default=200000, ge=1000, description="Most samples the hub takes from one spoke per scrape.")

    def settings(self, environment: str) -> dict[str, Any]:
        """Retention, storage and requests for ``environment``, the config's values winning."""
        d = dict(ENVIRONMENT_DEFAULTS[environment])
        for key in ("retention", "retention_size", "storage_gi"):
            if getattr(self, key) is not None:
                d[key] = getattr(self, key)
        d["cpu"] = self.resources.cpu or d["cpu"]
        d["memory"] = self.resources.memory or d["memory"]
        return d


class VpaConfig(Model):
    """Vertical Pod Autoscaler: managed on GKE/AKS, the chart on EKS; VPAs for the platform's own components."""

    platform_update_mode: Literal["Off", "Initial", "Recreate", "InPlaceOrRecreate"] = Field(
        default="Off", description="Update mode of the platform's own VPAs; Off recommends only (Auto is deprecated upstream).")
    platform_components: bool = Field(default=True, description="Create VPAs for external-dns, the Prometheus operator and kube-state-metrics.")


EXTRA_MODELS.extend([MetricsConfig, ResourcesConfig, VpaConfig])


def _seconds(text: str) -> int:
    n = int(re.match(r"\d+", text).group())  # type: ignore[union-attr]
    return n * (60 if text.endswith("m") else 1)


def check(raw: dict[str, Any], fleet: FleetConfig, parsed: dict[int, ClusterConfig]) -> list[ConfigIssue]:
    cfg: MetricsConfig = fleet.metrics
    issues: list[ConfigIssue] = []
    for j, sel in enumerate(cfg.federation_match):
        # An instant-vector selector: {...} with at least one matcher, optionally after a metric name.
        if not re.fullmatch(r'[a-zA-Z_:][a-zA-Z0-9_:]*|([a-zA-Z_:][a-zA-Z0-9_:]*)?\{\s*[a-zA-Z_]\w*\s*(=|!=|=~|!~)\s*"[^"]*"'
                            r'(\s*,\s*[a-zA-Z_]\w*\s*(=|!=|=~|!~)\s*"[^"]*")*\s*,?\s*\}', sel):
            issues.append(ConfigIssue(f"metrics.federationMatch[{j}]", sel, "is not a Prometheus instant-vector selector"))
        elif re.fullmatch(r'\{\s*__name__\s*=~\s*"\.\*"\s*\}', sel):
            issues.append(ConfigIssue(f"metrics.federationMatch[{j}]", sel, "federates every series; use mode remote-write instead"))
    if not 15 <= _seconds(cfg.scrape_interval) <= 300:
        issues.append(ConfigIssue("metrics.scrapeInterval", cfg.scrape_interval, "must be between 15s and 5m"))
    if cfg.storage_gi == 0 and fleet.environment == "prod":
        issues.append(ConfigIssue("metrics.storageGi", 0, "would keep prod metrics on emptyDir (lost on every restart)"))
    return issues
