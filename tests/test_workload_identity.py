"""Workload identity, one binder per cloud behind one protocol (components/identity.py).

Each binder is built alone from plain values (no cluster component) and asked by the same
cloud-neutral stand-in for an add-on (tests/programs/identity_binders.py): what lands must be that
cloud's mechanism, with no static key anywhere. Sources:
- EKS Pod Identity: the role trusts pods.eks.amazonaws.com with sts:AssumeRole and sts:TagSession
  (https://docs.aws.amazon.com/eks/latest/userguide/pod-id-role.html); the association names the
  namespace and service account.
- Azure workload identity: a federated credential with issuer = the cluster's OIDC issuer, subject
  system:serviceaccount:<ns>:<sa>, audience api://AzureADTokenExchange; pods labelled
  azure.workload.identity/use=true, the service account annotated azure.workload.identity/client-id
  (https://azure.github.io/azure-workload-identity/docs/topics/service-account-labels-and-annotations.html).
- GKE Workload Identity: roles/iam.workloadIdentityUser for serviceAccount:<pool>[<ns>/<sa>], the
  service account annotated iam.gke.io/gcp-service-account
  (https://cloud.google.com/kubernetes-engine/docs/how-to/workload-identity).
- AWS from outside AWS: sts:AssumeRoleWithWebIdentity on the cluster issuer's IAM OIDC provider,
  AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE (aws-sdk-go-v2 config/env_config.go).
"""

from __future__ import annotations

import inspect
import json
from typing import Any

import pytest

from components.clusters.aks import AksWorkloadIdentity
from components.clusters.eks import EksPodIdentity
from components.clusters.gke import GkeWorkloadIdentity
from components.identity import WorkloadIdentityBinder
from offline.plan import run_program, stack_outputs

from .conftest import ROOT

CLOUDS: dict[str, dict[str, Any]] = {
    "aws": {
        "binder": EksPodIdentity, "prefix": "eks-shop",
        "own": {"aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:eks/podIdentityAssociation:PodIdentityAssociation"},
        "annotation": None, "pod_labels": {}, "principal": "arn:aws:iam::",
        # AWS is EKS's own cloud: the same association, no token to mount.
        "aws": {"aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy", "aws:eks/podIdentityAssociation:PodIdentityAssociation"},
    },
    "azure": {
        "binder": AksWorkloadIdentity, "prefix": "aks-shop",
        "own": {"azure-native:managedidentity:UserAssignedIdentity", "azure-native:managedidentity:FederatedIdentityCredential",
                "azure-native:authorization:RoleAssignment"},
        "annotation": "azure.workload.identity/client-id", "pod_labels": {"azure.workload.identity/use": "true"}, "principal": "",
        "aws": {"aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"},
    },
    "gcp": {
        "binder": GkeWorkloadIdentity, "prefix": "gke-shop",
        "own": {"gcp:serviceaccount/account:Account", "gcp:serviceaccount/iAMMember:IAMMember", "gcp:projects/iAMMember:IAMMember"},
        "annotation": "iam.gke.io/gcp-service-account", "pod_labels": {}, "principal": "gke-shop-probe@",
        "aws": {"aws:iam/role:Role", "aws:iam/rolePolicy:RolePolicy"},
    },
}


@pytest.fixture(scope="module")
def probe() -> tuple[list[dict[str, Any]], dict[str, Any]]:
    records = run_program(ROOT / "tests" / "programs" / "identity_binders.py", "identity-binders", "dev")
    _, outputs = stack_outputs()
    return records, {k: v["value"] for k, v in outputs.items()}


def _made_by(records: list[dict[str, Any]], cloud: str) -> list[dict[str, Any]]:
    parent = next(r["urn"] for r in records if r["type"] == "test:addon:Probe" and r["name"] == f"probe-{cloud}")
    return [r for r in records if r.get("parent") == parent]


@pytest.mark.parametrize("cloud", sorted(CLOUDS))
def test_binder_follows_the_protocol(cloud: str) -> None:
    """Every binder answers both questions with the protocol's own signatures."""
    binder = CLOUDS[cloud]["binder"]
    for method in ("bind", "bind_aws"):
        assert inspect.signature(getattr(binder, method), eval_str=True) == \
            inspect.signature(getattr(WorkloadIdentityBinder, method), eval_str=True), method


