"""Turn raw stack config into a :class:`FleetSpec`, or a :class:`ConfigError` listing every problem.

Structural checks come from the pydantic models (types, patterns, unknown keys); the rules that
span fields or clusters are here. Each cluster is parsed on its own so that one broken cluster
does not hide the errors of the others.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
from typing import Any

from pydantic import ValidationError

from components import naming  # pure: the derived names and their clouds' rules

from . import ipam
from .baseline import baseline_for
from .config import (
    DEFAULT_INSTANCE_TYPES,
    DNS_LABEL,
    EXTRA_MODELS,
    MAX_CLUSTER_NAME,
    ClusterConfig,
    ConfigError,
    ConfigIssue,
    FleetConfig,
    issues_from,
)
from .regions import AWS_ZONES, REGIONS, default_zones
from .sections import argocd as argocd_section
from .sections import backup as backup_section
from .sections import connectivity
from .sections import dns as dns_section
from .sections import fabric as fabric_section
from .sections import mesh as mesh_section
from .sections import metrics as metrics_section
from .spec import ClusterSpec, FleetSpec
from .versions import plan_date, version_problem

Net = ipaddress.IPv4Network


def build_spec(raw: dict[str, Any], stack: str, *, today: dt.date | None = None) -> FleetSpec:
    """Validate ``raw`` (the ``archipelago:`` keys without their prefix) and resolve the fleet.

    ``today`` is the plan date that Kubernetes versions are checked against (default:
    :func:`stacks.versions.plan_date`)."""
    issues: list[ConfigIssue] = []

    fleet: FleetConfig | None = None
    bad: set[str] = set()  # top-level keys that failed to parse
    try:
        fleet = FleetConfig.model_validate(raw)
    except ValidationError as exc:
        top = issues_from(exc)
        issues += top
        bad = {str(err["loc"][0]) for err in exc.errors() if err["loc"]}
    # The rest of the checks run on what did parse, so one bad key does not hide the others.
    checked = fleet or _partial(raw, bad)

    clusters_value = raw.get("clusters")
    raw_clusters = clusters_value if isinstance(clusters_value, list) else []
    parsed, cluster_issues = _parse_clusters(raw_clusters)
    issues += cluster_issues

    complete = len(parsed) == len(raw_clusters)  # fleet-wide counts are only meaningful then
    issues += _check_clusters(parsed, checked if "gcpProject" not in bad else None, today or plan_date(), complete)
    plans: dict[int, ipam.NetworkPlan] = {}
    if checked is not None and "addressSpace" not in bad:
        plan_issues, plans = _address_plan(checked.address_space, parsed)
        issues += plan_issues
    if checked is not None and "addressSpace" not in bad:
        issues += _not_consequences(_extra_sections(raw, checked, parsed), raw_clusters, parsed)

    if issues or fleet is None:
        raise ConfigError(issues, names=_cluster_names(raw_clusters))

    return _resolve(fleet, parsed, plans, stack)


def _parse_clusters(raw_clusters: list[Any]) -> tuple[dict[int, ClusterConfig], list[ConfigIssue]]:
    """Each cluster entry parsed on its own, so one bad cluster does not hide another's errors."""
    parsed: dict[int, ClusterConfig] = {}
    issues: list[ConfigIssue] = []
    for i, item in enumerate(raw_clusters):
        if not isinstance(item, dict):
            continue  # already reported by FleetConfig
        try:
            parsed[i] = ClusterConfig.model_validate(item)
        except ValidationError as exc:
            issues += issues_from(exc, ("clusters", i))
    return parsed, issues


def _resolve(fleet: FleetConfig, parsed: dict[int, ClusterConfig], plans: dict[int, ipam.NetworkPlan], stack: str) -> FleetSpec:
    """The resolved fleet of a config with no issues: defaults filled, each cluster on its ranges."""
    clusters = tuple(
        ClusterSpec(
            name=c.name,
            cloud=c.cloud,
            region=c.region,
            role=c.role,
            kubernetes_version=c.kubernetes_version,
            zones=tuple(c.zones or default_zones(c.cloud, c.region)),
            nodes=c.nodes,
            instance_type=c.nodes.instance_type or DEFAULT_INSTANCE_TYPES[c.cloud],
            network=plans[i],
        )
        for i, c in sorted(parsed.items())
    )
    return FleetSpec(
        stack=stack,
        environment=fleet.environment,
        address_space=fleet.address_space,
        clusters=clusters,
        gcp_project=fleet.gcp_project,
        baseline=baseline_for(fleet.environment),
        security=fleet.security,
        submariner=fleet.submariner,
        mesh=fleet.mesh,
        node_provisioning=fleet.node_provisioning,
        argocd=fleet.argocd,
        backup=fleet.backup,
        maintenance=fleet.maintenance,
        dns=fleet.dns,
        metrics=fleet.metrics,
        vpa=fleet.vpa,
        network=fleet.network,
    )


