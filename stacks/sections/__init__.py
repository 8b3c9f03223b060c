"""Typed config sections of the add-ons, one module per area (``FleetConfig`` holds one field each).

Section models build on :class:`stacks.config.Model`, and ``stacks.config`` imports them for its
field lines. Loading ``stacks.config`` first here keeps that cycle safe whichever module a caller
imports first.
"""

from .. import config as _config  # noqa: F401 - must run before any section module
