"""Run ``__main__.py`` in-process under the mock engine and keep the plan record.

Config is validated first: a bad stack file raises :class:`ConfigError` before the Pulumi
runtime is even configured, so nothing is registered.
"""

from __future__ import annotations

import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import settings as pulumi_settings
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from stacks.config import PROJECT, ConfigError
from stacks.loader import ROOT, read_stack, stack_file
from stacks.spec import FleetSpec
from stacks.stackfile import StackFile
from stacks.validate import build_spec

from .mocks import MASK, FleetMocks, RecordingMonitor, mask_secrets


@dataclass
class Plan:
    stack: str
    spec: FleetSpec
    resources: list[dict[str, Any]]
    outputs: dict[str, dict[str, Any]]
    # The exported Output objects themselves, for in-process tests (secretness, values).
    raw_outputs: dict[str, Any] = field(default_factory=dict)

    def by_urn(self) -> dict[str, dict[str, Any]]:
        return {r["urn"]: r for r in self.resources}

    def of_type(self, typ: str) -> list[dict[str, Any]]:
        return [r for r in self.resources if r["type"] == typ]

    def to_json(self) -> dict[str, Any]:
        # Registration order depends on async scheduling; sorted by urn the record is reproducible.
        resources = sorted(self.resources, key=lambda r: r["urn"])
        return {"stack": self.stack, "resources": resources, "outputs": self.outputs}


def load_stack(stack: str, root: Path = ROOT) -> StackFile:
    path = stack_file(stack, root)
    if not path.is_file():
        raise FileNotFoundError(f"no stack file {path.name} in {root}")
    return read_stack(path)


def load_raw(stack: str, root: Path = ROOT) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    f = load_stack(stack, root)
    return f.raw, f.engine, f.secrets


def run_plan(stack: str, root: Path = ROOT, *, raw: dict[str, Any] | None = None) -> Plan:
    """Plan ``stack`` offline. ``raw`` replaces the stack file's ``archipelago:`` keys (tests)."""
    loaded = load_stack(stack, root)
    file_raw, engine_config, secret_keys = loaded.raw, loaded.engine, loaded.secrets
    if raw is not None:
        import json

        file_raw = raw
        engine_config = {k: v for k, v in engine_config.items() if not k.startswith(f"{PROJECT}:")}
        engine_config.update({f"{PROJECT}:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in raw.items()})
    try:
        spec = build_spec(file_raw, stack)  # raises ConfigError before anything is registered
    except ConfigError as exc:
        raise exc.locate(loaded.path.name, loaded.lines if raw is None else {}) from None

    records = run_program(root / "__main__.py", PROJECT, stack, engine_config, secret_keys)
    exported, outputs = stack_outputs()
    return Plan(stack=stack, spec=spec, resources=records, outputs=outputs, raw_outputs=exported)


def stack_outputs() -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """What the program just run exported: (raw values, {name: {secret, value}} with secrets masked)."""
    stack_resource = pulumi_settings.get_root_resource()
    exported = dict(getattr(stack_resource, "outputs", {}) or {})
    outputs: dict[str, dict[str, Any]] = {}
    for name, value in exported.items():
        out = pulumi.Output.from_input(value)
        secret = _sync_await(out.is_secret())
        resolved = _sync_await(out.future())
        outputs[name] = {"secret": bool(secret), "value": MASK if secret else mask_secrets(_plain(resolved))}
    return exported, outputs


def run_program(main: Path, project: str, stack: str, config: dict[str, str] | None = None,
                secret_keys: list[str] | None = None) -> list[dict[str, Any]]:
    """Run the Pulumi program ``main`` under the fleet's mock engine; the records it registers."""
    mocks = FleetMocks()
    monitor = RecordingMonitor(mocks)
    pulumi_settings.ROOT.set(None)
    pulumi.runtime.set_all_config(config or {}, secret_keys or [])
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor)
    # rpc_manager is filled in by the SDK's contextproperty decorator, which type checkers cannot see.
    pulumi_settings.SETTINGS.rpc_manager.clear() if hasattr(pulumi_settings, "SETTINGS") else None  # pyright: ignore[reportAttributeAccessIssue]

    def run_main() -> None:
        runpy.run_path(str(main), run_name="__main__")

    try:
        _sync_await(run_pulumi_func(run_main))
    except Exception:
        monitor.check_unique()  # the cause, when a duplicate URN failed the run
        raise
    monitor.check_unique()
    return monitor.records


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return str(value)
