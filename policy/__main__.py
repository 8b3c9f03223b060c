"""Entry point the Pulumi CLI runs for ``pulumi preview --policy-pack policy``."""

import importlib
import sys
from pathlib import Path

from pulumi_policy import PolicyPack

# The CLI starts the pack from this folder; the rules are imported as the ``policy`` package so
# the offline runner (``python -m offline plan <stack> --policy``) and the CLI share one module.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
pack = importlib.import_module("policy.pack")

PolicyPack(name=pack.PACK_NAME, policies=pack.build_policies())
