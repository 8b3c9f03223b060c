"""Render every Helm release of a plan with its real chart, offline and in-process.

A ``kubernetes:helm.sh/v3:Release`` is one opaque resource in the plan record; what lands in the
cluster is its chart rendered with the release's values, name and namespace. Charts are read from
a local directory (``--charts``, e.g. ``../shared/charts``), matched by the chart name in their
``Chart.yaml``, and must be at the version the program pins.

Rendering uses ``helm_python`` (Helm's Go SDK through ctypes; no ``helm`` binary, no network).
Its ``helm_render`` entry point accepts ``kube_version`` and ``api_versions`` options that the
Python wrapper does not expose, so they are passed directly: ``.Capabilities.KubeVersion`` is the
cluster's Kubernetes version, and ``.Capabilities.APIVersions`` also lists the CRDs the cluster
gets, as Helm's discovery would after installing them.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from .report import REDACTED, _slug, cluster_of

RELEASE_TYPE = "kubernetes:helm.sh/v3:Release"
# Helm's own rules for which rendered files are manifests: partials (``_*``) and NOTES.txt are not.
NOTES_SUFFIX = "NOTES.txt"
# Test hooks only run on ``helm test``; every other hook lands during install.
TEST_HOOKS = {"test", "test-success", "test-failure"}
# Helm's own document separator: ``---`` at a line start, even when text follows on the same line.
_DOC_SEPARATOR = re.compile(r"(?:^|\s*\n)---\s*")
# libyaml when available: the CRDs some charts render are megabytes of YAML.
_BASE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LOADER(_BASE_LOADER):  # type: ignore[misc,valid-type]
    """YAML 1.1 reads a bare ``=`` as the 'value' type, which safe loaders cannot build; Helm's YAML
    (1.2) reads it as the string "=" (kube-prometheus-stack's AlertmanagerConfig CRD lists it as an enum)."""


_LOADER.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


class RenderError(Exception):
    """One or more releases could not be rendered; ``problems`` names each release."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass
class RenderedRelease:
    cluster: str
    logical_name: str  # the Pulumi resource name
    release: str  # the Helm release name
    chart: str
    version: str
    namespace: str
    kubernetes_version: str
    values: dict[str, Any]
    chart_dir: Path
    skip_crds: bool = False
    objects: list[dict[str, Any]] = field(default_factory=list)  # rendered templates
    crds: list[dict[str, Any]] = field(default_factory=list)  # the chart's crds/ folder
    seconds: float = 0.0


def release_records(plan: Any) -> list[dict[str, Any]]:
    return [r for r in plan.resources if r["type"] == RELEASE_TYPE]


def chart_name(chart_ref: str) -> str:
    """``argo-cd`` -> ``argo-cd``; ``oci://public.ecr.aws/karpenter/karpenter`` -> ``karpenter``."""
    return chart_ref.rstrip("/").rsplit("/", 1)[-1]


@cache
def chart_index(charts_dir: Path) -> dict[str, tuple[Path, str]]:
    """Chart name (from each ``Chart.yaml``) -> (folder, version) for the charts in ``charts_dir``."""
    index: dict[str, tuple[Path, str]] = {}
    for meta in sorted(charts_dir.glob("*/Chart.yaml")):
        doc = yaml.safe_load(meta.read_text()) or {}
        index[str(doc.get("name"))] = (meta.parent, str(doc.get("version")))
    return index


@cache
def load_chart(path: Path) -> Any:
    """A loaded chart for reading its metadata. Not for rendering: Helm's dependency processing
    prunes disabled subcharts from the chart it renders, so each render loads its own copy."""
    import helm_python

    return helm_python.Chart.load(str(path))


# A masked secret rendered as the text "[secret]" would read back as a YAML list; this stand-in
# stays a string wherever a template puts it.
SECRET_STAND_IN = "redacted-secret"


def _plain(value: Any) -> Any:
    if value == "[secret]":
        return SECRET_STAND_IN
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def kube_version(version: str) -> str:
    """``1.33`` -> ``v1.33.0`` (what Helm's ``.Capabilities.KubeVersion`` expects)."""
    v = version.lstrip("v")
    return f"v{v}" if v.count(".") == 2 else f"v{v}.0"


def _version_tuple(text: str) -> tuple[int, int, int]:
    parts = [int(x) for x in re.findall(r"\d+", text.split("-")[0])[:3]]
    return (parts + [0, 0, 0])[0], (parts + [0, 0, 0])[1], (parts + [0, 0, 0])[2]


_COMPARE = {">=": lambda a, b: a >= b, "<=": lambda a, b: a <= b, ">": lambda a, b: a > b, "<": lambda a, b: a < b,
            "!=": lambda a, b: a != b, "=": lambda a, b: a == b}


def kube_version_allowed(constraint: str, version: str) -> bool:
    """Whether Kubernetes ``version`` meets a Chart.yaml ``kubeVersion`` constraint, which Helm
    enforces at install (rendering alone does not). Comparison operators joined by ``,``/space (and)
    and ``||`` (or); ``~``/``^``/wildcard ranges raise ValueError."""
    have = _version_tuple(version)
    for alternative in constraint.split("||"):
        terms = re.findall(r"(>=|<=|!=|>|<|=)?\s*v?([0-9][0-9A-Za-z.+-]*)", alternative)
        if not terms or re.search(r"[~^*xX]|\s-\s", alternative):
            raise ValueError(f"unsupported kubeVersion constraint {constraint!r}")
        if all(_COMPARE[op or "="](have, _version_tuple(v)) for op, v in terms):
            return True
    return False


def crd_api_versions(crds: Iterable[dict[str, Any]]) -> list[str]:
    """``group/version`` and ``group/version/Kind`` of each CRD, as Helm discovery lists them."""
    out: set[str] = set()
    for crd in crds:
        spec = crd.get("spec") or {}
        for v in spec.get("versions") or []:
            gv = f"{spec.get('group')}/{v.get('name')}"
            out.update({gv, f"{gv}/{(spec.get('names') or {}).get('kind')}"})
    return sorted(out)


@lru_cache(maxsize=256)
def _render_cached(chart_dir: Path, values_json: str, name: str, namespace: str, kube: str,
                   api_versions: tuple[str, ...]) -> dict[str, str]:
    import helm_python
    from helm_python import _native

    chart = helm_python.Chart.load(str(chart_dir))  # fresh: rendering mutates it (see load_chart)
    opts = {"name": name, "namespace": namespace, "is_install": True, "kube_version": kube,
            "api_versions": list(api_versions)}
    return json.loads(_native.call_string("helm_render", chart._raw(), values_json, json.dumps(opts)))


def render_chart(chart_dir: Path, values: dict[str, Any], *, name: str, namespace: str,
                 kubernetes_version: str, api_versions: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Render ``chart_dir`` like ``helm install`` would and return the objects that land.

    Identical calls are served from a cache, so tests render each chart at most once.
    """
    files = _render_cached(chart_dir, json.dumps(values, sort_keys=True), name, namespace,
                           kube_version(kubernetes_version), tuple(sorted(set(api_versions))))
    objects: list[dict[str, Any]] = []
    for path in sorted(files):
        if path.endswith(NOTES_SUFFIX) or Path(path).name.startswith("_"):
            continue
        for chunk in _DOC_SEPARATOR.split(files[path]):
            doc = yaml.load(chunk, Loader=_LOADER) if chunk.strip() else None
            if not isinstance(doc, dict) or not doc:
                continue
            hooks = ((doc.get("metadata") or {}).get("annotations") or {}).get("helm.sh/hook", "")
            if hooks and {h.strip() for h in hooks.split(",")} <= TEST_HOOKS:
                continue
            doc.setdefault("metadata", {})
            objects.append(doc)
    return objects


def chart_crds(chart_dir: Path) -> list[dict[str, Any]]:
    """The CRDs in the chart's (and its subcharts') ``crds/`` folders, which Helm installs first."""
    out = []
    for entry in load_chart(chart_dir).crds:
        out.extend(d for d in yaml.load_all(entry["data"], Loader=_LOADER) if isinstance(d, dict) and d)
    return out


def render_plan(plan: Any, charts_dir: Path) -> list[RenderedRelease]:
    """Render every Helm release in ``plan``; all problems are collected into one :class:`RenderError`."""
    charts_dir = Path(charts_dir).resolve()
    if not charts_dir.is_dir():
        raise RenderError([f"charts directory {charts_dir} does not exist"])
    index = chart_index(charts_dir)
    by_urn = plan.by_urn()
    versions = {c.name: c.kubernetes_version for c in plan.spec.clusters}
    problems: list[str] = []
    pending: list[RenderedRelease] = []
    for r in sorted(release_records(plan), key=lambda r: r["urn"]):
        inputs = r["inputs"]
        cluster = cluster_of(r, by_urn) or "_fleet"
        chart = chart_name(str(inputs.get("chart", "")))
        pinned = str(inputs.get("version", ""))
        where = f"release {r['name']} on {cluster}"
        if chart not in index:
            problems.append(f"{where}: chart {chart!r} not found in {charts_dir} (have: {', '.join(sorted(index))})")
            continue
        folder, found = index[chart]
        values = inputs.get("values") or {}
        if not isinstance(values, dict):  # e.g. "[secret]": the whole map was a Pulumi secret
            problems.append(f"{where}: values are {values!r}, not a map; pass secrets as leaves so the rest can render")
            continue
        if pinned != found:
            problems.append(f"{where}: the program pins {chart} {pinned or '(no version)'} but {folder} is {found}")
            continue
        constraint = load_chart(folder).metadata.get("kubeVersion")
        kube = versions.get(cluster, "1.33")
        try:
            if constraint and not kube_version_allowed(str(constraint), kube):
                problems.append(f"{where}: chart {chart} {pinned} requires Kubernetes {constraint}, the cluster runs {kube}")
                continue
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        pending.append(RenderedRelease(
            cluster=cluster, logical_name=r["name"], release=str(inputs.get("name") or r["name"]), chart=chart,
            version=pinned, namespace=str(inputs.get("namespace") or "default"),
            kubernetes_version=kube, values=_plain(values),
            chart_dir=folder, skip_crds=bool(inputs.get("skipCrds")),
        ))
    # Helm installs a chart's crds/ before rendering, and releases on one cluster see each other's CRDs.
    from helm_python import HelmError

    cluster_apis: dict[str, set[str]] = {}
    for rel in pending:
        rel.crds = [] if rel.skip_crds else chart_crds(rel.chart_dir)
        cluster_apis.setdefault(rel.cluster, set()).update(crd_api_versions(rel.crds))
    for rel in pending:
        start = time.perf_counter()
        try:
            rel.objects = render_chart(rel.chart_dir, rel.values, name=rel.release, namespace=rel.namespace,
                                       kubernetes_version=rel.kubernetes_version,
                                       api_versions=cluster_apis.get(rel.cluster, ()))
        except (HelmError, yaml.YAMLError) as exc:  # Helm's errors carry the template and line
            problems.append(f"release {rel.logical_name} on {rel.cluster} ({rel.chart} {rel.version}): {exc}")
        rel.seconds = time.perf_counter() - start
    if problems:
        raise RenderError(problems)
    return pending


def _redact(doc: dict[str, Any]) -> dict[str, Any]:
    if doc.get("kind") != "Secret":
        return doc
    out = dict(doc)
    for key in ("data", "stringData"):
        if isinstance(out.get(key), dict):
            out[key] = {k: REDACTED for k in out[key]}
    return out


def write_rendered(releases: list[RenderedRelease], out: Path) -> int:
    """Write each release's objects (CRDs included) under ``<out>/<cluster>/helm-<release>/``."""
    count = 0
    for rel in releases:
        folder = out / rel.cluster / f"helm-{_slug(rel.release)}"
        folder.mkdir(parents=True, exist_ok=True)
        for doc in [*rel.crds, *rel.objects]:
            meta = doc.get("metadata") or {}
            ns = meta.get("namespace") or ("_cluster" if doc.get("kind") == "CustomResourceDefinition" else rel.namespace)
            fname = f"{_slug(str(doc.get('kind')))}-{_slug(str(ns))}-{_slug(str(meta.get('name')))}.yaml"
            (folder / fname).write_text(yaml.safe_dump(_redact(doc), sort_keys=False))
            count += 1
    return count


def print_releases(releases: list[RenderedRelease], console: Any) -> None:
    from rich.table import Table

    table = Table(title="Rendered Helm releases", title_justify="left")
    for col in ("cluster", "release", "namespace", "chart", "objects", "crds", "render s"):
        table.add_column(col)
    for rel in releases:
        table.add_row(rel.cluster, rel.release, rel.namespace, f"{rel.chart} {rel.version}", str(len(rel.objects)),
                      str(len(rel.crds)), f"{rel.seconds:.2f}")
    console.print(table)
