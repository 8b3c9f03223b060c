"""Resource-option helpers shared by the components."""

from __future__ import annotations

import pulumi


def waits_for(opts: pulumi.ResourceOptions | None) -> list[pulumi.Resource]:
    """The resources a component's options say it depends on, for the children that must wait for
    them: a component's ``dependsOn`` does not reach its children by itself. Another language's
    program sends them the same way (``construct`` turns the request's dependencies into it)."""
    deps = opts.depends_on if opts is not None else None
    if isinstance(deps, pulumi.Resource):
        return [deps]
    if isinstance(deps, (list, tuple)):
        return [d for d in deps if isinstance(d, pulumi.Resource)]
    return []


def moved_from(*parent_urns: pulumi.Input[str]) -> pulumi.ResourceOptions:
    """Options for a resource that used to be a child of the resource at one of ``parent_urns``:
    an alias to each keeps its URN (and its children's) in deployed stacks."""
    return pulumi.ResourceOptions(aliases=[pulumi.Alias(parent=urn) for urn in parent_urns])
