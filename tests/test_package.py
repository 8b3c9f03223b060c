"""The component package: what ``pulumi package add`` of this repository would serve.

The SDK's analyzer (``pulumi.provider.experimental.analyzer`` in pulumi 3.272.0, the code the
Python plugin host runs to infer a source-based package's schema; read from
.venv/lib/python3.11/site-packages/pulumi/provider/experimental/) must accept every public component
and describe every input and output; the components not yet converted are listed, and really
fail it. Each public component plans alone from its example under the mock engine.
"""

from __future__ import annotations

import importlib
import inspect
import json
import pkgutil
import re
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.provider.experimental.analyzer import Analyzer
from pulumi.provider.experimental.component import ComponentProvider
from pulumi.provider.experimental.schema import generate_schema

import components
from components.package import BASE_CLASSES, NOT_YET_PACKAGED, PACKAGE_NAME, PACKAGE_VERSION, PUBLIC_COMPONENTS
from offline import schemas
from offline.mocks import MASK
from offline.plan import run_program
from offline.report import CLUSTER_COMPONENTS, is_component, previous_urns

from .conftest import ROOT

EXAMPLES = ROOT / "examples"


def _schema() -> dict[str, Any]:
    result = Analyzer(PACKAGE_NAME).analyze(PUBLIC_COMPONENTS)
    deps = sorted(result["dependencies"], key=lambda d: f"{d.name}{d.version}")
    return generate_schema(PACKAGE_NAME, PACKAGE_VERSION, None, result["component_definitions"],
                           result["type_definitions"], deps).to_json()


def _all_components() -> dict[str, type[pulumi.ComponentResource]]:
    found: dict[str, type[pulumi.ComponentResource]] = {}
    for mod in pkgutil.walk_packages(components.__path__, "components."):
        for _, obj in inspect.getmembers(importlib.import_module(mod.name), inspect.isclass):
            if issubclass(obj, pulumi.ComponentResource) and obj.__module__.startswith("components."):
                found[obj.__name__] = obj
    return found


def _untyped(path: str, prop: dict[str, Any]) -> list[str]:
    """Problems of one schema property: no description, or no type/reference (also inside)."""
    out = [] if (prop.get("description") or "").strip() else [f"{path}: no description"]
    if "type" not in prop and "$ref" not in prop:
        out.append(f"{path}: no type")
    for key in ("items", "additionalProperties"):
        if key in prop:
            out += _untyped(f"{path}.{key}", prop[key])
    return out


def test_every_component_is_public_or_listed_as_not_yet_packaged() -> None:
    found = _all_components()
    public = {c.__name__ for c in PUBLIC_COMPONENTS}
    assert public.isdisjoint(NOT_YET_PACKAGED) and public.isdisjoint(BASE_CLASSES)
    assert public | set(NOT_YET_PACKAGED) | set(BASE_CLASSES) == set(found), "list each component in components/package.py"


@pytest.mark.parametrize("name", BASE_CLASSES)
def test_base_classes_are_only_bases_of_public_components(name: str) -> None:
    """A base class is never registered alone, and every component built on it is public."""
    base = _all_components()[name]
    subclasses = [c for c in _all_components().values() if c is not base and issubclass(c, base)]
    assert subclasses and all(c in PUBLIC_COMPONENTS for c in subclasses)


def test_managed_cluster_is_never_registered_alone() -> None:
    from components.clusters.base import ManagedCluster

    with pytest.raises(TypeError, match="base class"):
        ManagedCluster("archipelago:clusters:ManagedCluster", "x", {}, "aws", None)


@pytest.mark.parametrize("name", NOT_YET_PACKAGED)
def test_not_yet_packaged_components_really_fail_the_analyzer(name: str) -> None:
    """Once a component passes, move it to PUBLIC_COMPONENTS (and give it an example)."""
    with pytest.raises(Exception):  # noqa: B017 - the analyzer raises plain Exception/ValueError/TypeError
        Analyzer(PACKAGE_NAME).analyze([_all_components()[name]])


def test_schema_types_and_describes_every_input_and_output() -> None:
    schema = _schema()
    resources = schema["resources"]
    assert set(resources) == {f"{PACKAGE_NAME}:index:{c.__name__}" for c in PUBLIC_COMPONENTS}
    problems: list[str] = []
    for token, res in resources.items():
        assert res["isComponent"] is True
        problems += [] if (res.get("description") or "").strip() else [f"{token}: no description"]
        assert res.get("inputProperties") and res.get("properties"), token
        for kind in ("inputProperties", "properties"):
            for name, prop in res[kind].items():
                problems += _untyped(f"{token}.{kind}.{name}", prop)
    for token, typ in schema.get("types", {}).items():
        problems += [] if (typ.get("description") or "").strip() else [f"{token}: no description"]
        for name, prop in typ.get("properties", {}).items():
            problems += _untyped(f"{token}.{name}", prop)
    assert problems == []


def test_security_baseline_schema() -> None:
    """Plain values where the component decides what to create, Inputs where a value only flows
    into a resource, and the Kubernetes provider as a reference to the kubernetes package's schema."""
    schema = _schema()
    res = schema["resources"][f"{PACKAGE_NAME}:index:SecurityBaseline"]
    inputs = res["inputProperties"]
    assert res["requiredInputs"] == ["kubernetesProvider"]
    assert inputs["kubernetesProvider"]["$ref"].endswith("/schema.json#/resources/pulumi:providers:kubernetes")
    assert all(inputs[k].get("plain") for k in ("groups", "namespaces", "developerSecretsRead", "namePrefix"))
    group = schema["types"][f"{PACKAGE_NAME}:index:GroupBindingArgs"]
    assert "plain" not in group["properties"]["subject"]  # an Input: may come from another resource
    assert set(group["required"]) == {"name", "subject"}
    assert set(res["properties"]) == {"namespaceNames", "bindingNames"}
    assert any(d["name"] == "kubernetes" for d in schema.get("dependencies", [])) or "kubernetes" in json.dumps(schema)


def test_the_served_provider_has_the_analyzed_schema() -> None:
    """``package/__main__.py`` serves exactly this provider (component_provider_host builds it)."""
    provider = ComponentProvider(PUBLIC_COMPONENTS, PACKAGE_NAME, None, PACKAGE_VERSION)
    assert provider.schema is not None and json.loads(provider.schema) == _schema()
    manifest = yaml.safe_load((ROOT / "package" / "PulumiPlugin.yaml").read_text())
    assert manifest["runtime"]["name"] == "python"
    assert (ROOT / "package" / manifest["runtime"]["options"]["virtualenv"]).resolve() == (ROOT / ".venv").resolve()
    main = (ROOT / "package" / "__main__.py").read_text()
    assert "component_provider_host(PUBLIC_COMPONENTS" in main


# Components shown together in one example (the fabric's pieces join two networks); the others
# have examples/<kebab-case name>.
SHARED_EXAMPLES = {"AwsGateway": "aws-gcp-vpn", "GcpGateway": "aws-gcp-vpn", "VpnLink": "aws-gcp-vpn",
                   "AzureGateway": "fabric", "PeeringLink": "fabric"}


def test_every_public_component_has_an_example() -> None:
    for c in PUBLIC_COMPONENTS:
        slug = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "-", c.__name__).lower()  # ArgoCD -> argo-cd
        example = EXAMPLES / SHARED_EXAMPLES.get(c.__name__, slug)
        assert (example / "__main__.py").exists() and (example / "Pulumi.yaml").exists(), example
        assert c.__name__ in (example / "__main__.py").read_text()


def _children(records: list[dict[str, Any]], component: str) -> list[dict[str, Any]]:
    parent = next(r["urn"] for r in records if r["type"] == "archipelago:index:SecurityBaseline" and r["name"] == component)
    return [r for r in records if r.get("parent") == parent]


def _records_under(records: list[dict[str, Any]], typ: str, name: str) -> list[dict[str, Any]]:
    """Every record below the component of type ``typ`` named ``name``."""
    return _inside(records, next(r for r in records if r["type"] == typ and r["name"] == name))


def test_security_baseline_example_plans_alone() -> None:
    records = run_program(EXAMPLES / "security-baseline" / "__main__.py", "security-baseline-example", "dev")
    team = _children(records, "team-a")
    names = {r["name"] for r in team}
    assert {"team-a-ns-shop", "team-a-ns-shop-staging", "team-a-shop-default-deny", "team-a-shop-allow-dns",
            "team-a-shop-staging-developer", "team-a-group-platform-example-com-cluster-admin",
            "team-a-shop-group-shop-devs-example-com-viewer"} <= names
    namespaces = {r["inputs"]["metadata"]["name"]: r["inputs"]["metadata"]["labels"] for r in team
                  if r["type"] == "kubernetes:core/v1:Namespace"}
    assert set(namespaces) == {"shop", "shop-staging"}
    assert all(labels["pod-security.kubernetes.io/enforce"] == "restricted" for labels in namespaces.values())
    provider = next(r["urn"] for r in records if r["type"] == "pulumi:providers:kubernetes")
    assert all(r["provider"].startswith(provider) for r in team)
    # A second instance in the same program: its own names, no collision.
    other = {r["name"] for r in _children(records, "team-b")}
    assert other and all(n.startswith("team-b-") for n in other)


@pytest.mark.parametrize(("args", "message"), [
    ({"namespaces": ["Shop"]}, "is not a DNS-1123 label"),
    ({"groups": [{"name": "all", "subject": "system:authenticated", "cluster_role": "view"}]}, "built-in system group"),
    ({"groups": [{"name": "g", "subject": "g", "cluster_role": "admin"}]}, "clusterRole: 'admin'"),
    ({"groups": [{"name": "g", "subject": "g", "namespace_roles": {"kube-system": "viewer"}}]}, "not one of the namespaces"),
    ({"groups": [{"name": "g", "subject": "g", "namespace_roles": {"production": "owner"}}]}, "namespaceRoles.production: 'owner'"),
])
def test_bad_args_are_refused_naming_the_field(args: dict[str, Any], message: str, tmp_path: Path) -> None:
    program = tmp_path / "__main__.py"
    program.write_text(
        "import pulumi_kubernetes as k8s\n"
        "from components.security.baseline import SecurityBaseline\n"
        f"SecurityBaseline('x', {{'kubernetes_provider': k8s.Provider('k', kubeconfig='{{}}'), **{args!r}}})\n")
    with pytest.raises(Exception, match=message.replace("(", r"\(")):
        run_program(program, "bad-args", "dev")


def test_fleet_children_keep_their_cluster_named_urns(dev_plan: Any) -> None:
    """The fleet passes name_prefix=<cluster>: the children's names (and so URNs) are the ones
    every deployed stack already has."""
    by_urn = dev_plan.by_urn()
    for c in dev_plan.spec.clusters:
        comp = next(r for r in dev_plan.resources if r["type"] == "archipelago:index:SecurityBaseline" and r["name"] == f"{c.name}-security")
        kids = {r["name"] for r in dev_plan.resources if r.get("parent") == comp["urn"]}
        assert {f"{c.name}-ns-production", f"{c.name}-production-default-deny", f"{c.name}-staging-allow-dns"} <= kids
        assert is_component(by_urn[comp["parent"]], CLUSTER_COMPONENTS)


CLUSTERS = {
    # component: (required inputs, network inputs that are Inputs, cloud outputs beyond the common ones)
    "EksCluster": ({"region", "kubernetesVersion", "zones", "privateSubnetIds", "serviceCidr", "nodePool"},
                   ("privateSubnetIds", "serviceCidr"), {"clusterArn", "clusterSecurityGroupId", "nodeRoleArn"}),
    "AksCluster": ({"region", "kubernetesVersion", "zones", "resourceGroupName", "vnetId", "nodeSubnetId", "apiserverSubnetId",
                    "podCidr", "serviceCidr", "dnsServiceIp", "nodePool"},
                   ("resourceGroupName", "vnetId", "nodeSubnetId", "apiserverSubnetId", "podCidr", "serviceCidr", "dnsServiceIp"),
                   {"clusterId", "nodeResourceGroup", "tenantId"}),
    "GkeCluster": ({"project", "region", "kubernetesVersion", "networkId", "subnetworkId", "vpcCidr", "controlPlaneCidr", "nodePool"},
                   ("networkId", "subnetworkId", "vpcCidr", "controlPlaneCidr"), {"clusterId", "nodeServiceAccount", "workloadPool"}),
}
COMMON_CLUSTER_OUTPUTS = {"clusterName", "endpoint", "certificateAuthority", "kubeconfig", "kubernetesProvider", "oidcIssuer"}


@pytest.mark.parametrize("component", sorted(CLUSTERS))
def test_cluster_schema(component: str) -> None:
    """Network ids flow in as Inputs (another resource's outputs); what decides which resources
    exist (zones, node pool, switches) is plain; the Kubernetes provider comes out as a reference
    to the kubernetes package's provider."""
    required, network, cloud_outputs = CLUSTERS[component]
    res = _schema()["resources"][f"{PACKAGE_NAME}:index:{component}"]
    inputs = res["inputProperties"]
    assert set(res["requiredInputs"]) == required
    assert all("plain" not in inputs[k] for k in network), [k for k in network if inputs[k].get("plain")]
    assert inputs["nodePool"].get("plain") and inputs["nodePool"]["$ref"].endswith(":index:NodePoolArgs")
    assert all(inputs[k].get("plain") for k in ("region", "clusterName", "publicApiCidrs", "protectStateful", "deletionProtection")
               if k in inputs)
    assert set(res["properties"]) == COMMON_CLUSTER_OUTPUTS | cloud_outputs
    assert res["properties"]["kubernetesProvider"]["$ref"].endswith("/schema.json#/resources/pulumi:providers:kubernetes")


