"""Where raw config comes from: the Pulumi runtime (``pulumi up``) or a ``Pulumi.<stack>.yaml`` file (plan)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from . import stackfile
from .config import PROJECT, ConfigError
from .spec import FleetSpec
from .stackfile import StackFile
from .validate import build_spec

ROOT = Path(__file__).resolve().parent.parent
SECRET_PLACEHOLDER = "[secret]"


def _decode(value: Any) -> Any:
    """Config values reach the program as strings; structured ones are JSON."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except (ValueError, RecursionError):  # not JSON, or nested too deep to be config
            return value
    return value


def raw_from_runtime() -> dict[str, Any]:
    """Every ``archipelago:`` key the engine passed to this program, decoded."""
    from pulumi.runtime import config as rc

    merged = {**rc.get_config_env(), **rc.CONFIG.get()}
    prefix = f"{PROJECT}:"
    return {k[len(prefix):]: _decode(v) for k, v in merged.items() if k.startswith(prefix)}


def stack_file(stack: str, root: Path = ROOT) -> Path:
    return root / f"Pulumi.{stack}.yaml"


def read_stack(path: Path) -> StackFile:
    """Parse a stack file (bounded, strict: see :mod:`stacks.stackfile`).

    Encrypted (``secure:``) values cannot be decrypted offline; they become a placeholder and
    stay marked secret.
    """
    return stackfile.parse(path, prefix=f"{PROJECT}:", secret_placeholder=SECRET_PLACEHOLDER)


def read_stack_file(path: Path) -> tuple[dict[str, Any], dict[str, str], list[str]]:
    """(archipelago keys, engine config strings, secret keys) of a stack file."""
    f = read_stack(path)
    return f.raw, f.engine, f.secrets


def load_spec_from_runtime(stack: str) -> FleetSpec:
    """Used by ``__main__.py``: validate or stop the program with every error and no traceback."""
    import pulumi

    try:
        return build_spec(raw_from_runtime(), stack)
    except ConfigError as exc:
        raise pulumi.RunError(exc.render()) from None
