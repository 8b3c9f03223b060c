"""Cross-cluster firewall: open the fleet's ports (stacks/ports.py) on each cluster, only from the
other clusters' fleet ranges, through each cloud's own mechanism.

One :class:`FleetPorts` component per cluster, parented to that cluster (a cross-cluster link hangs
off the cluster, and needs nothing from the other clusters but their planned CIDRs):

- AWS: ingress rules on the EKS cluster security group (nodes, pod ENIs and the control plane share it);
- Azure: allow rules on the node subnet's NSG, then a deny for the fleet's sources on every other
  port, because Azure's default ``AllowVnetInBound`` would otherwise admit any peered fleet range;
- GCP: ingress firewall rules on the cluster's VPC targeting its node service account.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws
import pulumi_azure_native.network as azure_network
import pulumi_gcp as gcp

from components.handle import ClusterHandle
from stacks import ports as port_table
from stacks.ports import FleetPort
from stacks.spec import FleetSpec

# Azure NSG priorities: fleet allows from 200 upward, the fleet deny after them (Azure's own
# defaults start at 65000).
AZURE_ALLOW_PRIORITY = 200
AZURE_DENY_PRIORITY = 4000


@dataclass
class FleetPortsArgs:
    handle: ClusterHandle
    fleet: FleetSpec


@dataclass(frozen=True)
class _Opening:
    row: FleetPort
    sources: tuple[str, ...]


class FleetPorts(pulumi.ComponentResource):
    """The fleet's firewall openings on one cluster."""

    rules: list[pulumi.CustomResource]

    def __init__(self, name: str, args: FleetPortsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:fleet:FleetPorts", name, None, opts)
        h, fleet = args.handle, args.fleet
        sources = tuple(str(n) for n in ipaddress.collapse_addresses(port_table.fleet_sources(fleet, h.spec)))
        # AWS: one rule per source CIDR, so the sources must not grow with the fleet (see aws_fleet_sources).
        rule_sources = tuple(str(n) for n in aws_fleet_sources(fleet, h.spec)) if h.cloud == "aws" else sources
        openings = [_Opening(p, rule_sources) for p in port_table.ports("fleet", h.cloud)] if sources else []
        # Submariner's cable and the hub's federation: only where the cluster takes part, only from
        # the clusters that do (stacks/ports.py scopes).
        for scope in ("submariner", "hub"):
            scoped = tuple(str(n) for n in ipaddress.collapse_addresses(port_table.scope_sources(fleet, h.spec, scope)))
            if scoped and scope == "submariner" and h.cloud == "aws":
                scoped = rule_sources  # the bounded per-CIDR set (aws_fleet_sources): the quota holds at any size
            openings += [_Opening(p, scoped) for p in port_table.ports(scope, h.cloud)] if scoped else []
        if h.cloud in CONTROL_PLANE_FIREWALLED:
            openings += [_Opening(p, (str(h.network.control_plane),)) for p in port_table.ports("control-plane", h.cloud)]
        self.rules = CLOUD_RULES[h.cloud](self, h, openings, sources)
        self.register_outputs({"ruleCount": len(self.rules)})


# The AWS rules' sources (and GKE's master authorized networks): see stacks.ports.fleet_space_sources.
aws_fleet_sources = port_table.fleet_space_sources


def _aws(parent: FleetPorts, h: ClusterHandle, openings: list[_Opening], _sources: tuple[str, ...]) -> list[pulumi.CustomResource]:
    """One ingress rule per (port, source CIDR) on the EKS cluster security group.

    ``aws.vpc.SecurityGroupIngressRule`` is one AWS security group rule with an id of its own, so a
    changed source is an add or remove of that rule only; ``aws.ec2.SecurityGroupRule`` with a
    CIDR list replaces the whole rule on any change (every argument is ForceNew in
    hashicorp/terraform-provider-aws internal/service/ec2/vpc_security_group_rule.go), and with
    create-before-delete the replacement duplicates the old rule, which AWS refuses.
    """
    sg = h.cloud_outputs["clusterSecurityGroupId"]
    rules = []
    for o in openings:
        for cidr in o.sources:
            rules.append(aws.vpc.SecurityGroupIngressRule(
                f"{h.name}-fleet-{o.row.name}-{cidr.replace('.', '-').replace('/', '-')}",
                security_group_id=sg,
                ip_protocol=o.row.protocol,
                from_port=o.row.port,
                to_port=o.row.port,
                cidr_ipv4=cidr,
                description=o.row.purpose,
                opts=h.cloud_opts(parent),
            ))
    return rules


def _azure(parent: FleetPorts, h: ClusterHandle, openings: list[_Opening], sources: tuple[str, ...]) -> list[pulumi.CustomResource]:
    nsg = h.cloud_outputs["nodeSecurityGroupName"]
    rg = h.cloud_outputs["resourceGroupName"]

    def rule(logical: str, priority: int, access: str, protocol: str, port_range: str, src: tuple[str, ...], why: str):
        return azure_network.SecurityRule(
            f"{h.name}-fleet-{logical}",
            resource_group_name=rg,
            network_security_group_name=nsg,
            security_rule_name=f"fleet-{logical}",
            priority=priority,
            direction=azure_network.SecurityRuleDirection.INBOUND,
            access=access,
            protocol=protocol,
            source_address_prefixes=list(src),
            source_port_range="*",
            destination_address_prefix="*",
            destination_port_range=port_range,
            description=why,
            opts=h.cloud_opts(parent),
        )

    out: list[pulumi.CustomResource] = [
        rule(o.row.name, AZURE_ALLOW_PRIORITY + i, azure_network.SecurityRuleAccess.ALLOW, o.row.protocol.capitalize(),
             str(o.row.port), o.sources, o.row.purpose)
        for i, o in enumerate(openings)
    ]
    if sources:
        out.append(rule("deny-other", AZURE_DENY_PRIORITY, azure_network.SecurityRuleAccess.DENY, azure_network.SecurityRuleProtocol.ASTERISK,
                        "*", sources, "other fleet clusters: nothing but the fleet ports above"))
    return out


def _gcp(parent: FleetPorts, h: ClusterHandle, openings: list[_Opening], _sources: tuple[str, ...]) -> list[pulumi.CustomResource]:
    return [
        gcp.compute.Firewall(
            f"{h.name}-fleet-{o.row.name}",
            name=f"{h.name}-fleet-{o.row.name}",
            network=h.cloud_outputs["networkId"],
            direction="INGRESS",
            source_ranges=list(o.sources),
            target_service_accounts=[h.cloud_outputs["nodeServiceAccount"]],
            allows=[gcp.compute.FirewallAllowArgs(protocol=o.row.protocol, ports=[str(o.row.port)])],
            description=o.row.purpose,
            opts=h.cloud_opts(parent),
        )
        for o in openings
    ]


CLOUD_RULES: dict[str, Callable[[FleetPorts, ClusterHandle, list[_Opening], tuple[str, ...]], list[pulumi.CustomResource]]] = {
    "aws": _aws,
    "azure": _azure,
    "gcp": _gcp,
}

# Clouds whose private control plane sits outside the node firewall (see stacks/ports.py scopes).
CONTROL_PLANE_FIREWALLED = frozenset({"gcp"})


def open_fleet_ports(handles: list[ClusterHandle], fleet: FleetSpec) -> list[FleetPorts]:
    return [
        FleetPorts(f"{h.name}-fleet-ports", FleetPortsArgs(handle=h, fleet=fleet), pulumi.ResourceOptions(parent=h.component))
        for h in handles
    ]