def _inside(records: list[dict[str, Any]], component: dict[str, Any]) -> list[dict[str, Any]]:
    """Every record below ``component`` (its children, theirs, ...)."""
    by_urn = {r["urn"]: r for r in records}

    def under(r: dict[str, Any]) -> bool:
        node = by_urn.get(r.get("parent") or "")
        while node is not None:
            if node is component:
                return True
            node = by_urn.get(node.get("parent") or "")
        return False

    return [r for r in records if under(r)]


CLUSTER_EXAMPLES = {
    # example: (component type, cloud provider type, a few children named from the component's name)
    "eks-cluster": ("archipelago:index:EksCluster", "pulumi:providers:aws",
                    {"shop-eks", "shop-system", "shop-secrets", "shop-vpc-cni", "shop-coredns", "shop-access-deployer", "shop-k8s"}),
    "aks-cluster": ("archipelago:index:AksCluster", "pulumi:providers:azure-native",
                    {"shop-aks", "shop-kms", "shop-control-plane", "shop-cp-network", "shop-deployer-admin",
                     "shop-aksManagedAutoUpgradeSchedule", "shop-k8s"}),
    "gke-cluster": ("archipelago:index:GkeCluster", "pulumi:providers:gcp",
                    {"shop-gke", "shop-system", "shop-kms", "shop-secrets", "shop-nodes", "shop-k8s"}),
}


@pytest.mark.parametrize("example", sorted(CLUSTER_EXAMPLES))
def test_cluster_example_plans_alone(example: str) -> None:
    """Each cluster component planned from its example, on a network the program made itself:
    children named from the component's name, every cloud child on the program's provider (passed
    in the component's resource options), the kubeconfig a secret, and the cluster's Kubernetes
    provider usable for the program's own objects."""
    typ, cloud_provider, names = CLUSTER_EXAMPLES[example]
    records = run_program(EXAMPLES / example / "__main__.py", f"{example}-example", "dev")
    component = next(r for r in records if r["type"] == typ)
    assert component["name"] == "shop"
    children = _inside(records, component)
    assert names <= {r["name"] for r in children}
    assert all(r["name"].startswith("shop-") for r in children)
    provider = next(r["urn"] for r in records if r["type"] == cloud_provider)
    cloud_children = [r for r in children if r["custom"] and r["type"].split(":")[0] in {"aws", "azure-native", "gcp"}]
    assert cloud_children and all(r["provider"] == provider for r in cloud_children)
    k8s_provider = next(r for r in children if r["type"] == "pulumi:providers:kubernetes")
    assert k8s_provider["inputs"]["kubeconfig"] == MASK
    namespace = next(r for r in records if r["type"] == "kubernetes:core/v1:Namespace")
    assert namespace["provider"] == k8s_provider["urn"]


@pytest.mark.parametrize(("module", "args", "message"), [
    ("eks", {"kubernetes_version": "1.20"}, "kubernetesVersion: '1.20' is not one of"),
    ("eks", {"node_pool": {"instance_type": "m7i.large", "min_size": 3, "desired_size": 2, "max_size": 4}},
     "nodePool.desiredSize: 2 is not between minSize 3 and maxSize 4"),
    ("eks", {"log_types": ["api", "everything"]}, "logTypes: 'everything'"),
    ("eks", {"log_retention_days": 100}, "logRetentionDays: 100 is not a retention CloudWatch Logs accepts"),
    ("eks", {"access_groups": [{"name": "ops", "role_arn": "arn:aws:iam::1:role/ops", "cluster_role": "admin"}]},
     r"accessGroups\[ops\].clusterRole: 'admin'"),
    ("aks", {"maintenance": {"day": "Someday", "start_utc": "01:00", "duration_hours": 12}}, "maintenance.day: 'Someday'"),
    ("aks", {"key_vault_retention_days": 120}, "keyVaultRetentionDays: 120"),
    ("gke", {"maintenance": {"day": "Sunday", "start_utc": "1am", "duration_hours": 12}}, "maintenance.startUtc: '1am'"),
    ("gke", {"release_channel": "NIGHTLY"}, "releaseChannel: 'NIGHTLY'"),
])
def test_bad_cluster_args_are_refused_naming_the_field(module: str, args: dict[str, Any], message: str, tmp_path: Path) -> None:
    base = {
        "eks": {"region": "us-east-1", "kubernetes_version": "1.35", "zones": ["us-east-1a"], "private_subnet_ids": ["subnet-1"],
                "service_cidr": "172.20.0.0/16"},
        "aks": {"region": "westeurope", "kubernetes_version": "1.35", "zones": ["1"], "resource_group_name": "rg", "vnet_id": "v",
                "node_subnet_id": "n", "apiserver_subnet_id": "a", "pod_cidr": "100.64.0.0/16", "service_cidr": "172.20.0.0/16",
                "dns_service_ip": "172.20.0.10"},
        "gke": {"project": "p", "region": "europe-west1", "kubernetes_version": "1.35", "network_id": "n", "subnetwork_id": "s",
                "vpc_cidr": "10.0.0.0/20", "control_plane_cidr": "172.16.0.0/28"},
    }[module]
    pool = {"instance_type": "x", "min_size": 1, "desired_size": 1, "max_size": 2}
    cls = {"eks": "EksCluster", "aks": "AksCluster", "gke": "GkeCluster"}[module]
    program = tmp_path / "__main__.py"
    program.write_text(
        f"from components.clusters.{module} import {cls}\n"
        f"{cls}('x', {{'node_pool': {pool!r}, **{base!r}, **{args!r}}})\n")
    with pytest.raises(Exception, match=message):
        run_program(program, "bad-args", "dev")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_cluster_urns_are_unchanged_or_aliased(stack: str, request: pytest.FixtureRequest) -> None:
    """Every URN deployed stacks hold for the cluster and network components and their own
    resources (tests/data/cluster-urns-<stack>.txt, recorded before the clusters took plain args; the
    add-ons parented to a cluster are left to their own tests) is still
    planned: as the resource's own engine URN, or one its aliases (or its parent's, which the
    engine applies to children) name. The networks moved beside their cluster and carry an alias
    to their old parent; components moved to the one token scheme carry an alias to their old
    type; IstioCluster and Monitoring moved into IstioMesh and FleetMetrics with aliases naming
    their old URNs; nothing else moved."""
    plan = request.getfixturevalue(f"{stack}_plan")
    by_urn = plan.by_urn()
    answered: set[str] = set()
    for r in plan.resources:
        answered |= previous_urns(r, by_urn)
    recorded = [line for line in (ROOT / "tests" / "data" / f"cluster-urns-{stack}.txt").read_text().splitlines()
                if line and not line.startswith("#")]
    assert len(recorded) > 100
    assert [u for u in recorded if u not in answered] == []
    specs = [(r, a.get("spec", {})) for r in plan.resources for a in r.get("aliases") or [] if not a.get("urn")]
    # The mesh and metrics add-ons moved into their fleet-wide components, aliased by the URNs they
    # had under their cluster (test_mesh_and_metrics_keep_their_deployed_urns).
    urn_aliases = {r["name"] for r in plan.resources for a in r.get("aliases") or [] if a.get("urn")}
    assert urn_aliases == {f"{c.name}-{suffix}" for c in plan.spec.clusters for suffix in ("istio", "monitoring")}
    moves = [(r, spec) for r, spec in specs if spec.get("parentUrn")]
    nets = {f"{c.name}-net" for c in plan.spec.clusters}
    assert nets <= {r["name"] for r, _ in moves}
    # Besides the networks, only the add-ons' cloud plumbing moved (to its cluster's component):
    # each alias names the add-on component it used to belong to, under the type it had then.
    for r, spec in moves:
        if r["name"] not in nets:
            assert is_component(by_urn[r["parent"]], CLUSTER_COMPONENTS), r["urn"]
            assert spec["parentUrn"].split("::")[2].rsplit("$", 1)[-1] in PLUMBING_MOVED_FROM, (r["urn"], spec)
    # Type renames only: each to the one scheme, same class, from the type it was deployed under.
    renames = [(r["type"], spec["type"]) for r, spec in specs if {k for k, v in spec.items() if v} == {"type"}]
    assert renames and all(new.startswith("archipelago:index:") and not old.startswith("archipelago:index:") for new, old in renames)
    # The same class under its new token; one class was renamed with it (ArgoCDHubRegistration).
    assert {(new.rsplit(":", 1)[-1], old.rsplit(":", 1)[-1]) for new, old in renames if new.rsplit(":", 1)[-1] != old.rsplit(":", 1)[-1]} <= {
        ("HubRegistration", "ArgoCDHubRegistration")}
    assert len(renames) + len(moves) == len(specs)


# The add-on components (under the type they were deployed with) whose cloud resources moved to
# the cloud's plumbing beside the cluster.
PLUMBING_MOVED_FROM = ("archipelago:addons:Velero", "archipelago:fleet:VeleroDrLink", "archipelago:autoscaling:NodeProvisioning")


CONSTRUCT_PROGRAM = '''
import pulumi
import pulumi_aws as aws
from pulumi.provider.experimental.component import ComponentProvider
from components.package import PACKAGE_NAME, PACKAGE_VERSION, PUBLIC_COMPONENTS

provider = aws.Provider("aws-eu-west-1", region="eu-west-1")
served = ComponentProvider(PUBLIC_COMPONENTS, PACKAGE_NAME, None, PACKAGE_VERSION)
result = served.construct("shop", "archipelago:index:EksCluster", {
    "region": "eu-west-1", "kubernetesVersion": "1.35", "zones": ["eu-west-1a", "eu-west-1b"],
    "privateSubnetIds": ["subnet-a", "subnet-b"], "serviceCidr": "172.20.0.0/16",
    "nodePool": {"instanceType": "m7i.large", "minSize": 1, "desiredSize": 2, "maxSize": 3, "diskSizeGb": 80},
    "accessGroups": [{"name": "ops", "roleArn": "arn:aws:iam::111122223333:role/ops", "clusterRole": "view"}],
}, pulumi.ResourceOptions(providers=[provider]))
pulumi.ComponentResource("test:state:Keys", "state-" + "-".join(sorted(result.state)))
'''


def test_served_provider_constructs_a_cluster_from_schema_inputs(tmp_path: Path) -> None:
    """What another language's program sends: camelCase inputs (nested ones too) through the
    served provider's construct, the cluster built from them, its outputs returned as state."""
    program = tmp_path / "__main__.py"
    program.write_text(CONSTRUCT_PROGRAM)
    records = run_program(program, "construct", "dev")
    by_name = {r["name"]: r for r in records}
    assert by_name["shop-system"]["inputs"]["scalingConfig"] == {"minSize": 1, "desiredSize": 2, "maxSize": 3}
    assert by_name["shop-nodes"]["inputs"]["blockDeviceMappings"][0]["ebs"]["volumeSize"] == 80
    assert by_name["shop-access-ops"]["inputs"]["policyArn"].endswith("/AmazonEKSViewPolicy")
    assert all(r["provider"].endswith("::aws-eu-west-1") for r in records if r["type"].startswith("aws:eks/"))
    keys = next(r["name"] for r in records if r["type"] == "test:state:Keys").removeprefix("state-").split("-")
    assert set(keys) == COMMON_CLUSTER_OUTPUTS | CLUSTERS["EksCluster"][2]


def test_clusters_register_every_declared_output() -> None:
    """register_declared_outputs names each output as the schema does."""
    from components.declared import camel as _camel

    schema = _schema()
    for c in PUBLIC_COMPONENTS:
        if c.__name__ in CLUSTERS:
            declared = {_camel(k) for k in inspect.get_annotations(c)}
            assert declared == set(schema["resources"][f"{PACKAGE_NAME}:index:{c.__name__}"]["properties"])


# --- Submariner: the broker, a join, and the clusterset ------------------------------------------

SUBMARINER = {
    # component: (required inputs, Inputs (values that only flow into resources), plain inputs, outputs)
    "SubmarinerJoin": ({"kubernetesProvider", "clusterId", "clusterCidr", "serviceCidr", "brokerServer", "brokerToken",
                        "brokerCa", "ipsecPsk"},
                       ("clusterCidr", "brokerServer", "brokerToken", "brokerCa", "ipsecPsk"),
                       ("clusterId", "serviceCidr", "globalCidr", "cableDriver", "natTraversal", "clusterDns", "namePrefix"),
                       {"clusterId", "operatorNamespace", "releaseStatus"}),
    "SubmarinerBroker": ({"kubernetesProvider", "apiServer", "caData"}, ("apiServer", "caData"), ("namePrefix",),
                         {"server", "token", "ca", "namespace"}),
    "Submariner": ({"broker", "clusters"}, (), ("broker", "clusters", "cableDriver", "natTraversal", "namePrefix"),
                   {"brokerServer", "clusterIds", "brokerInfo"}),
}


