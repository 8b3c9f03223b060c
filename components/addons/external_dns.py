"""external-dns on one cluster: its own owner id, Route 53 access by workload identity only, and the
shared-name records this cluster answers.

Every cluster writes into the fleet's one Route 53 zone, because only external-dns's AWS provider
implements set identifiers and routing policies (``provider/aws/aws.go`` at v0.21.0; the Azure and
Google providers have none). Credentials, chosen by which input is set (never by the cloud):

- ``eksClusterName`` (EKS): EKS Pod Identity, a role trusted by ``pods.eks.amazonaws.com``
  associated with the service account;
- ``oidcProviderArn`` + ``oidcIssuer`` (AKS, GKE, any cluster whose service-account issuer IAM
  trusts): the issuer is registered as an IAM OIDC provider (by the caller) and a role
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

The component takes plain args; :func:`external_dns_args` beside it fills them from the fleet's
cluster handle and ``dns`` config (the one place that picks Pod Identity or web identity).
"""

# No `from __future__ import annotations`: the package analyzer reads the args' annotations as objects.

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components import naming
from components.addons.helm import release_on
from components.addons.metrics import RELEASE as MONITORING_RELEASE
from components.clusters.eks import EksPodIdentity
from components.identity import CloudPermissions, web_identity_role
from components.security.namespaces import pss_namespace_on
from components.tokens import component_type, renamed_from
from components.waits import depends_on_of
from stacks.config import DNS_LABEL
from stacks.sections.dns import AWS_REGION, LABEL, ZONE, record_members
from stacks.versions import CRD_API_VERSIONS

if TYPE_CHECKING:
    from components.handle import ClusterHandle
    from components.identity import AwsAccess
    from stacks.sections.dns import DnsConfig

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


POLICIES = ("sync", "upsert-only", "create-only")
ROUTINGS = {"failover": "aws/failover", "weighted": "aws/weight"}
FAILOVER_ROLES = ("PRIMARY", "SECONDARY")
DEFAULT_REGION = "us-east-1"
DEFAULT_TTL = 60


def endpoint_spec(fqdn: str, target: str, ttl: int, set_identifier: str, routing: str, value: str,
                  health_check_id: pulumi.Input[str]) -> dict[str, Any]:
    """One cluster's row of a shared name: a CNAME to the cluster's own endpoint, with routing."""
    return {"endpoints": [{
        "dnsName": fqdn,
        "recordType": "CNAME",
        "targets": [target],
        "recordTTL": ttl,
        "setIdentifier": set_identifier,
        "providerSpecific": [{"name": ROUTINGS[routing], "value": value}, {"name": "aws/health-check-id", "value": health_check_id}],
    }]}


class SharedRecordArgs(TypedDict):
    """This cluster's row of a name several clusters answer (a DNSEndpoint external-dns publishes)."""

    name: str
    """First label of the shared name, <name>.<zone> (a DNS-1123 label); the DNSEndpoint object is
    shared-<name>."""
    routing: str
    """failover (one PRIMARY and one SECONDARY row across clusters) or weighted."""
    value: str
    """failover: PRIMARY or SECONDARY. weighted: this row's weight, 0-255, as a string."""
    ttl: NotRequired[int]
    """Record TTL in seconds, 1-86400 (part of the failover time). Default: 60."""


