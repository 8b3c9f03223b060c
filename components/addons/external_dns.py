"""external-dns on one cluster: its own owner id, Route 53 access by workload identity only, and the
shared-name records this cluster answers.

Every cluster writes into the fleet's one Route 53 zone, because only external-dns's AWS provider
implements set identifiers and routing policies (``provider/aws/aws.go`` at v0.21.0; the Azure and
Google providers have none). Credentials:

- asked of the cluster's handle (``ClusterHandle.grant_aws_identity``, components/identity.py), which answers
  per cloud. EKS: Pod Identity;
- AKS / GKE: the cluster's service-account issuer is registered as an IAM OIDC provider and a role
  trusts only ``system:serviceaccount:external-dns:external-dns`` with audience
  ``sts.amazonaws.com``. The pod gets a projected token with that audience plus ``AWS_ROLE_ARN`` and
  ``AWS_WEB_IDENTITY_TOKEN_FILE``, which the AWS SDK's default chain reads (aws-sdk-go-v2
  ``config/env_config.go``). No key exists anywhere.

The role may change record sets in the fleet zone only (the tutorial's policy, narrowed from
``hostedzone/*`` to the zone's ARN) and list zones.

Shared names are ``DNSEndpoint`` objects (the ``crd`` source) on the cluster that answers them: one
row per cluster, its set identifier the cluster name, its routing (failover role or weight) and the
id of the health check the program created for the cluster's own endpoint. external-dns keys its
plan by (name, set identifier) and only touches rows its owner id owns, so clusters never fight.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pulumi
import pulumi_kubernetes as k8s

from components import naming
from components.addons.helm import release
from components.addons.metrics import RELEASE as MONITORING_RELEASE
from components.handle import ClusterHandle
from components.security.namespaces import pss_namespace
from stacks.sections.dns import DnsConfig, RecordConfig, record_members
from stacks.versions import CRD_API_VERSIONS

NAMESPACE = "external-dns"
SERVICE_ACCOUNT = "external-dns"
# Restricted: chart 1.21.1 runs as uid 65532, non-root, RuntimeDefault seccomp, ALL capabilities
# dropped, no privilege escalation, read-only root filesystem (values.yaml securityContext).
POD_SECURITY = "restricted"
SOURCES = ["service", "ingress", "istio-gateway", "crd"]
# Labels the cluster's kube-prometheus-stack selects ServiceMonitors and PrometheusRules by.
MONITORING_LABELS = {"release": MONITORING_RELEASE}
# external-dns skips a row another owner holds and counts it in this gauge (labels record_type,
# owner, foreign_owner, domain; pkg/metrics, docs/monitoring/metrics.md): two clusters are
# fighting over a name.
OWNER_MISMATCH = "external_dns_registry_skipped_records_owner_mismatch_per_sync"


def owner_mismatch_rule() -> dict[str, Any]:
    return {"groups": [{"name": "external-dns", "rules": [{
        "alert": "ExternalDnsOwnerMismatch",
        "expr": f"max by (owner, foreign_owner, domain, record_type) ({OWNER_MISMATCH}) > 0",
        "for": "15m",
        "labels": {"severity": "warning"},
        "annotations": {"summary": "external-dns {{ $labels.owner }} skips {{ $labels.record_type }} records in "
                                   "{{ $labels.domain }} owned by {{ $labels.foreign_owner }}: two clusters claim one name"},
    }]}]}


def route53_policy(zone_arn: pulumi.Input[str]) -> pulumi.Output[str]:
    """The upstream tutorial's policy (docs/tutorials/aws.md, IAM Policy), on this zone only."""
    return pulumi.Output.from_input(zone_arn).apply(lambda arn: json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["route53:ChangeResourceRecordSets", "route53:ListResourceRecordSets",
                                       "route53:ListTagsForResources"], "Resource": [arn]},
        {"Effect": "Allow", "Action": ["route53:ListHostedZones"], "Resource": ["*"]},
    ]}))


def endpoint_spec(dns: DnsConfig, record: RecordConfig, cluster: str, routing: str | int,
                  health_check_id: pulumi.Input[str]) -> dict[str, Any]:
    """One cluster's row of a shared name: a CNAME to the cluster's own endpoint, with routing."""
    policy = {"name": "aws/failover", "value": str(routing)} if record.routing == "failover" else \
        {"name": "aws/weight", "value": str(routing)}
    return {"endpoints": [{
        "dnsName": dns.fqdn(record.name),
        "recordType": "CNAME",
        "targets": [dns.cluster_endpoint(cluster)],
        "recordTTL": record.ttl,
        "setIdentifier": cluster,
        "providerSpecific": [policy, {"name": "aws/health-check-id", "value": health_check_id}],
    }]}


