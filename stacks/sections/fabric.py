"""Config of the fleet's private network fabric: ``archipelago:network``.

```yaml
archipelago:network:
  fabric: vpn                      # vpn | none (default none: no cross-cloud network is built)
  asns: {aws/us-east-2: 64601}     # optional pins, key "<cloud>/<region>"; else hashed from the key
  tunnelSlots:                     # optional pins of a link's /27 of inside-tunnel addresses
    aws/us-east-2~gcp/asia-southeast1: 3
  insideCidr: 169.254.64.0/20      # pool for tunnels that do not touch Azure
  deployerRepository: https://github.com/company/archipelago   # runner for `pulumi up` in the mgmt VPC
```

The allocation itself (pure, stable keys) is :mod:`stacks.fabric`; this module holds the model
and the cross-field rules, registered with ``stacks.validate.SECTION_VALIDATORS``.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field, field_validator

from stacks.core import EXTRA_MODELS, ClusterConfig, ConfigIssue, Model, _cidr

if TYPE_CHECKING:
    from stacks.config import FleetConfig

Net = ipaddress.IPv4Network

DEFAULT_INSIDE_CIDR = ipaddress.IPv4Network("169.254.64.0/20")


class FabricConfig(Model):
    fabric: Literal["vpn", "none"] = Field(
        default="none",
        description="vpn: site-to-site IPsec with BGP between every pair of cloud regions of the fleet; "
                    "none: no private path between clusters (API endpoints limited to security.apiAllowedCidrs).")
    asns: dict[str, int] = Field(
        default={}, description="Gateway key '<cloud>/<region>' -> pinned private BGP ASN; others are hashed from the key.")
    tunnel_slots: dict[str, int] = Field(
        default={}, description="Link key '<gateway>~<gateway>' -> pinned /27 of inside-tunnel addresses in its pool.")
    inside_cidr: Net = Field(
        default=DEFAULT_INSIDE_CIDR,
        description="Inside-tunnel pool (in 169.254.0.0/16, clear of AWS-reserved /30s and Azure's 169.254.21-22 range) "
                    "for links that do not touch Azure.")
    deployer_repository: str | None = Field(
        default=None, pattern=r"^https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
        description="GitHub repository whose workflows run `pulumi up` on a CodeBuild runner inside the management VPC "
                    "(needs fabric vpn and an aws management cluster).")

    _check = field_validator("inside_cidr", mode="before")(_cidr)

    @property
    def enabled(self) -> bool:
        return self.fabric == "vpn"


EXTRA_MODELS.append(FabricConfig)


def check(raw: dict[str, Any], fleet: FleetConfig, parsed: dict[int, ClusterConfig]) -> list[ConfigIssue]:
    """Cross-field rules of ``network``: pins name real gateways/links and honour each cloud's
    reserved ASNs and inside-tunnel ranges; allocations do not collide."""
    from stacks import fabric  # the allocation; imports this module's model only

    cfg = fleet.network
    clusters = [(c.name, c.cloud, c.region, c.role) for _, c in sorted(parsed.items())]
    issues = fabric.check(cfg, clusters)
    if cfg.deployer_repository is not None:
        mgmt = [c for c in parsed.values() if c.role == "management"]
        if not cfg.enabled:
            issues.append(ConfigIssue("network.deployerRepository", cfg.deployer_repository,
                                      "needs network.fabric 'vpn': the runner reaches the other API servers over the fabric"))
        elif mgmt and mgmt[0].cloud != "aws":
            issues.append(ConfigIssue("network.deployerRepository", cfg.deployer_repository,
                                      f"needs an aws management cluster (the runner is a CodeBuild project); '{mgmt[0].name}' is {mgmt[0].cloud}"))
    if cfg.enabled and fleet.submariner.nat_traversal:
        # natEnabled makes gateways dial each other's public (NAT egress) addresses, which accept
        # nothing inbound; over the fabric they use private addresses
        # (submariner-io/submariner pkg/natdiscovery/remote_endpoint.go).
        issues.append(ConfigIssue("submariner.natTraversal", True,
                                  "must be false with network.fabric 'vpn': gateways reach each other on private addresses"))
    return issues
