"""Helm values the program passes must be values the chart knows.

Helm silently ignores a misspelt key, so a typo in a release's values ships unnoticed. A value
path (``server.replicas``) is *known* when one of these says so, checked key by key from the top:

1. the chart's ``values.schema.json`` declares it (``properties``, through ``$ref``/``allOf``/
   ``anyOf``/``oneOf``); a schema object with ``additionalProperties: false`` makes every other key
   unknown, and a free-form schema object (no properties, or ``additionalProperties``/
   ``patternProperties``) makes everything below it open;
2. the chart's default values (subchart defaults included, under the subchart's name) hold it;
   a default of ``{}`` or ``null`` is an open map (``podAnnotations: {}``), anything goes below;
3. a template (the chart's or a subchart's) reads it as ``.Values.a.b`` or ``index .Values "a"``,
   or consumes a parent of it whole - then everything below that parent is open. ``toYaml``,
   ``toJson``, ``tpl``, ``range``, ``merge``... pass any field through (``toYaml
   .Values.podSecurityContext``); handing a map to a helper or binding it (``include``, ``dict``,
   ``with``, ``:=``) only opens it where the defaults do not spell out its keys, since the helper
   reads named fields that the defaults then list (``dict "component" .Values.server``).

Istio's charts keep their defaults under ``_internal_defaults_do_not_set`` and merge them in a
template; those defaults count as top-level defaults. Values that violate the schema itself are
reported too (Helm would refuse the install).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

Path_ = tuple[str, ...]
MISSING = object()
ISTIO_DEFAULTS = "_internal_defaults_do_not_set"

_ACTION = re.compile(r"\{\{-?(.*?)-?\}\}", re.DOTALL)
_DOTTED = re.compile(r"\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)*)")
_INDEX = re.compile(r'index\s+\(?\s*\$?[A-Za-z0-9_]*\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\s*\)?((?:\s+"[^"]*")+)')
# ``dig "a" "b" <default> .Values``: sprig's nested lookup with a default (e.g. istiod's
# ``dig "global" "enableReaderRBAC" true .Values``).
_DIG = re.compile(r'\bdig((?:\s+"[^"]*")+)\s+\S+\s+\$?[A-Za-z0-9_]*\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)*)\b')
_WHOLE = re.compile(r"\b(toYaml|toJson|toPrettyJson|toRawJson|tpl|range|merge|mergeOverwrite|deepCopy|omit|pick|"
                    r"keys|values)\b")
_HANDED = re.compile(r"\b(include|template|dict|with|default)\b|:=")


@dataclass(frozen=True)
class TemplateReads:
    """Value paths the templates read (every prefix included), read whole, and handed on whole."""

    prefixes: frozenset[Path_]
    whole: frozenset[Path_]
    handed: frozenset[Path_]


def template_reads(templates: list[tuple[str, str]]) -> TemplateReads:
    """``templates`` are (values prefix, template source): a subchart's reads sit under its name."""
    prefixes: set[Path_] = set()
    whole: set[Path_] = set()
    handed: set[Path_] = set()
    for scope, text in templates:
        for action in _ACTION.findall(text):
            is_whole = bool(_WHOLE.search(action))
            is_handed = bool(_HANDED.search(action))
            found: list[Path_] = []
            for m in _DOTTED.finditer(action):
                found.append(tuple(p for p in m.group(1).split(".") if p))
            for m in _DIG.finditer(action):
                base = tuple(p for p in m.group(2).split(".") if p)
                found.append(base + tuple(re.findall(r'"([^"]*)"', m.group(1))))
            for m in _INDEX.finditer(action):
                base = tuple(p for p in m.group(1).split(".") if p)
                found.append(base + tuple(re.findall(r'"([^"]*)"', m.group(2))))
            for path in found:
                if scope and (not path or path[0] != "global"):
                    path = (scope, *path)
                for i in range(1, len(path) + 1):
                    prefixes.add(path[:i])
                if path and is_whole:
                    whole.add(path)
                elif path and is_handed:
                    handed.add(path)
    return TemplateReads(frozenset(prefixes), frozenset(whole), frozenset(handed))


