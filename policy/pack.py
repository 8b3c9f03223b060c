"""``pulumi_policy`` wrappers around the rules in ``rules.py`` (one wrapper per rule kind)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.rules import (
    MANDATORY,
    PROVIDER_POLICIES,
    RESOURCE_POLICIES,
    STACK_POLICIES,
    ProviderPolicy,
    ResourcePolicy,
    StackPolicy,
    Subject,
)

PACK_NAME = "archipelago-baseline"


def _level(level: str) -> EnforcementLevel:
    return EnforcementLevel.MANDATORY if level == MANDATORY else EnforcementLevel.ADVISORY


def _resource(rule: ResourcePolicy) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type in rule.types:
            for reason in rule.check(args.resource_type, args.props):
                report(reason, None)

    return ResourceValidationPolicy(rule.name, rule.description, validate, _level(rule.level))


def _provider(rule: ProviderPolicy) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        urn = args.provider.urn if args.provider is not None else None
        for reason in rule.check(args.resource_type, urn):
            report(reason, None)

    return ResourceValidationPolicy(rule.name, rule.description, validate, _level(rule.level))


def _stack(rule: StackPolicy) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        subjects = [Subject(r.urn, r.resource_type, r.props, tuple(d.urn for d in r.dependencies)) for r in args.resources]
        for urn, reason in rule.check(subjects):
            report(reason, urn)

    return StackValidationPolicy(rule.name, rule.description, validate, _level(rule.level))


def build_policies() -> list[Any]:
    return ([_resource(r) for r in RESOURCE_POLICIES] + [_provider(r) for r in PROVIDER_POLICIES]
            + [_stack(r) for r in STACK_POLICIES])
