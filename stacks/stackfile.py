"""Parse a ``Pulumi.<stack>.yaml`` file as untrusted input.

A stack file arrives in pull requests from forks and is planned in CI, so the parser bounds the
work it does before anything else reads the data, and every malformed file becomes one
:class:`~stacks.core.ConfigError` naming the file, the line and a plain reason (never a
traceback):

- size: at most :data:`MAX_BYTES` bytes, UTF-8 text, one YAML document, a mapping at the top with
  a ``config:`` mapping;
- shape: at most :data:`MAX_DEPTH` levels of nesting and :data:`MAX_NODES` values *after* alias
  expansion (a few hundred bytes of nested aliases would otherwise expand to gigabytes once the
  values are serialised), at most :data:`MAX_ALIASES` aliases, no recursive alias;
- keys: a key given twice in one mapping is an error naming both lines (YAML loaders keep the
  last one silently: a second ``environment: dev`` under a prod header would plan a dev fleet);
- types: only plain YAML values (strings, numbers, booleans, null, lists, mappings). Dates and
  explicit tags (``!!binary``, ``!!python/...``, custom ``!tags``) are refused. A float keeps the
  text it was written as, so that ``kubernetesVersion: 1.30`` can be reported as "quote it"
  rather than as ``1.3``.

The parser also records the line of every key under ``config:``, so that validation errors can
point at the line of the key they are about.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Self

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingEndEvent,
    MappingStartEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from .core import NO_VALUE, ConfigError, ConfigIssue, format_path

MAX_BYTES = 256 * 1024
MAX_DEPTH = 32
MAX_NODES = 50_000
MAX_ALIASES = 100

PLAIN_TAGS = frozenset({
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float", "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq", "tag:yaml.org,2002:merge",
})


class YamlFloat(float):
    """A float that remembers how it was written (``1.30`` is read as ``1.3``)."""

    source: str

    def __new__(cls, value: float, source: str) -> Self:
        obj = super().__new__(cls, value)
        obj.source = source
        return obj


class _Problem(Exception):
    def __init__(self, line: int | None, reason: str, path: str = "", value: Any = NO_VALUE):
        super().__init__(reason)
        self.line, self.reason, self.path, self.value = line, reason, path, value


def _line(node_or_mark: Any) -> int | None:
    mark = getattr(node_or_mark, "start_mark", node_or_mark)
    return mark.line + 1 if mark is not None and hasattr(mark, "line") else None


class _Strict(SafeConstructor):
    """PyYAML's safe constructor with strict keys and plain types only."""

    def construct_object(self, node: Node, deep: bool = False) -> Any:
        if node.tag not in PLAIN_TAGS:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            raise _Problem(_line(node), f"the YAML type {tag} is not allowed here (quote the value to make it a string)")
        return super().construct_object(node, deep)

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int | None] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if not isinstance(key_node, ScalarNode):
                raise _Problem(_line(key_node), "a key must be a plain value, not a list or mapping")
            key = self.construct_object(key_node)
            if key in first:
                raise _Problem(_line(key_node), f"duplicate key {_short(key)} (first given at line {first[key]}); "
                                                "YAML would silently keep only the last one")
            first[key] = _line(key_node)
        return super().construct_mapping(node, deep)

    def construct_yaml_float(self, node: ScalarNode) -> YamlFloat:
        return YamlFloat(super().construct_yaml_float(node), str(node.value))


_Strict.add_constructor("tag:yaml.org,2002:float", _Strict.construct_yaml_float)  # pyright: ignore[reportArgumentType]

# libyaml (C) scans and composes when PyYAML was built with it: the pure-Python scanner takes
# seconds on a 200 KB value or 20,000 nested brackets. Nesting is bounded before composing
# (_precheck), so the C composer's recursion stays shallow.
if yaml.__with_libyaml__:
    from yaml._yaml import CParser as _Parser

    class _Loader(_Parser, _Strict, Resolver):  # type: ignore[misc,valid-type]
        def __init__(self, text: str):
            _Parser.__init__(self, text)
            _Strict.__init__(self)
            Resolver.__init__(self)
