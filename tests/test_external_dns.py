"""external-dns on every cluster and DNS failover between clusters.

Sources (kubernetes-sigs/external-dns at tag external-dns-helm-chart-1.21.1 / v0.21.0):
- docs/tutorials/aws.md: IAM policy (ChangeResourceRecordSets/ListResourceRecordSets/
  ListTagsForResources on hosted zones, ListHostedZones on *), routing-policy annotations, and
  "ExternalDNS does not support creating healthchecks";
- provider/aws/aws.go: only the AWS provider sets SetIdentifier (no routing on Azure DNS / Cloud DNS);
- plan/plan.go: rows keyed by (dnsName, setIdentifier), owner-id filtered (no fighting);
- docs/sources/crd/dnsendpoint-aws-example.yaml: providerSpecific aws/failover, aws/health-check-id;
- charts/external-dns/values.yaml: provider.name, policy, registry, txtOwnerId, env, extraVolumes.
- aws-sdk-go-v2 config/env_config.go: AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE web identity.
- Route 53 health checks: request interval 10 or 30 s, failure threshold 1-10
  (https://docs.aws.amazon.com/Route53/latest/DeveloperGuide/dns-failover-determining-health-of-endpoints.html).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from components.addons.aws_federation import FLEET_AUDIENCES, STS_AUDIENCE
from components.addons.velero import DR_AUDIENCE
from offline.plan import Plan
from offline.report import cluster_name
from stacks.sections.dns import record_members
from stacks.versions import CHARTS

from .addon_support import assert_config_error, releases_named, render_chart, restricted_violations

ENDPOINT = "kubernetes:externaldns.k8s.io/v1alpha1:DNSEndpoint"
HEALTH = "aws:route53/healthCheck:HealthCheck"


def releases(plan: Plan) -> dict[str, dict[str, Any]]:
    return releases_named(plan, "external-dns")


def test_on_every_cluster_with_its_own_owner_id(plan: Plan) -> None:
    rels = releases(plan)
    assert sorted(rels) == sorted(c.name for c in plan.spec.clusters)
    for name, r in rels.items():
        v = r["inputs"]["values"]
        assert r["provider"].endswith(f"::{name}-k8s") and r["inputs"]["version"] == CHARTS["external-dns"]["version"]
        assert v["txtOwnerId"] == name and v["registry"] == "txt" and v["provider"] == {"name": "aws"}
        assert v["domainFilters"] == [plan.spec.dns.zone] and "crd" in v["sources"]
        assert v["extraArgs"]["zone-id-filter"].startswith("Z")
    assert len({r["inputs"]["values"]["txtOwnerId"] for r in rels.values()}) == len(rels)


def test_one_route53_zone_from_config(plan: Plan) -> None:
    [zone] = plan.of_type("aws:route53/zone:Zone")
    assert zone["inputs"]["name"] == plan.spec.dns.zone
    assert zone["protect"] is (plan.spec.environment == "prod")
    assert zone["provider"].endswith(f"aws-{plan.spec.dns.region}")


@pytest.mark.parametrize("cloud", ["aws", "azure", "gcp"])
def test_workload_identity_only(plan: Plan, cloud: str) -> None:
    """EKS: Pod Identity with the zone-scoped policy. AKS/GKE: the cluster's own issuer in IAM, a
    role trusting only external-dns's service account and audience, and a projected token."""
    rels = releases(plan)
    for c in (c for c in plan.spec.clusters if c.cloud == cloud):
        v = rels[c.name]["inputs"]["values"]
        env = {e["name"]: e["value"] for e in v["env"]}
        assert not any("SECRET" in k or "ACCESS_KEY" in k for k in env)
        assert env["AWS_REGION"] == plan.spec.dns.region
        if cloud == "aws":
            [assoc] = [r for r in plan.of_type("aws:eks/podIdentityAssociation:PodIdentityAssociation")
                       if r["name"] == f"{c.name}-external-dns-pod-identity"]
            assert assoc["inputs"]["namespace"] == "external-dns" and assoc["inputs"]["serviceAccount"] == "external-dns"
            [policy] = [r for r in plan.of_type("aws:iam/rolePolicy:RolePolicy") if r["name"] == f"{c.name}-external-dns-policy"]
            assert "AWS_ROLE_ARN" not in env
        else:
            [role] = [r for r in plan.of_type("aws:iam/role:Role") if r["name"] == f"{c.name}-external-dns"]
            trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
            assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
            cond = trust["Condition"]["StringEquals"]
            assert sorted(cond.values()) == sorted(["system:serviceaccount:external-dns:external-dns", STS_AUDIENCE])
            [oidc] = [r for r in plan.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider") if r["name"] == f"{c.name}-aws-oidc"]
            assert trust["Principal"]["Federated"].endswith(oidc["inputs"]["url"].removeprefix("https://"))
            assert env["AWS_ROLE_ARN"].endswith(f":role/{role['inputs']['name']}")
            assert env["AWS_WEB_IDENTITY_TOKEN_FILE"] == "/var/run/secrets/aws/token"
            [vol] = v["extraVolumes"]
            assert vol["projected"]["sources"][0]["serviceAccountToken"]["audience"] == STS_AUDIENCE
            [policy] = [r for r in plan.of_type("aws:iam/rolePolicy:RolePolicy") if r["name"] == f"{c.name}-external-dns"]
        statements = json.loads(policy["inputs"]["policy"])["Statement"]
        change = next(s for s in statements if "route53:ChangeResourceRecordSets" in s["Action"])
        assert change["Resource"] == [f"arn:aws:route53:::hostedzone/{v['extraArgs']['zone-id-filter']}"]  # this zone only
        assert next(s for s in statements if s["Resource"] == ["*"])["Action"] == ["route53:ListHostedZones"]


def test_one_iam_oidc_provider_per_issuer(plan: Plan) -> None:
    """IAM refuses a second provider for the same issuer URL: Velero DR and external-dns share one."""
    urls = [r["inputs"]["url"] for r in plan.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider")]
    assert len(urls) == len(set(urls))
    assert DR_AUDIENCE in FLEET_AUDIENCES
    for r in plan.of_type("aws:iam/openIdConnectProvider:OpenIdConnectProvider"):
        assert sorted(r["inputs"]["clientIdLists"]) == sorted(FLEET_AUDIENCES)


def test_failover_records_with_health_checks(plan: Plan) -> None:
    """Every configured name has one row per answering cluster, on that cluster, with its own set
    identifier, routing value and the health check of its own endpoint."""
    dns = plan.spec.dns
    assert dns.records, "the stack configures shared names"
    by_urn = plan.by_urn()
    checks = {r["inputs"]["tags"]["archipelago/cluster"]: r for r in plan.of_type(HEALTH)}
    endpoints = plan.of_type(ENDPOINT)
    ids: dict[str, str] = {}
    for record in dns.records:
        members = record_members(record)
        rows = [e for e in endpoints if e["inputs"]["spec"]["endpoints"][0]["dnsName"] == dns.fqdn(record.name)]
        assert sorted(cluster_name(e, by_urn) for e in rows) == sorted(members)
        for e in rows:
            cluster = cluster_name(e, by_urn)
            [ep] = e["inputs"]["spec"]["endpoints"]
            assert ep["setIdentifier"] == cluster and ep["targets"] == [dns.cluster_endpoint(cluster)]
            props = {p["name"]: p["value"] for p in ep["providerSpecific"]}
            key = "aws/failover" if record.routing == "failover" else "aws/weight"
            assert props[key] == str(members[cluster])
            hc = checks[cluster]
            # The id of the check the program created (Route 53 ids are UUIDs; the mock derives
            # them from the resource), one per cluster.
            assert re.fullmatch(r"[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}", props["aws/health-check-id"])
            ids.setdefault(cluster, props["aws/health-check-id"])
            assert ids[cluster] == props["aws/health-check-id"]
            assert hc["inputs"]["fqdn"] == dns.cluster_endpoint(cluster)
            assert hc["inputs"]["requestInterval"] in (10, 30) and 1 <= hc["inputs"]["failureThreshold"] <= 10
        if record.routing == "failover":
            assert sorted(members.values()) == ["PRIMARY", "SECONDARY"]
    assert len(set(ids.values())) == len(ids) == len(checks)
    # No two clusters ever own the same (name, set identifier) row.
    keys = [(e["inputs"]["spec"]["endpoints"][0]["dnsName"], e["inputs"]["spec"]["endpoints"][0]["setIdentifier"]) for e in endpoints]
    assert len(keys) == len(set(keys))


def test_fights_are_scraped_and_alerted(plan: Plan) -> None:
    """Each cluster's Prometheus scrapes its external-dns and alerts on the owner-mismatch gauge
    (external-dns pkg/metrics: registry_skipped_records_owner_mismatch_per_sync, labels owner,
    foreign_owner, domain, record_type). Both wait for the cluster's kube-prometheus-stack (CRDs)."""
    by_urn = plan.by_urn()
    kps = {cluster_name(r, by_urn): r["urn"] for r in plan.of_type("kubernetes:helm.sh/v3:Release") if r["inputs"]["name"] == "kps"}
    for typ in ("kubernetes:monitoring.coreos.com/v1:ServiceMonitor", "kubernetes:monitoring.coreos.com/v1:PrometheusRule"):
        found = {cluster_name(r, by_urn): r for r in plan.of_type(typ) if r["inputs"]["metadata"]["namespace"] == "external-dns"}
        assert sorted(found) == sorted(c.name for c in plan.spec.clusters)
        for cluster, r in found.items():
            assert r["inputs"]["metadata"]["labels"] == {"release": "kps"} and kps[cluster] in r["dependencies"]
            if typ.endswith("PrometheusRule"):
                [rule] = r["inputs"]["spec"]["groups"][0]["rules"]
                assert "external_dns_registry_skipped_records_owner_mismatch_per_sync" in rule["expr"] and rule["for"] == "15m"


def test_chart_renders_restricted_with_web_identity() -> None:
    values = {"provider": {"name": "aws"}, "txtOwnerId": "c1", "sources": ["service", "crd"],
              "env": [{"name": "AWS_ROLE_ARN", "value": "arn:aws:iam::1:role/x"}],
              "extraVolumes": [{"name": "aws-token", "projected": {"sources": [{"serviceAccountToken": {"audience": STS_AUDIENCE, "path": "token"}}]}}],
              "extraVolumeMounts": [{"name": "aws-token", "mountPath": "/var/run/secrets/aws", "readOnly": True}]}
    docs = render_chart("external-dns", values, name="external-dns", namespace="external-dns")
    dep = next(d for d in docs if d["kind"] == "Deployment")
    assert dep["metadata"]["name"] == "external-dns"  # the platform VPA's target
    svc = next(d for d in docs if d["kind"] == "Service")
    assert svc["spec"]["ports"][0]["name"] == "http" and svc["metadata"]["labels"]["app.kubernetes.io/name"] == "external-dns"
    args = dep["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--txt-owner-id=c1" in args and "--provider=aws" in args and "--source=crd" in args
    assert restricted_violations(docs) == []


@pytest.mark.parametrize("records, path, value, text", [
    ([{"name": "api", "routing": "failover", "primary": "prod-use1"}], "dns.records[0].secondary", None, "required"),
    ([{"name": "api", "routing": "failover", "primary": "prod-use1", "secondary": "prod-use1"}],
     "dns.records[0].secondary", "prod-use1", "primary too"),
    ([{"name": "api", "routing": "failover", "primary": "nope", "secondary": "prod-weu"}], "dns.records[0].primary", "nope", "not a cluster"),
    ([{"name": "api", "routing": "weighted", "weights": {"prod-use1": 0}}], "dns.records[0].weights", {"prod-use1": 0}, "all 0"),
    ([{"name": "api", "routing": "weighted", "weights": {"ghost": 5}}], "dns.records[0].weights.ghost", "ghost", "not a cluster"),
    ([{"name": "prod-weu", "routing": "weighted", "weights": {"prod-use1": 5}}], "dns.records[0].name", "prod-weu", "reserved"),
    ([{"name": "a", "routing": "weighted", "weights": {"prod-use1": 5}}, {"name": "a", "routing": "weighted", "weights": {"prod-weu": 5}}],
     "dns.records[1].name", "a", "already"),
])
def test_bad_records_are_config_errors(records: list[dict[str, Any]], path: str, value: Any, text: str) -> None:
    assert_config_error("prod", "dns", {"zone": "apps.company.com", "records": records}, path, value, text)


def test_bad_zone_is_config_error() -> None:
    assert_config_error("prod", "dns", {"zone": "Not A Zone"}, "dns.zone", "Not A Zone", "pattern")