# Config sections plug in here: each validator checks its own key and returns the issues it found.
SECTION_VALIDATORS: list[Any] = [argocd_section.check, backup_section.check]
SECTION_VALIDATORS += [dns_section.check, metrics_section.check]
# -- mesh and connectivity sections --
SECTION_VALIDATORS.append(mesh_section.check)

# Submariner: Globalnet range and slices.
SECTION_VALIDATORS.append(connectivity.check_submariner)
# The private network fabric: pinned ASNs / tunnel blocks, reserved values, collisions.
SECTION_VALIDATORS.append(fabric_section.check)
EXTRA_MODELS.extend(connectivity.MODELS)


# Stand-ins for required keys that failed to parse. "dev" is the most permissive environment, so
# a stand-in never adds an error of its own; checks that need the address space are skipped.
_PLACEHOLDERS = {"environment": "dev", "addressSpace": "10.0.0.0/8", "clusters": [{}]}


def _partial(raw: dict[str, Any], bad: set[str]) -> FleetConfig | None:
    """The config without its broken top-level keys (sections fall back to defaults)."""
    cleaned = {k: v for k, v in raw.items() if k not in bad}
    for key, value in _PLACEHOLDERS.items():
        cleaned.setdefault(key, value)
    try:
        return FleetConfig.model_validate(cleaned)
    except ValidationError:
        return None


def _check_public_api(raw: dict[str, Any], fleet: FleetConfig, parsed: dict[int, ClusterConfig]) -> list[ConfigIssue]:
    """A public API endpoint is a relaxation the environment's baseline must allow (dev only)."""
    cidrs = fleet.security.api_allowed_cidrs
    if cidrs and not baseline_for(fleet.environment).public_api_endpoint:
        return [ConfigIssue("security.apiAllowedCidrs", [str(n) for n in cidrs],
                            f"the {fleet.environment} baseline allows no public API endpoint; leave it empty")]
    return []


SECTION_VALIDATORS.append(_check_public_api)

# Smallest public-API allow-list entry: a handful of /1../15 blocks would open the API server to
# much of the internet without ever naming 0.0.0.0/0.
MIN_API_CIDR_PREFIX = 16


def _check_security(raw: dict[str, Any], fleet: FleetConfig, parsed: dict[int, ClusterConfig]) -> list[ConfigIssue]:
    """Groups map one-to-one onto RBAC subjects and cloud principals; allow-lists stay narrow."""
    issues: list[ConfigIssue] = []
    for j, net in enumerate(fleet.security.api_allowed_cidrs):
        if net.prefixlen < MIN_API_CIDR_PREFIX:
            issues.append(ConfigIssue(f"security.apiAllowedCidrs[{j}]", net,
                                      f"is wider than /{MIN_API_CIDR_PREFIX}; list the office/VPN ranges themselves"))
    seen: dict[tuple[str, str], int] = {}
    for j, g in enumerate(fleet.security.groups):
        # Names are compared as the program derives resource names from them (a '.' and a '-'
        # give the same slug): two groups with one slug would register the same URNs.
        keys = [("name", g.name), ("awsRoleArn", g.aws_role_arn), ("azureObjectId", g.azure_object_id),
                ("name", naming.group_slug(g.name)),
                ("name", naming.access_entry_slug(g.name))]  # EKS access entries: the part before "@"
        for key, value in keys:
            if value is None:
                continue
            if (key, value) in seen and seen[(key, value)] != j:
                issues.append(ConfigIssue(f"security.groups[{j}].{key}", g.name if key == "name" else value,
                                          f"clashes with security.groups[{seen[(key, value)]}]"))
                break
            seen[(key, value)] = j
        if g.cluster_role is None and not g.namespace_roles:
            issues.append(ConfigIssue(f"security.groups[{j}]", g.name, "grants nothing: set clusterRole or namespaceRoles"))
    return issues