class SchemaView:
    """Just enough JSON-schema reading to know which object keys a schema declares."""

    def __init__(self, root: dict[str, Any]):
        self.root = root

    def resolve(self, node: Any, depth: int = 0) -> list[dict[str, Any]]:
        if not isinstance(node, dict) or depth > 20:
            return []
        out = [node]
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            out += self.resolve(target, depth + 1)
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(key) or []:
                out += self.resolve(sub, depth + 1)
        return out

    def child(self, nodes: list[dict[str, Any]], key: str) -> tuple[str, list[dict[str, Any]]]:
        """('known', child nodes) | ('open', []) | ('closed', []) | ('silent', [])."""
        props: dict[str, Any] = {}
        closed = open_ = False
        for n in nodes:
            props.update(n.get("properties") or {})
            extra = n.get("additionalProperties")
            if extra is False:
                closed = True
            elif isinstance(extra, dict) or extra is True or n.get("patternProperties"):
                open_ = True
        if key in props:
            return "known", self.resolve(props[key])
        if open_:
            return "open", []
        if closed:
            return "closed", []
        if nodes and not props and any(n.get("type") == "object" for n in nodes):
            return "open", []  # a free-form object
        return "silent", []


@dataclass(frozen=True)
class ChartKnowledge:
    defaults: dict[str, Any]
    schema: dict[str, Any] | None
    reads: TemplateReads


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _deep_merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


@cache
def chart_knowledge(chart_dir: Path) -> ChartKnowledge:
    import helm_python

    from offline.render import load_chart

    chart = load_chart(chart_dir)
    # The raw values.yaml, not Helm's coalesced values: coalescing drops keys declared as null.
    defaults = chart.values
    if isinstance(defaults.get(ISTIO_DEFAULTS), dict):
        defaults = _deep_merge({k: v for k, v in defaults.items() if k != ISTIO_DEFAULTS}, defaults[ISTIO_DEFAULTS])
    templates = [("", t["data"]) for t in chart.templates]
    aliases = {d.get("name"): d.get("alias") or d.get("name") for d in chart.metadata.get("dependencies") or []}
    for sub in sorted((chart_dir / "charts").glob("*")) if (chart_dir / "charts").is_dir() else []:
        with helm_python.Chart.load(str(sub)) as subchart:
            scope = aliases.get(subchart.name, subchart.name)
            templates += [(scope, t["data"]) for t in subchart.templates]
            parent = defaults.get(scope)
            defaults = {**defaults, scope: _deep_merge(subchart.values, parent if isinstance(parent, dict) else {})}
    return ChartKnowledge(defaults=defaults, schema=chart.schema, reads=template_reads(templates))


def unknown_paths(values: dict[str, Any], know: ChartKnowledge) -> list[str]:
    """Every value path in ``values`` the chart does not know, dotted (``server.replicas``)."""
    schema = SchemaView(know.schema) if know.schema else None
    problems: list[str] = []

    def walk(node: dict[str, Any], path: Path_, snodes: list[dict[str, Any]] | None, default: Any) -> None:
        for key, value in node.items():
            p = (*path, key)
            s_status, s_child = schema.child(snodes, key) if schema and snodes is not None else ("silent", [])
            if s_status == "open":
                continue
            if s_status == "closed":
                problems.append(f"{'.'.join(p)} (not in the chart's values.schema.json)")
                continue
            d_child = default.get(key, MISSING) if isinstance(default, dict) else MISSING
            if any(p[:i] in know.reads.whole for i in range(1, len(p))):
                continue  # a parent is read whole by a template
            if any(p[:i] in know.reads.handed and not _spelt_out(know.defaults, p[:i]) for i in range(1, len(p))):
                continue  # a parent is handed on whole and the defaults do not list its keys
            if d_child is None or d_child == {}:
                continue  # the chart declares an open map here
            known = s_status == "known" or d_child is not MISSING or p in know.reads.prefixes
            if not known:
                problems.append(f"{'.'.join(p)} (not in the chart's defaults, schema or templates)")
                continue
            if isinstance(value, dict) and value:
                walk(value, p, s_child if s_status == "known" else None, d_child)

    root = schema.resolve(know.schema) if schema else None
    walk(values, (), root, know.defaults)
    return problems


def _spelt_out(defaults: dict[str, Any], path: Path_) -> bool:
    node: Any = defaults
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return isinstance(node, dict) and bool(node)


def schema_errors(values: dict[str, Any], chart_dir: Path) -> list[str]:
    """What Helm's own ``values.schema.json`` validation says about ``values`` (install refuses them)."""
    from helm_python import HelmError

    from offline.render import load_chart

    try:
        load_chart(chart_dir).validate_schema(values)
    except HelmError as exc:
        return [str(exc)]
    return []
