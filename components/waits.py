"""What a component's children wait for when a program (in any language) sets ``dependsOn`` on
the component: the engine does not pass a component's dependencies on to its children, so the
components that need ordering across clusters hand them to the children that need it."""

from __future__ import annotations

import pulumi


def depends_on_of(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """The resources in ``opts.depends_on`` (a resource or a list of them; Inputs are left out)."""
    deps = opts.depends_on if opts is not None else None
    if deps is None:
        return []
    items = deps if isinstance(deps, list) else [deps]
    return [d for d in items if isinstance(d, pulumi.Resource)]
