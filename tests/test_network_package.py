"""The network components as package components: schema, each example planned alone, bad args
refused naming the field, and the fleet's translation keeping the plan it had.

Limits checked by the components, with their sources:
- AWS VPC and subnet CIDR blocks /16 to /28:
  https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html (and subnet-sizing.html).
- Azure: API server subnet /28 or larger
  (https://learn.microsoft.com/azure/aks/api-server-vnet-integration), NAT gateway TCP idle
  timeout 4-120 minutes (https://learn.microsoft.com/azure/nat-gateway/nat-gateway-resource).
- GCP: flow-log intervals and metadata choices, flow sampling in [0, 1] and Cloud NAT log filters
  as pulumi_gcp 10.2.0 documents them (compute/_inputs.py, SubnetworkLogConfigArgs and
  RouterNatLogConfigArgs); secondary range names are RFC 1035 labels (compute v1 Subnetwork).
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

import pytest

from components.network.aws import aws_network_args
from components.package import PACKAGE_NAME
from offline.plan import run_program

from .test_package import EXAMPLES, _schema  # pyright: ignore[reportPrivateUsage]

NETWORKS = {
    # component: (required inputs, outputs)
    "AwsNetwork": ({"vpcCidr", "zones"},
                   {"vpcId", "privateSubnetIds", "publicSubnetIds", "podSubnetIds", "privateRouteTableIds", "natGatewayIds"}),
    "AzureNetwork": ({"region", "vnetCidr", "zones"},
                     {"resourceGroupName", "resourceGroupId", "vnetId", "vnetName", "nodeSubnetId", "apiserverSubnetId",
                      "nodeSecurityGroupName", "natGatewayId"}),
    "GcpNetwork": ({"region", "nodeSubnetCidr", "podCidr", "serviceCidr"},
                   {"networkId", "networkName", "subnetworkId", "subnetworkName", "podsRangeName", "servicesRangeName", "routerName"}),
}


@pytest.mark.parametrize("component", sorted(NETWORKS))
def test_network_schema(component: str) -> None:
    """Every input plain (ranges and zones decide which subnets exist, and are checked before any
    is made); the ids come out as outputs a cluster component takes as Inputs."""
    required, outputs = NETWORKS[component]
    res = _schema()["resources"][f"{PACKAGE_NAME}:index:{component}"]
    assert set(res["requiredInputs"]) == required
    assert all(p.get("plain") for p in res["inputProperties"].values())
    assert set(res["properties"]) == outputs
    assert "clusterName" in res["inputProperties"]


def _aws(records: list[dict[str, Any]]) -> None:
    subnets = {r["name"]: r["inputs"] for r in records if r["type"] == "aws:ec2/subnet:Subnet"}
    assert set(subnets) == {f"shop-{kind}-eu-west-1{z}" for kind in ("private", "public", "pods") for z in "ab"}
    pods = [s for n, s in subnets.items() if n.startswith("shop-pods-")]
    assert all(ipaddress.IPv4Network(s["cidrBlock"]).subnet_of(ipaddress.IPv4Network("100.64.0.0/16")) for s in pods)
    private = [s for n, s in subnets.items() if n.startswith("shop-private-")]
    assert all(s["tags"]["kubernetes.io/cluster/shop"] == "shared" and s["tags"]["karpenter.sh/discovery"] == "shop" for s in private)
    # natPerZone false: one NAT gateway, every zone's default route through it.
    nats = [r for r in records if r["type"] == "aws:ec2/natGateway:NatGateway"]
    routes = [r for r in records if r["type"] == "aws:ec2/route:Route"]
    assert len(nats) == 1 and len(routes) == 2 and all(r["inputs"]["destinationCidrBlock"] == "0.0.0.0/0" for r in routes)


def _azure(records: list[dict[str, Any]]) -> None:
    subnets = {r["inputs"]["subnetName"]: r["inputs"] for r in records if r["type"] == "azure-native:network:Subnet"}
    assert subnets["nodes"]["addressPrefix"] == "10.20.0.0/17"  # the VNet's first half
    assert subnets["apiserver"]["addressPrefix"] == "10.20.255.240/28"  # its last /28
    assert subnets["apiserver"]["delegations"][0]["serviceName"] == "Microsoft.ContainerService/managedClusters"
    assert all(s["defaultOutboundAccess"] is False for s in subnets.values())
    nat = next(r["inputs"] for r in records if r["type"] == "azure-native:network:NatGateway")
    assert nat["idleTimeoutInMinutes"] == 10
    rg = next(r["inputs"] for r in records if r["type"] == "azure-native:resources:ResourceGroup")
    assert rg["resourceGroupName"] == "rg-shop"


def _gcp(records: list[dict[str, Any]]) -> None:
    subnet = next(r["inputs"] for r in records if r["type"] == "gcp:compute/subnetwork:Subnetwork")
    assert {(s["rangeName"], s["ipCidrRange"]) for s in subnet["secondaryIpRanges"]} == {
        ("pods", "100.64.0.0/16"), ("services", "172.20.0.0/20")}
    assert subnet["logConfig"]["flowSampling"] == 0.2 and subnet["privateIpGoogleAccess"] is True
    nat = next(r["inputs"] for r in records if r["type"] == "gcp:compute/routerNat:RouterNat")
    assert nat["logConfig"] == {"enable": True, "filter": "ERRORS_ONLY"}


NETWORK_EXAMPLES = {
    # example: (component type, cloud provider type, what the example asks for)
    "aws-network": ("archipelago:index:AwsNetwork", "pulumi:providers:aws", _aws),
    "azure-network": ("archipelago:index:AzureNetwork", "pulumi:providers:azure-native", _azure),
    "gcp-network": ("archipelago:index:GcpNetwork", "pulumi:providers:gcp", _gcp),
}


@pytest.mark.parametrize("example", sorted(NETWORK_EXAMPLES))
def test_network_example_plans_alone(example: str) -> None:
    """Each network planned from its example: children named from the component's name, parented
    to it, on the program's provider (passed in the component's resource options)."""
    typ, cloud_provider, check = NETWORK_EXAMPLES[example]
    records = run_program(EXAMPLES / example / "__main__.py", f"{example}-example", "dev")
    component = next(r for r in records if r["type"] == typ)
    assert component["name"] == "shop"
    children = [r for r in records if r.get("parent") == component["urn"]]
    assert children and all(r["name"].startswith("shop-") for r in children)
    provider = next(r["urn"] for r in records if r["type"] == cloud_provider)
    assert all(r["provider"] == provider for r in children)
    check(children)


BASE = {
    "aws": ("AwsNetwork", {"vpc_cidr": "10.10.0.0/16", "zones": ["eu-west-1a", "eu-west-1b"], "pod_cidr": "100.64.0.0/16"}),
    "azure": ("AzureNetwork", {"region": "westeurope", "vnet_cidr": "10.20.0.0/16", "zones": ["1"]}),
    "gcp": ("GcpNetwork", {"region": "europe-west1", "node_subnet_cidr": "10.30.0.0/20", "pod_cidr": "100.64.0.0/16",
                           "service_cidr": "172.20.0.0/20"}),
}


@pytest.mark.parametrize(("cloud", "args", "message"), [
    ("aws", {"vpc_cidr": "10.0.0.0/12"}, "vpcCidr: '10.0.0.0/12' is larger than a /16"),
    ("aws", {"vpc_cidr": "10.10.0.300/16"}, "vpcCidr: '10.10.0.300/16' is not an IPv4 CIDR"),
    ("aws", {"zones": []}, "zones: at least one zone"),
    ("aws", {"zones": ["a", "b", "c", "d"]}, "zones: 4 zones need privateSubnetCidrs"),
    ("aws", {"pod_cidr": "10.10.128.0/17"}, "podCidr: 10.10.128.0/17 overlaps vpcCidr"),
    ("aws", {"private_subnet_cidrs": ["10.10.0.0/18"]}, "privateSubnetCidrs: 1 ranges for 2 zones"),
    ("aws", {"private_subnet_cidrs": ["10.10.0.0/18", "10.11.0.0/18"]}, r"privateSubnetCidrs\[1\]: 10.11.0.0/18 is not inside vpcCidr"),
    ("aws", {"public_subnet_cidrs": ["10.10.0.0/24", "10.10.255.0/24"]}, r"publicSubnetCidrs\[0\]: 10.10.0.0/24 overlaps privateSubnetCidrs\[0\]"),
    ("azure", {"apiserver_subnet_cidr": "10.20.255.248/29"}, "apiserverSubnetCidr: '10.20.255.248/29' is smaller than a /28"),
    ("azure", {"node_subnet_cidr": "10.21.0.0/24"}, "nodeSubnetCidr: 10.21.0.0/24 is not inside vnetCidr"),
    ("azure", {"nat_idle_timeout_minutes": 2}, "natIdleTimeoutMinutes: 2 is not between 4 and 120"),
    ("gcp", {"service_cidr": "100.64.16.0/20"}, "serviceCidr: 100.64.16.0/20 overlaps podCidr"),
    ("gcp", {"pods_range_name": "Pods"}, "podsRangeName: 'Pods' is not an RFC 1035 label"),
    ("gcp", {"flow_log_sampling": 0}, "flowLogSampling: 0 is not above 0"),
    ("gcp", {"flow_log_interval": "INTERVAL_1_SEC"}, "flowLogInterval: 'INTERVAL_1_SEC' is not one of"),
    ("gcp", {"nat_log_filter": "NONE"}, "natLogFilter: 'NONE' is not one of"),
])
def test_bad_network_args_are_refused_naming_the_field(cloud: str, args: dict[str, Any], message: str, tmp_path: Path) -> None:
    cls, base = BASE[cloud]
    program = tmp_path / "__main__.py"
    program.write_text(f"from components.network.{cloud} import {cls}\n{cls}('x', {{**{base!r}, **{args!r}}})\n")
    with pytest.raises(Exception, match=message):
        run_program(program, "bad-args", "dev")


def test_aws_fleet_args_are_the_default_carving(plan: Any) -> None:
    """The fleet passes its address plan's subnets explicitly; they are what the component carves
    from the VPC and pod ranges by default, so a program that gives only the ranges gets the same
    network."""
    from components.network.aws import _check  # pyright: ignore[reportPrivateUsage]

    for c in (c for c in plan.spec.clusters if c.cloud == "aws"):
        args = aws_network_args(c, plan.spec)
        given = {k: v for k, v in args.items() if not k.endswith("subnet_cidrs")}
        assert _check(args) == _check(given)  # pyright: ignore[reportArgumentType]


CONSTRUCT_PROGRAM = '''
import pulumi
import pulumi_gcp as gcp
from pulumi.provider.experimental.component import ComponentProvider
from components.package import PACKAGE_NAME, PACKAGE_VERSION, PUBLIC_COMPONENTS

provider = gcp.Provider("gcp", project="p", region="europe-west1")
served = ComponentProvider(PUBLIC_COMPONENTS, PACKAGE_NAME, None, PACKAGE_VERSION)
result = served.construct("shop", "archipelago:index:GcpNetwork", {
    "region": "europe-west1", "nodeSubnetCidr": "10.30.0.0/20", "podCidr": "100.64.0.0/16", "serviceCidr": "172.20.0.0/20",
    "podsRangeName": "shop-pods", "flowLogSampling": 0.25, "natLogFilter": "ALL",
}, pulumi.ResourceOptions(providers=[provider]))
pulumi.ComponentResource("test:state:Keys", "state-" + "-".join(sorted(result.state)))
'''


def test_served_provider_constructs_a_network_from_schema_inputs(tmp_path: Path) -> None:
    """What another language's program sends (camelCase, a float among them) through the served
    provider's construct: the network built from it, under the package token, its outputs returned."""
    program = tmp_path / "__main__.py"
    program.write_text(CONSTRUCT_PROGRAM)
    records = run_program(program, "construct", "dev")
    component = next(r for r in records if r["name"] == "shop" and not r["custom"])
    assert component["type"] == f"{PACKAGE_NAME}:index:GcpNetwork"
    subnet = next(r["inputs"] for r in records if r["type"] == "gcp:compute/subnetwork:Subnetwork")
    assert subnet["logConfig"]["flowSampling"] == 0.25 and subnet["secondaryIpRanges"][0]["rangeName"] == "shop-pods"
    assert next(r["inputs"] for r in records if r["type"] == "gcp:compute/routerNat:RouterNat")["logConfig"]["filter"] == "ALL"
    keys = next(r["name"] for r in records if r["type"] == "test:state:Keys").removeprefix("state-").split("-")
    assert set(keys) == NETWORKS["GcpNetwork"][1]
