"""The dev and prod plans under the mock engine, and the plan command's outputs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import yaml

from offline.report import cluster_name, cluster_of

from .conftest import ROOT

CLUSTER_TYPES = {"aws": "aws:eks/cluster:Cluster", "azure": "azure-native:containerservice:ManagedCluster",
                 "gcp": "gcp:container/cluster:Cluster"}


def test_three_clouds_and_one_k8s_provider_per_cluster(plan) -> None:
    clouds = Counter(c.cloud for c in plan.spec.clusters)
    assert set(clouds) == {"aws", "azure", "gcp"}
    for cloud, typ in CLUSTER_TYPES.items():
        assert len(plan.of_type(typ)) == clouds[cloud]
    providers = plan.of_type("pulumi:providers:kubernetes")
    by_urn = plan.by_urn()
    assert sorted(cluster_name(p, by_urn) for p in providers) == sorted(c.name for c in plan.spec.clusters)
    for p in providers:
        assert p["inputs"]["kubeconfig"] == "[secret]"
        assert p["inputs"]["enableServerSideApply"] == "true"


def test_every_resource_is_on_an_explicit_provider(plan) -> None:
    missing = [r["urn"] for r in plan.resources
               if r["custom"] and not r["type"].startswith("pulumi:providers:") and not r["provider"]]
    assert missing == []
    providers = {r["urn"] for r in plan.resources if r["type"].startswith("pulumi:providers:")}
    assert all(r["provider"] in providers for r in plan.resources if r["custom"] and r["provider"])
    # one AWS provider per region in use
    aws_regions = {c.region for c in plan.spec.clusters if c.cloud == "aws"}
    assert {r["inputs"]["region"] for r in plan.of_type("pulumi:providers:aws")} == aws_regions


def test_kubeconfigs_are_secret_outputs_with_exec_plugins(plan) -> None:
    assert plan.outputs["kubeconfigs"]["secret"] is True
    import pulumi
    from pulumi.runtime.sync_await import _sync_await

    configs = plan.raw_outputs["kubeconfigs"]
    commands = {}
    for name, out in configs.items():
        assert _sync_await(pulumi.Output.from_input(out).is_secret())
        text = _sync_await(pulumi.Output.from_input(out).future())
        assert text is not None
        doc = yaml.safe_load(text)
        user = doc["users"][0]["user"]
        assert set(user) == {"exec"}, "no static credentials in a kubeconfig"
        commands[plan.spec.cluster(name).cloud] = user["exec"]["command"]
        assert doc["clusters"][0]["cluster"]["server"].startswith("https://")
    assert commands == {"aws": "aws", "azure": "kubelogin", "gcp": "gke-gcloud-auth-plugin"}


def test_cluster_ranges_reach_the_clouds(plan) -> None:
    for c in plan.spec.clusters:
        if c.cloud == "aws":
            vpcs = [r for r in plan.of_type("aws:ec2/vpc:Vpc") if r["inputs"]["cidrBlock"] == str(c.network.vpc)]
            eks = next(r for r in plan.of_type(CLUSTER_TYPES["aws"]) if r["inputs"]["name"] == c.name)
            assert vpcs and eks["inputs"]["kubernetesNetworkConfig"]["serviceIpv4Cidr"] == str(c.network.services)
        elif c.cloud == "azure":
            aks = next(r for r in plan.of_type(CLUSTER_TYPES["azure"]) if r["inputs"]["resourceName"] == c.name)
            net = aks["inputs"]["networkProfile"]
            assert (net["podCidr"], net["serviceCidr"]) == (str(c.network.pods), str(c.network.services))
            assert (net["networkPluginMode"], net["networkDataplane"]) == ("overlay", "cilium")
        else:
            sub = next(r for r in plan.of_type("gcp:compute/subnetwork:Subnetwork") if r["inputs"]["name"] == f"{c.name}-nodes")
            secondary = {s["rangeName"]: s["ipCidrRange"] for s in sub["inputs"]["secondaryIpRanges"]}
            assert secondary == {"pods": str(c.network.pods), "services": str(c.network.services)}


def test_prod_has_the_required_clusters(prod_plan) -> None:
    got = {(c.cloud, c.region) for c in prod_plan.spec.workloads}
    assert {("aws", "us-east-1"), ("azure", "westeurope"), ("gcp", "asia-southeast1")} <= got


def test_plan_is_deterministic(dev_plan) -> None:
    from offline.plan import run_plan

    again = run_plan("dev")
    assert json.dumps(again.to_json(), sort_keys=True) == json.dumps(dev_plan.to_json(), sort_keys=True)


def test_plan_command_writes_json_manifests_and_dot(tmp_path) -> None:
    out_json, out_dot, man = tmp_path / "plan.json", tmp_path / "plan.dot", tmp_path / "manifests"
    proc = subprocess.run(
        [sys.executable, "-m", "offline", "plan", "dev", "--json", str(out_json), "--manifests", str(man), "--dot", str(out_dot)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    for c, service in (("dev-mgmt", "EKS"), ("dev-eks", "EKS"), ("dev-aks", "AKS"), ("dev-gke", "GKE")):
        row = next(line for line in proc.stdout.splitlines() if f" {c} " in line)
        assert f" {service} " in row, row
    record = json.loads(out_json.read_text())
    assert record["stack"] == "dev"
    keys = {"urn", "type", "name", "parent", "provider", "dependencies", "inputs"}
    assert all(keys <= set(r) for r in record["resources"])
    types = {r["type"] for r in record["resources"]}
    assert {"archipelago:index:EksCluster", "pulumi:providers:kubernetes", "aws:eks/cluster:Cluster"} <= types
    assert "certificate-authority-data" not in out_json.read_text()  # kubeconfigs only appear masked
    dot = out_dot.read_text()
    assert dot.startswith("digraph") and "EksCluster" in dot and "->" in dot
    assert man.is_dir()


def test_the_deployer_can_reach_every_cluster_it_creates(plan) -> None:
    """EKS (API auth, no creator admin) and AKS (no local accounts, Azure RBAC) give the identity
    running `pulumi up` explicit cluster admin, and each cluster's provider waits for that grant."""
    by_urn = plan.by_urn()
    providers = {cluster_of(p, by_urn): p for p in plan.of_type("pulumi:providers:kubernetes")}
    for c in plan.spec.clusters:
        provider = providers[c.name]
        if c.cloud == "aws":
            grant = next(r for r in plan.of_type("aws:eks/accessPolicyAssociation:AccessPolicyAssociation")
                         if r["name"] == f"{c.name}-access-deployer")
            assert grant["inputs"]["principalArn"] == "arn:aws:iam::123456789012:role/archipelago-deployer"  # the role, not the session
            assert grant["inputs"]["policyArn"].endswith("/AmazonEKSClusterAdminPolicy")
            assert grant["urn"] in provider["dependencies"]
        elif c.cloud == "azure":
            grant = next(r for r in plan.of_type("azure-native:authorization:RoleAssignment")
                         if r["name"] == f"{c.name}-deployer-admin")
            assert grant["inputs"]["roleDefinitionId"].endswith("/b1ff04bb-8a4e-4dc4-8eb5-8693973ce19b")
            assert "/managedClusters/" in grant["inputs"]["scope"]
            assert grant["urn"] in provider["dependencies"]


def test_record_keeps_integers_integers(dev_plan) -> None:
    """Protobuf carries numbers as doubles; the record gives integral ones back their int type."""
    sizes = [r["inputs"]["scalingConfig"]["minSize"] for r in dev_plan.of_type("aws:eks/nodeGroup:NodeGroup")]
    assert sizes and all(type(s) is int for s in sizes)
    assert sorted(sizes) == sorted(c.nodes.min_size for c in dev_plan.spec.clusters if c.cloud == "aws")
