"""Archipelago's fleet domain (the *what*): the typed stack config and its validation, the
address plan, the security baseline, pinned versions, regions and the fleet port table.

Pure data and functions: nothing here registers a Pulumi resource or imports the offline tooling
(``offline/``) or the components (``components/``); both of those import this package.
"""
