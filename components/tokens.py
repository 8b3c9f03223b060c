"""Type tokens of the components: one scheme for every component, ``archipelago:index:<Class>``.

The SDK's component analyzer puts every component of a package in the ``index`` module and a
consumer's program (any language) asks the package for ``archipelago:index:<Class>``; the
provider finds the class by the token's last segment. A component registered under another token
would answer that request with a URN of another type, so each component registers the token the
schema names. Components first registered under a per-concern module (``archipelago:clusters:...``)
carry an alias to that old type: deployed stacks keep every URN (the engine applies a parent's
aliases to its children too).
"""

import pulumi

PACKAGE_NAME = "archipelago"


def component_type(cls: type) -> str:
    """The token a component class registers under, and the one its package schema names."""
    return f"{PACKAGE_NAME}:index:{cls.__name__}"


def renamed_from(legacy_type: str, opts: pulumi.ResourceOptions | None) -> pulumi.ResourceOptions:
    """``opts`` plus an alias to the type a component was deployed under before."""
    return pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(aliases=[pulumi.Alias(type_=legacy_type)]))