@dataclass
class ExternalDnsArgs:
    handle: ClusterHandle
    dns: DnsConfig
    zone_id: pulumi.Input[str]
    zone_arn: pulumi.Input[str]
    aws_provider: pulumi.ProviderResource  # where the zone and its IAM live
    health_check_id: pulumi.Input[str] | None = None  # this cluster's endpoint check, if it answers a shared name
    records: list[RecordConfig] = field(default_factory=list)
    # The cluster's kube-prometheus-stack (its CRDs): external-dns is scraped and alerted on.
    monitoring: list[pulumi.Resource] = field(default_factory=list)


class ExternalDns(pulumi.ComponentResource):
    namespace: k8s.core.v1.Namespace
    release: k8s.helm.v3.Release
    endpoints: dict[str, k8s.apiextensions.CustomResource]

    def __init__(self, name: str, args: ExternalDnsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("archipelago:addons:ExternalDns", name, None, opts)
        h, dns = args.handle, args.dns
        self.namespace = pss_namespace(h, NAMESPACE, POD_SECURITY, parent=self)
        env: list[dict[str, Any]] = [{"name": "AWS_REGION", "value": dns.region}]
        volumes: list[dict[str, Any]] = []
        mounts: list[dict[str, Any]] = []
        # EKS: Pod Identity; AKS/GKE: web identity federation of the cluster's issuer (the handle's binder).
        identity = h.grant_aws_identity(NAMESPACE, SERVICE_ACCOUNT, route53_policy(args.zone_arn), purpose="external-dns",
                                        parent=self, aws_provider=args.aws_provider)
        grants, annotations, pod_labels = identity.resources, identity.service_account_annotations, identity.pod_labels
        self.role_arn: pulumi.Input[str] = identity.principal
        env += identity.env
        volumes, mounts = identity.volumes, identity.volume_mounts
        values = {
            "provider": {"name": "aws"},
            "policy": dns.policy,
            "registry": "txt",
            # Each cluster owns only the rows it created: the owner id is the cluster name.
            "txtOwnerId": h.name,
            "domainFilters": [dns.zone],
            "sources": SOURCES,
            "interval": dns.interval,
            "triggerLoopOnEvent": True,
            "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT, "annotations": annotations},
            "podLabels": pod_labels,
            "env": env,
            "extraVolumes": volumes,
            "extraVolumeMounts": mounts,
            "extraArgs": {"aws-zone-type": "public", "zone-id-filter": args.zone_id, "aws-zones-cache-duration": "1h"},
            "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        }
        self.release = release(h, "external-dns", release_name="external-dns", namespace=NAMESPACE, values=values,
                               parent=self, depends_on=[self.namespace, *grants])
        mon_opts = h.k8s_opts(self, depends_on=[self.namespace, *args.monitoring])
        self.service_monitor = k8s.apiextensions.CustomResource(
            naming.logical(h.name, "external-dns", "servicemonitor"), api_version=CRD_API_VERSIONS["ServiceMonitor"],
            kind="ServiceMonitor", metadata=k8s.meta.v1.ObjectMetaArgs(name="external-dns", namespace=NAMESPACE, labels=MONITORING_LABELS),
            spec={"selector": {"matchLabels": {"app.kubernetes.io/name": "external-dns"}}, "endpoints": [{"port": "http", "interval": "60s"}]},
            opts=mon_opts)
        self.rule = k8s.apiextensions.CustomResource(
            naming.logical(h.name, "external-dns", "rule"), api_version=CRD_API_VERSIONS["PrometheusRule"], kind="PrometheusRule",
            metadata=k8s.meta.v1.ObjectMetaArgs(name="external-dns", namespace=NAMESPACE, labels=MONITORING_LABELS),
            spec=owner_mismatch_rule(), opts=mon_opts)
        self.endpoints = {}
        if args.health_check_id is not None:
            for record in args.records:
                routing = record_members(record).get(h.name)
                if routing is None:
                    continue
                self.endpoints[record.name] = k8s.apiextensions.CustomResource(
                    naming.logical(h.name, "dns", record.name), api_version=CRD_API_VERSIONS["DNSEndpoint"], kind="DNSEndpoint",
                    metadata=k8s.meta.v1.ObjectMetaArgs(name=f"shared-{record.name}", namespace=NAMESPACE,
                                                        labels={"archipelago.io/routing": record.routing}),
                    spec=endpoint_spec(dns, record, h.name, routing, args.health_check_id),
                    opts=h.k8s_opts(self, depends_on=[self.release]))
        self.register_outputs({"ownerId": h.name, "records": sorted(self.endpoints)})
