"""Spot-first node provisioning on one cluster: Karpenter's NodePool and node class, and Karpenter
itself where the cloud does not run it (plain inputs; no cloud branch).

The cloud plumbing sits beside each cluster component (``components/clusters/*_plumbing.py``):
on EKS the controller's Pod Identity role, the node role and its access entry, the SQS
interruption queue fed by EventBridge and the discovery tag; on GKE (node auto-provisioning is a
cluster setting, ``components.clusters.gke``) an autoscaled spot pool from zero. AKS node
auto-provisioning (managed Karpenter, enabled on the cluster) needs only the NodePool and an
AKSNodeClass. :func:`node_provisioning` composes the two for the fleet.

A Karpenter NodePool that allows both capacity types launches spot and falls back to on-demand
when spot is unavailable; ``weight`` puts it ahead of the pools AKS creates by default.
"""

import re
from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from components.addons.helm import release_on
from components.clusters import former_child_urns
from components.handle import ClusterHandle
from components.options import waits_for
from components.tokens import component_type, renamed_from
from stacks.sections.autoscaling import DURATION, NodeProvisioningConfig
from stacks.spec import FleetSpec
from stacks.versions import CRD_API_VERSIONS, KARPENTER_CONTROLLER_IMAGE

NODE_POOL = "spot-first"
NODE_CLASS = "archipelago"
# Above AKS NAP's own "default" pool (weight unset = 0), so new capacity comes from this pool.
NODE_POOL_WEIGHT = 50
# Upstream recommends kube-system for the v1 controller; its pods meet the restricted PSS profile.
KARPENTER_NAMESPACE = "kube-system"
KARPENTER_SA = "karpenter"
DISCOVERY_TAG = "karpenter.sh/discovery"
# The type token NodeProvisioning was deployed with (before the one scheme).
LEGACY_TYPE = "archipelago:autoscaling:NodeProvisioning"
NODE_CLASS_KINDS = ("EC2NodeClass", "AKSNodeClass")
CAPACITY_TYPES = ("spot", "on-demand", "reserved")
ARCHITECTURES = ("amd64", "arm64")
CONSOLIDATION_POLICIES = ("WhenEmpty", "WhenEmptyOrUnderutilized")
OPERATORS = ("In", "NotIn", "Exists", "DoesNotExist", "Gt", "Lt")
TAINT_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
MEMORY = re.compile(r"^[1-9][0-9]*(Mi|Gi|Ti)$")


class RequirementArgs(TypedDict):
    """A NodePool scheduling requirement on a node label."""

    key: str
    """The node label, e.g. karpenter.k8s.aws/instance-category."""
    operator: str
    """In, NotIn, Exists, DoesNotExist, Gt or Lt."""
    values: NotRequired[list[str]]
    """The values the operator compares with (none for Exists/DoesNotExist, one number for Gt/Lt)."""


class TaintArgs(TypedDict):
    """A taint new nodes start with until a DaemonSet (e.g. the CNI agent) removes it."""

    key: str
    """Taint key."""
    effect: str
    """NoSchedule, PreferNoSchedule or NoExecute."""
    value: NotRequired[str]
    """Taint value. Default: none."""


class KarpenterChartArgs(TypedDict):
    """Karpenter's controller, installed from the pinned chart (its AWS provider) in kube-system."""

    cluster_name: str
    """The EKS cluster's name (settings.clusterName)."""
    cluster_endpoint: pulumi.Input[str]
    """The cluster's API endpoint URL (settings.clusterEndpoint)."""
    interruption_queue: pulumi.Input[str]
    """Name of the SQS queue EventBridge feeds interruption events into (settings.interruptionQueue)."""
    region: str
    """The cluster's AWS region, set as AWS_REGION: with EKS Pod Identity nothing else tells the
    controller its region (IMDS is out of reach with hop limit 1)."""
    replicas: NotRequired[int]
    """Controller replicas (hostname anti-affinity: one system node each), 1-3. Default: 2."""
    reserved_enis: NotRequired[int]
    """ENIs per node Karpenter must not count for pods (1 with VPC CNI custom networking, where
    pods never use the primary ENI). Default: 0."""
    service_account_annotations: NotRequired[dict[str, pulumi.Input[str]]]
    """Annotations of the controller's service account (none with EKS Pod Identity). Default: none."""
    pod_labels: NotRequired[dict[str, str]]
    """Labels of the controller's pods. Default: none."""


