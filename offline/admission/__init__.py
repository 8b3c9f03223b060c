"""Offline admission: would each cluster accept everything the plan sends it?

Per cluster, over the program's Kubernetes objects (from the plan record) and every object the
rendered Helm charts install (their CRDs included):

- ``schema``: built-in objects against the Kubernetes OpenAPI schema of the cluster's version;
- ``crd-schema``: custom resources against their CRD (the cluster's own - from the charts and the
  program - else ``../shared/crds``);
- ``pss-<level>:<rule>``: every pod template against the Pod Security level its namespace enforces;
- ``helm-values`` / ``helm-values-schema``: every value a release passes is one its chart knows;
- ``namespace-missing``: a namespaced object (or a release) whose namespace nothing creates (Helm's
  ``createNamespace`` is off in this program);
- ``duplicate``: two sources create the same object (Helm and Pulumi both refuse to adopt it);
  CRDs in a chart's ``crds/`` folder are exempt, Helm skips those that exist.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from offline import schemas
from offline.report import cluster_of, is_k8s_object, manifest

from . import pss
from .values import chart_knowledge, schema_errors, unknown_paths


@dataclass(frozen=True, order=True)
class Violation:
    cluster: str
    namespace: str
    kind: str
    name: str
    rule: str
    detail: str
    source: str = ""  # "program" or "helm:<release>"

    def line(self) -> str:
        origin = f"  [{self.source}]" if self.source else ""
        return f"{self.cluster}  {self.namespace or '-'}  {self.kind}/{self.name}  {self.rule}: {self.detail}{origin}"


# Built-in kinds that live outside namespaces (a violation on them names no namespace).
CLUSTER_SCOPED = frozenset({
    "Namespace", "ClusterRole", "ClusterRoleBinding", "CustomResourceDefinition", "PriorityClass", "StorageClass",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "ValidatingAdmissionPolicy",
    "ValidatingAdmissionPolicyBinding", "MutatingAdmissionPolicy", "MutatingAdmissionPolicyBinding", "APIService",
    "PersistentVolume", "IngressClass", "RuntimeClass", "CSIDriver", "CSINode", "VolumeAttachment", "Node",
    "FlowSchema", "PriorityLevelConfiguration", "CertificateSigningRequest", "ClusterTrustBundle", "DeviceClass",
    "ResourceSlice", "VolumeAttributesClass", "IPAddress", "ServiceCIDR", "StorageVersionMigration",
})
# Namespaces every cluster has before the program runs.
BUILTIN_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


@dataclass(frozen=True)
class Landing:
    """One object that lands in a cluster, and where it came from."""

    obj: dict[str, Any]
    source: str  # "program" or "helm:<release>"
    namespace: str  # where a namespaced object lands when its metadata names none
    chart_crd: bool = False  # from a chart's crds/ folder (Helm skips it when it exists)

    @property
    def kind(self) -> str:
        return str(self.obj.get("kind"))

    @property
    def name(self) -> str:
        return str((self.obj.get("metadata") or {}).get("name") or "(unnamed)")

    @property
    def ns(self) -> str:
        if self.kind in CLUSTER_SCOPED and schemas.is_builtin(self.obj):
            return ""
        return str((self.obj.get("metadata") or {}).get("namespace") or self.namespace)


def landings(plan: Any, releases: Iterable[Any] = ()) -> dict[str, list[Landing]]:
    """Everything that lands, per cluster: the program's objects, then each chart's CRDs and objects."""
    by_urn = plan.by_urn()
    out: dict[str, list[Landing]] = {c.name: [] for c in plan.spec.clusters}
    for r in plan.resources:
        if is_k8s_object(r):
            out.setdefault(cluster_of(r, by_urn) or "_fleet", []).append(Landing(manifest(r), "program", "default"))
    for rel in releases:
        items = out.setdefault(rel.cluster, [])
        items += [Landing(o, f"helm:{rel.release}", "", chart_crd=True) for o in rel.crds]
        items += [Landing(o, f"helm:{rel.release}", rel.namespace) for o in rel.objects]
    return out


def namespace_levels(items: Iterable[Landing]) -> dict[str, str]:
    """Namespace -> the Pod Security level it enforces (from the Namespace objects that land)."""
    levels = {}
    for item in items:
        if item.kind == "Namespace" and item.obj.get("apiVersion") == "v1":
            labels = (item.obj.get("metadata") or {}).get("labels") or {}
            levels[item.name] = str(labels.get(pss.ENFORCE_LABEL, pss.DEFAULT_LEVEL))
    return levels


def _is_builtin(obj: dict[str, Any], crds: dict[tuple[str, str], Any]) -> bool:
    """Built-in unless a CRD defines it: some CRD groups end in ``.k8s.io`` too (Gateway API,
    volume snapshots), and those are validated against their CRD."""
    key = (str(obj.get("apiVersion", "")), str(obj.get("kind", "")))
    return schemas.is_builtin(obj) and key not in crds and key not in schemas.crd_schemas()


def _group(obj: dict[str, Any]) -> str:
    api = str(obj.get("apiVersion", ""))
    return api.split("/")[0] if "/" in api else ""


def _structure_checks(items: list[Landing], crds: list[dict[str, Any]], index: dict[tuple[str, str], Any],
                      namespaces: set[str]) -> Iterator[tuple[Landing, str, str]]:
    """Objects whose namespace nothing creates, and objects that two sources create."""
    scopes = {(c["spec"]["group"], c["spec"]["names"]["kind"]): c["spec"].get("scope", "Namespaced") for c in crds}
    seen: dict[tuple[str, str, str, str], Landing] = {}
    for item in items:
        builtin = _is_builtin(item.obj, index)
        namespaced = item.kind not in CLUSTER_SCOPED if builtin else scopes.get((_group(item.obj), item.kind)) == "Namespaced"
        if namespaced and item.ns not in namespaces:
            yield item, "namespace-missing", f"namespace {item.ns} is not created on this cluster"
        if item.chart_crd or item.name == "(unnamed)":
            continue
        key = (_group(item.obj), item.kind, item.ns if namespaced or not builtin else "", item.name)
        if key in seen and seen[key].source != item.source:
            yield item, "duplicate", f"also created by {seen[key].source}"
        seen.setdefault(key, item)


def without_nulls(value: Any) -> Any:
    """The object as the API server sees it: a ``null`` field is an unset one (Go decoding for
    built-ins, pruning of non-nullable fields for custom resources). Charts render many."""
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


def check_objects(cluster: str, kubernetes_version: str, items: list[Landing]) -> list[Violation]:
    """Schema, CRD and Pod Security checks for one cluster's objects."""
    crd_objects = [i.obj for i in items if i.kind == "CustomResourceDefinition" and "spec" in i.obj]
    crds = schemas.crd_index(crd_objects)
    levels = namespace_levels(items)
    found: list[Violation] = []

    def add_for(item: Landing, rule: str, detail: str) -> None:
        found.append(Violation(cluster, item.ns, item.kind, item.name, rule, detail, item.source))

    for item, rule, detail in _structure_checks(items, crd_objects, crds, set(levels) | BUILTIN_NAMESPACES):
        add_for(item, rule, detail)
    for item in items:
        def add(rule: str, detail: str, item: Landing = item) -> None:
            add_for(item, rule, detail)

        if item.kind == "Namespace" and levels.get(item.name) not in pss.LEVELS:
            # An unparsable level: reported, and evaluated as restricted, the safe reading.
            add("pss-level", f"{pss.ENFORCE_LABEL}={levels.get(item.name)!r} is not a Pod Security level")

        obj = without_nulls(item.obj)
        if _is_builtin(obj, crds):
            for error in schemas.validate_builtin(obj, kubernetes_version):
                add("schema", error)
        else:
            for error in schemas.validate_custom_resource(obj, crds):
                add("crd-schema", error)
        pod = pss.pod_template(item.obj)
        if pod is not None:
            level = levels.get(item.ns, pss.DEFAULT_LEVEL)
            level = level if level in pss.LEVELS else "restricted"
            for rule, finding in pss.evaluate(pod, level):
                add(f"pss-{level}:{rule.id}", finding)
    return found


