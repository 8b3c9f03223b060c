"""``pulumi_policy`` wrappers around the rules in ``rules.py`` (one wrapper per rule kind)."""

from __future__ import annotations

from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)

from policy.controls import environment_of
from policy.rules import (
    CONTROL_POLICIES,
    MANDATORY,
    PROVIDER_POLICIES,
    RESOURCE_POLICIES,
    STACK_POLICIES,
    ControlPolicy,
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


# The baseline a stack is held to: set it with --policy-pack-config, else the stack's name
# (dev, staging, prod) decides, else prod.
ENVIRONMENT_SCHEMA = PolicyConfigSchema({"environment": {"type": "string", "enum": ["dev", "staging", "prod"]}})


def _control(rule: ControlPolicy) -> ResourceValidationPolicy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type in rule.types:
            env = environment_of(args.urn, (args.get_config() or {}).get("environment"))
            for reason in rule.check(args.resource_type, args.props, bool(args.opts.protect), env):
                report(reason, None)

    return ResourceValidationPolicy(rule.name, rule.description, validate, _level(rule.level), config_schema=ENVIRONMENT_SCHEMA)


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
    return ([_control(r) for r in CONTROL_POLICIES] + [_resource(r) for r in RESOURCE_POLICIES] + [_provider(r) for r in PROVIDER_POLICIES]
            + [_stack(r) for r in STACK_POLICIES])
