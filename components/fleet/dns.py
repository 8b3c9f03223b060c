"""DNS failover across the fleet: the Route 53 zone, a health check per answering cluster, and
external-dns on every cluster (each its own owner id).

Route 53 health checks are created here because external-dns never creates them ("assumes that
<health-check-id> already exists", docs/tutorials/aws.md at v0.21.0). Each probes the cluster's
own name ``<cluster>.<zone>``, never the shared name (a check on the shared name would follow the
failover itself). Failover takes about ``failureThreshold x interval`` + the record TTL.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import naming
from components.addons.external_dns import ExternalDns, ExternalDnsArgs
from components.handle import ClusterHandle
from stacks.sections.dns import record_members
from stacks.spec import FleetSpec


@dataclass
class DnsFailoverArgs:
    fleet: FleetSpec
    handles: list[ClusterHandle]
    aws_provider: pulumi.ProviderResource
    monitoring: dict[str, list[pulumi.Resource]] = field(default_factory=dict)  # per cluster: its Prometheus stack


class DnsFailover(pulumi.ComponentResource):
    zone: aws.route53.Zone
    health_checks: dict[str, aws.route53.HealthCheck]
    external_dns: dict[str, ExternalDns]

    def __init__(self, name: str, args: DnsFailoverArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:fleet:DnsFailover", name, None, opts)
        fleet, dns = args.fleet, args.fleet.dns
        protect = fleet.baseline.protect_stateful
        aws_opts = pulumi.ResourceOptions(parent=self, provider=args.aws_provider)
        self.zone = aws.route53.Zone(
            f"{name}-zone", name=dns.zone, comment=f"Archipelago {fleet.environment}: records of every cluster's external-dns",
            force_destroy=not protect, opts=pulumi.ResourceOptions.merge(aws_opts, pulumi.ResourceOptions(protect=protect)))
        answering = sorted({c for r in dns.records for c in record_members(r)})
        hc = dns.health_check
        self.health_checks = {
            cluster: aws.route53.HealthCheck(
                naming.logical(cluster, "dns-health"), type=hc.type, fqdn=dns.cluster_endpoint(cluster), port=hc.port,
                request_interval=hc.interval, failure_threshold=hc.failure_threshold,
                resource_path=None if hc.type == "TCP" else hc.path,
                enable_sni=True if hc.type == "HTTPS" else None,  # the ingress picks its certificate by SNI
                tags={"Name": f"{cluster}-endpoint", "archipelago/cluster": cluster}, opts=aws_opts)
            for cluster in answering
        }
        self.external_dns = {
            h.name: ExternalDns(naming.logical(h.name, "external-dns"), ExternalDnsArgs(
                handle=h, dns=dns, zone_id=self.zone.zone_id, zone_arn=self.zone.arn, aws_provider=args.aws_provider,
                health_check_id=self.health_checks[h.name].id if h.name in self.health_checks else None,
                records=list(dns.records), monitoring=args.monitoring.get(h.name, [])), pulumi.ResourceOptions(parent=h.component))
            for h in args.handles
        }
        self.name_servers = self.zone.name_servers
        self.register_outputs({"zone": dns.zone, "nameServers": self.name_servers,
                               "healthChecks": {c: hc.id for c, hc in self.health_checks.items()}})