@pytest.mark.parametrize("component", sorted(SUBMARINER))
def test_submariner_schema(component: str) -> None:
    """Secrets and other resources' outputs (broker address, token, CA, PSK, pod range) flow in as
    Inputs; what decides which resources exist or what they are named (cluster IDs, the member
    list, the cable driver, the DNS wiring, the Service range a fixed ClusterIP is cut from) is
    plain; every Kubernetes provider is a reference to the kubernetes package's provider."""
    required, inputs_, plain, outputs = SUBMARINER[component]
    schema = _schema()
    res = schema["resources"][f"{PACKAGE_NAME}:index:{component}"]
    inputs = res["inputProperties"]
    assert set(res["requiredInputs"]) == required
    assert [k for k in inputs_ if inputs[k].get("plain")] == []
    assert [k for k in plain if not inputs[k].get("plain")] == []
    assert set(res["properties"]) == outputs
    providers = ([schema["types"][f"{PACKAGE_NAME}:index:{t}"]["properties"]["kubernetesProvider"]
                  for t in ("BrokerClusterArgs", "MemberClusterArgs")] if component == "Submariner"
                 else [inputs["kubernetesProvider"]])
    assert all(p["$ref"].endswith("/schema.json#/resources/pulumi:providers:kubernetes") for p in providers)
    if component == "Submariner":
        member = schema["types"][f"{PACKAGE_NAME}:index:MemberClusterArgs"]
        assert set(member["required"]) == {"clusterId", "kubernetesProvider", "clusterCidr", "serviceCidr"}
        assert "plain" not in member["properties"]["clusterCidr"] and member["properties"]["clusterId"].get("plain")


def _tree(records: list[dict[str, Any]], typ: str, name: str) -> list[dict[str, Any]]:
    """Every resource under the component ``typ``/``name`` (children, grandchildren...)."""
    root = next(r["urn"] for r in records if r["type"] == typ and r["name"] == name)
    under, found = {root}, True
    while found:
        found = False
        for r in records:
            if r.get("parent") in under and r["urn"] not in under:
                under.add(r["urn"])
                found = True
    return [r for r in records if r["urn"] in under - {root}]