class NodeProvisioningArgs(TypedDict):
    """Inputs of NodeProvisioning: the cluster's Kubernetes provider and the spot-first pool."""

    kubernetes_provider: k8s.Provider
    """The Kubernetes provider of the cluster; every object is created through it."""
    capacity_types: list[str]
    """Capacity types new nodes may use, in order of preference: spot, on-demand, reserved.
    Karpenter tries spot first when it is listed."""
    cpu_limit: int
    """Most vCPUs the pool may add to the cluster. At least 1."""
    memory_limit: str
    """Most memory the pool may add, a quantity in Mi, Gi or Ti (1000Gi)."""
    node_class_kind: NotRequired[str]
    """The cloud's Karpenter node class: EC2NodeClass (Karpenter on EKS) or AKSNodeClass (AKS node
    auto-provisioning). Default: none, and then no NodePool either (the cloud provisions nodes
    itself, e.g. GKE node auto-provisioning)."""
    node_class_spec: NotRequired[pulumi.Input[dict[str, Any]]]
    """The node class's spec as its CRD defines it (AMI/image, subnets, role, disks...). Required
    with nodeClassKind."""
    architectures: NotRequired[list[str]]
    """CPU architectures of new nodes: amd64, arm64. Default: amd64."""
    requirements: NotRequired[list[RequirementArgs]]
    """Further scheduling requirements (instance families, generations), after capacity type,
    architecture and os=linux. Default: none."""
    consolidation_policy: NotRequired[str]
    """WhenEmpty or WhenEmptyOrUnderutilized. Default: WhenEmptyOrUnderutilized."""
    consolidate_after: NotRequired[str]
    """How long a node must qualify before it is consolidated (Karpenter duration). Default: 1m."""
    expire_after: NotRequired[str]
    """Node lifetime before replacement (Karpenter duration or Never). Default: 720h."""
    weight: NotRequired[int]
    """NodePool weight, 1-100: pools of higher weight are tried first. Default: 50 (above AKS
    node auto-provisioning's own default pool)."""
    node_labels: NotRequired[dict[str, str]]
    """Labels of every new node. Default: none."""
    startup_taints: NotRequired[list[TaintArgs]]
    """Taints new nodes start with. Default: none."""
    karpenter: NotRequired[KarpenterChartArgs]
    """Install Karpenter's controller (EKS, where the cloud does not run it). Default: none."""
    name_prefix: NotRequired[str]
    """Prefix of every child's logical name. Default: the component's own name."""


def _in(key: str, values: Sequence[str]) -> dict[str, Any]:
    return {"key": key, "operator": "In", "values": list(values)}


def _check_args(args: NodeProvisioningArgs) -> None:
    types = args["capacity_types"]
    if not types:
        raise ValueError("capacityTypes: [] lists no capacity type")
    for i, t in enumerate(types):
        if t not in CAPACITY_TYPES:
            raise ValueError(f"capacityTypes[{i}]: {t!r} is not one of {', '.join(CAPACITY_TYPES)}")
    if len(set(types)) != len(types):
        raise ValueError(f"capacityTypes: {types!r} lists a type more than once")
    for i, a in enumerate(args.get("architectures") or []):
        if a not in ARCHITECTURES:
            raise ValueError(f"architectures[{i}]: {a!r} is not one of {', '.join(ARCHITECTURES)}")
    if args["cpu_limit"] < 1:
        raise ValueError(f"cpuLimit: {args['cpu_limit']} is below 1")
    if not MEMORY.match(args["memory_limit"]):
        raise ValueError(f"memoryLimit: {args['memory_limit']!r} is not a quantity in Mi, Gi or Ti")
    kind = args.get("node_class_kind")
    if kind is not None and kind not in NODE_CLASS_KINDS:
        raise ValueError(f"nodeClassKind: {kind!r} is not one of {', '.join(NODE_CLASS_KINDS)}")
    if kind is not None and args.get("node_class_spec") is None:
        raise ValueError(f"nodeClassSpec: missing; nodeClassKind {kind} needs its spec")
    policy = args.get("consolidation_policy")
    if policy is not None and policy not in CONSOLIDATION_POLICIES:
        raise ValueError(f"consolidationPolicy: {policy!r} is not one of {', '.join(CONSOLIDATION_POLICIES)}")
    for key in ("consolidate_after", "expire_after"):
        value = args.get(key)
        if value is not None and not re.match(DURATION, str(value)):
            camel = {"consolidate_after": "consolidateAfter", "expire_after": "expireAfter"}[key]
            raise ValueError(f"{camel}: {value!r} is not a Karpenter duration (30s, 10m, 720h, Never)")
    weight = args.get("weight")
    if weight is not None and not 1 <= weight <= 100:
        raise ValueError(f"weight: {weight} is not between 1 and 100")
    for i, req in enumerate(args.get("requirements") or []):
        if req["operator"] not in OPERATORS:
            raise ValueError(f"requirements[{i}].operator: {req['operator']!r} is not one of {', '.join(OPERATORS)}")
    for i, taint in enumerate(args.get("startup_taints") or []):
        if taint["effect"] not in TAINT_EFFECTS:
            raise ValueError(f"startupTaints[{i}].effect: {taint['effect']!r} is not one of {', '.join(TAINT_EFFECTS)}")
    replicas = (args.get("karpenter") or {}).get("replicas")
    if replicas is not None and not 1 <= replicas <= 3:
        raise ValueError(f"karpenter.replicas: {replicas} is not between 1 and 3")


