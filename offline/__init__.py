"""Offline tooling: runs the fleet program under the Pulumi SDK's mock runtime.

The mock engine (``mocks``, ``pki``), the plan record (``plan``, ``report``), chart rendering and
admission checks (``render``, ``admission``, ``schemas``), the plan diff, the offline policy run
(``policy``, ``controls``), the bench and the ``python -m offline`` commands. It imports the fleet's
domain (``stacks``) and the program; nothing in ``stacks`` or ``components`` imports it.
"""
