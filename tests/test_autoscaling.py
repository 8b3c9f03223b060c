"""Spot-first node provisioning: Karpenter on EKS, NAP on AKS, node auto-provisioning on GKE."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest

from components.addons.autoscaling import node_pool_args, node_pool_spec
from components.clusters.eks_plumbing import INTERRUPTION_EVENTS
from components.clusters.gke_plumbing import machine_vcpus
from offline.plan import run_plan
from offline.report import cluster_name, cluster_of
from offline.schemas import validate_custom_resource
from stacks.config import ConfigError
from stacks.sections.autoscaling import NodeProvisioningConfig
from stacks.validate import build_spec
from stacks.versions import CHARTS, CRD_API_VERSIONS, KARPENTER_CONTROLLER_IMAGE

from .conftest import stack_raw

NODE_CLASS = {"aws": "EC2NodeClass", "azure": "AKSNodeClass"}
FAMILY_KEY = {"aws": "karpenter.k8s.aws/instance-category", "azure": "karpenter.azure.com/sku-family"}


def _obj(record: dict[str, Any]) -> dict[str, Any]:
    return ({k: record["inputs"][k] for k in ("apiVersion", "kind", "metadata", "spec")})


def _by_cluster(plan, typ: str) -> dict[str, list[dict[str, Any]]]:
    by_urn = plan.by_urn()
    out: dict[str, list[dict[str, Any]]] = {}
    for r in plan.of_type(typ):
        out.setdefault(cluster_name(r, by_urn), []).append(r)
    return out


def _named(plan, typ: str, name: str) -> dict[str, Any]:
    matches = [r for r in plan.of_type(typ) if r["name"] == name]
    assert len(matches) == 1, f"expected one {typ} named {name}, found {len(matches)}"
    return matches[0]


def _k8s_provider_urn(plan, cluster: str) -> str:
    by_urn = plan.by_urn()
    return next(p["urn"] for p in plan.of_type("pulumi:providers:kubernetes") if cluster_of(p, by_urn) == cluster)


# --- every cluster -------------------------------------------------------------------------------


def test_one_node_provisioning_component_per_cluster(plan) -> None:
    comps = _by_cluster(plan, "archipelago:index:NodeProvisioning")
    assert {k: len(v) for k, v in comps.items()} == {c.name: 1 for c in plan.spec.clusters}


def test_karpenter_custom_resources_are_valid_and_on_their_cluster(plan) -> None:
    pools = _by_cluster(plan, f"kubernetes:{CRD_API_VERSIONS['NodePool']}:NodePool")
    for c in plan.spec.clusters:
        provider = _k8s_provider_urn(plan, c.name)
        if c.cloud not in NODE_CLASS:
            assert c.name not in pools, "GKE provisions through NAP, not Karpenter CRs"
            continue
        kind = NODE_CLASS[c.cloud]
        classes = _by_cluster(plan, f"kubernetes:{CRD_API_VERSIONS[kind]}:{kind}")[c.name]
        assert len(pools[c.name]) == 1 and len(classes) == 1
        pool, node_class = _obj(pools[c.name][0]), _obj(classes[0])
        for record, obj in ((pools[c.name][0], pool), (classes[0], node_class)):
            assert record["provider"] == provider
            assert validate_custom_resource(obj) == [], (c.name, obj["kind"])
        ref = pool["spec"]["template"]["spec"]["nodeClassRef"]
        assert ref == {"group": node_class["apiVersion"].split("/")[0], "kind": kind, "name": node_class["metadata"]["name"]}
        # The pool waits for its node class (and on EKS for the chart that installs the CRDs).
        assert classes[0]["urn"] in pools[c.name][0]["dependencies"]


def test_node_pools_are_spot_first_with_reference_defaults(plan) -> None:
    for r in plan.of_type("kubernetes:karpenter.sh/v1:NodePool"):
        cloud = plan.spec.cluster(cluster_of(r, plan.by_urn())).cloud
        spec = _obj(r)["spec"]
        reqs = {q["key"]: q for q in spec["template"]["spec"]["requirements"]}
        assert reqs["karpenter.sh/capacity-type"]["values"] == ["spot", "on-demand"]
        assert reqs["kubernetes.io/arch"]["values"] == ["amd64"]
        assert reqs[FAMILY_KEY[cloud]]["operator"] == "In" and reqs[FAMILY_KEY[cloud]]["values"]
        assert spec["limits"] == {"cpu": "1000", "memory": "1000Gi"}
        assert spec["disruption"]["consolidationPolicy"] == "WhenEmptyOrUnderutilized"
        assert spec["template"]["spec"]["expireAfter"] == "720h"
        assert spec["weight"] > 0, "must outrank AKS NAP's default pool"


def test_spot_is_ordered_first_whatever_the_config_order() -> None:
    cfg = NodeProvisioningConfig.model_validate({"capacityTypes": ["on-demand", "spot"]})
    spec = node_pool_spec(node_pool_args(cfg, cast(Any, None)))  # the provider plays no part in the spec
    assert spec["template"]["spec"]["requirements"][0]["values"] == ["spot", "on-demand"]


# --- EKS --------------------------------------------------------------------------------------------


def _eks(plan) -> list:
    return [c for c in plan.spec.clusters if c.cloud == "aws"]


def test_ec2_node_class_is_hardened(plan) -> None:
    for c in _eks(plan):
        spec = _obj(_named(plan, "kubernetes:karpenter.k8s.aws/v1:EC2NodeClass", f"{c.name}-archipelago-nodeclass"))["spec"]
        assert spec["amiSelectorTerms"] == [{"alias": "al2023@latest"}]
        assert spec["role"] == _named(plan, "aws:iam/role:Role", f"{c.name}-karpenter-node")["inputs"]["name"]
        assert spec["subnetSelectorTerms"] == spec["securityGroupSelectorTerms"] == [{"tags": {"karpenter.sh/discovery": c.name}}]
        assert spec["metadataOptions"]["httpTokens"] == "required"
        assert spec["metadataOptions"]["httpPutResponseHopLimit"] == plan.spec.baseline.imds_hop_limit
        (root,) = spec["blockDeviceMappings"]
        assert root["rootVolume"] is True
        assert root["ebs"]["encrypted"] is True and root["ebs"]["volumeType"] == "gp3"


def test_eks_interruption_queue_and_rules(plan) -> None:
    for c in _eks(plan):
        queue = _named(plan, "aws:sqs/queue:Queue", f"{c.name}-karpenter")
        assert queue["inputs"]["sqsManagedSseEnabled"] is True
        assert queue["inputs"]["messageRetentionSeconds"] == 300
        arn = f"arn:aws:sqs:{c.region}:123456789012:{queue['inputs']['name']}"
        policy = json.loads(_named(plan, "aws:sqs/queuePolicy:QueuePolicy", f"{c.name}-karpenter")["inputs"]["policy"])
        allow, deny = policy["Statement"]
        assert set(allow["Principal"]["Service"]) == {"events.amazonaws.com", "sqs.amazonaws.com"}
        assert allow["Action"] == "sqs:SendMessage" and allow["Resource"] == arn
        assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
        seen: set[str] = set()
        for key, (source, detail) in INTERRUPTION_EVENTS.items():
            rule = _named(plan, "aws:cloudwatch/eventRule:EventRule", f"{c.name}-karpenter-{key}")
            assert json.loads(rule["inputs"]["eventPattern"]) == {"source": [source], "detail-type": [detail]}
            target = _named(plan, "aws:cloudwatch/eventTarget:EventTarget", f"{c.name}-karpenter-{key}")
            assert target["inputs"]["arn"] == arn and target["inputs"]["rule"] == rule["inputs"]["name"]
            seen.add(detail)
        assert {"EC2 Spot Instance Interruption Warning", "EC2 Instance Rebalance Recommendation",
                "EC2 Instance State-change Notification", "AWS Health Event"} <= seen


def test_eks_node_role_access_entry_and_discovery_tags(plan) -> None:
    for c in _eks(plan):
        role = _named(plan, "aws:iam/role:Role", f"{c.name}-karpenter-node")
        assert json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
        attached = {r["inputs"]["policyArn"].rsplit("/", 1)[-1] for r in plan.of_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
                    if r["name"].startswith(f"{c.name}-karpenter-node-")}
        assert attached == {"AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryPullOnly",
                            "AmazonSSMManagedInstanceCore"}
        entry = _named(plan, "aws:eks/accessEntry:AccessEntry", f"{c.name}-karpenter-node")["inputs"]
        assert entry["type"] == "EC2_LINUX" and entry["clusterName"] == c.name
        assert entry["principalArn"] == f"arn:aws:iam::123456789012:role/{role['inputs']['name']}"
        tag = _named(plan, "aws:ec2/tag:Tag", f"{c.name}-karpenter-sg-discovery")["inputs"]
        eks = _named(plan, "aws:eks/cluster:Cluster", f"{c.name}-eks")
        assert tag["key"] == "karpenter.sh/discovery" and tag["value"] == c.name and tag["resourceId"].startswith("sg-")
        subnets = [s for s in plan.of_type("aws:ec2/subnet:Subnet") if s["name"].startswith(f"{c.name}-net-private-")]
        assert subnets and all(s["inputs"]["tags"]["karpenter.sh/discovery"] == c.name for s in subnets)
        assert eks["inputs"]["name"] == c.name


def test_eks_controller_identity_and_policy(plan) -> None:
    for c in _eks(plan):
        assoc = _named(plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation", f"{c.name}-karpenter-pod-identity")["inputs"]
        assert (assoc["namespace"], assoc["serviceAccount"]) == ("kube-system", "karpenter")
        role = _named(plan, "aws:iam/role:Role", f"{c.name}-karpenter-role")
        assert json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert assoc["roleArn"].endswith(f":role/{role['inputs']['name']}")
        text = _named(plan, "aws:iam/rolePolicy:RolePolicy", f"{c.name}-karpenter-policy")["inputs"]["policy"]
        assert len(text) < 10_240, "inline role policies are limited to 10,240 characters"
        stmts = {s["Sid"]: s for s in json.loads(text)["Statement"]}
        assert len(stmts) == 18  # the six upstream controller policies
        owned = f"aws:ResourceTag/kubernetes.io/cluster/{c.name}"
        assert stmts["AllowScopedDeletion"]["Condition"]["StringEquals"] == {owned: "owned"}
        assert stmts["AllowScopedEC2InstanceActionsWithTags"]["Condition"]["StringEquals"]["aws:RequestTag/eks:eks-cluster-name"] == c.name
        node_role = _named(plan, "aws:iam/role:Role", f"{c.name}-karpenter-node")["inputs"]["name"]
        assert stmts["AllowPassingInstanceRole"]["Resource"].endswith(f":role/{node_role}")
        queue = _named(plan, "aws:sqs/queue:Queue", f"{c.name}-karpenter")["inputs"]["name"]
        assert stmts["AllowInterruptionQueueActions"]["Resource"].endswith(f":{queue}")
        assert stmts["AllowAPIServerEndpointDiscovery"]["Resource"] == f"arn:aws:eks:{c.region}:123456789012:cluster/{c.name}"
        assert stmts["AllowRegionalReadActions"]["Condition"] == {"StringEquals": {"aws:RequestedRegion": c.region}}
        assert not [s for s in stmts.values() if s["Resource"] == "*" and any(
            a.split(":")[1].startswith(("Run", "Create", "Terminate", "Delete", "Pass")) for a in (
                s["Action"] if isinstance(s["Action"], list) else [s["Action"]]))], "no unscoped write actions"


def test_karpenter_chart_pinned_and_wired(plan) -> None:
    releases = _by_cluster(plan, "kubernetes:helm.sh/v3:Release")
    for c in plan.spec.clusters:
        karpenter = [r for r in releases.get(c.name, []) if r["inputs"]["name"] == "karpenter"]
        if c.cloud != "aws":
            assert karpenter == [], "AKS and GKE run the cloud's managed provisioner"
            continue
        (r,) = karpenter
        inputs = r["inputs"]
        assert r["provider"] == _k8s_provider_urn(plan, c.name)
        assert inputs["chart"] == "oci://public.ecr.aws/karpenter/karpenter"
        assert inputs["version"] == CHARTS["karpenter"]["version"] == "1.14.1"
        assert inputs["namespace"] == "kube-system"
        values = (inputs["values"])
        queue = _named(plan, "aws:sqs/queue:Queue", f"{c.name}-karpenter")["inputs"]["name"]
        assert values["settings"]["clusterName"] == c.name
        assert values["settings"]["interruptionQueue"] == queue
        assert values["settings"]["clusterEndpoint"].startswith("https://")
        assert values["serviceAccount"]["name"] == "karpenter"
        assert values["controller"]["image"] == KARPENTER_CONTROLLER_IMAGE
        # The chart's own affinity keeps the controller off Karpenter nodes (on the managed group).
        assert "affinity" not in values and "nodeSelector" not in values
        assert values["replicas"] == (2 if c.nodes.min_size >= 2 else 1)
        pod_identity = _named(plan, "aws:eks/podIdentityAssociation:PodIdentityAssociation", f"{c.name}-karpenter-pod-identity")
        assert pod_identity["urn"] in r["dependencies"]


def test_rendered_chart_runs_controller_on_the_managed_node_group(prod_plan) -> None:
    """Render the pinned chart offline with the values the plan sends, and check what lands."""
    import helm_python as helm
    import yaml

    from offline.schemas import validate_builtin
    from stacks.loader import ROOT

    chart = helm.Chart.load(ROOT.parent / "shared" / "charts" / "karpenter")
    assert chart.version == CHARTS["karpenter"]["version"]
    c = next(c for c in prod_plan.spec.clusters if c.cloud == "aws")
    release = _named(prod_plan, "kubernetes:helm.sh/v3:Release", f"{c.name}-karpenter")
    rendered = chart.render((release["inputs"]["values"]), name="karpenter", namespace="kube-system", is_install=True)
    docs = [d for text in rendered.values() for d in yaml.safe_load_all(text) if d]
    for doc in docs:
        assert validate_builtin(doc, c.kubernetes_version) == [], (doc["kind"], doc["metadata"]["name"])
    (deploy,) = [d for d in docs if d["kind"] == "Deployment"]
    pod = deploy["spec"]["template"]["spec"]
    terms = pod["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]["nodeSelectorTerms"]
    assert {"key": "karpenter.sh/nodepool", "operator": "DoesNotExist"} in terms[0]["matchExpressions"]
    image = KARPENTER_CONTROLLER_IMAGE
    assert pod["containers"][0]["image"] == f"{image['repository']}:{image['tag']}@{image['digest']}"
    assert pod["serviceAccountName"] == "karpenter" and deploy["metadata"]["namespace"] == "kube-system"
    env = {e["name"]: e.get("value") for e in pod["containers"][0]["env"]}
    queue = _named(prod_plan, "aws:sqs/queue:Queue", f"{c.name}-karpenter")["inputs"]["name"]
    assert (env["CLUSTER_NAME"], env["INTERRUPTION_QUEUE"], env["RESERVED_ENIS"]) == (c.name, queue, "1")
    assert deploy["spec"]["replicas"] == 2


# --- AKS ------------------------------------------------------------------------------------------


def test_aks_nap_node_class_and_pool(plan) -> None:
    for c in (c for c in plan.spec.clusters if c.cloud == "azure"):
        cluster = _named(plan, "azure-native:containerservice:ManagedCluster", f"{c.name}-aks")
        assert cluster["inputs"]["nodeProvisioningProfile"]["mode"] == "Auto"
        node_class = _obj(_named(plan, "kubernetes:karpenter.azure.com/v1beta1:AKSNodeClass", f"{c.name}-archipelago-nodeclass"))
        assert node_class["spec"]["imageFamily"] == "AzureLinux"
        assert node_class["spec"]["vnetSubnetID"].endswith("/nodes")
        pool = _obj(_named(plan, "kubernetes:karpenter.sh/v1:NodePool", f"{c.name}-spot-first-nodepool"))["spec"]["template"]
        assert pool["metadata"]["labels"] == {"kubernetes.azure.com/ebpf-dataplane": "cilium"}
        assert pool["spec"]["startupTaints"] == [{"key": "node.cilium.io/agent-not-ready", "value": "true", "effect": "NoExecute"}]


# --- GKE ------------------------------------------------------------------------------------------


def test_gke_node_auto_provisioning_and_spot_pool(plan) -> None:
    for c in (c for c in plan.spec.clusters if c.cloud == "gcp"):
        cluster = (_named(plan, "gcp:container/cluster:Cluster", f"{c.name}-gke")["inputs"])
        nap = cluster["clusterAutoscaling"]
        assert nap["enabled"] is True
        assert nap["autoscalingProfile"] == "OPTIMIZE_UTILIZATION"
        assert {lim["resourceType"]: lim["maximum"] for lim in nap["resourceLimits"]} == {"cpu": 1000, "memory": 1000}
        defaults = nap["autoProvisioningDefaults"]
        sa = f"{c.name}-nodes@mock-project.iam.gserviceaccount.com"
        assert defaults["serviceAccount"] == sa
        assert defaults["shieldedInstanceConfig"] == {"enableSecureBoot": True, "enableIntegrityMonitoring": True}
        assert defaults["management"] == {"autoRepair": True, "autoUpgrade": True}
        assert nap.get("autoProvisioningLocations", []) == list(c.zones)
        spot = (_named(plan, "gcp:container/nodePool:NodePool", f"{c.name}-spot"))
        assert spot["inputs"]["nodeConfig"]["spot"] is True
        assert spot["inputs"]["nodeConfig"]["serviceAccount"] == sa
        assert spot["inputs"]["nodeConfig"]["workloadMetadataConfig"] == {"mode": "GKE_METADATA"}
        assert spot["inputs"]["autoscaling"]["totalMinNodeCount"] == 0
        assert spot["inputs"]["autoscaling"]["locationPolicy"] == "ANY"
        assert spot["provider"] and spot["provider"].split("::")[-1].startswith("gcp")


@pytest.mark.parametrize(("machine", "vcpus"), [
    ("e2-standard-4", 4), ("n2-standard-8", 8), ("n2-custom-8-32768", 8), ("e2-medium", 2), ("c3-highcpu-22", 22),
])
def test_spot_pool_size_counts_machine_vcpus(machine, vcpus) -> None:
    assert machine_vcpus(machine) == vcpus


# --- config -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("section", "path", "value", "message"), [
    ({"capacityTypes": ["spot", "reserved"]}, "nodeProvisioning.capacityTypes[1]", "reserved", "'spot' or 'on-demand'"),
    ({"capacityTypes": ["spot", "spot"]}, "nodeProvisioning.capacityTypes", ["spot", "spot"], "more than once"),
    ({"capacityTypes": []}, "nodeProvisioning.capacityTypes", [], "at least 1"),
    ({"architectures": ["x86"]}, "nodeProvisioning.architectures[0]", "x86", "'amd64' or 'arm64'"),
    ({"limits": {"memory": "1000G"}}, "nodeProvisioning.limits.memory", "1000G", "Gi or Ti"),
    ({"limits": {"cpu": 0}}, "nodeProvisioning.limits.cpu", 0, "greater than or equal to 1"),
    ({"expireAfter": "30d"}, "nodeProvisioning.expireAfter", "30d", "Karpenter duration"),
    ({"consolidationPolicy": "Always"}, "nodeProvisioning.consolidationPolicy", "Always", "WhenEmpty"),
    ({"instanceFamilies": {"aws": ["M"]}}, "nodeProvisioning.instanceFamilies.aws", ["M"], "EC2 instance category"),
    ({"instanceFamilies": {"azure": ["d"]}}, "nodeProvisioning.instanceFamilies.azure", ["d"], "Azure VM SKU family"),
    ({"eksAmiVersion": "2024"}, "nodeProvisioning.eksAmiVersion", "2024", "pattern"),
    ({"capacityType": ["spot"]}, "nodeProvisioning.capacityType", "capacityType", "did you mean 'capacityTypes'"),
])
def test_bad_node_provisioning_config_names_key_and_value(section, path, value, message) -> None:
    raw = stack_raw("dev")
    raw["nodeProvisioning"] = section
    with pytest.raises(ConfigError) as err:
        build_spec(raw, "dev")
    issues = {(i.path, repr(i.value)): i.message for i in err.value.issues}
    assert (path, repr(value)) in issues, err.value.render()
    assert message in issues[(path, repr(value))]


def test_config_errors_are_all_reported_together() -> None:
    raw = stack_raw("dev")
    raw["nodeProvisioning"] = {"capacityTypes": ["preemptible"], "limits": {"memory": "lots"}}
    with pytest.raises(ConfigError) as err:
        build_spec(raw, "dev")
    assert {i.path for i in err.value.issues} == {"nodeProvisioning.capacityTypes[0]", "nodeProvisioning.limits.memory"}
    assert "'preemptible'" in str(err.value)


def test_config_drives_every_cloud() -> None:
    raw = stack_raw("dev")
    raw["nodeProvisioning"] = {
        "capacityTypes": ["on-demand"], "architectures": ["arm64", "amd64"], "limits": {"cpu": 200, "memory": "2Ti"},
        "consolidationPolicy": "WhenEmpty", "consolidateAfter": "5m", "expireAfter": "Never",
        "instanceFamilies": {"aws": ["m"], "azure": ["E"]}, "eksAmiVersion": "v20250101",
    }
    plan = run_plan("dev", raw=raw)
    assert plan.spec.node_provisioning.limits.memory_gib == 2048
    by_urn = plan.by_urn()
    for r in plan.of_type("kubernetes:karpenter.sh/v1:NodePool"):
        cloud = plan.spec.cluster(cluster_name(r, by_urn)).cloud
        spec = _obj(r)["spec"]
        assert validate_custom_resource(_obj(r)) == []
        reqs = {q["key"]: q["values"] for q in spec["template"]["spec"]["requirements"]}
        assert reqs["karpenter.sh/capacity-type"] == ["on-demand"]
        assert reqs["kubernetes.io/arch"] == ["arm64", "amd64"]
        assert reqs[FAMILY_KEY[cloud]] == (["m"] if cloud == "aws" else ["E"])
        assert spec["limits"] == {"cpu": "200", "memory": "2Ti"}
        assert spec["disruption"]["consolidationPolicy"] == "WhenEmpty" and spec["disruption"]["consolidateAfter"] == "5m"
        assert spec["template"]["spec"]["expireAfter"] == "Never"
    for r in plan.of_type("kubernetes:karpenter.k8s.aws/v1:EC2NodeClass"):
        assert _obj(r)["spec"]["amiSelectorTerms"] == [{"alias": "al2023@v20250101"}]
    gke = (plan.of_type("gcp:container/cluster:Cluster")[0]["inputs"])["clusterAutoscaling"]
    assert {lim["resourceType"]: lim["maximum"] for lim in gke["resourceLimits"]} == {"cpu": 200, "memory": 2048}
    assert gke["autoscalingProfile"] == "BALANCED"
    assert not [p for p in plan.of_type("gcp:container/nodePool:NodePool") if p["name"].endswith("-spot")], "no spot configured"
