"""DnsFailover with ExternalDns: one Route 53 zone, a health check of each cluster's endpoint, and
external-dns on two clusters answering api.<zone> as primary and secondary. The composition is the
program's: each cluster's external-dns gets the zone and its own health check from DnsFailover's
outputs.

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI and AWS credentials,
``pulumi config set --secret kubeconfigEast ...``, ``kubeconfigWest``, the two issuers
(``issuerEast``, ``issuerWest``) and ``pulumi preview``.
"""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.addons.external_dns import ExternalDns, ExternalDnsArgs
from components.fleet.dns import DnsFailover, DnsFailoverArgs

ZONE = "shop.example.com"
CLUSTERS = {"east": "PRIMARY", "west": "SECONDARY"}

config = pulumi.Config()
aws_provider = aws.Provider("aws-us-east-1", region="us-east-1")

failover = DnsFailover(
    "shop-dns",
    DnsFailoverArgs(zone=ZONE, endpoints=list(CLUSTERS), health_check={"type": "HTTPS", "port": 443, "path": "/healthz"}),
    pulumi.ResourceOptions(providers=[aws_provider]),
)

for cluster, role in CLUSTERS.items():
    issuer = config.get(f"issuer{cluster.title()}") or f"https://oidc.example.com/{cluster}"
    provider = k8s.Provider(f"{cluster}-k8s", kubeconfig=config.get_secret(f"kubeconfig{cluster.title()}") or "{}")
    oidc = aws.iam.OpenIdConnectProvider(f"{cluster}-oidc", url=issuer, client_id_lists=["sts.amazonaws.com"],
                                         opts=pulumi.ResourceOptions(provider=aws_provider))
    ExternalDns(
        f"{cluster}-external-dns",
        ExternalDnsArgs(
            kubernetes_provider=provider, cluster_name=cluster, zone=ZONE, zone_id=failover.zone_id, zone_arn=failover.zone_arn,
            oidc_provider_arn=oidc.arn, oidc_issuer=issuer,
            health_check_id=failover.health_check_ids.apply(lambda ids, c=cluster: ids[c]),
            records=[{"name": "api", "routing": "failover", "value": role}], service_monitor=False,
        ),
        pulumi.ResourceOptions(providers=[aws_provider]),
    )

pulumi.export("nameServers", failover.name_servers)
pulumi.export("healthChecks", failover.health_check_ids)