else:  # pragma: no cover - every supported platform has libyaml wheels
    class _Loader(Reader, Scanner, Parser, Composer, _Strict, Resolver):  # type: ignore[no-redef]
        def __init__(self, text: str):
            Reader.__init__(self, text)
            Scanner.__init__(self)
            Parser.__init__(self)
            Composer.__init__(self)
            _Strict.__init__(self)
            Resolver.__init__(self)


def _precheck(text: str) -> None:
    """One pass over the parser's events, before anything is composed: bounded nesting, a bounded
    number of aliases, one document."""
    events = _Loader(text)
    depth = aliases = documents = 0
    try:
        while True:
            event = events.get_event()
            if event is None or isinstance(event, StreamEndEvent):
                return
            if isinstance(event, (MappingStartEvent, SequenceStartEvent)):
                depth += 1
                if depth > MAX_DEPTH:
                    raise _Problem(_line(event), f"nested deeper than {MAX_DEPTH} levels")
            elif isinstance(event, (MappingEndEvent, SequenceEndEvent)):
                depth -= 1
            elif isinstance(event, AliasEvent):
                aliases += 1
                if aliases > MAX_ALIASES:
                    raise _Problem(_line(event), f"more than {MAX_ALIASES} YAML aliases (*name)")
            elif isinstance(event, DocumentStartEvent):
                documents += 1
                if documents > 1:
                    raise _Problem(_line(event), "more than one YAML document ('---'): a stack file is one document")
    finally:
        events.dispose()


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…'"


