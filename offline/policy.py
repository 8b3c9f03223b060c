"""Offline policy run: the policy pack's rules (``policy/rules.py``) over the plan record.

The record holds each resource as the engine received it (type, inputs, provider), which is what
``pulumi_policy`` hands the same rules during ``pulumi preview --policy-pack policy``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from policy.controls import environment_of
from policy.rules import (
    CONTROL_POLICIES,
    MANDATORY,
    PROVIDER_POLICIES,
    RESOURCE_POLICIES,
    STACK_POLICIES,
    Subject,
    default_provider_urn,
)


@dataclass(frozen=True)
class Violation:
    policy: str
    level: str
    urn: str
    reason: str

    @property
    def resource(self) -> str:
        """``type::name`` (the URN's tail), short enough for a terminal line."""
        return self.urn.split("$")[-1] if "$" in self.urn else self.urn.split("::", 2)[-1]

    def line(self) -> str:
        return f"[{self.level}] {self.policy}: {self.resource}: {self.reason}"


def evaluate(records: Iterable[Mapping[str, Any]], environment: str | None = None) -> list[Violation]:
    """Every violation of every policy, mandatory and advisory, in record order. The baseline's
    environment is ``environment``, else each record's stack name, as in the pack."""
    records = list(records)
    out: list[Violation] = []
    for r in records:
        if not r.get("custom", True):
            continue  # components are not sent to analyzers' resource checks
        typ, props = r["type"], r.get("inputs") or {}
        env = environment_of(r["urn"], environment)
        for cpol in CONTROL_POLICIES:
            if typ in cpol.types:
                out += [Violation(cpol.name, cpol.level, r["urn"], why) for why in cpol.check(typ, props, bool(r.get("protect")), env)]
        for pol in RESOURCE_POLICIES:
            if typ in pol.types:
                out += [Violation(pol.name, pol.level, r["urn"], why) for why in pol.check(typ, props)]
        # The mock engine records no reference where the real one would use a default provider.
        provider = r.get("provider") or default_provider_urn(typ)
        for ppol in PROVIDER_POLICIES:
            out += [Violation(ppol.name, ppol.level, r["urn"], why) for why in ppol.check(typ, provider)]
    subjects = [Subject(r["urn"], r["type"], r.get("inputs") or {}, tuple(r.get("dependencies") or ())) for r in records]
    for spol in STACK_POLICIES:
        out += [Violation(spol.name, spol.level, urn, why) for urn, why in spol.check(subjects)]
    return out


def mandatory(violations: Iterable[Violation]) -> list[Violation]:
    return [v for v in violations if v.level == MANDATORY]


def command(records: Iterable[Mapping[str, Any]], console: Any) -> int:
    """``plan <stack> --policy``: list every violation; 3 when any is mandatory."""
    found = evaluate(records)
    blocking = mandatory(found)
    for v in found:
        console.print(v.line(), markup=False, style="bold red" if v.level == MANDATORY else "yellow")
    console.print(f"policy pack: {len(blocking)} mandatory and {len(found) - len(blocking)} advisory violation(s)")
    return 3 if blocking else 0
