"""Typed config sections of add-ons, one module each.

Section models subclass :class:`stacks.config.Model`, and ``stacks.config`` imports them back for
its ``FleetConfig`` fields: loading ``stacks.config`` first keeps either import order working.
"""

from .. import config as _config  # noqa: F401
