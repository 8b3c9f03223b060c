"""Validate rendered Kubernetes objects: custom resources against the upstream CRD schemas in
``../shared/crds`` (unknown fields are errors), built-in objects against the Kubernetes OpenAPI
schema of a given version (``kubernetes-validate``, strict)."""

from __future__ import annotations

import copy
import os
import re
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from stacks.loader import ROOT

# libyaml when available: the upstream CRDs are tens of megabytes of YAML.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def crd_dirs() -> list[Path]:
    """Where CRDs are read from: ``$ARCHIPELAGO_CRDS`` (colon-separated) or ``../shared/crds``."""
    env = os.environ.get("ARCHIPELAGO_CRDS")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [ROOT.parent / "shared" / "crds"]


def _strict(schema: Any) -> Any:
    """Make a structural schema reject unknown fields, as the issue's 'unknown fields count as
    errors' asks (the API server would silently prune them)."""
    if isinstance(schema, dict):
        out = {k: _strict(v) for k, v in schema.items()}
        if out.get("x-kubernetes-int-or-string"):
            out.pop("type", None)
            out["anyOf"] = [{"type": "integer"}, {"type": "string"}]
        if (
            out.get("type") == "object"
            and "properties" in out
            and "additionalProperties" not in out
            and not out.get("x-kubernetes-preserve-unknown-fields")
        ):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [_strict(v) for v in schema]
    return schema


def _iter_crds(paths: Iterable[Path]) -> Iterable[dict[str, Any]]:
    for base in paths:
        if not base.exists():
            continue
        for path in sorted(base.rglob("*.yaml")):
            for doc in yaml.load_all(path.read_text(), Loader=_LOADER):
                if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                    yield doc


@cache
def crd_schemas(extra: tuple[str, ...] = ()) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> strict JSON schema of every CRD version found."""
    return crd_index(_iter_crds([*crd_dirs(), *(Path(p) for p in extra)]))


def crd_index(crds: Iterable[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> strict JSON schema for CRD objects already in memory (e.g. the CRDs
    a rendered chart installs)."""
    index: dict[tuple[str, str], dict[str, Any]] = {}
    for crd in crds:
        group = crd["spec"]["group"]
        kind = crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            schema: dict[str, Any] = (version.get("schema") or {}).get("openAPIV3Schema") or {"type": "object"}
            schema = copy.deepcopy(schema)
            props = schema.setdefault("properties", {})
            # apiVersion/kind/metadata are the API server's business, not the CRD's.
            props["apiVersion"] = {"type": "string"}
            props["kind"] = {"type": "string"}
            props["metadata"] = {"type": "object"}
            index[(f"{group}/{version['name']}", kind)] = _strict(schema)
    return index


def validate_custom_resource(
    obj: dict[str, Any], schemas: dict[tuple[str, str], dict[str, Any]] | None = None
) -> list[str]:
    """Every schema violation of a custom resource, as ``path: message`` strings. ``schemas``
    (from :func:`crd_index`) are consulted before the CRDs in :func:`crd_dirs`."""
    import jsonschema

    key = (obj.get("apiVersion", ""), obj.get("kind", ""))
    schema = (schemas or {}).get(key) or crd_schemas().get(key)
    if schema is None:
        return [f"no CRD schema for {key[0]} {key[1]} in {', '.join(map(str, crd_dirs()))}"]
    validator = jsonschema.Draft7Validator(schema)
    errors = []
    for e in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in e.absolute_path) or "(root)"
        errors.append(f"{path}: {e.message}")
    return errors


def validate_builtin(obj: dict[str, Any], kubernetes_version: str) -> list[str]:
    """Schema violations of a built-in object for Kubernetes ``1.NN`` (strict: unknown fields fail).

    Uses the schemas bundled with ``kubernetes-validate`` (the latest one not newer than the
    requested version), with each parsed schema and validator cached: the package itself re-reads
    megabytes of JSON on every call, which made checking a cluster's few hundred objects slow.
    """
    from kubernetes_validate.utils import SchemaNotFoundError, VersionNotSupportedError

    try:
        validator = _builtin_validator(_k8s_schema_dir(kubernetes_version), str(obj.get("apiVersion", "")),
                                       str(obj.get("kind", "")))
    except (SchemaNotFoundError, VersionNotSupportedError) as exc:
        return [str(exc.message)]
    errors = []
    for e in sorted(validator.iter_errors(obj), key=lambda e: [str(p) for p in e.absolute_path]):
        path = ".".join(str(p) for p in e.absolute_path) or "(root)"
        errors.append(f"{path}: {e.message}")
    return errors


def _minor(version: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", version)[:2])


@cache
def _k8s_schema_dir(kubernetes_version: str) -> str:
    from kubernetes_validate import utils
    from kubernetes_validate.utils import VersionNotSupportedError

    wanted = _minor(kubernetes_version)
    known = [v for v in utils.all_versions() if _minor(v) <= wanted]
    if not known or wanted > _minor(utils.latest_version()):
        raise VersionNotSupportedError(version=kubernetes_version)
    return f"v{known[-1]}-local-strict"


@cache
def _k8s_schema(schema_dir: str, name: str) -> Any:
    from kubernetes_validate import utils

    return utils.schema_contents(f"kubernetes-json-schema/{schema_dir}/{name}", schema_dir)


@cache
def _builtin_validator(schema_dir: str, api_version: str, kind: str) -> Any:
    import jsonschema.validators
    from kubernetes_validate.utils import SchemaNotFoundError
    from referencing import Registry, Resource

    # rbac.authorization.k8s.io/v1 -> rbac-v1, as the bundled file names are spelt.
    api = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)
    try:
        schema = _k8s_schema(schema_dir, f"{kind.lower()}-{api}.json")
    except FileNotFoundError:
        raise SchemaNotFoundError(version=schema_dir.split("-")[0], kind=kind, api_version=api_version) from None
    registry = Resource.from_contents(_k8s_schema(schema_dir, "_definitions.json")) @ (Resource.from_contents(schema) @ Registry())
    return jsonschema.validators.Draft202012Validator(schema, registry=registry)


def is_builtin(obj: dict[str, Any]) -> bool:
    """True for objects of the core Kubernetes API groups (validated by OpenAPI, not a CRD)."""
    api = obj.get("apiVersion", "")
    group = api.split("/")[0] if "/" in api else ""
    return group in {"", "apps", "batch", "policy", "autoscaling"} or group.endswith(".k8s.io")
