"""The rule model shared by every CrossGuard rule of the kit.

A rule is a check function plus its `RuleMetadata`. Resource rules look at one resource's inputs;
stack rules look at one "subject" resource together with the whole stack, because pulumi-aws v7
models S3 settings, WAF associations and security-group rules as separate resources that have to
be correlated with the bucket, load balancer or group they configure.

Check functions see plain values (`Res.props`, camelCase input names as the engine sends them).
During `pulumi preview` some inputs are still unknown; `get` raises `UnknownValueError` for them,
which pulumi_policy turns into an advisory "can't run policy during preview" note. The same rule
runs again with known values before each resource is created by `pulumi up`.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal, TypeAlias

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import Severity as PolicySeverity
from pulumi_policy.deserialize import serialize_properties
from pulumi_policy.proxy import (
    UNKNOWN_ARCHIVE_VALUE,
    UNKNOWN_ARRAY_VALUE,
    UNKNOWN_ASSET_VALUE,
    UNKNOWN_BOOLEAN_VALUE,
    UNKNOWN_NUMBER_VALUE,
    UNKNOWN_OBJECT_VALUE,
    UNKNOWN_STRING_VALUE,
    UnknownValueError,
)

from idpkit.compliance import RuleMetadata

_UNKNOWN_SENTINELS = frozenset(
    {
        UNKNOWN_ARCHIVE_VALUE,
        UNKNOWN_ARRAY_VALUE,
        UNKNOWN_ASSET_VALUE,
        UNKNOWN_BOOLEAN_VALUE,
        UNKNOWN_NUMBER_VALUE,
        UNKNOWN_OBJECT_VALUE,
        UNKNOWN_STRING_VALUE,
    }
)

ENFORCEMENT_LEVEL = EnforcementLevel.MANDATORY
"""Every rule blocks the deployment: each one guards ePHI or its audit trail. An operator who must
override one does so visibly, per rule, in the policy config."""

ENVIRONMENT_CONFIG_KEY = "environment"
"""Policy config property that names the environment; overrides the stack name."""

ENVIRONMENT_SCHEMA = PolicyConfigSchema(
    properties={
        ENVIRONMENT_CONFIG_KEY: {
            "type": "string",
            "enum": ["dev", "staging", "prod"],
            "description": "Environment whose rules apply; defaults to the stack's idpkit:environment, "
            "then the stack name; anything but dev or staging gets the production rules.",
        }
    }
)


class Environment(StrEnum):
    DEV = "dev"
    STAGING = "staging"
    PROD = "prod"


STACK_ENVIRONMENT_KEY = "idpkit:environment"
"""The program's own stack config key (`idpkit.aws_config`), which the CLI hands the pack."""


def resolve_environment(config: Mapping[str, Any]) -> Environment:
    """The environment whose rules apply.

    In order: the policy config property `environment`; the stack's `idpkit:environment`, from
    the stack config the CLI exports to the pack as PULUMI_CONFIG; the stack name (PULUMI_STACK).
    Fails closed: an unknown or missing name (a typo, `prod-eu`, a test stack) gets the production
    rules, so relaxations apply only where dev or staging is named explicitly.
    """
    try:
        stack_config = json.loads(os.environ.get("PULUMI_CONFIG") or "{}")
    except json.JSONDecodeError:
        stack_config = {}
    name = str(
        config.get(ENVIRONMENT_CONFIG_KEY)
        or (stack_config.get(STACK_ENVIRONMENT_KEY) if isinstance(stack_config, dict) else None)
        # The CLI may pass an org-qualified stack name.
        or os.environ.get("PULUMI_STACK", "").rsplit("/", 1)[-1]
    )
    if name in (Environment.DEV, Environment.STAGING):
        return Environment(name)
    return Environment.PROD


def is_unknown(value: object) -> bool:
    return isinstance(value, str) and value in _UNKNOWN_SENTINELS


def get(props: Mapping[str, Any], *path: str | int) -> Any:
    """The value at `path`, None when absent; raises `UnknownValueError` when not yet known."""
    value: Any = props
    for depth, key in enumerate(path):
        if isinstance(key, str) and isinstance(value, Mapping):
            value = value.get(key)
        elif isinstance(key, int) and isinstance(value, list) and key < len(value):
            value = value[key]
        else:
            return None
        if is_unknown(value):
            raise UnknownValueError(value, [str(p) for p in path[: depth + 1]])
    return value