SECTION_VALIDATORS.append(_check_security)

# Instance type shapes per cloud: a size from another cloud is caught here, not at deploy time.
INSTANCE_TYPE = {
    "aws": r"^[a-z][a-z0-9-]*\.[a-z0-9]+$",
    "azure": r"^Standard_[A-Za-z0-9_]+$",
    "gcp": r"^[a-z][a-z0-9]*-[a-z0-9-]+$",
}


def _extra_sections(raw: dict[str, Any], fleet: FleetConfig, parsed: dict[int, ClusterConfig]) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for validator in SECTION_VALIDATORS:
        issues += validator(raw, fleet, parsed)
    return issues


def _not_consequences(issues: list[ConfigIssue], raw_clusters: list[Any], parsed: dict[int, ClusterConfig]) -> list[ConfigIssue]:
    """Drop section errors caused by a cluster that failed to parse: a reference to its name or
    region ("... is not a cluster of the fleet") is reported as the cluster's own error already."""
    broken = [c for i, c in enumerate(raw_clusters) if i not in parsed and isinstance(c, dict)]
    known = {str(c.get(k)) for c in broken for k in ("name", "region") if isinstance(c.get(k), str)}
    return [x for x in issues if not (isinstance(x.value, str) and x.value in known and "of the fleet" in x.message)]


def _cluster_names(raw_clusters: list[Any]) -> dict[int, str]:
    """Index -> name for the clusters whose name is a valid, unique label (for error paths)."""
    names = [c.get("name") if isinstance(c, dict) else None for c in raw_clusters]
    return {i: n for i, n in enumerate(names)
            if isinstance(n, str) and re.match(DNS_LABEL, n) and len(n) <= MAX_CLUSTER_NAME and names.count(n) == 1}


def _check_clusters(parsed: dict[int, ClusterConfig], fleet: FleetConfig | None, today: dt.date,
                    complete: bool = True) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    seen: dict[str, int] = {}
    for i, c in parsed.items():
        p = f"clusters[{i}]"
        if c.name in seen:
            issues.append(ConfigIssue(f"{p}.name", c.name, f"is already the name of clusters[{seen[c.name]}]"))
        else:
            seen[c.name] = i
        issues += [ConfigIssue(f"{p}.name", c.name, why) for why in naming.problems(c.name, c.cloud)]
        if c.region not in REGIONS[c.cloud]:
            issues.append(ConfigIssue(f"{p}.region", c.region, f"is not a {c.cloud} region"))
        problem = version_problem(c.cloud, c.kubernetes_version, today)
        if problem:
            issues.append(ConfigIssue(f"{p}.kubernetesVersion", c.kubernetes_version, problem))
        n = c.nodes
        if n.instance_type is not None and not re.match(INSTANCE_TYPE[c.cloud], n.instance_type):
            issues.append(ConfigIssue(f"{p}.nodes.instanceType", n.instance_type, f"is not a {c.cloud} instance type"))
        if not (n.min_size <= n.desired_size <= n.max_size):
            issues.append(
                ConfigIssue(f"{p}.nodes", {"minSize": n.min_size, "desiredSize": n.desired_size, "maxSize": n.max_size},
                            "must satisfy minSize <= desiredSize <= maxSize")
            )
        if c.zones is not None:
            issues += _check_zones(p, c)
        elif c.cloud == "aws" and c.region in REGIONS["aws"] and c.region not in AWS_ZONES:
            issues.append(ConfigIssue(f"{p}.zones", None, f"must be listed for {c.region} (no zone table for it in stacks/regions.py)"))
    managers = [i for i, c in parsed.items() if c.role == "management"]
    # A cluster that failed to parse may be the management cluster: "found 0" would be a consequence.
    if parsed and (len(managers) > 1 or (not managers and complete)):
        names = [parsed[i].name for i in managers]
        issues.append(ConfigIssue("clusters", names, f"must hold exactly one cluster with role 'management' (found {len(managers)})"))
    if fleet is not None and fleet.gcp_project is None and any(c.cloud == "gcp" for c in parsed.values()):
        issues.append(ConfigIssue("gcpProject", None, "is required when the fleet has a gcp cluster"))
    return issues


