"""Outputs a component declares for the package schema: annotated class attributes, registered under
the names the schema gives them (camelCase)."""

import inspect

import pulumi


def camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(w.title() for w in rest)


def register_declared_outputs(component: pulumi.ComponentResource) -> None:
    """Register every output ``component``'s class declares (its annotated attributes), by schema name."""
    declared = [k for k in inspect.get_annotations(type(component)) if not k.startswith("_")]
    component.register_outputs({camel(k): getattr(component, k) for k in declared})
