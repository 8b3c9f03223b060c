"""Cross-cluster firewall: open the fleet's ports (stacks/ports.py) on each cluster, only from the
other clusters' fleet ranges, through each cloud's own mechanism.

:class:`FleetPorts` takes any number of clusters, each with its openings (the fleet's translation,
:func:`cluster_ports_args`, turns the ports table and the other clusters' planned CIDRs into them).
The fleet makes one per cluster, named ``<cluster>-fleet-ports`` and parented to that cluster (a
cross-cluster link hangs off the cluster), as it always did, so every rule keeps its URN:

- AWS: ingress rules on the EKS cluster security group (nodes, pod ENIs and the control plane share it);
- Azure: allow rules on the node subnet's NSG, then a deny for the fleet's sources on every other
  port, because Azure's default ``AllowVnetInBound`` would otherwise admit any peered fleet range;
- GCP: ingress firewall rules on the cluster's VPC targeting its node service account.
"""

import ipaddress
import re
from typing import NotRequired, TypedDict

import pulumi
import pulumi_aws as aws
import pulumi_azure_native as azure_native
import pulumi_azure_native.network as azure_network
import pulumi_gcp as gcp

from components.fleet import check_cluster_entries
from components.handle import ClusterHandle
from components.tokens import component_type, renamed_from
from stacks import ports as port_table
from stacks.spec import ClusterSpec, FleetSpec

# Azure NSG priorities: fleet allows from 200 upward, the fleet deny after them (Azure's own
# defaults start at 65000).
AZURE_ALLOW_PRIORITY = 200
AZURE_DENY_PRIORITY = 4000
PROTOCOLS = ("tcp", "udp")
# Clouds whose private control plane sits outside the node firewall (see stacks/ports.py scopes).
CONTROL_PLANE_FIREWALLED = frozenset({"gcp"})


class PortOpeningArgs(TypedDict):
    """One port opened on a cluster's firewall from the given sources."""

    name: str
    """The opening's name, in the rules' names (a DNS-1123 label, e.g. istio-mtls)."""
    protocol: str
    """tcp or udp."""
    port: int
    """The port, 1 to 65535."""
    sources: list[str]
    """Source CIDRs (on AWS one rule per CIDR)."""
    description: NotRequired[str]
    """Why the port is open, written on the rule. Default: none."""


class AwsFirewallArgs(TypedDict):
    """Where an EKS cluster's rules go: its cluster security group."""

    provider: aws.Provider
    """The AWS provider of the cluster's region."""
    security_group_id: pulumi.Input[str]
    """The EKS cluster security group (nodes, pod ENIs and the control plane share it)."""


class AzureFirewallArgs(TypedDict):
    """Where an AKS cluster's rules go: its node subnet's network security group."""

    provider: azure_native.Provider
    """The azure-native provider of the cluster's region."""
    resource_group_name: pulumi.Input[str]
    """The resource group of the NSG."""
    network_security_group_name: pulumi.Input[str]
    """The node subnet's NSG."""
    deny_sources: NotRequired[list[str]]
    """CIDRs denied on every other port after the allows (Azure's default AllowVnetInBound would admit
    any peered range). Default: none."""


class GcpFirewallArgs(TypedDict):
    """Where a GKE cluster's rules go: ingress firewall rules on its VPC for its nodes."""

    provider: gcp.Provider
    """The GCP provider of the cluster's project."""
    network_id: pulumi.Input[str]
    """The cluster's VPC network."""
    node_service_account: pulumi.Input[str]
    """The nodes' service account e-mail: the rules' target."""


class PortsClusterArgs(TypedDict):
    """One cluster's openings and its cloud firewall (exactly one of aws, azure, gcp)."""

    name: str
    """The cluster's name (a DNS-1123 label, unique): its rules are named from it."""
    openings: list[PortOpeningArgs]
    """The ports to open and from where."""
    aws: NotRequired[AwsFirewallArgs]
    """An EKS cluster's security group."""
    azure: NotRequired[AzureFirewallArgs]
    """An AKS cluster's node NSG."""
    gcp: NotRequired[GcpFirewallArgs]
    """A GKE cluster's VPC and node service account."""


class FleetPortsArgs(TypedDict):
    """Inputs of a FleetPorts: every cluster's openings on its own cloud's firewall."""

    clusters: list[PortsClusterArgs]
    """The clusters; names unique."""