class ExternalDnsArgs(TypedDict):
    """Inputs of an ExternalDns: the cluster's Kubernetes provider, the Route 53 zone, how the pod
    gets AWS credentials (Pod Identity or web identity), and the shared names this cluster answers."""

    kubernetes_provider: k8s.Provider
    """The Kubernetes provider of the cluster; every in-cluster object is created through it."""
    zone: str
    """The Route 53 zone external-dns writes into (its domain filter), e.g. apps.example.com: at
    least two lowercase labels, no trailing dot."""
    zone_id: pulumi.Input[str]
    """Id of the Route 53 hosted zone (external-dns's zone-id-filter)."""
    zone_arn: pulumi.Input[str]
    """ARN of the hosted zone: the IAM role may change record sets there only (and list zones)."""
    cluster_name: NotRequired[str]
    """The cluster's name (a DNS-1123 label): external-dns's TXT owner id, the set identifier of
    its rows, the IAM role's name (<clusterName>-external-dns) and the session name. Its own
    endpoint is <clusterName>.<zone>. Default: the component's name."""
    region: NotRequired[str]
    """AWS region the pod's SDK calls (and exchanges its web-identity token in). Default: us-east-1."""
    policy: NotRequired[str]
    """external-dns policy: sync (deletes the rows its owner id created once their source is
    gone), upsert-only or create-only. Default: sync."""
    interval: NotRequired[str]
    """Sync interval, e.g. 1m (Route 53 allows 5 requests/s per account, shared by every
    external-dns writing to it). Default: 1m."""
    eks_cluster_name: NotRequired[pulumi.Input[str]]
    """EKS only: the cluster's name in EKS. The pod gets credentials by EKS Pod Identity (a role
    trusted by pods.eks.amazonaws.com, associated with external-dns/external-dns); the cluster
    needs the eks-pod-identity-agent add-on. Set this or oidcProviderArn, not both."""
    oidc_provider_arn: NotRequired[pulumi.Input[str]]
    """Any other cluster: ARN of the IAM OpenID Connect provider registered for the cluster's
    service-account issuer (with audience sts.amazonaws.com). The role trusts only
    system:serviceaccount:external-dns:external-dns with that audience, and the pod reads a
    projected token. Needs oidcIssuer. Set this or eksClusterName, not both."""
    oidc_issuer: NotRequired[pulumi.Input[str]]
    """With oidcProviderArn: the cluster's service-account issuer URL (https://...)."""
    health_check_id: NotRequired[pulumi.Input[str]]
    """Id of the Route 53 health check of <clusterName>.<zone>, put on every row of records.
    Required when records is set."""
    records: NotRequired[list[SharedRecordArgs]]
    """Shared names this cluster answers, one row each (set identifier = clusterName). Default: none."""
    service_monitor: NotRequired[bool]
    """Create a ServiceMonitor and a PrometheusRule (alert on rows another owner holds), labelled
    release=kps; needs the Prometheus Operator CRDs. Default: true."""
    name_prefix: NotRequired[str]
    """Prefix of every child's logical name. Default: the component's own name."""


def _check_args(args: ExternalDnsArgs, cluster: str) -> None:
    checks: list[tuple[str, Any, bool, str]] = [
        ("zone", args["zone"], bool(re.fullmatch(ZONE, args["zone"])) and len(args["zone"]) <= 200,
         "is not a zone name (lowercase labels, at least two, no trailing dot)"),
        ("clusterName", cluster, bool(re.fullmatch(DNS_LABEL, cluster)) and len(cluster) <= 63, "is not a DNS-1123 label"),
        ("region", args.get("region", DEFAULT_REGION), bool(re.fullmatch(AWS_REGION, args.get("region", DEFAULT_REGION))),
         "is not an AWS region"),
        ("policy", args.get("policy", "sync"), args.get("policy", "sync") in POLICIES, f"is not one of {', '.join(POLICIES)}"),
        ("interval", args.get("interval", "1m"), bool(re.fullmatch(r"[0-9]+[smh]", args.get("interval", "1m"))),
         "is not a duration like 1m"),
    ]
    for field, value, ok, why in checks:
        if not ok:
            raise ValueError(f"{field}: {value!r} {why}")
    pod_identity, web_identity = "eks_cluster_name" in args, "oidc_provider_arn" in args
    if pod_identity == web_identity:
        raise ValueError("eksClusterName / oidcProviderArn: set exactly one (EKS Pod Identity, or web identity through IAM OIDC)")
    if web_identity and "oidc_issuer" not in args:
        raise ValueError("oidcIssuer: required with oidcProviderArn")
    records = args.get("records") or []
    if records and "health_check_id" not in args:
        raise ValueError("healthCheckId: required when records is set (every row carries the cluster's health check)")
    seen: set[str] = set()
    for i, r in enumerate(records):
        if not re.fullmatch(LABEL, r["name"]):
            raise ValueError(f"records[{i}].name: {r['name']!r} is not a DNS-1123 label")
        if r["name"] in seen:
            raise ValueError(f"records[{i}].name: {r['name']!r} is listed twice")
        seen.add(r["name"])
        if r["routing"] not in ROUTINGS:
            raise ValueError(f"records[{i}].routing: {r['routing']!r} is not one of {', '.join(ROUTINGS)}")
        if r["routing"] == "failover" and r["value"] not in FAILOVER_ROLES:
            raise ValueError(f"records[{i}].value: {r['value']!r} is not one of {', '.join(FAILOVER_ROLES)}")
        if r["routing"] == "weighted" and not (r["value"].isdigit() and 0 <= int(r["value"]) <= 255):
            raise ValueError(f"records[{i}].value: {r['value']!r} is not a weight 0-255")
        if not 1 <= r.get("ttl", DEFAULT_TTL) <= 86400:
            raise ValueError(f"records[{i}].ttl: {r.get('ttl')!r} is not between 1 and 86400")


