"""DNS failover across the fleet: the Route 53 zone and a health check per answering cluster
(:class:`DnsFailover`), and external-dns on every cluster (each its own owner id), composed by
:func:`dns_failover`.

Route 53 health checks are created here because external-dns never creates them ("assumes that
<health-check-id> already exists", docs/tutorials/aws.md at v0.21.0). Each probes the cluster's
own name ``<cluster>.<zone>``, never the shared name (a check on the shared name would follow the
failover itself). Failover takes about ``failureThreshold x interval`` + the record TTL.
"""

# No `from __future__ import annotations`: the package analyzer reads the args' annotations as objects.

import re
from typing import TYPE_CHECKING, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from components import naming
from components.addons.external_dns import ExternalDns, external_dns_args
from components.tokens import component_type, renamed_from
from stacks.config import DNS_LABEL
from stacks.sections.dns import ZONE, record_members

if TYPE_CHECKING:
    from components.handle import ClusterHandle
    from stacks.spec import FleetSpec

CHECK_TYPES = ("HTTPS", "HTTP", "TCP")
CHECK_INTERVALS = (10, 30)


class HealthCheckArgs(TypedDict):
    """The Route 53 health check made for each endpoint (<endpoint>.<zone>)."""

    type: NotRequired[str]
    """HTTPS, HTTP or TCP. HTTPS sends SNI (the ingress picks its certificate by it). Default: HTTP."""
    port: NotRequired[int]
    """Port probed, 1-65535. Default: 80."""
    path: NotRequired[str]
    """Path probed (HTTP/HTTPS; a 2xx/3xx within 2 s is healthy), starting with /. Default: /."""
    interval: NotRequired[int]
    """Seconds between checks from each Route 53 checker: 10 or 30. Default: 30."""
    failure_threshold: NotRequired[int]
    """Consecutive failures before the endpoint's rows stop answering, 1-10. Default: 3."""


class DnsFailoverArgs(TypedDict):
    """Inputs of a DnsFailover: the zone to create and the endpoints to health-check."""

    zone: str
    """Name of the public hosted zone to create, e.g. apps.example.com: at least two lowercase
    labels, no trailing dot."""
    endpoints: NotRequired[list[str]]
    """Endpoints answering shared names (cluster names, DNS-1123 labels): each gets a health check
    probing <endpoint>.<zone>, logical name <endpoint>-<namePrefix>-health. Default: none."""
    health_check: NotRequired[HealthCheckArgs]
    """How every endpoint is probed. Default: HTTP on port 80, path /, every 30 s, 3 failures."""
    comment: NotRequired[str]
    """The zone's comment. Default: "external-dns records"."""
    protect_zone: NotRequired[bool]
    """Protect the zone from deletion (and refuse to destroy it while it holds records). Default:
    false (the zone is deleted with everything in it)."""
    name_prefix: NotRequired[str]
    """Prefix of every child's logical name. Default: the component's own name."""


def _check_args(args: DnsFailoverArgs) -> None:
    zone, hc = args["zone"], args.get("health_check") or {}
    if not re.fullmatch(ZONE, zone) or len(zone) > 200:
        raise ValueError(f"zone: {zone!r} is not a zone name (lowercase labels, at least two, no trailing dot)")
    for i, e in enumerate(args.get("endpoints") or []):
        if not re.fullmatch(DNS_LABEL, e) or len(e) > 63:
            raise ValueError(f"endpoints[{i}]: {e!r} is not a DNS-1123 label")
    if hc.get("type", "HTTP") not in CHECK_TYPES:
        raise ValueError(f"healthCheck.type: {hc.get('type')!r} is not one of {', '.join(CHECK_TYPES)}")
    if not 1 <= hc.get("port", 80) <= 65535:
        raise ValueError(f"healthCheck.port: {hc.get('port')!r} is not between 1 and 65535")
    if not re.fullmatch(r"/[\x21-\x7e]*", hc.get("path", "/")) or len(hc.get("path", "/")) > 255:
        raise ValueError(f"healthCheck.path: {hc.get('path')!r} is not a path starting with /")
    if hc.get("interval", 30) not in CHECK_INTERVALS:
        raise ValueError(f"healthCheck.interval: {hc.get('interval')!r} is not 10 or 30")
    if not 1 <= hc.get("failure_threshold", 3) <= 10:
        raise ValueError(f"healthCheck.failureThreshold: {hc.get('failure_threshold')!r} is not between 1 and 10")