def _release_values(records: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(r["inputs"]["values"] for r in records if r["type"] == "kubernetes:helm.sh/v3:Release" and r["name"] == name)


def test_submariner_broker_example_plans_alone() -> None:
    records = run_program(EXAMPLES / "submariner-broker" / "__main__.py", "submariner-broker-example", "dev")
    kids = _tree(records, "archipelago:index:SubmarinerBroker", "hub-broker")
    assert {r["name"] for r in kids} == {"hub-broker-ns", "hub-broker-client-sa", "hub-broker-client-token", "hub-broker"}
    provider = next(r["urn"] for r in records if r["type"] == "pulumi:providers:kubernetes")
    assert all(r["provider"].startswith(provider) for r in kids)
    token = next(r for r in kids if r["type"] == "kubernetes:core/v1:Secret")
    assert token["inputs"]["type"] == "kubernetes.io/service-account-token" and "data" in token["secretOutputs"]
    assert _release_values(records, "hub-broker")["serviceAccounts"]["client"] == {"create": False, "name": "submariner-k8s-broker-client"}


def test_submariner_join_example_plans_alone() -> None:
    """The join alone: its namespace and the operator release on the program's provider, the
    token and PSK masked in the release values, the ranges as given."""
    records = run_program(EXAMPLES / "submariner-join" / "__main__.py", "submariner-join-example", "dev")
    kids = _tree(records, "archipelago:index:SubmarinerJoin", "east")
    assert {r["name"] for r in kids} == {"east-ns", "east-operator"}
    provider = next(r["urn"] for r in records if r["type"] == "pulumi:providers:kubernetes")
    assert all(r["provider"].startswith(provider) for r in kids)
    values = _release_values(records, "east-operator")
    assert values["broker"]["token"] == MASK and values["ipsec"]["psk"] == MASK
    assert (values["broker"]["server"], values["submariner"]["clusterId"]) == ("hub.example.com:443", "east")
    assert (values["submariner"]["clusterCidr"], values["submariner"]["serviceCidr"]) == ("10.20.0.0/16", "172.20.0.0/16")


def test_submariner_example_plans_alone() -> None:
    """Two clusters: the broker on the first (named from the broker cluster), one PSK, a join per
    cluster on that cluster's provider, each release waiting for the broker's release and token."""
    records = run_program(EXAMPLES / "submariner" / "__main__.py", "submariner-example", "dev")
    kids = _tree(records, "archipelago:index:Submariner", "shop")
    by_name = {r["name"]: r for r in kids}
    assert {"west-submariner-broker", "shop-random", "shop-ipsec-psk", "west-submariner", "east-submariner",
            "west-submariner-operator", "east-submariner-operator", "west-submariner-broker-client-token"} <= set(by_name)
    providers = {r["name"]: r["urn"] for r in records if r["type"] == "pulumi:providers:kubernetes"}
    broker_release = next(r for r in kids if r["type"] == "kubernetes:helm.sh/v3:Release" and r["name"] == "west-submariner-broker")
    assert broker_release["provider"].startswith(providers["west"])
    for cluster in ("west", "east"):
        release = by_name[f"{cluster}-submariner-operator"]
        assert release["provider"].startswith(providers[cluster])
        assert {broker_release["urn"], by_name["west-submariner-broker-client-token"]["urn"], by_name["shop-ipsec-psk"]["urn"]} \
            <= set(release["dependencies"])
        values = release["inputs"]["values"]
        assert values["ipsec"]["psk"] == MASK and values["broker"]["token"] == MASK
        assert values["broker"]["server"] == "west.example.com:443"


@pytest.mark.parametrize(("component", "args", "message"), [
    ("join", {"cluster_id": "East"}, "clusterId: 'East' is not a DNS-1123 label"),
    ("join", {"cable_driver": "strongswan"}, "cableDriver: 'strongswan'"),
    ("join", {"cluster_dns": "bind"}, "clusterDns: 'bind'"),
    ("join", {"cable_driver": "vxlan"}, "natTraversal: true with cableDriver vxlan"),
    ("join", {"service_cidr": "172.20.0.1/16"}, "serviceCidr: '172.20.0.1/16'"),
    ("join", {"global_cidr": "242.0.0.0/33"}, "globalCidr: '242.0.0.0/33'"),
    ("clusterset", {"clusters": [{"cluster_id": "a", "cluster_cidr": "10.1.0.0/16", "service_cidr": "172.20.0.0/16"},
                                 {"cluster_id": "a", "cluster_cidr": "10.2.0.0/16", "service_cidr": "172.21.0.0/16"}]},
     "clusters: cluster IDs a appear more than once"),
    ("clusterset", {"clusters": [{"cluster_id": "a", "cluster_cidr": "10.1.0.0/16", "service_cidr": "172.20.0.0/16",
                                  "global_cidr": "242.0.0.0/16"},
                                 {"cluster_id": "b", "cluster_cidr": "10.2.0.0/16", "service_cidr": "172.21.0.0/16"}]},
     "globalCidr is set on some clusters and not others"),
    ("clusterset", {"cable_driver": "ipsec"}, "cableDriver: 'ipsec'"),
])
def test_bad_submariner_args_are_refused_naming_the_field(component: str, args: dict[str, Any], message: str,
                                                          tmp_path: Path) -> None:
    program = tmp_path / "__main__.py"
    if component == "join":
        base = {"cluster_id": "east", "cluster_cidr": "10.20.0.0/16", "service_cidr": "172.20.0.0/16", "broker_server": "b:443",
                "broker_token": "t", "broker_ca": "c", "ipsec_psk": "p"}
        program.write_text(
            "import pulumi_kubernetes as k8s\n"
            "from components.addons.submariner import SubmarinerJoin\n"
            f"SubmarinerJoin('x', {{'kubernetes_provider': k8s.Provider('k', kubeconfig='{{}}'), **{base!r}, **{args!r}}})\n")
    else:
        program.write_text(
            "import pulumi_kubernetes as k8s\n"
            "from components.fleet.submariner import Submariner\n"
            "p = k8s.Provider('k', kubeconfig='{}')\n"
            f"args = {{'clusters': [], **{args!r}}}\n"
            "for c in args['clusters']:\n"
            "    c['kubernetes_provider'] = p\n"
            "Submariner('x', {'broker': {'name': 'hub', 'kubernetes_provider': p, 'api_server': 'https://h', 'ca_data': 'Yw=='},"
            " **args})\n")
    with pytest.raises(Exception, match=message.replace("(", r"\(")):
        run_program(program, "bad-args", "dev")


def test_fleet_submariner_keeps_its_names(dev_plan: Any) -> None:
    """The fleet composes the clusterset from plain args; the children keep the names (and so URNs)
    deployed stacks have: <cluster>-submariner-operator, <hub>-submariner-broker-client-token..."""
    names = {r["name"] for r in dev_plan.resources if ":index:Submariner" in r["urn"]}
    hub = dev_plan.spec.management.name
    assert {"submariner-random", "submariner-ipsec-psk", f"{hub}-submariner-broker", f"{hub}-submariner-broker-ns",
            f"{hub}-submariner-broker-client-sa", f"{hub}-submariner-broker-client-token"} <= names
    joined = [c.name for c in dev_plan.spec.clusters if c.cloud == "aws"]
    assert joined and all({f"{c}-submariner", f"{c}-submariner-ns", f"{c}-submariner-operator"} <= names for c in joined)


SUBMARINER_CONSTRUCT_PROGRAM = '''
import pulumi
import pulumi_kubernetes as k8s
from pulumi.provider.experimental.component import ComponentProvider
from components.package import PACKAGE_NAME, PACKAGE_VERSION, PUBLIC_COMPONENTS

west = k8s.Provider("west", kubeconfig="{}")
east = k8s.Provider("east", kubeconfig="{}")
served = ComponentProvider(PUBLIC_COMPONENTS, PACKAGE_NAME, None, PACKAGE_VERSION)
result = served.construct("shop", "archipelago:index:Submariner", {
    "broker": {"name": "west", "kubernetesProvider": west, "apiServer": "https://west.example.com", "caData": "Yw=="},
    "clusters": [
        {"clusterId": "west", "kubernetesProvider": west, "clusterCidr": "10.10.0.0/16", "serviceCidr": "172.20.0.0/16"},
        {"clusterId": "east", "kubernetesProvider": east, "clusterCidr": "10.20.0.0/16", "serviceCidr": "172.21.0.0/16",
         "clusterDns": "kube-dns"},
    ],
    "cableDriver": "wireguard", "natTraversal": False,
}, pulumi.ResourceOptions())
pulumi.ComponentResource("test:state:Keys", "state-" + "-".join(sorted(result.state)))
'''


def test_served_provider_constructs_a_clusterset_from_schema_inputs(tmp_path: Path) -> None:
    """Another language's camelCase inputs, nested types holding provider references included,
    through the served provider's construct: each join on its own cluster's provider, the settings
    in its release, the kube-dns wiring where asked, the outputs returned as state."""
    program = tmp_path / "__main__.py"
    program.write_text(SUBMARINER_CONSTRUCT_PROGRAM)
    records = run_program(program, "construct", "dev")
    by_name = {r["name"]: r for r in records if r["custom"]}
    for cluster in ("west", "east"):
        assert by_name[f"{cluster}-submariner-operator"]["provider"].split("::")[-1].startswith(cluster)
    east = by_name["east-submariner-operator"]["inputs"]["values"]["submariner"]
    assert (east["cableDriver"], east["natEnabled"], east["clusterId"]) == ("wireguard", False, "east")
    assert by_name["east-submariner-lighthouse-dns"]["inputs"]["spec"]["clusterIP"] == "172.21.0.53"
    assert "west-submariner-lighthouse-dns" not in by_name
    keys = next(r["name"] for r in records if r["type"] == "test:state:Keys").removeprefix("state-").split("-")
    assert set(keys) == SUBMARINER["Submariner"][3]


# -- the network fabric -----------------------------------------------------------------------------

FABRIC_COMPONENTS = {
    # component: (required inputs, inputs that are Inputs (another resource's outputs), outputs)
    "AwsGateway": ({"asn", "vpcs"}, (), {"transitGatewayId", "routeTableId", "attachmentIds"}),
    "AzureGateway": ({"asn", "location", "resourceGroupName", "resourceGroupId", "virtualNetworkName", "gatewaySubnetCidr"},
                     ("resourceGroupName", "resourceGroupId", "virtualNetworkName"), {"gatewayId", "publicIpAddresses", "ipConfigurationIds"}),
    "GcpGateway": ({"asn", "region", "networkId"}, ("networkId",), {"haVpnGatewayId", "routerId", "routerName", "interfaceIps"}),
    "VpnLink": ({"tunnelCidrs"}, (), {"tunnelCidrs", "presharedKeys"}),
    "PeeringLink": ({"kind", "a", "b"}, (), {"kind", "peeringIds"}),
    "Fabric": ({"gateways", "links"}, (), {"gatewayAsns", "linkKinds", "tunnelCidrs"}),
}


@pytest.mark.parametrize("component", sorted(FABRIC_COMPONENTS))
def test_fabric_component_schema(component: str) -> None:
    """ASNs, tunnel /30s and lists the component loops over are plain (it validates them and
    decides what to create); ids of other resources are Inputs; providers are references to
    their packages' schemas."""
    required, inputs_of_resources, outputs = FABRIC_COMPONENTS[component]
    schema = _schema()
    res = schema["resources"][f"{PACKAGE_NAME}:index:{component}"]
    inputs = res["inputProperties"]
    assert set(res["requiredInputs"]) == required
    assert all("plain" not in inputs[k] for k in inputs_of_resources)
    assert all(inputs[k].get("plain") for k in ("asn", "tunnelCidrs", "vpcs", "kind", "gateways", "links", "protect") if k in inputs)
    assert set(res["properties"]) == outputs
    types = schema["types"]
    assert "plain" not in types[f"{PACKAGE_NAME}:index:VpnLinkAwsSideArgs"]["properties"]["transitGatewayId"]
    assert types[f"{PACKAGE_NAME}:index:VpnLinkAwsSideArgs"]["properties"]["asn"].get("plain")
    gateway = types[f"{PACKAGE_NAME}:index:FabricGatewayArgs"]["properties"]
    assert gateway["awsProvider"]["$ref"].endswith("/schema.json#/resources/pulumi:providers:aws")
    assert gateway["azureProvider"]["$ref"].endswith("/schema.json#/resources/pulumi:providers:azure-native")
    assert gateway["gcpProvider"]["$ref"].endswith("/schema.json#/resources/pulumi:providers:gcp")


def test_aws_gcp_vpn_example_plans_alone() -> None:
    """AwsGateway, GcpGateway and VpnLink from their example, each from the others' outputs:
    children named from each component's name (the attachment from its VPC's), AWS resources on the
    program's AWS provider and GCP ones on its GCP provider (the link gets both in its resource
    options), four tunnels with the given /30s (AWS the first host, GCP the second: GCP's
    aws-vpn guide), every key a secret."""
    records = run_program(EXAMPLES / "aws-gcp-vpn" / "__main__.py", "aws-gcp-vpn-example", "dev")
    providers = {r["type"]: r["urn"] for r in records if r["type"].startswith("pulumi:providers:")}
    by_name = {r["name"]: r for r in records}
    for comp in ("shop-aws", "shop-gcp", "shop-link"):
        kids = [r for r in _inside(records, by_name[comp]) if r["custom"]]
        assert kids and all(r["name"].startswith(f"{comp}-") or r["name"].startswith("shop-rt") or r["name"] == "shop-tgw-attachment"
                            for r in kids), [r["name"] for r in kids]
        for r in kids:
            cloud = r["type"].split(":")[0]
            if cloud in ("aws", "gcp"):
                assert r["provider"].startswith(providers[f"pulumi:providers:{cloud}"]), r["name"]
    from offline.mocks import _public_ip  # pyright: ignore[reportPrivateUsage]

    # Customer gateway i is HA VPN interface i (the addresses the mock gives, as GCP does, at creation).
    cgws = sorted((r["name"], r["inputs"]["ipAddress"]) for r in records if r["type"] == "aws:ec2/customerGateway:CustomerGateway")
    assert cgws == [(f"shop-link-cgw{i}", _public_ip("shop-gcp-ha-vpn", str(i), first=35)) for i in (0, 1)]
    conns = [r["inputs"] for r in records if r["type"] == "aws:ec2/vpnConnection:VpnConnection"]
    assert sorted(c[f"tunnel{i}InsideCidr"] for c in conns for i in (1, 2)) == [f"169.254.100.{n}/30" for n in (0, 12, 4, 8)]
    assert all(c[f"tunnel{i}PresharedKey"] == MASK for c in conns for i in (1, 2))
    peers = sorted((r["inputs"]["peerIpAddress"], r["inputs"]["peerAsn"]) for r in records if r["type"] == "gcp:compute/routerPeer:RouterPeer")
    assert peers == [(f"169.254.100.{n}", 64601) for n in (1, 13, 5, 9)]
    ifaces = sorted(r["inputs"]["ipRange"] for r in records if r["type"] == "gcp:compute/routerInterface:RouterInterface")
    assert ifaces == [f"169.254.100.{n}/30" for n in (10, 14, 2, 6)]
    assert {r["inputs"]["sharedSecret"] for r in records if r["type"] == "gcp:compute/vPNTunnel:VPNTunnel"} == {MASK}
    route = next(r for r in records if r["type"] == "aws:ec2/route:Route")
    assert route["inputs"]["destinationCidrBlock"] == "10.20.0.0/20" and route["name"] == "shop-rt0-fabric-10-20-0-0-20"
    assert not any(r["protect"] for r in records)


def test_fabric_example_plans_alone() -> None:
    """A Fabric from its example: a gateway per region, TGW peering between the AWS regions (static
    routes both ways), a VPN link from each AWS region to Azure; each AWS VPC routes the other
    gateways' cidrs to its TGW, the Azure gateway lists every tunnel's Azure-side address on the
    instance the tunnel uses, each resource on its gateway's provider."""
    records = run_program(EXAMPLES / "fabric" / "__main__.py", "fabric-example", "dev")
    fabric = next(r for r in records if r["type"] == "archipelago:index:Fabric")
    inside = _inside(records, fabric)
    kinds = sorted((r["type"].rsplit(":", 1)[1], r["name"]) for r in inside if not r["custom"])
    assert kinds == [("AwsGateway", "shop-fabric-aws-eu-central-1"), ("AwsGateway", "shop-fabric-aws-eu-west-1"),
                     ("AzureGateway", "shop-fabric-azure-westeurope"), ("PeeringLink", "shop-fabric-aws-eu-central-1--aws-eu-west-1"),
                     ("VpnLink", "shop-fabric-aws-eu-central-1--azure-westeurope"), ("VpnLink", "shop-fabric-aws-eu-west-1--azure-westeurope")]
    routes = {(r["name"].split("-rt")[0], r["inputs"]["destinationCidrBlock"]) for r in records if r["type"] == "aws:ec2/route:Route"}
    assert routes == {("shop-eu-west-1", "10.11.0.0/16"), ("shop-eu-west-1", "10.30.0.0/16"),
                      ("shop-eu-central-1", "10.10.0.0/16"), ("shop-eu-central-1", "10.30.0.0/16")}
    tgw_routes = sorted(r["inputs"]["destinationCidrBlock"] for r in records if r["type"] == "aws:ec2transitgateway/route:Route")
    assert tgw_routes == ["10.10.0.0/16", "10.11.0.0/16"]
    vng = next(r["inputs"] for r in records if r["type"] == "azure-native:network:VirtualNetworkGateway")
    listed = [p["customBgpIpAddresses"] for p in vng["bgpSettings"]["bgpPeeringAddresses"]]
    assert listed == [["169.254.21.2", "169.254.21.6", "169.254.21.34", "169.254.21.38"],
                      ["169.254.21.10", "169.254.21.14", "169.254.21.42", "169.254.21.46"]]
    by_urn = {r["urn"]: r for r in records}

    def provider_of(r: dict[str, Any]) -> str:
        ref = r["provider"]
        return by_urn[ref if ref in by_urn else ref.rsplit("::", 1)[0]]["name"]

    peering = {r["type"].rsplit(":", 1)[1]: provider_of(r) for r in records if "peeringAttachment" in r["type"]}
    assert peering == {"PeeringAttachment": "aws-eu-west-1", "PeeringAttachmentAccepter": "aws-eu-central-1"}
    for gw in (r for r in inside if r["type"] == "archipelago:index:AwsGateway"):
        region = gw["name"].removeprefix("shop-fabric-aws-")
        assert {provider_of(r) for r in _inside(records, gw)} == {f"aws-{region}"}
    assert all(provider_of(r) == "azure" for r in inside if r["type"].startswith("azure-native:"))


AWS_END = {"asn": 64601, "transit_gateway_id": "tgw-1"}
GCP_END = {"asn": 64602, "region": "europe-west1", "ha_vpn_gateway_id": "g", "router_id": "r", "router_name": "r",
           "interface_ips": ["203.0.113.1", "203.0.113.2"]}
AZURE_END = {"asn": 64603, "gateway_id": "vng", "resource_group_name": "rg", "location": "westeurope",
             "public_ips": ["198.51.100.1", "198.51.100.2"], "ip_configuration_ids": ["c0", "c1"]}
AWS_GCP_TUNNELS = ["169.254.100.0/30", "169.254.100.4/30", "169.254.100.8/30", "169.254.100.12/30"]
FABRIC_BASE: dict[str, dict[str, Any]] = {
    "AwsGateway": {"asn": 64601, "vpcs": [{"vpc_id": "vpc-1", "subnet_ids": ["subnet-1"]}]},
    "AzureGateway": {"asn": 64603, "location": "westeurope", "resource_group_name": "rg", "resource_group_id": "/rg",
                     "virtual_network_name": "vnet", "gateway_subnet_cidr": "10.30.255.0/27"},
    "GcpGateway": {"asn": 64602, "region": "europe-west1", "network_id": "net"},
    "VpnLink": {"aws": AWS_END, "gcp": GCP_END, "tunnel_cidrs": AWS_GCP_TUNNELS},
    "PeeringLink": {"kind": "vpc-peering", "a": {"name": "a", "region": "europe-west1", "network_id": "n1"},
                    "b": {"name": "b", "region": "asia-southeast1", "network_id": "n2"}},
    "Fabric": {"gateways": [{"key": "aws/eu-west-1", "region": "eu-west-1", "aws": FABRIC_BASE_AWS}
                            for FABRIC_BASE_AWS in [{"asn": 64601, "vpcs": [{"vpc_id": "vpc-1", "subnet_ids": ["s"]}]}]]
               + [{"key": "gcp/europe-west1", "region": "europe-west1", "gcp": {"asn": 64602, "region": "europe-west1", "network_id": "n"}}],
               "links": [{"a": "aws/eu-west-1", "b": "gcp/europe-west1", "tunnel_cidrs": AWS_GCP_TUNNELS}]},
}


@pytest.mark.parametrize(("component", "args", "message"), [
    # ASNs: each cloud's own rules (stacks/fabric.py CLOUD_ASNS: Azure reserves 65515, 65517-65520).
    ("AzureGateway", {"asn": 65515}, "asn: 65515 is not usable here: Azure reserves 65515"),
    ("AwsGateway", {"asn": 64000}, "asn: 64000 is not usable here: AWS accepts 64512-65534"),
    ("GcpGateway", {"asn": 65535}, "asn: 65535 is not usable here: GCP Cloud Router needs an RFC 6996 private ASN"),
    ("AwsGateway", {"vpcs": []}, "vpcs: at least one VPC"),
    ("AwsGateway", {"remote_cidrs": ["10.0.0.0/33"]}, r"remoteCidrs\[0\]: '10.0.0.0/33' is not an IPv4 network"),
    ("AzureGateway", {"gateway_subnet_cidr": "10.30.255.0/30"}, "gatewaySubnetCidr: '10.30.255.0/30' is smaller than /29"),
    ("AzureGateway", {"bgp_addresses": [["169.254.30.1"], []]}, r"bgpAddresses\[0\]\[0\]: '169.254.30.1' is outside 169.254.21.0"),
    ("GcpGateway", {"advertised_ranges": [{"cidr": "pods"}]}, r"advertisedRanges\[0\].cidr: 'pods'"),
    # Tunnel /30s: link-local, not AWS-reserved on links to AWS, Azure's APIPA range on links to Azure.
    ("VpnLink", {"tunnel_cidrs": ["10.0.0.0/30", *AWS_GCP_TUNNELS[1:]]},
     r"tunnelCidrs\[0\]: '10.0.0.0/30' must lie inside 169.254.0.0/16"),
    ("VpnLink", {"tunnel_cidrs": [*AWS_GCP_TUNNELS[:3], "169.254.5.0/30"]}, r"tunnelCidrs\[3\]: '169.254.5.0/30' is an AWS-reserved"),
    ("VpnLink", {"tunnel_cidrs": [*AWS_GCP_TUNNELS[:3], "169.254.100.12/29"]}, r"tunnelCidrs\[3\]: '169.254.100.12/29'"),
    ("VpnLink", {"tunnel_cidrs": AWS_GCP_TUNNELS[:2]}, "tunnelCidrs: 2 given, 4 needed"),
    ("VpnLink", {"tunnel_cidrs": [*AWS_GCP_TUNNELS[:3], AWS_GCP_TUNNELS[0]]}, r"tunnelCidrs\[3\]: '169.254.100.0/30' is tunnelCidrs\[0\] too"),
    ("VpnLink", {"gcp": None, "azure": AZURE_END}, r"tunnelCidrs\[0\]: '169.254.100.0/30' must lie inside 169.254.21.0-169.254.22.255"),
    ("VpnLink", {"gcp": None}, "exactly two ends needed, 1 given"),
    ("VpnLink", {"gcp": {**GCP_END, "asn": 64601}}, "gcp.asn: 64601 is the aws end's ASN too"),
    ("VpnLink", {"gcp": {**GCP_END, "interface_ips": ["203.0.113.1"]}}, "gcp.interfaceIps: 1 given, 2 needed"),
    ("VpnLink", {"preshared_keys": ["0" + "a" * 39] * 4}, r"presharedKeys\[0\]: not 32-64 of \[A-Za-z0-9\]"),
    ("VpnLink", {"preshared_keys": ["short"] * 4}, r"presharedKeys\[0\]"),
    ("PeeringLink", {"kind": "transit"}, "kind: 'transit' is not one of tgw-peering, vnet-peering, vpc-peering"),
    ("PeeringLink", {"kind": "tgw-peering"}, "a.transitGatewayId: needed for tgw-peering"),
    ("PeeringLink", {"b": {"name": "b", "region": "europe-west1", "network_id": "n2"}}, "b.region: 'europe-west1' is end a's region too"),
    # The Fabric reports a piece's refusal under its own field.
    ("Fabric", {"links": [{"a": "aws/eu-west-1", "b": "gcp/asia-southeast1", "tunnel_cidrs": AWS_GCP_TUNNELS}]},
     r"links\[0\].b: 'gcp/asia-southeast1' names no gateway"),
    ("Fabric", {"links": [{"a": "aws/eu-west-1", "b": "gcp/europe-west1"}]}, r"links\[0\].tunnelCidrs: needed for a link across clouds"),
    ("Fabric", {"links": [{"a": "aws/eu-west-1", "b": "gcp/europe-west1", "tunnel_cidrs": ["169.254.1.0/30", *AWS_GCP_TUNNELS[1:]]}]},
     r"links\[0\].tunnelCidrs\[0\]: '169.254.1.0/30' is an AWS-reserved"),
    ("Fabric", {"gateways": [{"key": k, "region": "europe-west1", "gcp": {"asn": asn, "region": "europe-west1", "network_id": "n"}}
                             for k, asn in (("gcp/a", 64602), ("gcp/b", 64603))], "links": [{"a": "gcp/a", "b": "gcp/b"}]},
     r"links\[0\].b: 'gcp/b' is in end a's region europe-west1 too"),
    ("Fabric", {"gateways": [{"key": "aws/eu-west-1", "region": "eu-west-1", "aws": {"asn": 65535, "vpcs": [{"vpc_id": "v", "subnet_ids": []}]}}],
                "links": []}, r"gateways\[0\].aws.asn: 65535 is not usable here"),
    ("Fabric", {"gateways": [{"key": "aws/eu-west-1", "region": "eu-west-1", "aws": {"asn": 64601, "vpcs": [{"vpc_id": "v", "subnet_ids": []}],
                                                                                     "remote_cidrs": ["10.0.0.0/8"]}}],
                "links": []}, r"gateways\[0\].aws.remoteCidrs: set by the Fabric"),
])
def test_bad_fabric_args_are_refused_naming_the_field(component: str, args: dict[str, Any], message: str, tmp_path: Path) -> None:
    """Each rule as its source states it. ASNs: pulumi-aws 7.51.1 ``TransitGateway.amazon_side_asn``
    (64512-65534, 4200000000-4294967294), pulumi-gcp 10.2.0 ``RouterBgp.asn`` (RFC 6996 private),
    Azure's VPN FAQ BGP section (65515, 65517-65520 reserved; ../shared/reference/network-fabric.md
    1.5). Tunnel /30s: pulumi-aws 7.51.1 ``VpnConnection.tunnel1_inside_cidr`` (a /30 of
    169.254.0.0/16) and AWS's ``VpnTunnelOptionsSpecification`` reserved /30s; Azure's custom APIPA
    range 169.254.21.0-169.254.22.255 (learn.microsoft.com/azure/vpn-gateway/vpn-gateway-howto-aws-bgp).
    PSKs: ``VpnConnection.tunnel1_preshared_key`` (8-64, no leading 0) narrowed to the set all three
    clouds accept (reference 1.7). GatewaySubnet: /29 at least (reference 1.3, Azure VPN FAQ)."""
    merged = {k: v for k, v in {**FABRIC_BASE[component], **args}.items() if v is not None}
    program = tmp_path / "__main__.py"
    program.write_text(f"from components.network.fabric import {component}\n{component}('x', {merged!r})\n")
    with pytest.raises(Exception, match=message):
        run_program(program, "bad-args", "dev")


def test_given_preshared_keys_stay_secret(tmp_path: Path) -> None:
    """A key passed as a plain string reaches every cloud resource as a secret, and the link's
    presharedKeys output is one."""
    keys = [f"K{i}" + "a1" * 20 for i in range(4)]
    program = tmp_path / "__main__.py"
    program.write_text(
        "import pulumi\n"
        "from components.network.fabric import VpnLink\n"
        f"link = VpnLink('x', {{**{FABRIC_BASE['VpnLink']!r}, 'preshared_keys': {keys!r}}})\n"
        "pulumi.export('keys', link.preshared_keys)\n")
    records = run_program(program, "psk", "dev")
    conns = [r["inputs"] for r in records if r["type"] == "aws:ec2/vpnConnection:VpnConnection"]
    assert conns and all(c[f"tunnel{i}PresharedKey"] == MASK for c in conns for i in (1, 2))
    assert not [r for r in records if r["type"] == "random:index/randomPassword:RandomPassword"]
    assert all(keys[0] not in str(r["inputs"]) for r in records)


VPN_CONSTRUCT_PROGRAM = '''
import pulumi
import pulumi_aws as aws
import pulumi_gcp as gcp
from pulumi.provider.experimental.component import ComponentProvider
from components.package import PACKAGE_NAME, PACKAGE_VERSION, PUBLIC_COMPONENTS

providers = [aws.Provider("aws-eu-west-1", region="eu-west-1"), gcp.Provider("gcp-europe-west1", project="p", region="europe-west1")]
served = ComponentProvider(PUBLIC_COMPONENTS, PACKAGE_NAME, None, PACKAGE_VERSION)
result = served.construct("link", "archipelago:index:VpnLink", {
    "aws": {"asn": 64601, "transitGatewayId": "tgw-1"},
    "gcp": {"asn": 64602, "region": "europe-west1", "haVpnGatewayId": "g", "routerId": "r", "routerName": "router",
            "interfaceIps": ["203.0.113.1", "203.0.113.2"]},
    "tunnelCidrs": ["169.254.100.0/30", "169.254.100.4/30", "169.254.100.8/30", "169.254.100.12/30"],
    "presharedKeys": ["K" + "a1" * 20, "K" + "b2" * 20, "K" + "c3" * 20, "K" + "d4" * 20],
}, pulumi.ResourceOptions(providers=providers))
pulumi.ComponentResource("test:state:Keys", "state-" + "-".join(sorted(result.state)))
'''


def test_served_provider_constructs_a_vpn_link_from_schema_inputs(tmp_path: Path) -> None:
    """Another language's VpnLink: nested camelCase ends through the served provider's construct,
    each end's resources on that cloud's provider, the given keys secret, the outputs returned."""
    program = tmp_path / "__main__.py"
    program.write_text(VPN_CONSTRUCT_PROGRAM)
    records = run_program(program, "construct-vpn", "dev")
    cgws = sorted(r["inputs"]["ipAddress"] for r in records if r["type"] == "aws:ec2/customerGateway:CustomerGateway")
    assert cgws == ["203.0.113.1", "203.0.113.2"]
    peers = [r for r in records if r["type"] == "gcp:compute/routerPeer:RouterPeer"]
    assert len(peers) == 4 and {p["inputs"]["router"] for p in peers} == {"router"}
    assert all(r["provider"].endswith("::aws-eu-west-1") for r in records if r["type"].startswith("aws:ec2/"))
    assert all(r["provider"].endswith("::gcp-europe-west1") for r in records if r["type"].startswith("gcp:compute/"))
    conns = [r["inputs"] for r in records if r["type"] == "aws:ec2/vpnConnection:VpnConnection"]
    assert all(c[f"tunnel{i}PresharedKey"] == MASK for c in conns for i in (1, 2))
    keys = next(r["name"] for r in records if r["type"] == "test:state:Keys").removeprefix("state-").split("-")
    assert set(keys) == FABRIC_COMPONENTS["VpnLink"][2]


# -- add-ons and fleet DNS ------------------------------------------------------------------------

ADDONS = {
    # component: (required inputs, inputs that are Inputs (may come from another resource), outputs)
    "ArgoCD": ({"kubernetesProvider", "repoUrl"}, set(), {"namespaceName", "releaseName", "projectName", "appsName"}),
    "HubRegistration": ({"hubKubernetesProvider", "spokeKubernetesProvider", "spokeName", "spokeServer", "spokeCaData"},
                        {"spokeServer", "spokeCaData"}, {"secretName", "serviceAccount"}),
    "VerticalPodAutoscaler": ({"kubernetesProvider"}, set(), {"managed", "vpaNames"}),
    "ExternalDns": ({"kubernetesProvider", "zone", "zoneId", "zoneArn"},
                    {"zoneId", "zoneArn", "eksClusterName", "oidcProviderArn", "oidcIssuer", "healthCheckId"},
                    {"roleArn", "ownerId", "recordNames"}),
    "DnsFailover": ({"zone"}, set(), {"zoneId", "zoneArn", "nameServers", "healthCheckIds"}),
}


@pytest.mark.parametrize("component", sorted(ADDONS))
def test_addon_schema(component: str) -> None:
    """The Kubernetes provider a reference to the kubernetes package's provider; ids and ARNs of
    other resources Inputs; everything that decides what gets created plain."""
    required, as_inputs, outputs = ADDONS[component]
    res = _schema()["resources"][f"{PACKAGE_NAME}:index:{component}"]
    inputs = res["inputProperties"]
    assert set(res["requiredInputs"]) == required
    providers = {k for k in inputs if k.endswith("ubernetesProvider")}
    assert {k for k, v in inputs.items() if not v.get("plain")} == as_inputs | providers
    for k in providers:
        assert inputs[k]["$ref"].endswith("/schema.json#/resources/pulumi:providers:kubernetes")
    assert set(res["properties"]) == outputs


def test_vpa_example_plans_alone() -> None:
    """The chart where the cloud runs no VPA, on the program's provider; only the objects where it does."""
    records = run_program(EXAMPLES / "vertical-pod-autoscaler" / "__main__.py", "vpa-example", "dev")
    provider = next(r["urn"] for r in records if r["type"] == "pulumi:providers:kubernetes")
    shop = _records_under(records, "archipelago:index:VerticalPodAutoscaler", "shop")
    assert {r["name"] for r in shop} == {"shop-ns-vpa-system", "shop-vpa", "shop-vpa-shop-web", "shop-vpa-shop-cache"}
    assert all(r["provider"].startswith(provider) for r in shop)
    vpas = {r["inputs"]["metadata"]["name"]: r for r in shop if r["type"].endswith(":VerticalPodAutoscaler")}
    assert vpas["cache"]["inputs"]["spec"]["targetRef"] == {"apiVersion": "apps/v1", "kind": "StatefulSet", "name": "cache"}
    assert vpas["web"]["inputs"]["spec"]["updatePolicy"] == {"updateMode": "Off"}
    release = next(r for r in shop if r["type"] == "kubernetes:helm.sh/v3:Release")
    assert all(release["urn"] in v["dependencies"] for v in vpas.values())
    assert all(schemas.validate_custom_resource(v["inputs"]) == [] for v in vpas.values())  # ../shared/crds/vpa (VPA 1.7.1)
    billing = _records_under(records, "archipelago:index:VerticalPodAutoscaler", "billing")
    assert [(r["type"], r["inputs"]["spec"]["updatePolicy"]["updateMode"]) for r in billing] == \
        [("kubernetes:autoscaling.k8s.io/v1:VerticalPodAutoscaler", "Initial")]


def test_external_dns_example_plans_alone() -> None:
    """Web identity from the inputs (no Pod Identity, no key), on the zone and health check the
    program made; the row of the shared name under this cluster's owner id."""
    records = run_program(EXAMPLES / "external-dns" / "__main__.py", "external-dns-example", "dev")
    kids = {(r["type"], r["name"]): r for r in _records_under(records, "archipelago:index:ExternalDns", "shop")}
    assert set(kids) == {("kubernetes:core/v1:Namespace", "shop-ns-external-dns"), ("aws:iam/role:Role", "shop-external-dns"),
                         ("aws:iam/rolePolicy:RolePolicy", "shop-external-dns"), ("kubernetes:helm.sh/v3:Release", "shop-external-dns"),
                         ("kubernetes:externaldns.k8s.io/v1alpha1:DNSEndpoint", "shop-dns-www")}
    role = kids[("aws:iam/role:Role", "shop-external-dns")]
    assert role["inputs"]["name"] == "shop-external-dns" and role["provider"].endswith("::aws-us-east-1")
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
    assert trust["Condition"]["StringEquals"] == {"oidc.example.com/shop:sub": "system:serviceaccount:external-dns:external-dns",
                                                  "oidc.example.com/shop:aud": "sts.amazonaws.com"}
    values = kids[("kubernetes:helm.sh/v3:Release", "shop-external-dns")]["inputs"]["values"]
    assert values["txtOwnerId"] == "shop" and values["domainFilters"] == ["shop.example.com"]
    env = {e["name"]: e["value"] for e in values["env"]}
    assert env["AWS_WEB_IDENTITY_TOKEN_FILE"] == "/var/run/secrets/aws/token" and env["AWS_ROLE_ARN"].endswith(":role/shop-external-dns")
    [row] = kids[("kubernetes:externaldns.k8s.io/v1alpha1:DNSEndpoint", "shop-dns-www")]["inputs"]["spec"]["endpoints"]
    assert row["dnsName"] == "www.shop.example.com" and row["targets"] == ["shop.shop.example.com"] and row["setIdentifier"] == "shop"
    props = {p["name"]: p["value"] for p in row["providerSpecific"]}
    assert props["aws/weight"] == "100" and re.fullmatch(r"[0-9a-f]{8}-([0-9a-f]{4}-){3}[0-9a-f]{12}", props["aws/health-check-id"])


def test_dns_failover_example_plans_alone() -> None:
    """The zone and one check per endpoint named from the component; each cluster's row carries
    its own check's id, passed from DnsFailover's outputs."""
    records = run_program(EXAMPLES / "dns-failover" / "__main__.py", "dns-failover-example", "dev")
    kids = {r["name"]: r for r in _records_under(records, "archipelago:index:DnsFailover", "shop-dns")}
    assert set(kids) == {"shop-dns-zone", "east-shop-dns-health", "west-shop-dns-health"}
    assert all(r["provider"].endswith("::aws-us-east-1") for r in kids.values())
    assert kids["shop-dns-zone"]["inputs"]["forceDestroy"] is True and kids["shop-dns-zone"]["protect"] is False
    east = kids["east-shop-dns-health"]["inputs"]
    assert (east["type"], east["fqdn"], east["port"], east["resourcePath"], east["enableSni"]) == \
        ("HTTPS", "east.shop.example.com", 443, "/healthz", True)
    endpoints = [r for r in records if r["type"].endswith(":DNSEndpoint")]
    assert all(schemas.validate_custom_resource(r["inputs"]) == [] for r in endpoints)  # ../shared/crds/external-dns
    rows = {r["inputs"]["spec"]["endpoints"][0]["setIdentifier"]: r["inputs"]["spec"]["endpoints"][0] for r in endpoints}
    assert {c: {p["name"]: p["value"] for p in row["providerSpecific"]}["aws/failover"] for c, row in rows.items()} == \
        {"east": "PRIMARY", "west": "SECONDARY"}
    ids = {c: {p["name"]: p["value"] for p in row["providerSpecific"]}["aws/health-check-id"] for c, row in rows.items()}
    assert len(set(ids.values())) == 2


def test_argocd_example_plans_alone() -> None:
    """The hub from plain args: children named from the component, on the program's provider; HA
    values; the AppProject allowing exactly the spokes' given namespaces; the ApplicationSet on the
    given repository."""
    records = run_program(EXAMPLES / "argo-cd" / "__main__.py", "argo-cd-example", "dev")
    provider = next(r["urn"] for r in records if r["type"] == "pulumi:providers:kubernetes")
    kids = {r["name"]: r for r in _records_under(records, "archipelago:index:ArgoCD", "gitops")}
    assert set(kids) == {"gitops-ns-argocd", "gitops-argocd", "gitops-argocd-appproject-fleet", "gitops-argocd-applicationset-workload-clusters"}
    assert all(r["provider"].startswith(provider) for r in kids.values())
    values = kids["gitops-argocd"]["inputs"]["values"]
    assert values["redis-ha"]["enabled"] is True and values["controller"]["replicas"] == 2
    project = kids["gitops-argocd-appproject-fleet"]["inputs"]["spec"]
    assert project["sourceRepos"] == ["https://github.com/example/shop-manifests"]
    assert {(d.get("name") or d.get("server"), d["namespace"]) for d in project["destinations"]} == {
        (c, ns) for c in ("shop-eu", "shop-us", "https://shop-eu.example.com", "https://shop-us.example.com")
        for ns in ("shop", "shop-staging")}
    assert all(schemas.validate_custom_resource(r["inputs"]) == [] for r in kids.values() if r["type"].startswith("kubernetes:argoproj.io/"))
    template = kids["gitops-argocd-applicationset-workload-clusters"]["inputs"]["spec"]["template"]["spec"]
    assert template["destination"]["namespace"] == "shop-staging" and template["source"]["path"] == "clusters/{{name}}"


def test_hub_registration_example_plans_alone() -> None:
    """The spoke's identity on the spoke's provider (bound only in the given namespaces), the
    cluster Secret on the hub's, its config a secret, both waiting for the component's dependsOn."""
    records = run_program(EXAMPLES / "hub-registration" / "__main__.py", "hub-registration-example", "dev")
    providers = {r["name"]: r["urn"] for r in records if r["type"] == "pulumi:providers:kubernetes"}
    kids = {r["name"]: r for r in _records_under(records, "archipelago:index:HubRegistration", "shop-eu")}
    assert set(kids) == {"shop-eu-ns", "shop-eu-manager-role", "shop-eu-manager-sa", "shop-eu-manager-token", "shop-eu-manager-shop",
                         "shop-eu-hub-secret"}
    secret = kids.pop("shop-eu-hub-secret")
    assert secret["provider"].startswith(providers["hub"]) and all(r["provider"].startswith(providers["spoke"]) for r in kids.values())
    assert secret["inputs"]["metadata"]["name"] == "cluster-shop-eu"
    assert secret["inputs"]["metadata"]["labels"] == {"purpose": "workload", "region": "eu-west-1", "argocd.argoproj.io/secret-type": "cluster"}
    assert secret["inputs"]["stringData"] == MASK  # the token makes the whole stringData secret
    assert [(r["inputs"]["metadata"]["namespace"], r["inputs"]["roleRef"]["name"]) for r in kids.values()
            if r["type"] == "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"] == [("shop", "archipelago-argocd-manager")]
    namespace_urn = next(r["urn"] for r in records if r["name"] == "shop" and r["type"] == "kubernetes:core/v1:Namespace")
    assert namespace_urn in secret["dependencies"] and namespace_urn in kids["shop-eu-manager-shop"]["dependencies"]


ADDON_BASE = {
    "argocd": ("components.addons.argocd", "ArgoCD", {"repo_url": "https://git.example.com/shop"}),
    "hub": ("components.addons.argocd", "HubRegistration",
            {"hub_kubernetes_provider": "P", "spoke_kubernetes_provider": "P", "spoke_name": "eu", "spoke_server": "https://eu",
             "spoke_ca_data": "Y2E="}),
    "vpa": ("components.addons.vpa", "VerticalPodAutoscaler", {}),
    "external_dns": ("components.addons.external_dns", "ExternalDns",
                     {"zone": "shop.example.com", "zone_id": "Z1", "zone_arn": "arn:aws:route53:::hostedzone/Z1",
                      "oidc_provider_arn": "arn:aws:iam::1:oidc-provider/x", "oidc_issuer": "https://x"}),
    "dns": ("components.fleet.dns", "DnsFailover", {"zone": "shop.example.com"}),
}


@pytest.mark.parametrize(("component", "args", "message"), [
    ("argocd", {"repo_url": "http://git.example.com/shop"}, "repoUrl: 'http://git.example.com/shop'"),
    ("argocd", {"repo_url": "https://user:token@git.example.com/shop"}, "repoUrl: <redacted URL with credentials>"),
    ("argocd", {"revision": "{{metadata.labels.x}}"}, "revision: '{{metadata.labels.x}}'"),
    ("argocd", {"path_prefix": "../etc"}, "pathPrefix: '../etc'"),
    ("argocd", {"default_namespace": "kube-system"}, "defaultNamespace: 'kube-system' is not one of the namespaces"),
    ("argocd", {"controller_shards": 0}, "controllerShards: 0"),
    ("argocd", {"standalone": True, "spokes": [{"name": "eu", "server": "https://eu"}]}, "standalone: a standalone Argo CD"),
    ("argocd", {"spokes": [{"name": "EU", "server": "https://eu"}]}, r"spokes\[0\].name: 'EU'"),
    ("hub", {"spoke_name": "eu_1"}, "spokeName: 'eu_1'"),
    ("hub", {"namespaces": ["Shop"]}, r"namespaces\[0\]: 'Shop'"),
    ("vpa", {"update_mode": "Auto"}, "updateMode: 'Auto' is not one of"),
    ("vpa", {"targets": [{"namespace": "shop", "kind": "Pod", "name": "web"}]}, r"targets\[0\].kind: 'Pod'"),
    ("vpa", {"targets": [{"namespace": "Shop", "kind": "Deployment", "name": "web"}]}, r"targets\[0\].namespace: 'Shop'"),
    ("external_dns", {"zone": "Shop.example.com."}, "zone: 'Shop.example.com.'"),
    ("external_dns", {"policy": "delete-all"}, "policy: 'delete-all'"),
    ("external_dns", {"eks_cluster_name": "shop"}, "set exactly one"),
    ("external_dns", {"records": [{"name": "api", "routing": "failover", "value": "PRIMARY"}]}, "healthCheckId: required"),
    ("external_dns", {"health_check_id": "h", "records": [{"name": "api", "routing": "failover", "value": "FIRST"}]},
     r"records\[0\].value: 'FIRST'"),
    ("external_dns", {"health_check_id": "h", "records": [{"name": "api", "routing": "weighted", "value": "300"}]},
     r"records\[0\].value: '300' is not a weight"),
    ("dns", {"health_check": {"interval": 15}}, "healthCheck.interval: 15"),
    ("dns", {"health_check": {"type": "UDP"}}, "healthCheck.type: 'UDP'"),
    ("dns", {"endpoints": ["East"]}, r"endpoints\[0\]: 'East'"),
])
def test_bad_addon_args_are_refused_naming_the_field(component: str, args: dict[str, Any], message: str, tmp_path: Path) -> None:
    module, cls, base = ADDON_BASE[component]
    program = tmp_path / "__main__.py"
    program.write_text(
        "import pulumi_kubernetes as k8s\n"
        f"from {module} import {cls}\n"
        "p = k8s.Provider('k', kubeconfig='{}')\n"
        f"args = {{**({{'kubernetes_provider': p}} if {cls!r} != 'DnsFailover' else {{}}), **{base!r}, **{args!r}}}\n"
        "args.update({k: p for k, v in args.items() if v == 'P'})\n"
        f"{cls}('x', args)\n")
    with pytest.raises(Exception, match=message):
        run_program(program, "bad-args", "dev")


# -- the deployer runner ------------------------------------------------------------------------------

def test_deployer_runner_schema() -> None:
    """Names decide what is created (plain); ids of the management network flow into resources
    (Inputs); the outputs a workflow and a firewall need are declared."""
    res = _schema()["resources"][f"{PACKAGE_NAME}:index:DeployerRunner"]
    inputs = res["inputProperties"]
    assert set(res["requiredInputs"]) == {"clusterName", "repository", "vpcId", "subnetIds", "clusterSecurityGroupId"}
    assert {k for k, v in inputs.items() if v.get("plain")} == {"clusterName", "repository", "tokenSecretName"}
    assert set(res["properties"]) == {"projectName", "runsOn", "securityGroupId"}
    assert all(v.get("description") for v in [*inputs.values(), *res["properties"].values()])


def test_deployer_runner_example_plans_alone() -> None:
    """The runner from its example: children on the program's AWS provider, the CodeBuild project in
    the given subnets reading its GitHub token from Secrets Manager (source auth SECRETS_MANAGER:
    pulumi-aws 7.51.1 ``ProjectSourceAuthArgs.type``; no CodeConnections connection, which AWS
    creates PENDING until someone approves it in the console), a webhook starting one build per
    queued workflow job (CodeBuild user guide, action-runner-overview: filter EVENT
    WORKFLOW_JOB_QUEUED), and the private API endpoint admitting only the runner's group."""
    records = run_program(EXAMPLES / "deployer-runner" / "__main__.py", "deployer-runner-example", "dev")
    kids = {r["name"]: r for r in _records_under(records, "archipelago:index:DeployerRunner", "deployer")}
    assert set(kids) == {"deployer-sg", "deployer-to-api", "deployer-role", "deployer-policy", "deployer-project", "deployer-webhook"}
    assert all(r["provider"].split("::")[-1].startswith("aws-eu-west-1") for r in kids.values())
    project = kids["deployer-project"]["inputs"]
    assert project["name"] == "shop-deployer"
    assert project["source"]["auth"]["type"] == "SECRETS_MANAGER" and project["source"]["location"] == "https://github.com/example/platform"
    assert project["vpcConfig"]["subnets"] == ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"]
    hook = kids["deployer-webhook"]["inputs"]
    assert hook["filterGroups"] == [{"filters": [{"type": "EVENT", "pattern": "WORKFLOW_JOB_QUEUED"}]}]
    rule = kids["deployer-to-api"]["inputs"]
    assert (rule["securityGroupId"], rule["fromPort"], rule["toPort"], rule["ipProtocol"]) == ("sg-0cccccccccccccccc", 443, 443, "tcp")
    assert "cidrIpv4" not in rule and rule["referencedSecurityGroupId"]
    assert not any(r["type"] == "aws:codestarconnections/connection:Connection" for r in records)


@pytest.mark.parametrize(("args", "message"), [
    ({"cluster_name": "Shop"}, "clusterName: 'Shop' is not 1-40 lowercase"),
    ({"cluster_name": "s" * 41}, "clusterName: 's{41}' is not 1-40 lowercase"),
    ({"repository": "git@github.com:example/platform.git"}, "repository: 'git@github.com:example/platform.git' is not https://github.com/"),
])
def test_deployer_runner_refuses_bad_args(tmp_path: Path, args: dict[str, Any], message: str) -> None:
    base = {"cluster_name": "shop", "repository": "https://github.com/example/platform", "vpc_id": "vpc-1",
            "subnet_ids": ["subnet-1"], "cluster_security_group_id": "sg-1"}
    program = tmp_path / "__main__.py"
    program.write_text("from components.fleet.deployer import DeployerRunner\n"
                       f"DeployerRunner('deployer', {{**{base!r}, **{args!r}}})\n")


def _descendants(records: list[dict[str, Any]], typ: str, name: str) -> list[dict[str, Any]]:
    by_urn = {r["urn"]: r for r in records}
    top = next(r for r in records if r["type"] == typ and r["name"] == name)

    def inside(r: dict[str, Any]) -> bool:
        node = by_urn.get(r.get("parent") or "")
        while node is not None:
            if node is top:
                return True
            node = by_urn.get(node.get("parent") or "")
        return False

    return [r for r in records if inside(r)]


# -- the mesh and metrics components ------------------------------------------------------------

MESH_METRICS_EXAMPLES = {
    # example: (component type, component name, children named from it or its clusters' names, kinds that must be secret)
    "istio-cluster": ("archipelago:index:IstioCluster", "east",
                      {"east-ns-istio-system", "east-ns-istio-cni", "east-istio-cacerts", "east-istio-base", "east-istio-cni",
                       "east-istiod", "east-istio-eastwestgateway", "east-istio-locality", "east-mesh-one-path",
                       "east-istio-reader-role", "east-istio-reader-token"}),
    "istio-mesh": ("archipelago:index:IstioMesh", "shop-mesh",
                   {"shop-mesh-tls", "shop-mesh-root-key", "shop-mesh-root-ca", "east-istio-ca-key", "west-istio-ca",
                    "east-istio", "west-istio", "east-istiod", "west-istiod", "east-istio-remote-secrets", "west-istio-remote-secrets"}),
    "mesh-traffic": ("archipelago:index:MeshTraffic", "shop",
                     {"shop-shop-mesh-istiod", "shop-shop-mesh-sidecars", "shop-shop-mesh-eastwest", "shop-shop-staging-mesh-eastwest"}),
    "monitoring": ("archipelago:index:Monitoring", "shop-west",
                   {"shop-west-ns-monitoring", "shop-west-ns-monitoring-node", "shop-west-metrics-tls", "shop-west-kps",
                    "shop-west-metrics-federate", "shop-west-metrics-federate-ingress"}),
    "fleet-metrics": ("archipelago:index:FleetMetrics", "shop-metrics",
                      {"shop-metrics-ca", "hub-monitoring", "west-monitoring", "lab-monitoring", "hub-metrics-cert",
                       "hub-grafana-admin", "hub-federate-west", "west-metrics-federate", "west-kps", "lab-kps"}),
}


@pytest.mark.parametrize("example", sorted(MESH_METRICS_EXAMPLES))
def test_mesh_and_metrics_examples_plan_alone(example: str) -> None:
    """Each planned from its example with nothing of the fleet: children named from the
    component's name (fleet-wide ones: from their clusters' names), every in-cluster object on a
    Kubernetes provider the program made, and every Secret's data a Pulumi secret."""
    typ, name, names = MESH_METRICS_EXAMPLES[example]
    records = run_program(EXAMPLES / example / "__main__.py", f"{example}-example", "dev")
    children = _descendants(records, typ, name)
    assert names <= {r["name"] for r in children}, names - {r["name"] for r in children}
    providers = {r["urn"] for r in records if r["type"] == "pulumi:providers:kubernetes"}
    k8s_objects = [r for r in children if r["custom"] and r["type"].startswith("kubernetes:")]
    assert k8s_objects and all(r["provider"] in providers for r in k8s_objects)
    secrets = [r for r in k8s_objects if r["type"] == "kubernetes:core/v1:Secret" and r["name"].endswith(("cacerts", "remote-secrets", "metrics-tls"))]
    assert (secrets or example == "mesh-traffic") and all(r["inputs"]["stringData"] == MASK for r in secrets)


def test_istio_mesh_example_links_each_cluster_to_the_other() -> None:
    """One remote secret per cluster, on that cluster's own provider, waiting for its namespace;
    the per-cluster CA keys protected only when asked (protectKeys)."""
    records = run_program(EXAMPLES / "istio-mesh" / "__main__.py", "istio-mesh-example", "dev")
    providers = {r["name"]: r["urn"] for r in records if r["type"] == "pulumi:providers:kubernetes"}
    secrets = {r["name"]: r for r in records if r["name"].endswith("-istio-remote-secrets")}
    assert set(secrets) == {"east-istio-remote-secrets", "west-istio-remote-secrets"}
    for cluster in ("east", "west"):
        s = secrets[f"{cluster}-istio-remote-secrets"]
        assert s["provider"] == providers[cluster]
        assert s["inputs"]["metadata"]["labels"] == {"istio/multiCluster": "true"}
        ns = next(r["urn"] for r in records if r["name"] == f"{cluster}-ns-istio-system")
        assert ns in s["dependencies"]
    istiod = {r["name"]: r["inputs"]["values"] for r in records if r["type"] == "kubernetes:helm.sh/v3:Release" and r["name"].endswith("-istiod")}
    assert {n: v["global"]["network"] for n, v in istiod.items()} == {"east-istiod": "east-net", "west-istiod": "west-net"}
    assert {v["global"]["meshID"] for v in istiod.values()} == {"shop-mesh"}
    assert not any(r.get("protect") for r in records)


def _fix_provider(value: Any) -> str:
    return repr(value).replace("'PROVIDER'", "p")


MESH_METRICS_BASE = {
    "IstioCluster": ("components.addons.istio", {"kubernetes_provider": "PROVIDER", "mesh_id": "m", "network": "n", "ca_cert": "c",
                                                 "ca_key": "k", "root_cert": "r", "api_server": "https://x", "api_server_ca": ""}),
    "IstioMesh": ("components.fleet.mesh", {"mesh_id": "m", "clusters": [
        {"name": "a", "network": "a", "kubernetes_provider": "PROVIDER", "api_server": "https://a", "api_server_ca": ""}]}),
    "MeshTraffic": ("components.security.mesh_traffic", {"kubernetes_provider": "PROVIDER", "namespaces": ["shop"]}),
    "Monitoring": ("components.addons.metrics", {"kubernetes_provider": "PROVIDER", "cluster_name": "c", "ca_cert": "c", "cert": "c", "key": "k"}),
    "FleetMetrics": ("components.fleet.metrics", {"environment": "dev", "clusters": [
        {"name": "a", "kubernetes_provider": "PROVIDER", "hub": True}]}),
}


@pytest.mark.parametrize(("component", "args", "message"), [
    ("IstioCluster", {"network": "East_Net"}, "network: 'East_Net' is not a DNS-1123 label"),
    ("IstioCluster", {"gateway_source_ranges": ["everywhere"]}, "gatewaySourceRanges: 'everywhere' is not an IPv4 CIDR"),
    ("IstioCluster", {"locality": {"failover": [{"from_locality": "a", "to_locality": "b"}],
                                   "distribute": [{"from_locality": "a/*", "to": {"b/*": 100}}]}}, "locality: failover and distribute are exclusive"),
    ("IstioCluster", {"locality": {"distribute": [{"from_locality": "a/*", "to": {"b/*": 60}}]}}, r"locality.distribute\[a/\*\].to: weights sum to 60"),
    ("IstioCluster", {"outlier_detection": {"interval": "soon"}}, "outlierDetection.interval: 'soon'"),
    ("IstioMesh", {"clusters": [{"name": "a", "network": "a", "kubernetes_provider": "PROVIDER", "api_server": "", "api_server_ca": ""}] * 2},
     r"clusters\[1\].name: 'a' appears twice"),
    ("IstioMesh", {"mesh_id": "Mesh!"}, "meshId: 'Mesh!' is not a DNS-1123 label"),
    ("MeshTraffic", {"remote_gateway_ranges": ["10.0.0.0/33"]}, "remoteGatewayRanges: '10.0.0.0/33' is not an IPv4 CIDR"),
    ("Monitoring", {"spokes": [{"name": "b"}]}, "spokes: only the hub federates spokes"),
    ("Monitoring", {"prometheus": {"retention": "forever"}}, "prometheus.retention: 'forever'"),
    ("Monitoring", {"export": True, "federate_load_balancer": {"annotations": {}, "source_ranges": []}}, "federateLoadBalancer and export are exclusive"),
    ("FleetMetrics", {"clusters": [{"name": n, "kubernetes_provider": "PROVIDER", "hub": True} for n in ("a", "b")]},
     r"clusters: exactly one hub, found 2 \(a, b\)"),
    ("FleetMetrics", {"clusters": [{"name": "a", "kubernetes_provider": "PROVIDER", "hub": True},
                                   {"name": "b", "kubernetes_provider": "PROVIDER", "federation": "vpn"}]}, r"clusters\[b\].federation: 'vpn'"),
    ("FleetMetrics", {"clusters": [{"name": "a", "kubernetes_provider": "PROVIDER", "hub": True},
                                   {"name": "b", "kubernetes_provider": "PROVIDER", "federation": "load-balancer",
                                    "load_balancer_address": "10.0.0.9", "load_balancer_annotations": {"x": "y"}}]},
     "hubSourceRanges: needed when a spoke is federated through a load balancer"),
])
def test_bad_mesh_and_metrics_args_are_refused_naming_the_field(component: str, args: dict[str, Any], message: str, tmp_path: Path) -> None:
    module, base = MESH_METRICS_BASE[component]
    program = tmp_path / "__main__.py"
    program.write_text(
        "import pulumi_kubernetes as k8s\n"
        f"from {module} import {component}\n"
        "p = k8s.Provider('k', kubeconfig='{}')\n"
        f"{component}('x', {{**{_fix_provider(base)}, **{_fix_provider(args)}}})\n")
    with pytest.raises(Exception, match=message):
        run_program(program, "bad-args", "dev")


def test_mesh_metrics_and_ports_schema() -> None:
    """Secrets and values that flow from other resources (CA material, API server) are Inputs;
    what decides which resources exist (clusters, switches, names) is plain; the per-cluster entries
    of the fleet-wide components are typed objects holding a reference to each cluster's provider
    (FleetPorts: its cloud's provider, in the one cloud block the entry has)."""
    schema = _schema()
    res = schema["resources"]
    istio = res[f"{PACKAGE_NAME}:index:IstioCluster"]["inputProperties"]
    assert all("plain" not in istio[k] for k in ("caCert", "caKey", "rootCert", "apiServer", "apiServerCa"))
    assert all(istio[k].get("plain") for k in ("meshId", "network", "gatewaySourceRanges", "namePrefix"))
    assert set(res[f"{PACKAGE_NAME}:index:IstioCluster"]["properties"]) == {"network", "clusterName", "namespaceName", "readerKubeconfig"}
    mesh = res[f"{PACKAGE_NAME}:index:IstioMesh"]
    assert mesh["inputProperties"]["clusters"]["items"]["$ref"].endswith(":index:MeshClusterArgs")
    entry = schema["types"][f"{PACKAGE_NAME}:index:MeshClusterArgs"]["properties"]
    assert entry["kubernetesProvider"]["$ref"].endswith("/schema.json#/resources/pulumi:providers:kubernetes")
    assert set(mesh["properties"]) == {"meshId", "rootCert", "networks"}
    mon = res[f"{PACKAGE_NAME}:index:Monitoring"]["inputProperties"]
    assert "plain" not in mon["key"] and mon["hub"].get("plain") and mon["prometheus"]["$ref"].endswith(":index:PrometheusArgs")
    lb = schema["types"][f"{PACKAGE_NAME}:index:FederateLoadBalancerArgs"]["properties"]
    assert "plain" not in lb["annotations"]["additionalProperties"]  # an Input: e.g. a reserved address's name
    fm = res[f"{PACKAGE_NAME}:index:FleetMetrics"]
    assert fm["inputProperties"]["clusters"]["items"]["$ref"].endswith(":index:MetricsClusterArgs")
    assert set(fm["properties"]) == {"hub", "federated", "notFederated", "caCert"}
    assert set(res[f"{PACKAGE_NAME}:index:MeshTraffic"]["properties"]) == {"policyNames"}
    ports = res[f"{PACKAGE_NAME}:index:FleetPorts"]
    assert ports["inputProperties"]["clusters"]["items"]["$ref"].endswith(":index:PortsClusterArgs")
    for cloud, provider in (("Aws", "aws"), ("Azure", "azure-native"), ("Gcp", "gcp")):
        fw = schema["types"][f"{PACKAGE_NAME}:index:{cloud}FirewallArgs"]["properties"]
        assert fw["provider"]["$ref"].endswith(f"/schema.json#/resources/pulumi:providers:{provider}")


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_mesh_and_metrics_keep_their_deployed_urns(stack: str, request: pytest.FixtureRequest) -> None:
    """IstioCluster and Monitoring moved from under their cluster into the fleet-wide IstioMesh and
    FleetMetrics; each carries an alias to the URN it was deployed under, so the engine still answers
    the URNs deployed stacks hold for them and (through the parent's alias) for their children;
    MeshTraffic stayed under its cluster (its type renamed to the one scheme, aliased)."""
    plan = request.getfixturevalue(f"{stack}_plan")
    by_urn = plan.by_urn()
    # The clusters' type before the one token scheme (components/tokens.py), as deployed stacks hold it.
    types = {r["name"]: "archipelago:clusters:" + r["type"].rsplit(":", 1)[-1] for r in plan.resources
             if is_component(r, CLUSTER_COMPONENTS)}
    answered: set[str] = set()
    for r in plan.resources:
        answered |= previous_urns(r, by_urn)
    prefix = f"urn:pulumi:{stack}::archipelago::"
    for c in plan.spec.clusters:
        t = types[c.name]
        assert f"{prefix}{t}$archipelago:istio:IstioCluster::{c.name}-istio" in answered
        assert f"{prefix}{t}$archipelago:istio:IstioCluster$kubernetes:helm.sh/v3:Release::{c.name}-istiod" in answered
        assert f"{prefix}{t}$archipelago:addons:Monitoring::{c.name}-monitoring" in answered
        assert f"{prefix}{t}$archipelago:addons:Monitoring$kubernetes:helm.sh/v3:Release::{c.name}-kps" in answered
        assert f"{prefix}{t}$archipelago:security:MeshTraffic::{c.name}-mesh-traffic" in answered


def test_fleet_ports_example_plans_alone() -> None:
    """Each cluster's rules on its own cloud's firewall through the program's provider, named from
    the cluster: one AWS ingress rule per (port, source CIDR), one GCP firewall rule per port
    targeting the nodes' service account."""
    records = run_program(EXAMPLES / "fleet-ports" / "__main__.py", "fleet-ports-example", "dev")
    rules = _descendants(records, "archipelago:index:FleetPorts", "shop-ports")
    providers = {r["type"]: r["urn"] for r in records if r["type"].startswith("pulumi:providers:")}
    aws_rules = {r["name"]: r for r in rules if r["type"] == "aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule"}
    assert set(aws_rules) == {"east-fleet-istio-mtls-10-30-0-0-16", "east-fleet-istio-mtls-100-66-0-0-16", "east-fleet-kube-api-10-30-0-0-16"}
    assert all(r["provider"] == providers["pulumi:providers:aws"] and r["inputs"]["securityGroupId"] == "sg-0123" for r in aws_rules.values())
    fw = next(r for r in rules if r["type"] == "gcp:compute/firewall:Firewall")
    assert fw["name"] == "europe-fleet-istio-mtls" and fw["provider"] == providers["pulumi:providers:gcp"]
    assert fw["inputs"]["sourceRanges"] == ["10.20.0.0/16"] and fw["inputs"]["allows"] == [{"protocol": "tcp", "ports": ["15443"]}]
    assert fw["inputs"]["targetServiceAccounts"] == ["nodes@shop.iam.gserviceaccount.com"]


@pytest.mark.parametrize(("cluster", "message"), [
    ({"name": "a", "openings": []}, r"clusters\[a\]: exactly one of aws, azure, gcp \(found none\)"),
    ({"name": "a", "openings": [{"name": "x", "protocol": "icmp", "port": 1, "sources": []}], "gcp": {}},
     r"clusters\[a\].openings\[x\].protocol: 'icmp'"),
    ({"name": "a", "openings": [{"name": "x", "protocol": "tcp", "port": 70000, "sources": []}], "gcp": {}},
     r"clusters\[a\].openings\[x\].port: 70000"),
    ({"name": "a", "openings": [{"name": "x", "protocol": "tcp", "port": 1, "sources": ["0.0.0.0/-1"]}], "gcp": {}},
     r"clusters\[a\].openings\[x\].sources: '0.0.0.0/-1'"),
])
def test_bad_fleet_ports_args_are_refused_naming_the_field(cluster: dict[str, Any], message: str, tmp_path: Path) -> None:
    program = tmp_path / "__main__.py"
    program.write_text(f"from components.fleet.ports import FleetPorts\nFleetPorts('x', {{'clusters': [{cluster!r}]}})\n")
    with pytest.raises(Exception, match=message):
        run_program(program, "bad-args", "dev")


# --- the add-ons with cloud plumbing: Velero, VeleroDrLink, NodeProvisioning-----------------------------------

PLUMBED_ADDONS = {
    # component: (required inputs, inputs that are Inputs (may come from other resources), outputs)
    "Velero": ({"kubernetesProvider", "plugin", "bucket"}, ("bucket", "prefix", "credentialsFile"), {"bucket", "scheduleName"}),
    "VeleroDrLink": ({"kubernetesProvider", "peer", "plugin", "bucket", "credentialFile"}, ("bucket", "prefix", "credentialFile"),
                     {"location"}),
    "NodeProvisioning": ({"kubernetesProvider", "capacityTypes", "cpuLimit", "memoryLimit"}, ("nodeClassSpec",),
                         {"nodePoolName", "capacityTypes"}),
}


@pytest.mark.parametrize("component", sorted(PLUMBED_ADDONS))
def test_plumbed_addon_schema(component: str) -> None:
    """The add-ons take a Kubernetes provider and plain values or Inputs, nothing cloud-specific:
    what decides which objects exist (plugin, peer, node class kind, the chart) is plain; names of
    other resources (bucket, credential file, node class spec) are Inputs."""
    required, flowing, outputs = PLUMBED_ADDONS[component]
    schema = _schema()
    res = schema["resources"][f"{PACKAGE_NAME}:index:{component}"]
    inputs = res["inputProperties"]
    assert set(res["requiredInputs"]) == required
    assert inputs["kubernetesProvider"]["$ref"].endswith("/schema.json#/resources/pulumi:providers:kubernetes")
    assert all("plain" not in inputs[k] for k in flowing), [k for k in flowing if inputs[k].get("plain")]
    assert all(inputs[k].get("plain") for k in ("plugin", "peer", "nodeClassKind", "karpenter", "drPeer", "namePrefix")
               if k in inputs)
    assert set(res["properties"]) == outputs
    assert not {k for k in inputs if any(c in k.lower() for c in ("aws", "azure", "gcp", "cloud"))}, "no cloud switch"


ADDON_EXAMPLES = {
    # example: (component type, name, children it must have)
    "velero": ("archipelago:index:Velero", "shop",
               {"shop-ns-velero", "shop-velero", "shop-velero-backupstoragelocation-default", "shop-velero-schedule-shop-daily"}),
    "velero-dr-link": ("archipelago:index:VeleroDrLink", "shop-dr",
                       {"shop-dr-velero-dr-shop-eu", "shop-dr-velero-backupstoragelocation-dr-shop-eu"}),
    "node-provisioning": ("archipelago:index:NodeProvisioning", "shop",
                          {"shop-karpenter", "shop-archipelago-nodeclass", "shop-spot-first-nodepool"}),
}


@pytest.mark.parametrize("example", sorted(ADDON_EXAMPLES))
def test_addon_example_plans_alone(example: str) -> None:
    """Each add-on planned from its example with nothing but a kubeconfig (and, for Velero, a
    bucket the program makes): children named from the component's name, every object through
    the program's Kubernetes provider, the objects valid against their CRDs."""
    from offline.schemas import validate_custom_resource

    typ, name, names = ADDON_EXAMPLES[example]
    records = run_program(EXAMPLES / example / "__main__.py", f"{example}-example", "dev")
    component = next(r for r in records if r["type"] == typ)
    assert component["name"] == name
    children = [r for r in records if r.get("parent") == component["urn"]]
    assert {r["name"] for r in children} == names
    provider = next(r["urn"] for r in records if r["type"] == "pulumi:providers:kubernetes")
    assert all(r["provider"] == provider for r in children)
    for r in children:
        if r["type"].startswith("kubernetes:") and r["inputs"].get("kind") and "." in r["inputs"]["apiVersion"]:
            obj = {k: r["inputs"][k] for k in ("apiVersion", "kind", "metadata", "spec") if k in r["inputs"]}
            assert validate_custom_resource(obj) == [], r["name"]
    by_name = {r["name"]: r for r in children}
    if example == "velero":
        bsl = by_name["shop-velero-backupstoragelocation-default"]["inputs"]["spec"]
        assert bsl["provider"] == "velero.io/aws" and bsl["objectStorage"]["prefix"] == "shop" and bsl["config"] == {"region": "eu-west-1"}
        schedule = by_name["shop-velero-schedule-shop-daily"]["inputs"]["spec"]
        assert schedule["schedule"] == "30 3 * * *" and schedule["template"]["includedNamespaces"] == ["shop"]
        assert by_name["shop-velero"]["inputs"]["values"]["credentials"] == {"useSecret": False}
    if example == "velero-dr-link":
        secret = by_name["shop-dr-velero-dr-shop-eu"]
        assert secret["inputs"]["stringData"] == MASK or secret["inputs"]["stringData"]["cloud"] == MASK
        spec = by_name["shop-dr-velero-backupstoragelocation-dr-shop-eu"]["inputs"]["spec"]
        assert spec["accessMode"] == "ReadOnly" and spec["credential"] == {"name": "velero-dr-shop-eu", "key": "cloud"}
    if example == "node-provisioning":
        release = by_name["shop-karpenter"]
        assert release["inputs"]["values"]["settings"]["interruptionQueue"] == "shop-karpenter"
        pool = by_name["shop-spot-first-nodepool"]
        assert {release["urn"], by_name["shop-archipelago-nodeclass"]["urn"]} <= set(pool["dependencies"])
        reqs = pool["inputs"]["spec"]["template"]["spec"]["requirements"]
        assert reqs[0] == {"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot", "on-demand"]}


