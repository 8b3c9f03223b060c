"""Typed config sections of the add-ons, one module per area (``FleetConfig`` holds one field each).

Section models build on :mod:`stacks.core`; ``stacks.config`` imports them for its fields.
"""
