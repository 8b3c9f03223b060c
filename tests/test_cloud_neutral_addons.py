"""Add-ons ask the ClusterHandle for what differs by cloud instead of comparing the cloud to a name.

Parsed, not grepped: a comparison with "aws", "azure" or "gcp" on one side and an expression
ending in ``.cloud`` (or a name ``cloud``) on the other is a branch on the cloud.
"""

from __future__ import annotations

import ast

from .conftest import ROOT

CLOUDS = {"aws", "azure", "gcp"}
# None left: the choice of the EKS cluster that creates the account-wide Spot service-linked role
# moved with Karpenter's AWS setup to components/clusters/eks_plumbing.py.
ALLOWED: set[tuple[str, str]] = set()


def _names_cloud(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "cloud") or (isinstance(node, ast.Name) and node.id == "cloud")


def _is_cloud_literal(node: ast.expr) -> bool:
    if isinstance(node, ast.Constant):
        return node.value in CLOUDS
    return isinstance(node, ast.Tuple | ast.List | ast.Set) and any(_is_cloud_literal(e) for e in node.elts)


def cloud_comparisons(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_names_cloud(s) for s in sides) and any(_is_cloud_literal(s) for s in sides):
                found.append(ast.unparse(node))
    return found


def test_the_check_sees_a_branch() -> None:
    assert cloud_comparisons('if h.cloud == "aws":\n    pass\nx = cloud in ("azure", "gcp")') == [
        "h.cloud == 'aws'", "cloud in ('azure', 'gcp')"]


def test_no_addon_branches_on_the_cloud() -> None:
    found = {(path.name, ast.unparse(ast.parse(c))) for path in sorted((ROOT / "components" / "addons").glob("*.py"))
             for c in cloud_comparisons(path.read_text())}
    assert found == {(f, ast.unparse(ast.parse(c))) for f, c in ALLOWED}