def _check_zones(p: str, c: ClusterConfig) -> list[ConfigIssue]:
    zones = c.zones or []
    issues = []
    if len(set(zones)) != len(zones):
        issues.append(ConfigIssue(f"{p}.zones", zones, "lists a zone twice"))
    if c.cloud == "aws":
        if not 2 <= len(zones) <= 3:
            issues.append(ConfigIssue(f"{p}.zones", zones, "must list 2 or 3 availability zones for EKS"))
        for j, z in enumerate(zones):
            known = AWS_ZONES.get(c.region)
            shaped = z.startswith(c.region) and len(z) == len(c.region) + 1 and z[-1].isalpha()
            if not shaped or (known is not None and z not in known):
                issues.append(ConfigIssue(f"{p}.zones[{j}]", z, f"is not an availability zone of {c.region}"
                                          + (f" (zones: {', '.join(known)})" if known else "")))
    elif c.cloud == "azure":
        for j, z in enumerate(zones):
            if z not in {"1", "2", "3"}:
                issues.append(ConfigIssue(f"{p}.zones[{j}]", z, "is not an Azure availability zone (1, 2 or 3)"))
    else:
        for j, z in enumerate(zones):
            if not (z.startswith(c.region + "-") and len(z) == len(c.region) + 2):
                issues.append(ConfigIssue(f"{p}.zones[{j}]", z, f"is not a zone of {c.region}"))
    return issues


def _address_plan(space: Net, parsed: dict[int, ClusterConfig]) -> tuple[list[ConfigIssue], dict[int, ipam.NetworkPlan]]:
    """Each cluster's three ranges: a /16 block of ``space`` per cluster that needs one, the ranges
    given in config checked, and all of them disjoint across the fleet."""
    issues: list[ConfigIssue] = []
    if not ipam.is_private(space):
        issues.append(ConfigIssue("addressSpace", space, "is not a private range (RFC 1918 or 100.64.0.0/10)"))
    slots, slot_issues = _assign_slots(space, parsed)
    issues += slot_issues
    if slots is None:
        return issues, {}
    plans, owners, range_issues = _resolve_ranges(space, parsed, slots)
    return issues + range_issues + _overlaps(owners, parsed), plans


def _assign_slots(space: Net, parsed: dict[int, ClusterConfig]) -> tuple[dict[int, int] | None, list[ConfigIssue]]:
    """Which block each cluster uses (only clusters that need one: some range not given); pinned
    slots first, then hashed ones. ``None`` when the space has too few blocks for the fleet."""
    issues: list[ConfigIssue] = []
    count = ipam.block_count(space)
    slots: dict[int, int] = {}
    taken: dict[int, int] = {}
    pinned = {i: c.network.slot for i, c in parsed.items() if c.network.slot is not None}
    for i, c in sorted(parsed.items()):
        net = c.network
        needs_block = net.vpc_cidr is None or net.pod_cidr is None or net.service_cidr is None
        if net.slot is not None and net.slot >= count:
            issues.append(ConfigIssue(f"clusters[{i}].network.slot", net.slot,
                                      f"is outside addressSpace {space} (it has {count} /16 blocks: slots 0 to {count - 1})"))
            continue
        if not needs_block and net.slot is None:
            continue
        if count == 0:
            issues.append(ConfigIssue(f"clusters[{i}].network", None,
                                      f"has ranges to allocate but addressSpace {space} is smaller than one /16 block"))
            continue
        slots[i] = net.slot if net.slot is not None else ipam.hashed_slot(c.name, count)
    if len(slots) > count > 0:
        # Said once: one error per cluster, each listing the same few free slots, helps nobody.
        issues.append(ConfigIssue("addressSpace", space,
                                  f"has {count} /16 blocks but {len(slots)} clusters need one; use a larger addressSpace "
                                  f"(a /{ipam.BLOCK_PREFIX - max(1, (len(slots) - 1).bit_length())} or larger) "
                                  "or give some clusters all three ranges explicitly"))
        return None, issues
    for i in sorted(slots, key=lambda k: (k not in pinned, k)):
        s = slots[i]
        if s in taken:
            other = taken[s]
            used = set(slots.values())
            free = [n for n in range(count) if n not in used][:5]
            how = "is pinned to" if i in pinned else "hashes to"
            issues.append(ConfigIssue(
                f"clusters[{i}].network.slot", s,
                f"cluster '{parsed[i].name}' {how} the block of clusters[{other}] ('{parsed[other].name}'); "
                f"pin a free slot with network.slot (free: {', '.join(map(str, free))})"))
            del slots[i]
        else:
            taken[s] = i
    return slots, issues