def node_pool_spec(args: NodeProvisioningArgs) -> dict[str, Any]:
    """The ``karpenter.sh/v1`` NodePool spec: the capacity types in order, within the limits."""
    kind = args.get("node_class_kind") or NODE_CLASS_KINDS[0]
    template_spec: dict[str, Any] = {
        "nodeClassRef": {"group": CRD_API_VERSIONS[kind].split("/")[0], "kind": kind, "name": NODE_CLASS},
        "requirements": [
            _in("karpenter.sh/capacity-type", args["capacity_types"]),
            _in("kubernetes.io/arch", args.get("architectures") or ["amd64"]),
            _in("kubernetes.io/os", ["linux"]),
            *[dict(r) for r in args.get("requirements") or []],
        ],
        "expireAfter": args.get("expire_after") or "720h",
    }
    if args.get("startup_taints"):
        template_spec["startupTaints"] = [dict(t) for t in args.get("startup_taints") or []]
    template: dict[str, Any] = {"spec": template_spec}
    if args.get("node_labels"):
        template["metadata"] = {"labels": dict(args.get("node_labels") or {})}
    return {
        "weight": args.get("weight") or NODE_POOL_WEIGHT,
        "limits": {"cpu": str(args["cpu_limit"]), "memory": args["memory_limit"]},
        "disruption": {
            "consolidationPolicy": args.get("consolidation_policy") or "WhenEmptyOrUnderutilized",
            "consolidateAfter": args.get("consolidate_after") or "1m",
            "budgets": [{"nodes": "10%"}],
        },
        "template": template,
    }