class ExternalDns(pulumi.ComponentResource):
    """external-dns on one cluster writing into one Route 53 zone under its own owner id, with AWS
    credentials from EKS Pod Identity or web identity only (no key anywhere), and the rows of
    shared (failover or weighted) names this cluster answers."""

    role_arn: pulumi.Output[str]
    """ARN of the IAM role external-dns acts as."""
    owner_id: pulumi.Output[str]
    """external-dns's TXT owner id (the cluster name)."""
    record_names: pulumi.Output[list[str]]
    """The shared names this cluster has a row of, sorted."""

    def __init__(self, name: str, args: ExternalDnsArgs, opts: pulumi.ResourceOptions | None = None, *,
                 monitoring_ready: Sequence[pulumi.Resource] = (), identity_ready: Sequence[pulumi.Resource] = ()):
        """Python only: ``monitoring_ready`` is what brings the Prometheus Operator CRDs (the
        ServiceMonitor and rule wait for it); ``identity_ready`` what Pod Identity needs first (the
        agent add-on). From any language, the ServiceMonitor and rule wait for the component's own
        ``dependsOn``. The AWS provider of the role comes from the resource options (``providers``)."""
        super().__init__(component_type(ExternalDns), name, None, renamed_from("archipelago:addons:ExternalDns", opts))
        cluster = args.get("cluster_name") or name
        _check_args(args, cluster)
        provider = args["kubernetes_provider"]
        prefix = args.get("name_prefix") or name
        zone_arn = args["zone_arn"]
        # The namespace object, for Python programs whose objects wait for it.
        self.namespace = pss_namespace_on(provider, NAMESPACE, POD_SECURITY, parent=self, logical_name=f"{prefix}-ns-{NAMESPACE}")
        env: list[dict[str, Any]] = [{"name": "AWS_REGION", "value": args.get("region", DEFAULT_REGION)}]
        volumes: list[dict[str, Any]] = []
        mounts: list[dict[str, Any]] = []
        aws_opts = pulumi.ResourceOptions(parent=self, provider=self.get_provider("aws::"))
        role_name = naming.iam_role(cluster, "external-dns")
        eks_cluster, oidc_arn, issuer = args.get("eks_cluster_name"), args.get("oidc_provider_arn"), args.get("oidc_issuer")
        if eks_cluster is not None:
            binder = EksPodIdentity(name=prefix, cluster_name=cluster, cluster=eks_cluster,
                                    agent=identity_ready[0] if identity_ready else None, provider=self.get_provider("aws::"))
            identity = binder.bind(NAMESPACE, SERVICE_ACCOUNT, CloudPermissions(aws_policy=lambda: route53_policy(zone_arn)),
                                   purpose="external-dns", parent=self)
        else:
            # No Azure or GCP identity: this service account only ever talks to AWS.
            identity = web_identity_role(f"{prefix}-external-dns", role_name, oidc_arn or "", issuer or "", NAMESPACE, SERVICE_ACCOUNT,
                                         route53_policy(zone_arn), session_name=f"external-dns-{cluster}", opts=aws_opts)
        grants, role_arn = identity.resources, identity.principal
        env += identity.env
        volumes, mounts = identity.volumes, identity.volume_mounts
        values = {
            "provider": {"name": "aws"},
            "policy": args.get("policy", "sync"),
            "registry": "txt",
            # Each cluster owns only the rows it created: the owner id is the cluster name.
            "txtOwnerId": cluster,
            "domainFilters": [args["zone"]],
            "sources": SOURCES,
            "interval": args.get("interval", "1m"),
            "triggerLoopOnEvent": True,
            "serviceAccount": {"create": True, "name": SERVICE_ACCOUNT, "annotations": identity.service_account_annotations},
            "podLabels": identity.pod_labels,
            "env": env,
            "extraVolumes": volumes,
            "extraVolumeMounts": mounts,
            "extraArgs": {"aws-zone-type": "public", "zone-id-filter": args["zone_id"], "aws-zones-cache-duration": "1h"},
            "resources": {"requests": {"cpu": "10m", "memory": "64Mi"}, "limits": {"memory": "256Mi"}},
        }
        # The chart's release, for Python programs that wait for it.
        self.release = release_on(provider, "external-dns", logical_name=f"{prefix}-external-dns", release_name="external-dns",
                                  namespace=NAMESPACE, values=values, parent=self, depends_on=[self.namespace, *grants])
        k8s_opts = pulumi.ResourceOptions(parent=self, provider=provider)
        if args.get("service_monitor", True):
            mon_opts = pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[self.namespace, *monitoring_ready, *depends_on_of(opts)]))
            k8s.apiextensions.CustomResource(
                naming.logical(prefix, "external-dns", "servicemonitor"), api_version=CRD_API_VERSIONS["ServiceMonitor"],
                kind="ServiceMonitor", metadata=k8s.meta.v1.ObjectMetaArgs(name="external-dns", namespace=NAMESPACE, labels=MONITORING_LABELS),
                spec={"selector": {"matchLabels": {"app.kubernetes.io/name": "external-dns"}}, "endpoints": [{"port": "http", "interval": "60s"}]},
                opts=mon_opts)
            k8s.apiextensions.CustomResource(
                naming.logical(prefix, "external-dns", "rule"), api_version=CRD_API_VERSIONS["PrometheusRule"], kind="PrometheusRule",
                metadata=k8s.meta.v1.ObjectMetaArgs(name="external-dns", namespace=NAMESPACE, labels=MONITORING_LABELS),
                spec=owner_mismatch_rule(), opts=mon_opts)
        # The DNSEndpoint objects by shared name (Python only).
        self.endpoints: dict[str, k8s.apiextensions.CustomResource] = {}
        for record in args.get("records") or []:
            self.endpoints[record["name"]] = k8s.apiextensions.CustomResource(
                naming.logical(prefix, "dns", record["name"]), api_version=CRD_API_VERSIONS["DNSEndpoint"], kind="DNSEndpoint",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=f"shared-{record['name']}", namespace=NAMESPACE,
                                                    labels={"archipelago.io/routing": record["routing"]}),
                spec=endpoint_spec(f"{record['name']}.{args['zone']}", f"{cluster}.{args['zone']}", record.get("ttl", DEFAULT_TTL),
                                   cluster, record["routing"], record["value"], args.get("health_check_id", "")),
                opts=pulumi.ResourceOptions.merge(k8s_opts, pulumi.ResourceOptions(depends_on=[self.release])))
        self.role_arn = pulumi.Output.from_input(role_arn)
        self.owner_id = pulumi.Output.from_input(cluster)
        self.record_names = pulumi.Output.from_input(sorted(self.endpoints))
        self.register_outputs({"roleArn": self.role_arn, "ownerId": self.owner_id, "recordNames": self.record_names})


