"""What a fleet cannot lose: one rule for every component.

A resource whose deletion loses data or trust (a cluster and its workloads, a CA that every
workload certificate chains to, an audit log, a key, an identity pool) is ``protect``-ed where the
environment's baseline says so (prod): ``pulumi up`` then refuses any plan that deletes or
replaces it, until someone unprotects it on purpose (``pulumi state unprotect``).
Pulumi's resource option: https://www.pulumi.com/docs/iac/concepts/options/protect/
"""

from __future__ import annotations

from typing import Any

import pulumi

from stacks.spec import FleetSpec


def keep(fleet: FleetSpec, opts: pulumi.ResourceOptions | None = None, **more: Any) -> pulumi.ResourceOptions:
    """``opts`` plus ``protect`` as the fleet's baseline says (and any further options given)."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(protect=fleet.baseline.protect_stateful, **more))
