"""Views of the plan record: which cluster and component each resource belongs to, the
Kubernetes manifests per cluster, and the component tree as Graphviz."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from components.tokens import PACKAGE_NAME

# Components are told apart by class (the last segment of the type token), so records of either
# token scheme (``archipelago:index:EksCluster`` now, ``archipelago:clusters:EksCluster`` before) read alike.
CLUSTER_COMPONENTS = frozenset({"EksCluster", "AksCluster", "GkeCluster"})
# A cluster's network is composed beside its cluster component, named "<cluster>-net".
NETWORK_COMPONENTS = frozenset({"AwsNetwork", "AzureNetwork", "GcpNetwork"})
NETWORK_SUFFIX = "-net"


def is_component(r: Mapping[str, Any], classes: frozenset[str]) -> bool:
    """Whether a record is one of this program's components of the given classes."""
    typ = r["type"]
    return typ.startswith(f"{PACKAGE_NAME}:") and typ.rsplit(":", 1)[-1] in classes
REDACTED = "[redacted]"


def _parent_chain(r: dict[str, Any], by_urn: dict[str, dict[str, Any]]):
    node: dict[str, Any] | None = r
    seen = 0
    while node is not None and seen < 100:
        yield node
        node = by_urn.get(node["parent"]) if node.get("parent") else None
        seen += 1


def cluster_of(r: dict[str, Any], by_urn: dict[str, dict[str, Any]]) -> str | None:
    """The cluster a resource belongs to: its cluster-component ancestor, else its provider's."""
    for node in _parent_chain(r, by_urn):
        if is_component(node, CLUSTER_COMPONENTS):
            return node["name"]
        if is_component(node, NETWORK_COMPONENTS) and node["name"].endswith(NETWORK_SUFFIX):
            return node["name"].removesuffix(NETWORK_SUFFIX)
    provider = by_urn.get(r.get("provider") or "")
    if provider is not None and provider is not r:
        return cluster_of(provider, by_urn)
    return None


def cluster_name(r: dict[str, Any], by_urn: dict[str, dict[str, Any]]) -> str:
    """The cluster of a resource that must sit in one (``cluster_of`` without the fleet-level ``None``)."""
    cluster = cluster_of(r, by_urn)
    if cluster is None:
        raise LookupError(f"{r['urn']} belongs to no cluster")
    return cluster


def component_of(r: dict[str, Any], by_urn: dict[str, dict[str, Any]]) -> str:
    """The nearest Archipelago component around a resource (e.g. ``EksCluster``, ``AwsNetwork``)."""
    for node in _parent_chain(r, by_urn):
        if node["type"].startswith(f"{PACKAGE_NAME}:"):
            return node["type"].rsplit(":", 1)[-1]
    return "(stack)"


def is_k8s_object(r: dict[str, Any]) -> bool:
    """An object the program creates in a cluster. ``...Patch`` resources are not: they change
    fields of an object something else created (a server-side apply of a partial manifest)."""
    return (r["custom"] and r["type"].startswith("kubernetes:") and r["type"] != "kubernetes:helm.sh/v3:Release"
            and not r["type"].endswith("Patch"))


def manifest(r: dict[str, Any]) -> dict[str, Any]:
    doc = copy.deepcopy({k: v for k, v in r["inputs"].items() if not k.startswith("__")})
    if doc.get("kind") == "Secret":
        for key in ("data", "stringData"):
            if isinstance(doc.get(key), dict):
                doc[key] = {k: REDACTED for k in doc[key]}
            elif key in doc:
                # The whole map is a Pulumi secret (even its keys): leave it out and say so.
                del doc[key]
                meta = doc.setdefault("metadata", {})
                meta.setdefault("annotations", {})[f"archipelago.io/redacted-{key}"] = "whole map is a Pulumi secret"
    return doc


def _slug(text: str) -> str:
    return re.sub(r"[^a-zA-Z0-9_.-]+", "-", text).strip("-").lower()