def present(props: Mapping[str, Any], *path: str | int) -> bool:
    """Whether the input is set; an unknown value is set (it is another resource's output)."""
    try:
        value = get(props, *path)
    except UnknownValueError:
        return True
    return value not in (None, "", [], {})


def items(props: Mapping[str, Any], *path: str | int) -> list[Any]:
    """A list input as a list (empty when absent)."""
    value = get(props, *path)
    return list(value) if isinstance(value, list) else []


def as_list(value: object) -> list[Any]:
    """An IAM policy element that may be one value or a list (`Action`, `Statement`, ...) as a list; absent: empty."""
    return value if isinstance(value, list) else [value] if value is not None else []


def policy_document(value: object) -> Mapping[str, Any]:
    """An IAM policy document given as JSON text or as a mapping; anything unreadable is an empty document."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            return {}
    return value if isinstance(value, Mapping) else {}


def is_true(value: object) -> bool:
    # Some pulumi-aws inputs are typed as strings ("true") where the API takes booleans,
    # e.g. launch template EBS `encrypted`.
    return value is True or (isinstance(value, str) and value.lower() == "true")


def customer_managed_key_problem(props: Mapping[str, Any], *path: str) -> str | None:
    """Why the KMS key input at `path` is not a customer-managed key, or None when it is.

    Unset means the service falls back to an AWS-owned or AWS-managed key, whose key policy
    the kit cannot restrict and whose use is not separable in CloudTrail.
    """
    label = ".".join(path)
    if not present(props, *path):
        return f"{label} is not set, so an AWS-managed key is used instead of a customer-managed one"
    try:
        value = get(props, *path)
    except UnknownValueError:
        # A key ARN computed from a key created in this stack.
        return None
    if "alias/aws/" in str(value):
        return f"{label} names the AWS-managed key {value}; use a customer-managed key"
    return None


@dataclass(frozen=True)
class Res:
    """One resource as a check sees it: plain inputs, and which resources each input came from."""

    type: str
    name: str
    urn: str
    props: Mapping[str, Any]
    depends_on: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Input name -> URNs of the resources whose outputs feed it (stack validation only)."""

    @property
    def label(self) -> str:
        return f"{self.type} '{self.name}'"


def _plain(props: Mapping[str, Any]) -> dict[str, Any]:
    # pulumi_policy wraps inputs in unknown-checking proxies; unwrap to plain values that keep
    # the unknown sentinels so a rule can tell "set but unknown" from "unset".
    return dict(serialize_properties(props))


def _res_from_args(args: ResourceValidationArgs) -> Res:
    return Res(args.resource_type, args.name, args.urn, _plain(args.props))


def _res_from_policy_resource(resource: PolicyResource) -> Res:
    depends_on = {prop: frozenset(dep.urn for dep in deps) for prop, deps in resource.property_dependencies.items()}
    return Res(resource.resource_type, resource.name, resource.urn, _plain(resource.props), depends_on)


_IDENTIFIER_PROPS = ("id", "arn", "name", "bucket")


def _has_unknown(value: object) -> bool:
    if isinstance(value, list):
        return any(_has_unknown(element) for element in value)
    if isinstance(value, Mapping):
        return any(_has_unknown(element) for element in value.values())
    return is_unknown(value)


def _known_strings(value: object) -> Iterator[str]:
    if isinstance(value, str) and not is_unknown(value):
        yield value
    elif isinstance(value, list):
        for element in value:
            yield from _known_strings(element)
    elif isinstance(value, Mapping):
        for element in value.values():
            yield from _known_strings(element)


