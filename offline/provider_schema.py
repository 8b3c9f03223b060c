"""Check plan records against the providers' own schemas, read from the installed SDKs.

Each Pulumi SDK is generated from its provider's schema at the pinned version: the ``...Args``
input types carry every property's wire name (``pulumi.getter(name=...)``), its type, whether it
is required (a non-Optional annotation) and, where the schema has one, its enum (azure-native's
``Union[str, SomeEnum]``) or its documented allowed values ("Valid values are ``A``, ``B``", from
the schema's description). :func:`check_record` walks one recorded resource's inputs against that.
"""

from __future__ import annotations

import enum
import importlib
import re
import typing
from collections import abc
from functools import cache
from typing import Any

import pulumi
from pulumi import _types as ptypes

# Pulumi package name -> Python SDK module.
PACKAGES = {
    "aws": "pulumi_aws", "azure-native": "pulumi_azure_native", "gcp": "pulumi_gcp", "random": "pulumi_random",
    "tls": "pulumi_tls", "time": "pulumiverse_time",
}
SKIP_VALUES = {"[secret]", "[unknown]"}
_ALLOWED = re.compile(
    r"(?:Valid values (?:are|include)|Possible values are|Accepted values are|valid values are|Available options include)[:\s]*"
    # ", and"/", or" before a bare ",": else the match stops at "`B`, " of "`A`, `B`, and `C`".
    r"((?:`[^`]+`(?:,\s*and\s+|,\s*or\s+|\s*,\s*|\s+and\s+|\s+or\s+|\s*)?)+)"
)


def args_class(typ: str) -> type | None:
    """The ``...Args`` input type of a resource type token, or None for types not checked here."""
    pkg, mod, kind = typ.split(":")
    module_name = PACKAGES.get(pkg)
    if module_name is None:
        return None
    path = mod.split("/")[0]
    module = importlib.import_module(module_name if path == "index" else f"{module_name}.{path}")
    # Where a nested input type already has the name ``<Kind>Args``, the SDK calls the resource's
    # own ``<Kind>InitArgs``.
    return getattr(module, f"{kind}InitArgs", None) or getattr(module, f"{kind}Args", None)


def _unwrap(hint: Any) -> Any:
    prev = None
    while prev is not hint:
        prev, hint = hint, ptypes.unwrap_type(hint)
    return hint


def _members(hint: Any) -> list[Any]:
    hint = _unwrap(hint)
    if typing.get_origin(hint) is typing.Union:
        return [m for a in typing.get_args(hint) for m in _members(a) if m is not type(None)]
    return [hint]


@cache
def _schema(cls: type) -> dict[str, tuple[Any, bool, str]]:
    """wire name -> (type hint, required, description) for an input type."""
    names = ptypes.input_type_py_to_pulumi_names(cls)
    types = ptypes.input_type_types(cls)
    required = ptypes._required_property_names(cls)
    out = {}
    for py, wire in names.items():
        prop = getattr(cls, py, None)
        doc = (prop.fget.__doc__ or "") if isinstance(prop, property) and prop.fget else ""
        out[wire] = (types[wire], wire in required, doc)
    return out


def allowed_values(hint: Any, doc: str) -> set[str] | None:
    """The enum of a string property: its SDK Enum, else the values its description lists."""
    for m in _members(hint):
        if isinstance(m, type) and issubclass(m, enum.Enum):
            return {str(e.value) for e in m}
    flat = " ".join(doc.split())
    bullets = re.search(r"Accepted values are:\s*((?:\* [A-Z][A-Z0-9_]*: [^*]*)+)", flat)
    if bullets:
        return set(re.findall(r"\* ([A-Z][A-Z0-9_]*):", bullets.group(1)))
    # Every list the description gives: pulumi-gcp RouterNat says "Valid values are `AUTO_ONLY`
    # for ..., or `MANUAL_ONLY` for ..." and then "Possible values are: `MANUAL_ONLY`, `AUTO_ONLY`".
    found = list(_ALLOWED.finditer(flat))
    if found:
        # One backticked list may hold them all: pulumi-aws VpnConnection "`ikev1 | ikev2`".
        return {v.strip() for f in found for x in re.findall(r"`([^`]+)`", f.group(1)) for v in x.split(" | ")}
    return None


def _check_value(value: Any, hint: Any, doc: str, path: str, errors: list[str]) -> None:
    if value is None or (isinstance(value, str) and value in SKIP_VALUES):
        return
    members = _members(hint)
    origin = [typing.get_origin(m) for m in members]
    input_types = [m for m in members if isinstance(m, type) and ptypes.is_input_type(m)]
    seqs = [m for m, o in zip(members, origin) if o in (list, abc.Sequence, typing.Sequence)]
    maps = [m for m, o in zip(members, origin) if o in (dict, abc.Mapping, typing.Mapping)]
    if isinstance(value, dict) and input_types:
        check_inputs(value, input_types[0], path, errors)
    elif isinstance(value, dict) and (maps or Any in members or typing.Any in members or dict in members):
        return
    elif isinstance(value, list) and seqs:
        (item,) = typing.get_args(seqs[0])
        for i, v in enumerate(value):
            _check_value(v, item, doc, f"{path}[{i}]", errors)
    elif isinstance(value, bool):
        if bool not in members and Any not in members:
            errors.append(f"{path}: {value!r} is a bool, the schema wants {_name(members)}")
    elif isinstance(value, (int, float)):
        if not ({int, float} & set(members)) and Any not in members:
            errors.append(f"{path}: {value!r} is a number, the schema wants {_name(members)}")
    elif isinstance(value, str):
        if str not in members and Any not in members and not any(isinstance(m, type) and issubclass(m, enum.Enum) for m in members):
            errors.append(f"{path}: {value!r} is a string, the schema wants {_name(members)}")
        allowed = allowed_values(hint, doc)
        if allowed and value not in allowed:
            errors.append(f"{path}: {value!r} is not one of {sorted(allowed)}")
    elif isinstance(value, (list, dict)):
        errors.append(f"{path}: a {type(value).__name__}, the schema wants {_name(members)}")


def _name(members: list[Any]) -> str:
    return " | ".join(getattr(m, "__name__", str(m)) for m in members)


def check_inputs(inputs: dict[str, Any], cls: type, path: str, errors: list[str]) -> None:
    schema = _schema(cls)
    for key, value in inputs.items():
        if key not in schema:
            errors.append(f"{path}.{key}: no such property in {cls.__name__}")
            continue
        hint, _, doc = schema[key]
        _check_value(value, hint, doc, f"{path}.{key}", errors)
    for key, (_, required, _) in schema.items():
        if required and key not in inputs:
            errors.append(f"{path}.{key}: required by {cls.__name__} but missing")


def check_record(record: dict[str, Any]) -> list[str]:
    """Schema errors of one plan record (empty when it conforms, or its type is not checked here)."""
    if not record.get("custom") or record["type"].startswith("pulumi:providers:"):
        return []
    cls = args_class(record["type"])
    if cls is None:
        return []
    errors: list[str] = []
    check_inputs(record["inputs"], cls, record["name"], errors)
    return errors


__all__ = ["allowed_values", "args_class", "check_inputs", "check_record", "pulumi"]