def external_dns_args(handle: "ClusterHandle", dns: "DnsConfig", zone_id: pulumi.Input[str], zone_arn: pulumi.Input[str],
                      access: "AwsAccess", health_check_id: pulumi.Input[str] | None) -> ExternalDnsArgs:
    """The fleet's composition: one cluster's external-dns args from its handle and the ``dns``
    config; ``access`` is the handle's answer to how the cluster reaches AWS
    (``ClusterHandle.aws_access``: EKS Pod Identity, or web identity of its issuer). Children keep
    the names they have (``<cluster>-...``)."""
    args = ExternalDnsArgs(
        kubernetes_provider=handle.provider, zone=dns.zone, zone_id=zone_id, zone_arn=zone_arn, cluster_name=handle.name,
        region=dns.region, policy=dns.policy, interval=dns.interval, name_prefix=handle.name)
    if access.eks_cluster_name is not None:
        args["eks_cluster_name"] = access.eks_cluster_name
    if access.oidc_provider_arn is not None and access.oidc_issuer is not None:
        args["oidc_provider_arn"], args["oidc_issuer"] = access.oidc_provider_arn, access.oidc_issuer
    if health_check_id is not None:
        args["health_check_id"] = health_check_id
        args["records"] = [
            SharedRecordArgs(name=r.name, routing=r.routing, value=str(routing), ttl=r.ttl)
            for r in dns.records if (routing := record_members(r).get(handle.name)) is not None
        ]
    return args