def _check(args: FleetPortsArgs) -> None:
    check_cluster_entries(args["clusters"])
    for c in args["clusters"]:
        clouds = [k for k in ("aws", "azure", "gcp") if k in c]
        if len(clouds) != 1:
            raise ValueError(f"clusters[{c['name']}]: exactly one of aws, azure, gcp (found {', '.join(clouds) or 'none'})")
        for o in c["openings"]:
            where = f"clusters[{c['name']}].openings[{o['name']}]"
            if not re.fullmatch(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", o["name"]):
                raise ValueError(f"{where}.name: {o['name']!r} is not a DNS-1123 label")
            if o["protocol"] not in PROTOCOLS:
                raise ValueError(f"{where}.protocol: {o['protocol']!r} is not one of tcp, udp")
            if not 1 <= o["port"] <= 65535:
                raise ValueError(f"{where}.port: {o['port']} is not between 1 and 65535")
            for cidr in [*o["sources"], *c.get("azure", {}).get("deny_sources", [])]:
                try:
                    ipaddress.IPv4Network(cidr)
                except ValueError:
                    raise ValueError(f"{where}.sources: {cidr!r} is not an IPv4 CIDR") from None


class FleetPorts(pulumi.ComponentResource):
    """The fleet's firewall openings on every cluster, each through its cloud's own mechanism: AWS
    security group ingress rules (one per source CIDR), Azure NSG allows then a deny of the fleet's
    other traffic, GCP VPC firewall rules targeting the nodes' service account."""

    rule_counts: pulumi.Output[dict[str, int]]
    """Cluster name -> how many firewall rules it got."""

    def __init__(self, name: str, args: FleetPortsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(FleetPorts), name, None, renamed_from("archipelago:fleet:FleetPorts", opts))
        _check(args)
        self.rules: dict[str, list[pulumi.CustomResource]] = {}
        for c in args["clusters"]:
            if aws_fw := c.get("aws"):
                self.rules[c["name"]] = _aws(self, c["name"], aws_fw, c["openings"])
            elif az_fw := c.get("azure"):
                self.rules[c["name"]] = _azure(self, c["name"], az_fw, c["openings"])
            elif gcp_fw := c.get("gcp"):
                self.rules[c["name"]] = _gcp(self, c["name"], gcp_fw, c["openings"])
        self.rule_counts = pulumi.Output.from_input({n: len(r) for n, r in self.rules.items()})
        self.register_outputs({"ruleCounts": self.rule_counts})


def _opts(parent: FleetPorts, provider: pulumi.ProviderResource) -> pulumi.ResourceOptions:
    return pulumi.ResourceOptions(parent=parent, provider=provider)


def _aws(parent: FleetPorts, cluster: str, fw: AwsFirewallArgs, openings: list[PortOpeningArgs]) -> list[pulumi.CustomResource]:
    """One ingress rule per (port, source CIDR) on the EKS cluster security group.

    ``aws.vpc.SecurityGroupIngressRule`` is one AWS security group rule with an id of its own, so a
    changed source is an add or remove of that rule only; ``aws.ec2.SecurityGroupRule`` with a
    CIDR list replaces the whole rule on any change (every argument is ForceNew in
    hashicorp/terraform-provider-aws internal/service/ec2/vpc_security_group_rule.go), and with
    create-before-delete the replacement duplicates the old rule, which AWS refuses.
    """
    return [
        aws.vpc.SecurityGroupIngressRule(
            f"{cluster}-fleet-{o['name']}-{cidr.replace('.', '-').replace('/', '-')}",
            security_group_id=fw["security_group_id"],
            ip_protocol=o["protocol"],
            from_port=o["port"],
            to_port=o["port"],
            cidr_ipv4=cidr,
            description=o.get("description"),
            opts=_opts(parent, fw["provider"]),
        )
        for o in openings for cidr in o["sources"]
    ]


def _azure(parent: FleetPorts, cluster: str, fw: AzureFirewallArgs, openings: list[PortOpeningArgs]) -> list[pulumi.CustomResource]:
    def rule(logical: str, priority: int, access: str, protocol: str, port_range: str, src: list[str], why: str | None):
        return azure_network.SecurityRule(
            f"{cluster}-fleet-{logical}",
            resource_group_name=fw["resource_group_name"],
            network_security_group_name=fw["network_security_group_name"],
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
            opts=_opts(parent, fw["provider"]),
        )

    out: list[pulumi.CustomResource] = [
        rule(o["name"], AZURE_ALLOW_PRIORITY + i, azure_network.SecurityRuleAccess.ALLOW, o["protocol"].capitalize(),
             str(o["port"]), o["sources"], o.get("description"))
        for i, o in enumerate(openings)
    ]
    if deny := fw.get("deny_sources"):
        out.append(rule("deny-other", AZURE_DENY_PRIORITY, azure_network.SecurityRuleAccess.DENY, azure_network.SecurityRuleProtocol.ASTERISK,
                        "*", deny, "other fleet clusters: nothing but the fleet ports above"))
    return out


def _gcp(parent: FleetPorts, cluster: str, fw: GcpFirewallArgs, openings: list[PortOpeningArgs]) -> list[pulumi.CustomResource]:
    return [
        gcp.compute.Firewall(
            f"{cluster}-fleet-{o['name']}",
            name=f"{cluster}-fleet-{o['name']}",
            network=fw["network_id"],
            direction="INGRESS",
            source_ranges=list(o["sources"]),
            target_service_accounts=[fw["node_service_account"]],
            allows=[gcp.compute.FirewallAllowArgs(protocol=o["protocol"], ports=[str(o["port"])])],
            description=o.get("description"),
            opts=_opts(parent, fw["provider"]),
        )
        for o in openings
    ]


# The AWS rules' sources (and GKE's master authorized networks): see stacks.ports.fleet_space_sources.
aws_fleet_sources = port_table.fleet_space_sources


def cluster_openings(fleet: FleetSpec, c: ClusterSpec) -> tuple[list[PortOpeningArgs], list[str]]:
    """The fleet's openings on cluster ``c`` (stacks/ports.py rows, each from the clusters its scope
    admits) and the fleet's sources as a whole (Azure's deny after the allows)."""
    sources = [str(n) for n in ipaddress.collapse_addresses(port_table.fleet_sources(fleet, c))]
    # AWS: one rule per source CIDR, so the sources must not grow with the fleet (see aws_fleet_sources).
    rule_sources = [str(n) for n in aws_fleet_sources(fleet, c)] if c.cloud == "aws" else sources
    rows: list[tuple[port_table.FleetPort, list[str]]] = [(p, rule_sources) for p in port_table.ports("fleet", c.cloud)] if sources else []
    # Submariner's cable and the hub's federation: only where the cluster takes part, only from
    # the clusters that do (stacks/ports.py scopes).
    for scope in ("submariner", "hub"):
        scoped = [str(n) for n in ipaddress.collapse_addresses(port_table.scope_sources(fleet, c, scope))]
        if scoped and scope == "submariner" and c.cloud == "aws":
            # The bounded per-CIDR set (aws_fleet_sources), only its pieces that hold a member.
            scoped = [str(n) for n in aws_fleet_sources(fleet, c, port_table.scope_sources(fleet, c, "submariner"))]
        rows += [(p, scoped) for p in port_table.ports(scope, c.cloud)] if scoped else []
    if c.cloud in CONTROL_PLANE_FIREWALLED:
        rows += [(p, [str(c.network.control_plane)]) for p in port_table.ports("control-plane", c.cloud)]
    openings: list[PortOpeningArgs] = [
        {"name": p.name, "protocol": p.protocol, "port": p.port, "sources": list(src), "description": p.purpose} for p, src in rows]
    return openings, sources


def cluster_ports_args(fleet: FleetSpec, h: ClusterHandle) -> PortsClusterArgs:
    """One cluster's entry: its openings (:func:`cluster_openings`) and its cloud firewall's ids."""
    openings, sources = cluster_openings(fleet, h.spec)
    entry = PortsClusterArgs(name=h.name, openings=openings)
    out = h.cloud_outputs
    if h.cloud == "aws":
        entry["aws"] = {"provider": h.cloud_provider, "security_group_id": out["clusterSecurityGroupId"]}  # type: ignore[typeddict-item]
    elif h.cloud == "azure":
        entry["azure"] = {"provider": h.cloud_provider, "resource_group_name": out["resourceGroupName"],  # type: ignore[typeddict-item]
                          "network_security_group_name": out["nodeSecurityGroupName"], "deny_sources": sources}
    else:
        entry["gcp"] = {"provider": h.cloud_provider, "network_id": out["networkId"],  # type: ignore[typeddict-item]
                        "node_service_account": out["nodeServiceAccount"]}
    return entry


def open_fleet_ports(handles: list[ClusterHandle], fleet: FleetSpec) -> list[FleetPorts]:
    """The fleet's composition: one FleetPorts per cluster, under the cluster, named from it (the
    names and URNs deployed stacks hold)."""
    return [FleetPorts(f"{h.name}-fleet-ports", FleetPortsArgs(clusters=[cluster_ports_args(fleet, h)]),
                       pulumi.ResourceOptions(parent=h.component)) for h in handles]