Owner = tuple[str, Net, int]  # (config path, range, cluster index)


def _resolve_ranges(space: Net, parsed: dict[int, ClusterConfig], slots: dict[int, int]
                    ) -> tuple[dict[int, ipam.NetworkPlan], list[Owner], list[ConfigIssue]]:
    """Each cluster's three ranges, from config or from its block; those given in config checked."""
    issues: list[ConfigIssue] = []
    plans: dict[int, ipam.NetworkPlan] = {}
    owners: list[Owner] = []
    for i, c in sorted(parsed.items()):
        net = c.network
        from_block = ipam.block_ranges(ipam.block(space, slots[i])) if i in slots else {}
        ranges: dict[str, Net] = {}
        ok = True
        for key, given in (("vpcCidr", net.vpc_cidr), ("podCidr", net.pod_cidr), ("serviceCidr", net.service_cidr)):
            path = f"clusters[{i}].network.{key}"
            if given is None:
                if key not in from_block:
                    ok = False
                    continue
                ranges[key] = from_block[key]
                # Allocated ranges get the same checks as explicit ones (an EKS service range
                # allocated from 100.64.0.0/10 is not RFC 1918, which EKS refuses).
                issues += [ConfigIssue(x.path, x.value, f"(allocated from addressSpace {space}) {x.message}; set {key} explicitly")
                           for x in _check_size(path, key, from_block[key], c.cloud)]
                continue
            ranges[key] = given
            # A service range is never routed outside its cluster: it may sit outside addressSpace
            # (EKS needs an RFC 1918 one even when the fleet lives in 100.64.0.0/10).
            if not given.subnet_of(space) and not (key == "serviceCidr" and ipam.is_private(given)):
                issues.append(ConfigIssue(path, given, f"is not inside addressSpace {space}"))
            issues += _check_size(path, key, given, c.cloud)
        if not ok:
            continue
        owners += [(f"clusters[{i}].network.{key}", rng, i) for key, rng in ranges.items()]
        plans[i] = ipam.NetworkPlan(slot=slots.get(i), vpc=ranges["vpcCidr"], pods=ranges["podCidr"], services=ranges["serviceCidr"])
    return plans, owners, issues


def _overlaps(owners: list[Owner], parsed: dict[int, ClusterConfig]) -> list[ConfigIssue]:
    """Ranges disjoint within each cluster and across the fleet."""
    issues: list[ConfigIssue] = []
    for a in range(len(owners)):
        for b in range(a + 1, len(owners)):
            pa, na, ia = owners[a]
            pb, nb, ib = owners[b]
            if na.overlaps(nb):
                where = "" if ia == ib else f" (cluster '{parsed[ia].name}')"
                issues.append(ConfigIssue(pb, nb, f"overlaps {pa} {na}{where}"))
    return issues


def _check_size(path: str, key: str, net: Net, cloud: str) -> list[ConfigIssue]:
    issues = []
    if key == "vpcCidr" and net.prefixlen > ipam.MIN_VPC_PREFIX:
        issues.append(ConfigIssue(path, net, f"is too small: needs /{ipam.MIN_VPC_PREFIX} or larger for per-zone subnets"))
    if key == "podCidr" and net.prefixlen > ipam.MIN_POD_PREFIX:
        issues.append(ConfigIssue(path, net, f"is too small: needs /{ipam.MIN_POD_PREFIX} or larger"))
    if key == "serviceCidr":
        lo, hi = ipam.SERVICE_PREFIX_RANGE
        if not lo <= net.prefixlen <= hi:
            issues.append(ConfigIssue(path, net, f"must be between /{lo} and /{hi}"))
        if cloud == "aws" and not any(net.subnet_of(s) for s in ipam.RFC1918):
            issues.append(ConfigIssue(path, net, "must be inside an RFC 1918 range on EKS"))
    return issues