_K8S = "k8s.Provider('k', kubeconfig='{}')"
PLUMBED_BASE = {
    "velero": ("Velero", {"plugin": "velero.io/aws", "bucket": "b"}),
    "autoscaling": ("NodeProvisioning", {"capacity_types": ["spot"], "cpu_limit": 10, "memory_limit": "10Gi"}),
}


@pytest.mark.parametrize(("module", "args", "message"), [
    ("velero", {"plugin": "velero.io/ibm"}, "plugin: 'velero.io/ibm' is not one of"),
    ("velero", {"schedule": "0 2 * *"}, "schedule: '0 2 \\* \\*' is not a valid 5-field cron"),
    ("velero", {"ttl": "30d"}, "ttl: '30d' must be a positive duration"),
    ("velero", {"included_namespaces": ["Prod"]}, r"includedNamespaces\[0\]: 'Prod'"),
    ("velero", {"dr_peer": {"name": "eu", "plugin": "s3"}}, "drPeer.plugin: 's3'"),
    ("autoscaling", {"capacity_types": ["spot", "preemptible"]}, r"capacityTypes\[1\]: 'preemptible'"),
    ("autoscaling", {"capacity_types": ["spot", "spot"]}, "more than once"),
    ("autoscaling", {"memory_limit": "1000G"}, "memoryLimit: '1000G'"),
    ("autoscaling", {"node_class_kind": "GCENodeClass", "node_class_spec": {}}, "nodeClassKind: 'GCENodeClass'"),
    ("autoscaling", {"node_class_kind": "EC2NodeClass"}, "nodeClassSpec: missing"),
    ("autoscaling", {"expire_after": "30d"}, "expireAfter: '30d'"),
    ("autoscaling", {"weight": 0}, "weight: 0"),
    ("autoscaling", {"startup_taints": [{"key": "k", "effect": "Evict"}]}, r"startupTaints\[0\].effect: 'Evict'"),
])
def test_bad_plumbed_addon_args_are_refused_naming_the_field(module: str, args: dict[str, Any], message: str, tmp_path: Path) -> None:
    cls, base = PLUMBED_BASE[module]
    program = tmp_path / "__main__.py"
    program.write_text(
        "import pulumi_kubernetes as k8s\n"
        f"from components.addons.{module} import {cls}\n"
        f"{cls}('x', {{'kubernetes_provider': {_K8S}, **{base!r}, **{args!r}}})\n")
    with pytest.raises(Exception, match=message):
        run_program(program, "bad-args", "dev")


