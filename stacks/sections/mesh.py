"""The ``mesh`` config section: one Istio mesh, multi-primary, one network per cluster.

```yaml
archipelago:mesh:
  meshId: archipelago            # the same on every cluster
  networks: {prod-weu: net-weu}  # per-cluster override; default network-<cluster>
  gatewayExposure: internal      # east-west gateway load balancer: internal | external
  locality:                      # either distribute (weights) or failover (order), not both
    distribute:
      - {from: us-east-1, to: {us-east-1: 80, westeurope: 20}}
    # failover: [{from: us-east-1, to: westeurope}]
  outlierDetection: {consecutiveGatewayErrors: 5, interval: 30s, baseEjectionTime: 30s}
```

With no ``locality`` rules, traffic stays in its own region and fails over to the next region of
the fleet (regions sorted by name), then to any other, once outlier detection ejects the local
endpoints. A ``distribute`` rule must name every region of the fleet: Istio removes the
endpoints of every locality a matching rule leaves out of ``to``
(pilot/pkg/networking/core/loadbalancer/loadbalancer.go applyLocalityWeights @1.30.3), so a
service running only there would be unreachable from that rule's region.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, field_validator

from stacks.baseline import APPLICATION_NAMESPACES
from stacks.core import DNS_LABEL, EXTRA_MODELS, ClusterConfig, ConfigIssue, Model, app_namespace_keys

if TYPE_CHECKING:
    from stacks.config import FleetConfig

DURATION = r"^[0-9]+(ms|s|m|h)$"


class DistributeRule(Model):
    """Traffic from clients in region ``from`` is split over regions by weight (percent)."""

    from_: str = Field(alias="from", min_length=1, description="Region of the clients (a region fleet clusters run in).")
    to: dict[str, Annotated[int, Field(ge=0, le=100)]] = Field(
        min_length=1, description="Region -> weight in percent; the weights sum to 100.")


class FailoverRule(Model):
    """When no healthy endpoint is left in region ``from``, send traffic to region ``to``."""

    from_: str = Field(alias="from", min_length=1, description="Region whose endpoints fail (a region fleet clusters run in).")
    to: str = Field(min_length=1, description="Region that takes the traffic over.")


class LocalityConfig(Model):
    """Locality load balancing: distribute OR failover (both is a config error). With neither, each
    region keeps 80% of its traffic and sends 20% to the next region of the fleet (regions sorted by name)."""

    distribute: list[DistributeRule] | None = Field(default=None, description="Weighted split per source region.")
    failover: list[FailoverRule] | None = Field(default=None, description="Failover order per source region.")


class OutlierDetectionConfig(Model):
    """Ejects failing endpoints; locality failover only moves on once endpoints are ejected."""

    consecutive_gateway_errors: int = Field(default=5, ge=1, le=1000, description="502/503/504 errors in a row that eject an endpoint.")
    interval: str = Field(default="30s", pattern=DURATION, description="Time between ejection sweeps.")
    base_ejection_time: str = Field(default="30s", pattern=DURATION, description="Minimum ejection duration.")


class MeshConfig(Model):
    """One Istio mesh over the fleet: multi-primary, one network per cluster."""

    mesh_id: str = Field(default="archipelago", pattern=DNS_LABEL, max_length=63, description="One mesh ID for the fleet.")
    networks: dict[str, Annotated[str, Field(pattern=DNS_LABEL, max_length=63)]] = Field(
        default={}, description="Cluster name -> Istio network name (clusters sharing a flat network share a name)."
    )
    gateway_exposure: Literal["internal", "external"] = Field(
        default="internal",
        description="East-west gateway load balancer. Internal by default: multi-primary already needs private routing "
                    "between clusters (each istiod reads the other clusters' API servers, private in prod).")
    locality: LocalityConfig = Field(default=LocalityConfig(), description="Locality load balancing rules.")
    outlier_detection: OutlierDetectionConfig = Field(
        default=OutlierDetectionConfig(),
        description="Always set: without it Envoy never ejects an endpoint and failover never happens.")
    sidecar_injection: dict[str, bool] = Field(
        default={},
        description="Application namespace -> labelled for sidecar injection and given the mesh's NetworkPolicies "
                    "(default: every application namespace).")

    _app_namespaces = field_validator("sidecar_injection")(lambda v: app_namespace_keys(v))

    def network_of(self, cluster: str) -> str:
        return self.networks.get(cluster, f"network-{cluster}")

    def injected_namespaces(self) -> tuple[str, ...]:
        """Application namespaces whose pods get the sidecar (label ``INJECTION_LABEL``)."""
        return tuple(ns for ns in APPLICATION_NAMESPACES if self.sidecar_injection.get(ns, True))


# The namespace label istiod's injection webhook selects on (default revision; istiod chart
# 1.30.3 templates/mutatingwebhook.yaml, namespaceSelector istio-injection=enabled).
INJECTION_LABEL = {"istio-injection": "enabled"}


EXTRA_MODELS.extend([DistributeRule, FailoverRule, LocalityConfig, OutlierDetectionConfig, MeshConfig])


def check(raw: dict[str, Any], fleet: FleetConfig, parsed: dict[int, ClusterConfig]) -> list[ConfigIssue]:
    """Cross-field rules of ``mesh``: clusters and regions named must be in the fleet, weights
    of each rule sum to 100, ``distribute`` and ``failover`` exclude each other."""
    mesh = fleet.mesh
    issues: list[ConfigIssue] = []
    names = {c.name for c in parsed.values()}
    regions = sorted({c.region for c in parsed.values()})
    for cluster in mesh.networks:
        if cluster not in names:
            issues.append(ConfigIssue(f"mesh.networks.{cluster}", cluster, f"is not a cluster of the fleet ({', '.join(sorted(names))})"))

    def region(path: str, value: str) -> None:
        if value not in regions:
            issues.append(ConfigIssue(path, value, f"is not a region any cluster of the fleet runs in ({', '.join(regions)})"))

    loc = mesh.locality
    if loc.distribute is not None and loc.failover is not None:
        issues.append(ConfigIssue("mesh.locality", sorted(raw.get("mesh", {}).get("locality", {})),
                                  "sets both 'distribute' and 'failover'; Istio accepts only one of them"))
    seen: set[str] = set()
    for i, rule in enumerate(loc.distribute or []):
        p = f"mesh.locality.distribute[{i}]"
        region(f"{p}.from", rule.from_)
        if rule.from_ in seen:
            issues.append(ConfigIssue(f"{p}.from", rule.from_, "has a rule already"))
        seen.add(rule.from_)
        for target in rule.to:
            region(f"{p}.to.{target}", target)
        left_out = [r for r in regions if rule.to.get(r, 0) <= 0]
        if left_out:
            issues.append(ConfigIssue(f"{p}.to", rule.to, f"leaves out fleet region(s) {', '.join(left_out)}: Istio drops "
                                      "their endpoints for clients in this rule's region; give each a weight of at least 1"))
        total = sum(rule.to.values())
        if total != 100:
            issues.append(ConfigIssue(f"{p}.to", rule.to, f"weights sum to {total}, not 100"))
    for i, rule in enumerate(loc.failover or []):
        p = f"mesh.locality.failover[{i}]"
        region(f"{p}.from", rule.from_)
        region(f"{p}.to", rule.to)
        if rule.from_ == rule.to:
            issues.append(ConfigIssue(f"{p}.to", rule.to, "fails over to its own region"))
    return issues


def locality_lb_setting(mesh: MeshConfig, regions: list[str]) -> dict[str, Any]:
    """The DestinationRule ``localityLbSetting`` (Istio field names) for the fleet's regions.

    By default each region fails over to the next one in a ring of the regions sorted by name (not
    fleet order: reordering the clusters list must change nothing), and, at a lower priority, to
    every other region (failover never removes endpoints).
    """
    regions = sorted(set(regions))
    loc = mesh.locality
    setting: dict[str, Any] = {"enabled": True}
    if loc.distribute is not None:
        # Localities are region/zone/subzone; "<region>/*" covers every zone of the region.
        setting["distribute"] = [{"from": f"{r.from_}/*", "to": {f"{dst}/*": w for dst, w in r.to.items()}} for r in loc.distribute]
        return setting
    if loc.failover is not None:
        setting["failover"] = [{"from": r.from_, "to": r.to} for r in loc.failover]
    elif len(regions) > 1:
        setting["failover"] = [{"from": r, "to": regions[(i + 1) % len(regions)]} for i, r in enumerate(regions)]
    return setting