@dataclass(frozen=True)
class Stack:
    """All resources of the stack, with the correlation the stack rules need."""

    resources: tuple[Res, ...]

    def of_type(self, types: Iterable[str]) -> list[Res]:
        wanted = frozenset(types)
        return [res for res in self.resources if res.type in wanted]

    def refers_to(self, source: Res, prop: str, target: Res) -> bool:
        """Whether `source`'s input `prop` is `target`'s id, ARN or name.

        Property dependencies settle it during preview, when the id is still unknown; known
        values settle it after the update and in the mock runner, which has no dependencies.
        """
        dependencies = source.depends_on.get(prop, frozenset())
        if target.urn in dependencies:
            return True
        value = source.props.get(prop)
        if not dependencies and _has_unknown(value):
            raise UnknownValueError(UNKNOWN_STRING_VALUE, [prop])
        identifiers = {
            identifier
            for key in _IDENTIFIER_PROPS
            if isinstance(identifier := target.props.get(key), str) and not is_unknown(identifier)
        }
        return any(string in identifiers for string in _known_strings(value))

    def linked(self, source: Res, prop: str, target: Res, test: Callable[[Any], bool]) -> bool:
        """Whether `source`'s input `prop` points at `target` by a value other than its id or ARN (a computed
        attribute such as `arnSuffix`, a name inside a document): the property dependency settles it during
        preview; after the update, and in the mock runner, `test` judges the known value."""
        if target.urn in source.depends_on.get(prop, frozenset()):
            return True
        value = source.props.get(prop)
        if _has_unknown(value):
            if source.depends_on.get(prop):
                return False
            raise UnknownValueError(UNKNOWN_STRING_VALUE, [prop])
        return test(value)

    def targets(self, source: Res, prop: str, types: Iterable[str]) -> list[Res]:
        """Resources of `types` that `source`'s input `prop` points at."""
        return [res for res in self.of_type(types) if self.refers_to(source, prop, res)]

    def referrers(self, target: Res, types: Iterable[str], prop: str) -> list[Res]:
        """Resources of `types` whose input `prop` points at `target`."""
        return [res for res in self.of_type(types) if self.refers_to(res, prop, target)]


ResourceCheck: TypeAlias = Callable[[Res, Environment], Iterable[str]]
StackCheck: TypeAlias = Callable[[Res, Stack, Environment], Iterable[str]]


@dataclass(frozen=True)
class Rule:
    """One kit rule: what it enforces (metadata, doc) and how (validate, for pulumi_policy)."""

    metadata: RuleMetadata
    doc: str
    """Per-rule documentation, shown by Pulumi as the policy description."""
    types: tuple[str, ...]
    """Resource types checked (stack rules: the subjects correlated with the rest of the stack)."""
    scope: Literal["resource", "stack"]
    validate: Callable[[Any, ReportViolation], None]
    """A pulumi_policy ResourceValidation or StackValidation."""

    def policy(self) -> Policy:
        """The pulumi_policy policy object the pack registers."""
        common: dict[str, Any] = {
            "name": self.metadata.id,
            "description": self.doc,
            "enforcement_level": ENFORCEMENT_LEVEL,
            "config_schema": ENVIRONMENT_SCHEMA,
            "display_name": self.metadata.title,
            "severity": PolicySeverity(self.metadata.severity.value),
            "tags": list(self.metadata.requirements),
            "remediation_steps": self.metadata.remediation,
        }
        if self.scope == "stack":
            return StackValidationPolicy(validate=self.validate, **common)
        return ResourceValidationPolicy(validate=self.validate, **common)


def _message(metadata: RuleMetadata, res: Res, problem: str) -> str:
    return f"{metadata.id} {res.label}: {problem}"


def _doc(check: Callable[..., Any], metadata: RuleMetadata) -> str:
    if not check.__doc__:
        raise ValueError(f"{metadata.id}: the check function needs a docstring (the rule's documentation)")
    return " ".join(check.__doc__.split())


def resource_rule(metadata: RuleMetadata, types: Sequence[str]) -> Callable[[ResourceCheck], Rule]:
    """Make a resource rule from a check yielding one problem description per violation."""

    def wrap(check: ResourceCheck) -> Rule:
        wanted = frozenset(types)

        def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
            if args.resource_type not in wanted:
                return
            res = _res_from_args(args)
            environment = resolve_environment(args.get_config())
            for problem in check(res, environment):
                report_violation(_message(metadata, res, problem), None)

        return Rule(metadata, _doc(check, metadata), tuple(types), "resource", validate)

    return wrap


def stack_rule(metadata: RuleMetadata, subjects: Sequence[str]) -> Callable[[StackCheck], Rule]:
    """Make a stack rule: the check runs once per subject resource, with the whole stack at hand."""

    def wrap(check: StackCheck) -> Rule:
        def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
            stack = Stack(tuple(_res_from_policy_resource(resource) for resource in args.resources))
            environment = resolve_environment(args.get_config())
            pending: UnknownValueError | None = None
            for subject in stack.of_type(subjects):
                try:
                    for problem in check(subject, stack, environment):
                        report_violation(_message(metadata, subject, problem), subject.urn)
                except UnknownValueError as unknown:
                    # Keep checking the other subjects; report "can't run during preview" last.
                    pending = pending or unknown
            if pending is not None:
                raise pending

        return Rule(metadata, _doc(check, metadata), tuple(subjects), "stack", validate)

    return wrap