def check_values(releases: Iterable[Any]) -> list[Violation]:
    found = []
    for rel in releases:
        def add(rule: str, detail: str, rel: Any = rel) -> None:
            found.append(Violation(rel.cluster, rel.namespace, "HelmRelease", rel.release, rule, detail, f"helm:{rel.release}"))

        for path in unknown_paths(rel.values, chart_knowledge(rel.chart_dir)):
            add("helm-values", f"unknown value {path} for chart {rel.chart} {rel.version}")
        for error in schema_errors(rel.values, rel.chart_dir):
            add("helm-values-schema", error.strip())
    return found


def check_plan(plan: Any, releases: list[Any]) -> list[Violation]:
    """Every violation in the plan, sorted by cluster, namespace, kind/name, rule."""
    versions = {c.name: c.kubernetes_version for c in plan.spec.clusters}
    found: list[Violation] = []
    per_cluster = landings(plan, releases)
    for cluster, items in per_cluster.items():
        found += check_objects(cluster, versions.get(cluster, "1.33"), items)
    for rel in releases:
        if rel.namespace not in set(namespace_levels(per_cluster.get(rel.cluster, []))) | BUILTIN_NAMESPACES:
            found.append(Violation(rel.cluster, rel.namespace, "HelmRelease", rel.release, "namespace-missing",
                                   f"namespace {rel.namespace} is not created on this cluster", f"helm:{rel.release}"))
    found += check_values(releases)
    return sorted(found)


def print_violations(violations: list[Violation], console: Any, plan: Any = None, releases: Iterable[Any] = ()) -> None:
    """One line per violation (cluster, namespace, kind/name, rule: detail [source]), then a table of
    what lands per cluster (the numbers docs/what-lands.md quotes)."""
    from collections import Counter

    from rich.table import Table

    for v in violations:
        console.print(v.line(), markup=False, soft_wrap=True)
    per_cluster = Counter(v.cluster for v in violations)
    if plan is not None:
        table = Table(title="What lands in each cluster", title_justify="left")
        for col in ("cluster", "program objects", "Helm releases", "rendered objects", "chart CRDs", "violations"):
            table.add_column(col, justify="left" if col == "cluster" else "right")
        rels = list(releases)
        for cluster, items in landings(plan).items():
            mine = [r for r in rels if r.cluster == cluster]
            table.add_row(cluster, str(len(items)), str(len(mine)), str(sum(len(r.objects) for r in mine)),
                          str(sum(len(r.crds) for r in mine)), str(per_cluster.get(cluster, 0)))
        console.print(table)
    console.print(f"admission: {len(violations)} violation(s)" + ("" if violations else ": every cluster accepts what it gets"))
