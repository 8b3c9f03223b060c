"""Archipelago's typed fleet configuration (the *what*): models, validation, the address plan,
the security baseline, pinned versions, the mock engine and the ``python -m stacks`` commands."""
