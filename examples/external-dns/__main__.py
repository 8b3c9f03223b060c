"""ExternalDns on its own: a Route 53 zone, the cluster's service-account issuer registered in
IAM, and external-dns on the cluster (web identity, no key) answering one weighted name.

Planned under the mock engine by tests/test_package.py; with the Pulumi CLI and AWS credentials,
``pulumi config set kubeconfig --secret "$(cat ~/.kube/config)"``, ``pulumi config set issuer
https://<the cluster's issuer>`` and ``pulumi preview``.
"""

import pulumi
import pulumi_aws as aws
import pulumi_kubernetes as k8s

from components.addons.external_dns import ExternalDns, ExternalDnsArgs

ZONE = "shop.example.com"

config = pulumi.Config()
issuer = config.get("issuer") or "https://oidc.example.com/shop"
cluster = k8s.Provider("cluster", kubeconfig=config.get_secret("kubeconfig") or "{}")
aws_provider = aws.Provider("aws-us-east-1", region="us-east-1")
aws_opts = pulumi.ResourceOptions(provider=aws_provider)

zone = aws.route53.Zone("shop-zone", name=ZONE, opts=aws_opts)
oidc = aws.iam.OpenIdConnectProvider("shop-oidc", url=issuer, client_id_lists=["sts.amazonaws.com"], opts=aws_opts)
check = aws.route53.HealthCheck("shop-health", type="HTTP", fqdn=f"shop.{ZONE}", port=80, resource_path="/",
                                request_interval=30, failure_threshold=3, opts=aws_opts)

dns = ExternalDns(
    "shop",
    ExternalDnsArgs(
        kubernetes_provider=cluster,
        zone=ZONE,
        zone_id=zone.zone_id,
        zone_arn=zone.arn,
        oidc_provider_arn=oidc.arn,
        oidc_issuer=issuer,
        health_check_id=check.id,
        records=[{"name": "www", "routing": "weighted", "value": "100"}],
        service_monitor=False,
    ),
    pulumi.ResourceOptions(providers=[aws_provider]),
)

pulumi.export("roleArn", dns.role_arn)
pulumi.export("records", dns.record_names)