@pytest.mark.parametrize("cloud", sorted(CLOUDS))
def test_own_cloud_identity(cloud: str, probe: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
    records, outputs = probe
    want = CLOUDS[cloud]
    made = [r for r in _made_by(records, cloud) if "-probe-" in r["name"]]
    assert {r["type"] for r in made} == want["own"]
    assert all(r["name"].startswith(f"{want['prefix']}-probe-") for r in made)
    own = outputs[f"probe-{cloud}"]["own"]
    assert own["podLabels"] == want["pod_labels"] and own["env"] == [] and own["volumes"] == []
    assert str(own["principal"]).startswith(want["principal"]) and own["principal"]
    if want["annotation"]:
        assert own["annotations"] == {want["annotation"]: own["principal"]}
    else:
        assert own["annotations"] == {}
    by_type = {r["type"]: r["inputs"] for r in made}
    if cloud == "aws":
        trust = json.loads(by_type["aws:iam/role:Role"]["assumeRolePolicy"])["Statement"][0]
        assert trust["Principal"] == {"Service": "pods.eks.amazonaws.com"} and set(trust["Action"]) == {"sts:AssumeRole", "sts:TagSession"}
        assoc = by_type["aws:eks/podIdentityAssociation:PodIdentityAssociation"]
        assert (assoc["namespace"], assoc["serviceAccount"], assoc["clusterName"]) == ("probe", "probe-sa", "eks-shop")
    elif cloud == "azure":
        fic = by_type["azure-native:managedidentity:FederatedIdentityCredential"]
        assert fic["subject"] == "system:serviceaccount:probe:probe-sa" and fic["audiences"] == ["api://AzureADTokenExchange"]
        assert fic["issuer"].startswith("https://westeurope.oic.prod-aks.azure.com/")
    else:
        wi = by_type["gcp:serviceaccount/iAMMember:IAMMember"]
        assert wi["role"] == "roles/iam.workloadIdentityUser" and wi["member"] == "serviceAccount:p.svc.id.goog[probe/probe-sa]"


@pytest.mark.parametrize("cloud", sorted(CLOUDS))
def test_aws_identity_from_any_cloud(cloud: str, probe: tuple[list[dict[str, Any]], dict[str, Any]]) -> None:
    """The same question, an identity in AWS, answered per cloud: Pod Identity on EKS, web identity
    federation (one OIDC provider per issuer, a role trusting only that service account, a
    projected token) elsewhere."""
    records, outputs = probe
    want = CLOUDS[cloud]
    made = [r for r in _made_by(records, cloud) if "-dns" in r["name"]]
    assert {r["type"] for r in made} == want["aws"]
    policy = next(r for r in made if r["type"] == "aws:iam/rolePolicy:RolePolicy")
    assert json.loads(policy["inputs"]["policy"])["Statement"][0]["Action"] == "s3:ListBucket"
    got = outputs[f"probe-{cloud}"]["aws"]
    assert str(got["principal"]).startswith("arn:aws:iam::")
    role = next(r for r in made if r["type"] == "aws:iam/role:Role")
    trust = json.loads(role["inputs"]["assumeRolePolicy"])["Statement"][0]
    if cloud == "aws":
        assert got["env"] == [] and got["volumes"] == [] and trust["Principal"] == {"Service": "pods.eks.amazonaws.com"}
        assert role["provider"].endswith("::aws-eu-west-1")  # the cluster's own provider
        return
    assert trust["Action"] == "sts:AssumeRoleWithWebIdentity"
    assert sorted(trust["Condition"]["StringEquals"].values()) == ["sts.amazonaws.com", "system:serviceaccount:probe:dns-sa"]
    assert role["provider"].endswith("::aws-dns") and role["inputs"]["name"] == f"{want['prefix']}-dns"
    [oidc] = [r for r in records if r["type"] == "aws:iam/openIdConnectProvider:OpenIdConnectProvider"
              and r["name"] == f"{want['prefix']}-aws-oidc"]
    assert trust["Principal"]["Federated"].endswith(oidc["inputs"]["url"].removeprefix("https://").rstrip("/"))
    env = {e["name"]: e["value"] for e in got["env"]}
    assert env["AWS_ROLE_ARN"] == got["principal"] and env["AWS_WEB_IDENTITY_TOKEN_FILE"] == "/var/run/secrets/aws/token"
    [volume] = got["volumes"]
    assert volume["projected"]["sources"][0]["serviceAccountToken"]["audience"] == "sts.amazonaws.com"
    assert got["mounts"] == [{"name": "aws-token", "mountPath": "/var/run/secrets/aws", "readOnly": True}]
