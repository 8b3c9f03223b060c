"""Config validation: every bad key is reported with its path and value, all at once."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from stacks.config import ConfigError
from stacks.validate import build_spec

from .conftest import ROOT, stack_raw


def base() -> dict[str, Any]:
    return stack_raw("dev")


def setc(i: int, path: str, value: Any) -> Callable[[dict], None]:
    def mutate(raw: dict) -> None:
        node = raw["clusters"][i]
        keys = path.split(".")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return mutate


def delc(i: int, key: str) -> Callable[[dict], None]:
    return lambda raw: raw["clusters"][i].pop(key)


def rename(i: int, old: str, new: str) -> Callable[[dict], None]:
    def mutate(raw: dict) -> None:
        raw["clusters"][i][new] = raw["clusters"][i].pop(old)
    return mutate


BAD = [
    # (id, mutation, expected path, expected text in the message)
    ("typo-key", rename(1, "region", "regoin"), "clusters[1].regoin", "unknown key"),
    ("missing-name", delc(0, "name"), "clusters[0].name", "is required"),
    ("bad-cloud", setc(2, "cloud", "oracle"), "clusters[2].cloud", "'oracle'"),
    ("bad-region", setc(1, "region", "us-east1"), "clusters[1].region", "is not a aws region"),
    ("gcp-region-on-azure", setc(2, "region", "europe-west1"), "clusters[2].region", "is not a azure region"),
    ("name-not-dns", setc(1, "name", "Dev_EKS"), "clusters[1].name", "DNS-1123"),
    ("name-too-long", setc(1, "name", "a" * 21), "clusters[1].name", "at most 20"),
    ("duplicate-name", setc(2, "name", "dev-eks"), "clusters[2].name", "already the name of clusters[1]"),
    ("version-format", setc(0, "kubernetesVersion", "1.33.2"), "clusters[0].kubernetesVersion", "'1.33.2'"),
    ("version-unknown", setc(0, "kubernetesVersion", "1.20"), "clusters[0].kubernetesVersion", "not in the version table for aws"),
    ("version-too-new", setc(3, "kubernetesVersion", "1.40"), "clusters[3].kubernetesVersion", "not in the version table for gcp"),
    ("version-out-of-support", setc(3, "kubernetesVersion", "1.33"), "clusters[3].kubernetesVersion", "left standard support on gcp"),
    ("two-managers", setc(1, "role", "management"), "clusters", "exactly one cluster with role 'management'"),
    ("no-manager", setc(0, "role", "workload"), "clusters", "exactly one"),
    ("bad-role", setc(0, "role", "hub"), "clusters[0].role", "'hub'"),
    ("cidr-invalid", setc(1, "network.podCidr", "10.300.0.0/16"), "clusters[1].network.podCidr", "not a valid IPv4 network"),
    ("cidr-host-bits", setc(1, "network.vpcCidr", "10.1.2.3/16"), "clusters[1].network.vpcCidr", "host bits set"),
    ("cidr-outside", setc(1, "network.vpcCidr", "192.168.0.0/16"), "clusters[1].network.vpcCidr", "not inside addressSpace"),
    ("cidr-too-small", setc(1, "network.vpcCidr", "10.200.0.0/24"), "clusters[1].network.vpcCidr", "too small"),
    ("service-too-big", setc(1, "network.serviceCidr", "10.192.0.0/10"), "clusters[1].network.serviceCidr", "between /12 and /24"),
    ("overlap-in-cluster", lambda r: (setc(1, "network.vpcCidr", "10.200.0.0/16")(r), setc(1, "network.podCidr", "10.200.128.0/17")(r)),
     "clusters[1].network.podCidr", "overlaps clusters[1].network.vpcCidr"),
    ("overlap-across", lambda r: (setc(0, "network.slot", 7)(r), setc(1, "network.vpcCidr", "10.7.0.0/18")(r)),
     "clusters[1].network.vpcCidr", "(cluster 'dev-mgmt')"),
    ("slot-collision", lambda r: (setc(0, "network.slot", 9)(r), setc(1, "network.slot", 9)(r)),
     "clusters[1].network.slot", "pin a free slot"),
    ("slot-outside", setc(1, "network.slot", 256), "clusters[1].network.slot", "outside addressSpace"),
    ("aws-one-zone", setc(1, "zones", ["us-west-2a"]), "clusters[1].zones", "2 or 3 availability zones"),
    ("aws-foreign-zone", setc(1, "zones", ["us-west-2a", "us-east-1b"]), "clusters[1].zones[1]", "not an availability zone of us-west-2"),
    ("nodes-order", setc(1, "nodes.minSize", 5), "clusters[1].nodes", "minSize <= desiredSize <= maxSize"),
    ("unknown-nodes-key", setc(1, "nodes.instancetype", "m5.large"), "clusters[1].nodes.instancetype", "did you mean 'instanceType'"),
    ("bad-env", lambda r: r.update(environment="production"), "environment", "'production'"),
    ("space-not-private", lambda r: r.update(addressSpace="8.0.0.0/8"), "addressSpace", "not a private range"),
    ("top-level-typo", lambda r: r.update(adressSpace="10.0.0.0/8"), "adressSpace", "did you mean 'addressSpace'"),
    ("gcp-without-project", lambda r: r.pop("gcpProject"), "gcpProject", "required when the fleet has a gcp cluster"),
    ("api-open-to-world", lambda r: r.update(security={"apiAllowedCidrs": ["0.0.0.0/0"]}), "security.apiAllowedCidrs", "whole internet"),
    ("rbac-system-group", lambda r: r.update(security={"groups": [{"name": "system:authenticated", "clusterRole": "view"}]}),
     "security.groups[0].name", "built-in system group"),
]


BAD += [
    # add-on sections and fleet-wide rules
    ("repo-url-with-token", lambda r: r.update(argocd={"repoUrl": "https://bot:ghp_abc@github.com/c/r"}),
     "argocd.repoUrl", "must not carry credentials"),
    ("api-cidr-too-wide", lambda r: r["security"].update(apiAllowedCidrs=["0.0.0.0/1", "128.0.0.0/1"]),
     "security.apiAllowedCidrs[1]", "wider than /16"),
    ("duplicate-group", lambda r: r["security"].update(groups=[{"name": "ops@a.com", "clusterRole": "view"},
                                                                {"name": "ops@b.com", "clusterRole": "view"}]),
     "security.groups[1].name", "clashes with security.groups[0]"),
    # Slugs: '.' and '-' give the same resource names (the engine would refuse the duplicate URNs).
    ("group-slug-clash", lambda r: r["security"].update(groups=[{"name": "ops.team@a.com", "clusterRole": "view"},
                                                                 {"name": "ops-team@a.com", "clusterRole": "view"}]),
     "security.groups[1].name", "clashes with security.groups[0]"),
    ("group-newline", lambda r: r["security"].update(groups=[{"name": "ops\n@a.com", "clusterRole": "view"}]),
     "security.groups[0].name", "is not a group name"),
    ("group-template", lambda r: r["security"].update(groups=[{"name": "{{server}}", "clusterRole": "view"}]),
     "security.groups[0].name", "is not a group name"),
    # Argo CD values land in the AppProject, the ApplicationSet template and cluster annotations.
    ("repo-token-in-query", lambda r: r.update(argocd={"repoUrl": "https://git.example.com/r.git?token=ghp_abc"}),
     "argocd.repoUrl", "must not carry credentials"),
    ("repo-template", lambda r: r.update(argocd={"repoUrl": "https://git.example.com/{{name}}.git"}),
     "argocd.repoUrl", "template syntax"),
    ("revision-newline", lambda r: r.update(argocd={"revision": "main\nkind: Secret"}), "argocd.revision", "is not a git branch"),
    ("revision-template", lambda r: r.update(argocd={"revision": "{{metadata.labels.x}}"}), "argocd.revision", "is not a git branch"),
    ("revision-option", lambda r: r.update(argocd={"revision": "--upload-pack=x"}), "argocd.revision", "is not a git branch"),
    ("path-escapes-repo", lambda r: r.update(argocd={"pathPrefix": "../../etc"}), "argocd.pathPrefix", "relative path inside"),
    ("path-absolute", lambda r: r.update(argocd={"pathPrefix": "/etc"}), "argocd.pathPrefix", "relative path inside"),
    # Derived names against their cloud's rules (components/naming.py DERIVED).
    ("key-vault-double-hyphen", setc(2, "name", "dev--aks"), "clusters[2].name", "Key Vault kms name 'dev--aks-kms-"),
    ("gcs-google", setc(3, "name", "google-gke"), "clusters[3].name", "GCS bucket velero"),
    ("group-grants-nothing", lambda r: r["security"].update(groups=[{"name": "idle@a.com"}]),
     "security.groups[0]", "grants nothing"),
    ("gke-security-group-shape", lambda r: r["security"].update(gkeSecurityGroup="admins@company.com"),
     "security.gkeSecurityGroup", "gke-security-groups@"),
    ("instance-type-of-another-cloud", lambda r: r["clusters"][2]["nodes"].update(instanceType="m6i.large"),
     "clusters[2].nodes.instanceType", "is not a azure instance type"),
    ("cron-velero-cannot-parse", lambda r: r.update(backup={"schedule": "0 2 L * *"}),
     "backup.schedule", "5-field cron"),
    ("vxlan-outside-dev", lambda r: (r.update(environment="prod", submariner={"cableDriver": "vxlan"}),
                                     r["security"].update(apiAllowedCidrs=[])),
     "submariner.cableDriver", "unencrypted"),
]


@pytest.mark.parametrize("mutate,path,text", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_config_names_key_and_value(mutate: Callable[[dict], None], path: str, text: str) -> None:
    raw = base()
    mutate(raw)
    with pytest.raises(ConfigError) as info:
        build_spec(raw, "dev")
    messages = [str(i) for i in info.value.issues]
    assert any(m.startswith(f"{path}:") and text in m for m in messages), messages
    assert "ghp_abc" not in info.value.render()  # a credential in a value is never echoed back


def test_every_error_is_reported_at_once() -> None:
    raw = base()
    rename(1, "region", "regoin")(raw)
    setc(2, "cloud", "oracle")(raw)
    setc(3, "kubernetesVersion", "1.99")(raw)
    setc(0, "network.podCidr", "nope")(raw)
    with pytest.raises(ConfigError) as info:
        build_spec(raw, "dev")
    paths = {i.path for i in info.value.issues}
    assert {"clusters[1].regoin", "clusters[2].cloud", "clusters[3].kubernetesVersion", "clusters[0].network.podCidr"} <= paths


@pytest.mark.parametrize("stack", ["dev", "prod"])
def test_shipped_stacks_are_valid(stack: str) -> None:
    spec = build_spec(stack_raw(stack), stack)
    assert sum(c.is_management for c in spec.clusters) == 1
    assert {c.cloud for c in spec.clusters} == {"aws", "azure", "gcp"}


def test_cli_rejects_bad_config_without_traceback(tmp_path) -> None:
    (tmp_path / "Pulumi.bad.yaml").write_text(
        "config:\n  archipelago:environment: dev\n  archipelago:addressSpace: 10.0.0.0/8\n"
        "  archipelago:clusters:\n    - {name: a, cloud: aws, regoin: us-east-1, role: management, kubernetesVersion: '1.35'}\n"
        "    - {name: b, cloud: gcp, region: mars-1, kubernetesVersion: '1.35'}\n"
    )
    # No __main__.py in tmp_path: if validation did not stop the run first, the program would fail differently.
    proc = subprocess.run([sys.executable, "-m", "offline", "plan", "bad", "--root", str(tmp_path)],
                          check=False, cwd=ROOT, capture_output=True, text=True, timeout=120)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "Traceback" not in out
    # Each line names the file and line, and the cluster by its index and name.
    assert "Pulumi.bad.yaml:5: clusters[0:a].regoin: 'regoin' unknown key (did you mean 'region'?)" in out
    assert "Pulumi.bad.yaml:5: clusters[0:a].region: (missing) is required" in out
    assert "Pulumi.bad.yaml:6: clusters[1:b].region: 'mars-1' is not a gcp region" in out
    assert "gcpProject" in out


def test_every_config_key_is_declared_in_pulumi_yaml() -> None:
    """`pulumi config` and the Pulumi Console show the project's declared keys: keep them complete."""
    import yaml

    from stacks.config import FleetConfig

    declared = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())["config"]
    keys = {f.alias or n for n, f in FleetConfig.model_fields.items()}
    missing = sorted(k for k in keys if f"archipelago:{k}" not in declared)
    assert missing == []
    for k in keys:
        assert declared[f"archipelago:{k}"].get("description"), k
        assert "default" not in declared[f"archipelago:{k}"], f"{k}: a project default would reach every stack unvalidated"




