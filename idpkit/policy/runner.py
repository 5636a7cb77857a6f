"""Run the kit's rules without the Pulumi CLI: over a mock-run resource graph, or in tests.

The CLI feeds rules through a gRPC analyzer; here the same validate functions get the same
pulumi_policy argument objects, built from plain (type, name, inputs) records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    StackValidationArgs,
)
from pulumi_policy.proxy import unknown_checking_proxy

from idpkit.policy.core import ENVIRONMENT_CONFIG_KEY, Rule


@dataclass(frozen=True)
class StackResource:
    """One resource of a (mock) program run: its type token, logical name and inputs (camelCase)."""

    type: str
    name: str
    props: Mapping[str, Any]
    id: str | None = None
    """The resource id, when known: lets stack rules match inputs such as `bucket=<bucket id>`."""
    outputs: Mapping[str, Any] | None = None
    """The resource's state after an update (inputs and computed attributes such as `arnSuffix`), when known:
    what the engine hands stack rules after `pulumi up`. Resource rules always see the inputs."""


@dataclass(frozen=True)
class Violation:
    rule_id: str
    urn: str
    message: str


def urn_of(resource: StackResource, stack: str) -> str:
    return f"urn:pulumi:{stack}::idpkit::{resource.type}::{resource.name}"


def _props(resource: StackResource, *, state: bool = False) -> dict[str, Any]:
    props = dict(resource.outputs if state and resource.outputs is not None else resource.props)
    if resource.id is not None:
        props.setdefault("id", resource.id)
    return props


def _options() -> PolicyResourceOptions:
    return PolicyResourceOptions(
        protect=False,
        ignore_changes=[],
        delete_before_replace=None,
        aliases=[],
        custom_timeouts=PolicyCustomTimeouts(0, 0, 0),
        additional_secret_outputs=[],
    )


def resource_args(resource: StackResource, environment: str) -> ResourceValidationArgs:
    """What the analyzer passes a resource rule, inputs wrapped in the same unknown-checking proxy."""
    return ResourceValidationArgs(
        resource_type=resource.type,
        props=unknown_checking_proxy(_props(resource)),
        urn=urn_of(resource, environment),
        name=resource.name,
        opts=_options(),
        provider=None,
        config={ENVIRONMENT_CONFIG_KEY: environment},
    )


def policy_resource(resource: StackResource, environment: str) -> PolicyResource:
    """What the analyzer passes a stack rule for one resource, without property dependencies: a mock
    run has none, so references resolve through known ids, ARNs and computed attributes."""
    return PolicyResource(
        resource_type=resource.type,
        props=unknown_checking_proxy(_props(resource, state=True)),
        urn=urn_of(resource, environment),
        name=resource.name,
        opts=_options(),
        provider=None,
        parent=None,
        dependencies=[],
        property_dependencies={},
    )


def stack_args(resources: Iterable[StackResource], environment: str) -> StackValidationArgs:
    """What the analyzer passes a stack rule."""
    return StackValidationArgs(
        [policy_resource(resource, environment) for resource in resources],
        config={ENVIRONMENT_CONFIG_KEY: environment},
    )


def _collector(violations: list[Violation], rule_id: str, subject_urn: str = "") -> ReportViolation:
    # Resource rules report without a URN: the analyzer attributes them to the resource analysed.
    def report(message: str, urn: str | None = None) -> None:
        violations.append(Violation(rule_id, urn or subject_urn, message))

    return report


def run_rules(
    resources: Iterable[StackResource | tuple[str, str, Mapping[str, Any]]],
    environment: str,
    rules: Sequence[Rule],
) -> list[Violation]:
    """Every violation the rules report over `resources` for the named environment (dev, staging, prod)."""
    stack = [r if isinstance(r, StackResource) else StackResource(*r) for r in resources]
    violations: list[Violation] = []
    for rule in rules:
        if rule.scope == "stack":
            rule.validate(stack_args(stack, environment), _collector(violations, rule.metadata.id))
            continue
        for resource in stack:
            report = _collector(violations, rule.metadata.id, urn_of(resource, environment))
            rule.validate(resource_args(resource, environment), report)
    return violations