class DnsFailover(pulumi.ComponentResource):
    """A public Route 53 zone for failover and weighted names, and a Route 53 health check of each
    endpoint that answers them (external-dns writes the records and names the checks)."""

    zone_id: pulumi.Output[str]
    """Id of the hosted zone (external-dns's zone-id-filter)."""
    zone_arn: pulumi.Output[str]
    """ARN of the hosted zone (external-dns's IAM policy is scoped to it)."""
    name_servers: pulumi.Output[list[str]]
    """The zone's name servers, to delegate to from the parent zone."""
    health_check_ids: pulumi.Output[dict[str, str]]
    """Endpoint -> id of its Route 53 health check."""

    def __init__(self, name: str, args: DnsFailoverArgs, opts: pulumi.ResourceOptions | None = None):
        """The AWS provider comes from the resource options (``providers``); children inherit it."""
        super().__init__(component_type(DnsFailover), name, None, renamed_from("archipelago:fleet:DnsFailover", opts))
        _check_args(args)
        prefix = args.get("name_prefix") or name
        zone, hc = args["zone"], args.get("health_check") or {}
        protect = bool(args.get("protect_zone", False))
        aws_opts = pulumi.ResourceOptions(parent=self, provider=self.get_provider("aws::"))
        # The zone and checks (Python only), for programs that build on them.
        self.zone = aws.route53.Zone(
            f"{prefix}-zone", name=zone, comment=args.get("comment", "external-dns records"),
            force_destroy=not protect, opts=pulumi.ResourceOptions.merge(aws_opts, pulumi.ResourceOptions(protect=protect)))
        check_type = hc.get("type", "HTTP")
        self.health_checks: dict[str, aws.route53.HealthCheck] = {
            endpoint: aws.route53.HealthCheck(
                f"{endpoint}-{prefix}-health", type=check_type, fqdn=f"{endpoint}.{zone}", port=hc.get("port", 80),
                request_interval=hc.get("interval", 30), failure_threshold=hc.get("failure_threshold", 3),
                resource_path=None if check_type == "TCP" else hc.get("path", "/"),
                enable_sni=True if check_type == "HTTPS" else None,  # the ingress picks its certificate by SNI
                tags={"Name": f"{endpoint}-endpoint", "archipelago/cluster": endpoint}, opts=aws_opts)
            for endpoint in sorted(set(args.get("endpoints") or []))
        }
        self.zone_id = self.zone.zone_id
        self.zone_arn = self.zone.arn
        self.name_servers = self.zone.name_servers.apply(list)
        self.health_check_ids = pulumi.Output.all(**{e: c.id for e, c in self.health_checks.items()}).apply(dict)
        self.register_outputs({"zoneId": self.zone_id, "zoneArn": self.zone_arn, "nameServers": self.name_servers,
                               "healthCheckIds": self.health_check_ids})


def dns_failover(fleet: "FleetSpec", handles: list["ClusterHandle"], aws_provider: pulumi.ProviderResource,
                 monitoring: dict[str, list[pulumi.Resource]]) -> tuple[DnsFailover, dict[str, ExternalDns]]:
    """The fleet's composition: the zone and checks (``dns``, as always), then external-dns on every
    cluster, parented to the cluster (names and URNs unchanged), with the AWS access each cluster's
    handle answers. ``monitoring``: per cluster, its Prometheus stack."""
    dns, base = fleet.dns, fleet.baseline
    hc = dns.health_check
    failover = DnsFailover("dns", DnsFailoverArgs(
        zone=dns.zone, endpoints=sorted({c for r in dns.records for c in record_members(r)}),
        health_check=HealthCheckArgs(type=hc.type, port=hc.port, path=hc.path, interval=hc.interval, failure_threshold=hc.failure_threshold),
        comment=f"Archipelago {fleet.environment}: records of every cluster's external-dns", protect_zone=base.protect_stateful,
        name_prefix="dns"), pulumi.ResourceOptions(providers=[aws_provider]))
    external_dns: dict[str, ExternalDns] = {}
    for h in handles:
        # EKS: Pod Identity in the cluster's region; elsewhere web identity, its IAM in the zone's region.
        access = h.aws_access(aws_provider)
        check = failover.health_checks.get(h.name)
        external_dns[h.name] = ExternalDns(
            naming.logical(h.name, "external-dns"),
            external_dns_args(h, dns, failover.zone_id, failover.zone_arn, access, check.id if check else None),
            pulumi.ResourceOptions(parent=h.component, providers=[access.provider] if access.provider else None),
            monitoring_ready=monitoring.get(h.name, []), identity_ready=access.ready)
    return failover, external_dns
