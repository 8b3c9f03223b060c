"""The validators the add-on tests rely on must actually reject bad objects."""

from __future__ import annotations

import pytest

from offline import schemas

NODEPOOL = {
    "apiVersion": "karpenter.sh/v1", "kind": "NodePool", "metadata": {"name": "default"},
    "spec": {
        "template": {"spec": {
            "nodeClassRef": {"group": "karpenter.k8s.aws", "kind": "EC2NodeClass", "name": "default"},
            "requirements": [{"key": "karpenter.sh/capacity-type", "operator": "In", "values": ["spot", "on-demand"]}],
        }},
        "limits": {"cpu": 1000, "memory": "1000Gi"},
    },
}


def test_crds_are_found() -> None:
    found = schemas.crd_schemas()
    for key in [("karpenter.sh/v1", "NodePool"), ("argoproj.io/v1alpha1", "ApplicationSet"), ("velero.io/v1", "Schedule"),
                ("networking.istio.io/v1", "Gateway"), ("submariner.io/v1alpha1", "Submariner")]:
        assert key in found, key


@pytest.mark.parametrize("mutate,expect", [
    (lambda o: None, None),
    (lambda o: o["spec"].update(bogus=1), "'bogus' was unexpected"),
    (lambda o: o["spec"]["template"]["spec"]["requirements"][0].update(operator="Within"), "'Within' is not one of"),
    (lambda o: o.update(apiVersion="karpenter.sh/v1alpha5"), "no CRD schema"),
], ids=["valid", "unknown-field", "bad-enum", "old-api"])
def test_custom_resource_validation(mutate, expect) -> None:
    import copy

    obj = copy.deepcopy(NODEPOOL)
    mutate(obj)
    errors = schemas.validate_custom_resource(obj)
    if expect is None:
        assert errors == []
    else:
        assert any(expect in e for e in errors), errors


def test_builtin_validation_is_strict() -> None:
    ok = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "a"}}
    assert schemas.validate_builtin(ok, "1.33") == []
    bad = {**ok, "spec": {"finalizer": ["x"]}}
    assert schemas.validate_builtin(bad, "1.33")