def _check_expansion(root: Node) -> None:
    """Count values and depth as a reader would see them with every alias expanded (iteratively,
    memoised per node, so the check itself stays linear in the file)."""
    size: dict[int, int] = {}
    depth: dict[int, int] = {}
    busy: set[int] = set()
    stack: list[tuple[Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            busy.discard(key)
            size[key] = 1 + sum(size[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            if size[key] > MAX_NODES:
                raise _Problem(_line(node), f"expands to more than {MAX_NODES} values (YAML aliases inside aliases?)")
            if depth[key] > MAX_DEPTH:
                raise _Problem(_line(node), f"nested deeper than {MAX_DEPTH} levels once its aliases are expanded")
            continue
        if key in size:
            continue
        if key in busy:
            raise _Problem(_line(node), "a YAML alias refers to the value that contains it")
        busy.add(key)
        stack.append((node, True))
        for c in children:
            if id(c) in busy:
                raise _Problem(_line(c), "a YAML alias refers to the value that contains it")
            if id(c) not in size:
                stack.append((c, False))


def _children(node: Node) -> list[Node]:
    if isinstance(node, SequenceNode):
        return list(node.value)
    if isinstance(node, MappingNode):
        return [n for pair in node.value for n in pair]
    return []


def _key_lines(config: MappingNode, prefix: str) -> dict[str, int]:
    """Line of every key under ``config:`` by its key path (``clusters[0].network.slot``)."""
    lines: dict[str, int] = {}
    todo: list[tuple[Node, tuple[Any, ...]]] = []
    for k, v in config.value:
        if isinstance(k, ScalarNode) and str(k.value).startswith(prefix):
            key = str(k.value)[len(prefix):]
            lines[key] = k.start_mark.line + 1
            todo.append((v, (key,)))
    while todo:  # bounded: the expanded size was checked before
        node, loc = todo.pop()
        if isinstance(node, MappingNode):
            for k, v in node.value:
                if isinstance(k, ScalarNode):
                    path = loc + (str(k.value),)
                    lines.setdefault(format_path(path), k.start_mark.line + 1)
                    todo.append((v, path))
        elif isinstance(node, SequenceNode):
            for i, v in enumerate(node.value):
                path = loc + (i,)
                lines.setdefault(format_path(path), v.start_mark.line + 1)
                todo.append((v, path))
    return lines


# PyYAML's problem texts, said plainly.
_PLAIN_REASONS = (
    ("found character '\\t' that cannot start any token", "a tab character: YAML indents with spaces only"),
    ("expected a single document in the stream", "more than one YAML document ('---'): a stack file is one document"),
    ("found undefined alias", "an alias (*name) with no matching anchor (&name)"),
    ("found duplicate anchor", "an anchor (&name) defined twice"),
)


def _yaml_problem(exc: yaml.YAMLError, text: str) -> _Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = str(getattr(exc, "problem", None) or exc)
    if mark is not None and "cannot start any token" in problem:
        lines = text.splitlines()
        row = lines[mark.line] if mark.line < len(lines) else ""
        if "\t" in row[: mark.column + 1]:
            return _Problem(_line(mark), "a tab character: YAML indents with spaces only")
    for needle, plain in _PLAIN_REASONS:
        if needle in problem or needle in str(getattr(exc, "context", "") or ""):
            return _Problem(_line(mark), plain)
    context = getattr(exc, "context", None)
    text = f"{context}, {problem}" if context else problem
    return _Problem(_line(mark), f"not valid YAML: {text}")


@dataclass
class StackFile:
    path: Path
    raw: dict[str, Any]  # the archipelago: keys without their prefix
    engine: dict[str, str]  # every config key as the engine passes it (strings, JSON for structures)
    secrets: list[str]
    lines: dict[str, int] = field(default_factory=dict)


def parse(path: Path, *, prefix: str, secret_placeholder: str) -> StackFile:
    """Read and check ``path``; raise :class:`ConfigError` (file and line) if it is malformed."""
    try:
        return _parse(path, prefix, secret_placeholder)
    except _Problem as p:
        raise ConfigError([ConfigIssue(p.path, p.value, p.reason, line=p.line)], source=path.name) from None


def _parse(path: Path, prefix: str, placeholder: str) -> StackFile:
    with path.open("rb") as fh:
        data = fh.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise _Problem(None, f"is larger than {MAX_BYTES // 1024} KiB; a stack file is a few KiB of settings")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        column = exc.start - data.rfind(b"\n", 0, exc.start)
        raise _Problem(line, f"is not UTF-8 text (byte 0x{data[exc.start]:02x} at column {column})") from None
    if "\x00" in text:
        raise _Problem(text[: text.index("\x00")].count("\n") + 1, "contains a NUL character")
    loader = _Loader(text)
    try:
        _precheck(text)
        root = loader.get_single_node()
        if root is None:
            raise _Problem(1, "is empty: a stack file is a mapping with a 'config:' key")
        _check_expansion(root)
        if not isinstance(root, MappingNode):
            raise _Problem(_line(root), f"must be a mapping with a 'config:' key (found {_kind(root)})")
        doc = loader.construct_document(root)
    except yaml.YAMLError as exc:
        raise _yaml_problem(exc, text) from None
    except RecursionError:  # defence in depth: the depth bound above should make this unreachable
        raise _Problem(None, f"nested deeper than {MAX_DEPTH} levels") from None
    finally:
        loader.dispose()
    config_node = next((v for k, v in root.value if isinstance(k, ScalarNode) and k.value == "config"), None)
    config = doc.get("config")
    if config is None:
        config, config_node = {}, None
    if not isinstance(config, dict):
        raise _Problem(_line(config_node), f"must be a mapping of keys to values (found {_kind(config_node)})", "config", config)
    raw: dict[str, Any] = {}
    engine: dict[str, str] = {}
    secrets: list[str] = []
    for knode, _ in config_node.value if isinstance(config_node, MappingNode) else []:
        if knode.tag not in ("tag:yaml.org,2002:str", "tag:yaml.org,2002:merge"):
            raise _Problem(_line(knode), f"is not a string key; config keys look like '{prefix}environment'", "config", knode.value)
    for key, value in config.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            value = placeholder
            secrets.append(key)
        engine[key] = value if isinstance(value, str) else json.dumps(value)
        if key.startswith(prefix):
            raw[key[len(prefix):]] = value
    lines = _key_lines(config_node, prefix) if isinstance(config_node, MappingNode) else {}
    return StackFile(path=path, raw=raw, engine=engine, secrets=secrets, lines=lines)


def _kind(node: Node | None) -> str:
    if isinstance(node, SequenceNode):
        return "a list"
    if isinstance(node, MappingNode):
        return "a mapping"
    if node is None:
        return "nothing"
    tag = node.tag.rsplit(":", 1)[-1]
    return {"str": "a string", "int": "a number", "float": "a number", "bool": "a boolean", "null": "null"}.get(tag, tag)
