"""Every recorded cloud resource against its provider's schema, as generated into the installed
SDKs at the pinned versions (pulumi-aws 7.51.1, azure-native 3.29.0, gcp 10.2.0, random 4.21.4,
tls 5.6.2, pulumiverse-time 0.1.1): property names, required inputs, types and enum values."""

from __future__ import annotations

import copy

import pytest

from offline.provider_schema import check_record


def test_every_cloud_resource_conforms(plan) -> None:
    checked = [r for r in plan.resources if r["custom"] and r["type"].split(":")[0] in
               {"aws", "azure-native", "gcp", "random", "tls", "time"} and not r["type"].startswith("pulumi:providers:")]
    assert len(checked) > 200
    errors = [e for r in checked for e in check_record(r)]
    assert errors == []


def test_record_keeps_no_unknown_inputs(plan) -> None:
    """An input built from an output the mock engine does not return would arrive unknown (or not
    at all, which the required-input check catches): the mocks must return what the clouds do."""
    import json

    for r in plan.resources:
        assert "[unknown]" not in json.dumps(r["inputs"]), r["name"]


def _record(plan, typ: str) -> dict:
    return copy.deepcopy(next(r for r in plan.resources if r["type"] == typ))


@pytest.mark.parametrize("typ,mutate,expect", [
    ("aws:eks/cluster:Cluster", lambda i: i.update(rolArn=i.pop("roleArn")), "rolArn: no such property"),
    ("aws:eks/cluster:Cluster", lambda i: i.pop("roleArn"), "roleArn: required by ClusterArgs but missing"),
    ("aws:eks/cluster:Cluster", lambda i: i["upgradePolicy"].update(supportType="STANDART"), "'STANDART' is not one of"),
    ("aws:eks/cluster:Cluster", lambda i: i["vpcConfig"].update(endpointPrivateAccess="yes"), "is a string, the schema wants bool"),
    ("aws:eks/addon:Addon", lambda i: i.update(resolveConflictsOnCreate="REPLACE"), "'REPLACE' is not one of"),
    ("gcp:container/cluster:Cluster", lambda i: i["releaseChannel"].update(channel="FAST"), "'FAST' is not one of"),
    ("gcp:container/cluster:Cluster", lambda i: i["privateClusterConfig"].update(enablePrivateNode=True), "enablePrivateNode: no such"),
    ("azure-native:containerservice:ManagedCluster",
     lambda i: i["securityProfile"]["azureKeyVaultKms"].update(keyVaultNetworkAccess="Internal"), "'Internal' is not one of"),
    ("azure-native:keyvault:Vault", lambda i: i.pop("properties"), "properties: required by VaultArgs but missing"),
    ("azure-native:keyvault:Vault", lambda i: i["properties"].pop("tenantId"), "tenantId: required by VaultPropertiesArgs"),
], ids=["misspelt", "missing-required", "bad-enum", "bad-type", "aws-doc-enum", "gcp-doc-enum", "nested-misspelt",
        "azure-enum", "azure-required", "nested-required"])
def test_schema_check_catches(prod_plan, typ, mutate, expect) -> None:
    record = _record(prod_plan, typ)
    assert check_record(record) == []
    mutate(record["inputs"])
    errors = check_record(record)
    assert any(expect in e for e in errors), errors


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_record_keeps_every_input_the_program_passes(monkeypatch, stack: str) -> None:
    """Every input the program hands a cloud resource (not None) reaches the record. An input built
    from an output the mock engine leaves out resolves to nothing and silently disappears, with its
    dependency edge: the plan would then show a resource the cloud never sees."""
    import pulumi
    from pulumi import _types as ptypes

    from offline.plan import run_plan

    passed: dict[tuple[str, str], set[str]] = {}
    original = pulumi.CustomResource.__init__

    def spy(self, t, name, props=None, opts=None, *args, **kwargs):
        if props is not None and t.split(":")[0] in {"aws", "azure-native", "gcp", "random", "tls", "time"}:
            items: dict[str, object] = vars(props) if not isinstance(props, dict) else props
            try:
                names = ptypes.input_type_py_to_pulumi_names(type(props))
            except AssertionError:
                names = {}
            passed[(t, name)] = {str(names.get(k, k)) for k, v in items.items() if v is not None}
        return original(self, t, name, props, opts, *args, **kwargs)

    monkeypatch.setattr(pulumi.CustomResource, "__init__", spy)
    plan = run_plan(stack)
    recorded = {(r["type"], r["name"]): set(r["inputs"]) for r in plan.resources}
    lost = {k: sorted(v - recorded[k]) for k, v in passed.items() if k in recorded and v - recorded[k]}
    assert len(passed) > 200 and lost == {}


def test_allowed_values_read_a_serial_comma_list() -> None:
    """pulumi-aws documents EKS add-on conflict modes as "`NONE`, `OVERWRITE`, and `PRESERVE`";
    all three are valid (EKS UpdateAddon API, resolveConflicts)."""
    from offline.provider_schema import allowed_values

    doc = "How to resolve conflicts. Valid values are `NONE`, `OVERWRITE`, and `PRESERVE`. For more details see the docs."
    assert allowed_values(str, doc) == {"NONE", "OVERWRITE", "PRESERVE"}