CONSTRUCT_VELERO = '''
import pulumi
import pulumi_kubernetes as k8s
from pulumi.provider.experimental.component import ComponentProvider
from components.package import PACKAGE_NAME, PACKAGE_VERSION, PUBLIC_COMPONENTS

k8s_provider = k8s.Provider("k", kubeconfig="{}")
served = ComponentProvider(PUBLIC_COMPONENTS, PACKAGE_NAME, None, PACKAGE_VERSION)
result = served.construct("shop", "archipelago:index:Velero", {
    "kubernetesProvider": k8s_provider, "plugin": "velero.io/gcp", "bucket": "shop-backups",
    "locationConfig": {"serviceAccount": "velero@p.iam.gserviceaccount.com"},
    "serviceAccountAnnotations": {"iam.gke.io/gcp-service-account": "velero@p.iam.gserviceaccount.com"},
    "drPeer": {"name": "shop-eu", "plugin": "velero.io/azure", "env": {"AZURE_FEDERATED_TOKEN_FILE": "/t"},
               "secretEnv": ["AZURE_CLIENT_ID"]},
}, pulumi.ResourceOptions())
pulumi.ComponentResource("test:state:Keys", "state-" + "-".join(sorted(result.state)))
'''


def test_served_provider_constructs_velero_from_schema_inputs(tmp_path: Path) -> None:
    """Another language's camelCase inputs (a nested drPeer too) through the served provider's
    construct: the peer's plugin is installed and its environment reaches both pods."""
    program = tmp_path / "__main__.py"
    program.write_text(CONSTRUCT_VELERO)
    records = run_program(program, "construct", "dev")
    by_name = {r["name"]: r for r in records}
    values = by_name["shop-velero"]["inputs"]["values"]
    assert [c["image"].split(":")[0] for c in values["initContainers"]] == [
        "velero/velero-plugin-for-gcp", "velero/velero-plugin-for-microsoft-azure"]
    env = values["configuration"]["extraEnvVars"]
    assert env[0] == {"name": "AZURE_FEDERATED_TOKEN_FILE", "value": "/t"}
    assert env[1]["valueFrom"]["secretKeyRef"] == {"name": "velero-dr-shop-eu", "key": "AZURE_CLIENT_ID", "optional": True}
    assert values["nodeAgent"]["extraVolumes"][0]["name"] == "velero-dr-token"
    keys = next(r["name"] for r in records if r["type"] == "test:state:Keys").removeprefix("state-").split("-")
    assert set(keys) == PLUMBED_ADDONS["Velero"][2]


@pytest.mark.parametrize("module", ["components.addons.velero", "components.addons.autoscaling"])
def test_addons_never_touch_a_cloud(module: str) -> None:
    """The add-on modules import no cloud SDK and never ask which cloud they are on: everything
    cloud-specific comes in as values from the plumbing beside the cluster components."""
    import ast

    tree = ast.parse(Path(importlib.import_module(module).__file__ or "").read_text())
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert not {m for m in imported if m.split(".")[0] in {"pulumi_aws", "pulumi_azure_native", "pulumi_gcp"}}
    assert not [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Attribute) and n.attr == "cloud"]
