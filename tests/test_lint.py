"""The type checker that ``make lint`` runs catches misspelt names on the SDKs' typed ``...Args``.

``make lint`` runs basedpyright with the settings in pyproject.toml ``[tool.basedpyright]``. This test
runs the same checker, with the same settings, over a throw-away program that misspells a keyword of
``aws.eks.ClusterArgs``, a keyword of a resource, and an attribute of an Args object, beside the same
program spelt right: it fails if a settings change (a laxer ``typeCheckingMode``, a rule turned off)
would let such a mistake through. Rule names: basedpyright's configuration reference,
https://docs.basedpyright.com/latest/configuration/config-files/ (reportCallIssue,
reportAttributeAccessIssue).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

GOOD = """\
import pulumi_aws as aws
import pulumi_kubernetes as k8s

args = aws.eks.ClusterArgs(name="a", role_arn="arn", vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=["s"]))
print(args.name)
k8s.core.v1.Namespace("ns", metadata=k8s.meta.v1.ObjectMetaArgs(name="ns"))
"""

# Each line that must be an error, and the rule that must report it.
BAD = {
    'aws.eks.ClusterArgs(nmae="a", role_arn="arn", vpc_config=aws.eks.ClusterVpcConfigArgs(subnet_ids=["s"]))':
        "reportCallIssue",
    'k8s.core.v1.Namespace("ns", metadata=k8s.meta.v1.ObjectMetaArgs(nmae="ns"))': "reportCallIssue",
    'aws.eks.Cluster("c", role_arn="arn", vpc_konfig=aws.eks.ClusterVpcConfigArgs(subnet_ids=["s"]))':
        "reportCallIssue",
    'print(aws.eks.ClusterVpcConfigArgs(subnet_ids=["s"]).subnet_idz)': "reportAttributeAccessIssue",
}


def test_type_checker_rejects_misspelt_sdk_args(tmp_path: Path) -> None:
    good, bad = tmp_path / "good.py", tmp_path / "bad.py"
    good.write_text(GOOD)
    bad.write_text("import pulumi_aws as aws\nimport pulumi_kubernetes as k8s\n\n" + "\n".join(BAD) + "\n")
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "basedpyright"), "--project", str(ROOT / "pyproject.toml"),
         "--outputjson", str(good), str(bad)],
        check=False, cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    report = json.loads(proc.stdout)
    errors = [d for d in report["generalDiagnostics"] if d["severity"] == "error"]
    assert [d for d in errors if d["file"] == str(good)] == [], "the right spelling must pass"
    lines = bad.read_text().splitlines()
    got = {(lines[d["range"]["start"]["line"]], d.get("rule")) for d in errors if d["file"] == str(bad)}
    assert got == set(BAD.items()), proc.stdout
    assert proc.returncode != 0