def test_a_broken_top_level_key_does_not_hide_the_other_errors() -> None:
    raw = base()
    raw["environment"] = "production"                                      # FleetConfig fails...
    raw["clusters"][1]["network"] = {"vpcCidr": str(build_spec(base(), "dev").clusters[0].network.vpc)}  # ...overlap
    raw["argocd"] = {"repoUrl": "http://example.com/r"}                    # ...and a section error
    with pytest.raises(ConfigError) as info:
        build_spec(raw, "dev")
    paths = {i.path for i in info.value.issues}
    assert {"environment", "clusters[1].network.vpcCidr", "argocd.repoUrl"} <= paths


@pytest.mark.parametrize("name,cloud,refused", [
    ("dev--aks", "azure", ["Key Vault"]),   # Key Vault refuses '--'
    ("dev--eks", "aws", []),                 # no AWS name derived from it does
    ("google-gke", "gcp", ["GCS bucket"]),  # GCS refuses 'google' anywhere
    ("prod-weu", "azure", []),
])
def test_derived_names_are_checked_per_cloud(name: str, cloud: str, refused: list[str]) -> None:
    from components import naming

    found = naming.problems(name, cloud)
    assert len(found) == len(refused) and all(r in f for r, f in zip(refused, found)), found


def test_no_error_is_a_consequence_of_another() -> None:
    """A cluster that fails to parse is reported once: not again as a missing management cluster,
    nor as an unknown name in the sections that refer to it."""
    raw = base()
    setc(0, "cloud", "oracle")(raw)  # the management cluster
    setc(2, "kubernetesVersion", 1.3)(raw)  # dev-aks, a DR peer in dev
    with pytest.raises(ConfigError) as info:
        build_spec(raw, "dev")
    paths = sorted(i.path for i in info.value.issues)
    assert paths == ["clusters[0].cloud", "clusters[2].kubernetesVersion"], info.value.render()
    assert "clusters[2:dev-aks].kubernetesVersion: 1.3 must be quoted" in info.value.render()
