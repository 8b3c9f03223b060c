"""The bench's fleet generator and critical-path measure (the timings themselves are not tested)."""

from __future__ import annotations

from offline.bench import critical_path, fleet_of
from stacks.validate import build_spec


def rec(urn: str, *, custom: bool = True, parent: str | None = None, deps: list[str] | None = None,
        provider: str | None = None) -> dict:
    return {"urn": urn, "custom": custom, "parent": parent, "dependencies": deps or [], "provider": provider}


def test_critical_path_follows_dependencies_providers_and_components() -> None:
    records = [
        rec("p"),                                  # a provider
        rec("a", provider="p"),                    # waits on p
        rec("comp", custom=False),
        rec("b", parent="comp", deps=["a"]),       # waits on a
        rec("c", deps=["comp"]),                   # depending on a component = on its children (b)
        rec("lonely"),
    ]
    assert critical_path(records) == 4  # p -> a -> b -> c


def test_replicated_fleets_are_valid_and_sized() -> None:
    for size in (4, 12, 48):
        spec = build_spec(fleet_of(size), "prod")
        assert len(spec.clusters) == size
        assert sum(c.is_management for c in spec.clusters) == 1
        assert len({c.name for c in spec.clusters}) == size