def write_manifests(plan: Any, out: Path) -> int:
    """Write every Kubernetes object (and each Helm release's chart and values) per cluster."""
    by_urn = plan.by_urn()
    out.mkdir(parents=True, exist_ok=True)
    count = 0
    for r in plan.resources:
        if not r["custom"] or not r["type"].startswith("kubernetes:"):
            continue
        cluster = cluster_of(r, by_urn) or "_fleet"
        folder = out / cluster
        folder.mkdir(exist_ok=True)
        if r["type"] == "kubernetes:helm.sh/v3:Release":
            doc = {"helmRelease": r["name"], **{k: r["inputs"].get(k) for k in ("chart", "version", "namespace", "name", "repositoryOpts", "values") if k in r["inputs"]}}
            (folder / f"helm-release-{_slug(r['name'])}.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
            count += 1
            continue
        doc = manifest(r)
        meta = doc.get("metadata") or {}
        ns = meta.get("namespace", "_cluster")
        fname = f"{_slug(str(doc.get('kind', r['type'].rsplit(':', 1)[-1])))}-{_slug(str(ns))}-{_slug(str(meta.get('name', r['name'])))}.yaml"
        (folder / fname).write_text(yaml.safe_dump(doc, sort_keys=False))
        count += 1
    return count


def write_dot(plan: Any, out: Path) -> None:
    """The component tree: components as boxes (with how many resources each holds directly)."""
    by_urn = plan.by_urn()
    components = [r for r in plan.resources if not r["custom"]]
    direct: dict[str, int] = {}
    for r in plan.resources:
        if r["custom"] and r.get("parent") in by_urn:
            direct[r["parent"]] = direct.get(r["parent"], 0) + 1
    lines = ["digraph archipelago {", "  rankdir=LR;", '  node [shape=box, fontname="Helvetica"];',
             f'  stack [label="{plan.stack}", shape=oval];']
    ids = {r["urn"]: f"n{i}" for i, r in enumerate(components)}
    for r in components:
        kind = r["type"].rsplit(":", 1)[-1]
        lines.append(f'  {ids[r["urn"]]} [label="{r["name"]}\\n{kind} ({direct.get(r["urn"], 0)})"];')
    for r in components:
        parent = ids.get(r.get("parent") or "", "stack")
        lines.append(f"  {parent} -> {ids[r['urn']]};")
    lines.append("}")
    out.write_text("\n".join(lines) + "\n")


STACK_TYPE = "pulumi:pulumi:Stack"


def _urn_prefix(urn: str) -> str:
    return "::".join(urn.split("::")[:2])


def _qualified_type(urn: str) -> str:
    """The ``$``-joined types of a URN. The engine leaves the stack's type out; the mock monitor
    qualifies root resources with it, so a URN built from a mock parent's (``pulumi.create_urn``
    with ``parent=``) carries it: dropped here."""
    return urn.split("::")[2].removeprefix(f"{STACK_TYPE}$")


def engine_urn(r: dict[str, Any], by_urn: dict[str, dict[str, Any]]) -> str:
    """The URN the Pulumi engine gives a resource: its ancestors' types joined by ``$`` (the stack
    left out) before its own. The mock monitor qualifies a type with its parent's type only, so
    a moved component's children keep their mock URNs while their real ones change."""
    types = [n["type"] for n in _parent_chain(r, by_urn) if n["type"] != STACK_TYPE]
    return f"{_urn_prefix(r['urn'])}::{'$'.join(reversed(types))}::{r['name']}"


def previous_urns(r: dict[str, Any], by_urn: dict[str, dict[str, Any]]) -> set[str]:
    """Engine URNs a resource answers to: its own, those its move aliases name (another parent or
    name), and, as the engine does for children of an aliased parent, its own type and name under
    each of its parent's previous URNs."""
    own = engine_urn(r, by_urn)
    out = {own}
    prefix = _urn_prefix(r["urn"])
    for alias in r.get("aliases") or []:
        if "urn" in alias:
            out.add(alias["urn"])
            continue
        spec = alias.get("spec", {})
        typ, name = spec.get("type") or r["type"], spec.get("name") or r["name"]
        parent = spec.get("parentUrn")
        if spec.get("noParent") or (parent and _qualified_type(parent) == STACK_TYPE):
            out.add(f"{prefix}::{typ}::{name}")
        elif parent:
            out.add(f"{prefix}::{_qualified_type(parent)}${typ}::{name}")
        else:  # no parent named: the resource's current parent, under each URN the parent answers to
            parent_record = by_urn.get(r.get("parent") or "")
            if parent_record is None or parent_record["type"] == STACK_TYPE:
                out.add(f"{prefix}::{typ}::{name}")
            else:
                out |= {f"{prefix}::{_qualified_type(p)}${typ}::{name}" for p in previous_urns(parent_record, by_urn)}
    parent_record = by_urn.get(r.get("parent") or "")
    if parent_record is not None and parent_record["type"] != STACK_TYPE:
        for old in previous_urns(parent_record, by_urn) - {engine_urn(parent_record, by_urn)}:
            out.add(f"{prefix}::{_qualified_type(old)}${r['type']}::{r['name']}")
    return out