def karpenter_values(chart: KarpenterChartArgs) -> dict[str, Any]:
    """Values of the pinned Karpenter chart."""
    settings: dict[str, Any] = {
        "clusterName": chart["cluster_name"],
        "clusterEndpoint": chart["cluster_endpoint"],
        "interruptionQueue": chart["interruption_queue"],
    }
    if chart.get("reserved_enis"):
        # VPC CNI custom networking: pods use secondary ENIs, never the primary one.
        settings["reservedENIs"] = str(chart.get("reserved_enis"))
    return {
        "settings": settings,
        "serviceAccount": {"create": True, "name": KARPENTER_SA, "annotations": dict(chart.get("service_account_annotations") or {})},
        "podLabels": dict(chart.get("pod_labels") or {}),
        # Hostname anti-affinity needs a system node per replica.
        "replicas": chart.get("replicas") or 2,
        "controller": {
            "image": KARPENTER_CONTROLLER_IMAGE,
            # Karpenter reads its region from AWS_REGION or IMDS; EKS Pod Identity injects
            # no region, the chart sets none, and IMDS hop limit 1 keeps the pod off IMDS.
            "env": [{"name": "AWS_REGION", "value": chart["region"]}],
            "resources": {"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}},
        },
    }


class NodeProvisioning(pulumi.ComponentResource):
    """Spot-first node provisioning on one cluster: a Karpenter NodePool (spot, then on-demand,
    within limits) on the cloud's node class, and Karpenter's controller where asked. Children
    wait for whatever the resource options' dependsOn names (the cloud plumbing: the controller's
    identity, the node role's access entry)."""

    node_pool_name: pulumi.Output[str | None]
    """Name of the NodePool created (spot-first), or none when no node class was given."""
    capacity_types: pulumi.Output[list[str]]
    """The capacity types new nodes may use, in order of preference."""

    def __init__(self, name: str, args: NodeProvisioningArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(component_type(NodeProvisioning), name, None, renamed_from(LEGACY_TYPE, opts))
        _check_args(args)
        provider = args["kubernetes_provider"]
        prefix = args.get("name_prefix") or name
        waits = waits_for(opts)
        # Python-only handles.
        self.karpenter: k8s.helm.v3.Release | None = None
        self.node_pool: k8s.apiextensions.CustomResource | None = None
        self.node_class: k8s.apiextensions.CustomResource | None = None
        chart = args.get("karpenter")
        if chart is not None:
            self.karpenter = release_on(provider, "karpenter", logical_name=f"{prefix}-karpenter", release_name="karpenter",
                                        namespace=KARPENTER_NAMESPACE, values=karpenter_values(chart), parent=self,
                                        depends_on=waits)
        kind = args.get("node_class_kind")
        if kind is not None:
            deps = [*([self.karpenter] if self.karpenter else []), *waits]
            self.node_class = k8s.apiextensions.CustomResource(
                f"{prefix}-{NODE_CLASS}-nodeclass",
                api_version=CRD_API_VERSIONS[kind],
                kind=kind,
                metadata=k8s.meta.v1.ObjectMetaArgs(name=NODE_CLASS),
                spec=args.get("node_class_spec"),
                opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=deps),
            )
            self.node_pool = k8s.apiextensions.CustomResource(
                f"{prefix}-{NODE_POOL}-nodepool",
                api_version=CRD_API_VERSIONS["NodePool"],
                kind="NodePool",
                metadata=k8s.meta.v1.ObjectMetaArgs(name=NODE_POOL),
                spec=node_pool_spec(args),
                opts=pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[*deps, self.node_class]),
            )
        # CustomResource sets its output properties as attributes at run time; its stubs declare none.
        self.node_pool_name = (self.node_pool.metadata["name"] if self.node_pool  # pyright: ignore[reportAttributeAccessIssue]
                               else pulumi.Output.from_input(None))
        self.capacity_types = pulumi.Output.from_input(list(args["capacity_types"]))
        self.register_outputs({"nodePoolName": self.node_pool_name, "capacityTypes": self.capacity_types})


def node_pool_args(cfg: NodeProvisioningConfig, provider: k8s.Provider) -> NodeProvisioningArgs:
    """The fleet's ``nodeProvisioning`` section as the cloud-neutral part of the args (spot first);
    each cloud's plumbing adds its node class, requirements and controller."""
    return NodeProvisioningArgs(
        kubernetes_provider=provider, capacity_types=cfg.ordered_capacity_types, cpu_limit=cfg.limits.cpu,
        memory_limit=cfg.limits.memory, architectures=list(cfg.architectures), consolidation_policy=cfg.consolidation_policy,
        consolidate_after=cfg.consolidate_after, expire_after=cfg.expire_after, weight=NODE_POOL_WEIGHT)


def node_provisioning(handle: ClusterHandle, fleet: FleetSpec) -> NodeProvisioning:
    """The fleet's composition: the cluster's cloud plumbing (beside its cluster component, asked
    through the handle) turns the config into args, then the add-on, under the cluster's component."""
    name = f"{handle.name}-node-provisioning"
    if handle.plumbing is None:
        raise RuntimeError(f"cluster {handle.name} has no cloud plumbing")
    args, waits = handle.plumbing.node_provisioning(
        handle, fleet, node_pool_args(fleet.node_provisioning, handle.provider),
        moved_from=former_child_urns(handle, name, LEGACY_TYPE))
    args["name_prefix"] = handle.name
    return NodeProvisioning(name, args, pulumi.ResourceOptions(parent=handle.component, depends_on=waits))
