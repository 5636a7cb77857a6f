"""The hardened AWS properties of a stack: the resource inputs the policy rules read, and their values.

The rules run over the stack's mock-run graph (`idpkit.aws_graph`) exactly as `run_rules` runs them;
while they do, each resource's inputs are wrapped so that every input a rule reads is recorded. The
properties listed therefore follow the rules' code: a rule that starts (or stops) checking an input
changes the report without a table to edit. Reads that only correlate resources (a bucket's name
matched against a policy's `bucket` input, in `Stack.refers_to`) are not settings and are left out.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from unittest.mock import patch

from idpkit.aws_graph import StackGraph
from idpkit.policy import core
from idpkit.policy.core import Rule
from idpkit.policy.runner import StackResource, Violation, run_rules


@dataclass(frozen=True)
class AwsSetting:
    resource: str
    type: str
    path: str
    """Input path, e.g. `metadataOptions.httpTokens` or `ingress[0].cidrBlocks`."""
    value: Any
    rules: tuple[str, ...]


@dataclass(frozen=True)
class AwsEvaluation:
    settings: list[AwsSetting]
    violations: list[tuple[Violation, str]]
    """Each violation with the name of the resource it concerns."""


class _Reads(dict[str, Any]):
    """A resource's inputs that record which keys are read, through nested mappings and lists.

    A dict subclass holding the raw values, so `isinstance(x, dict)` checks and C-level reads
    (`dict(x)`, `json.dumps`) behave exactly as on the original inputs; only `[]` and `get`, the
    ways rules read one input, record and hand out wrapped children.
    """

    def __init__(self, data: Mapping[str, Any], record: Callable[[str], None], path: str = "") -> None:
        super().__init__(data)
        self._record, self._path = record, path

    def __getitem__(self, key: str) -> Any:
        value = super().__getitem__(key)
        here = f"{self._path}.{key}" if self._path else key
        self._record(here)
        return _wrap(value, self._record, here)

    def get(self, key: str, default: Any = None) -> Any:
        if key in self:
            return self[key]
        # An input the rule requires to be absent (e.g. no SSH key pair) is a setting too.
        self._record(f"{self._path}.{key}" if self._path else key)
        return default


def _wrap(value: Any, record: Callable[[str], None], path: str) -> Any:
    if isinstance(value, Mapping):
        return _Reads(value, record, path)
    if isinstance(value, list):
        return [_wrap(item, record, f"{path}[{index}]") for index, item in enumerate(value)]
    return value


def stack_resources(graph: StackGraph) -> list[StackResource]:
    """The graph's cloud resources as the policy rules see them on `pulumi up`: resource rules read the
    inputs, stack rules the state after the update (inputs plus computed attributes such as `arnSuffix`)."""
    return [
        StackResource(r.type, r.name, r.inputs, r.id, {**r.outputs, **r.inputs}) for r in graph.resources if r.custom
    ]


def evaluate(graph: StackGraph, environment: str, rules: Sequence[Rule]) -> AwsEvaluation:
    """Run `rules` over the graph's resources; the properties they read and the violations they report."""
    resources = stack_resources(graph)
    reads: dict[tuple[str, str], dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    violations: list[Violation] = []
    for rule in rules:

        def sink(res: core.Res, path: str, rule_id: str = rule.metadata.id) -> None:
            reads[(res.name, res.type)][path].add(rule_id)

        with _recording(sink):
            violations += run_rules(resources, environment, [rule])
    inputs = {(r.name, r.type): r.outputs or r.props for r in resources}
    settings = [
        AwsSetting(name, type_, path, _value_at(inputs[(name, type_)], path), tuple(sorted(rule_ids)))
        for (name, type_), paths in reads.items()
        for path, rule_ids in sorted(paths.items())
        if not _has_deeper(path, paths)
    ]
    names = {f"::{r.type}::{r.name}": r.name for r in resources}
    located = [(v, next((n for suffix, n in names.items() if v.urn.endswith(suffix)), v.urn)) for v in violations]
    return AwsEvaluation(sorted(settings, key=lambda s: (s.resource, s.path)), located)


@contextmanager
def _recording(sink: Callable[[core.Res, str], None]) -> Iterator[None]:
    """Wrap the inputs of every `Res` the rules build; pause while `Stack.refers_to` correlates.

    The rules build a `Res` through these two module functions whether run by Pulumi or by
    `run_rules`; patching them is the one place to observe every read without touching a rule.
    """
    paused = False
    build_resource, build_stack_resource, refers_to = (
        core._res_from_args,
        core._res_from_policy_resource,
        core.Stack.refers_to,
    )

    def watched(build: Callable[[Any], core.Res]) -> Callable[[Any], core.Res]:
        def wrapper(source: Any) -> core.Res:
            res = build(source)

            def record(path: str) -> None:
                if not paused:
                    sink(res, path)

            return replace(res, props=_Reads(res.props, record))

        return wrapper

    def correlating(stack: core.Stack, source: core.Res, prop: str, target: core.Res) -> bool:
        nonlocal paused
        paused = True
        try:
            return refers_to(stack, source, prop, target)
        finally:
            paused = False

    with (
        patch.object(core, "_res_from_args", watched(build_resource)),
        patch.object(core, "_res_from_policy_resource", watched(build_stack_resource)),
        patch.object(core.Stack, "refers_to", correlating),
    ):
        yield


def _has_deeper(path: str, paths: Mapping[str, Any]) -> bool:
    # A mapping a rule only walked through is not itself a setting; its leaves are.
    return any(other.startswith((f"{path}.", f"{path}[")) for other in paths)


def _value_at(props: Mapping[str, Any], path: str) -> Any:
    value: Any = props
    for part in path.replace("[", ".[").split("."):
        if part.startswith("["):
            value = value[int(part[1:-1])]
        else:
            value = value.get(part) if isinstance(value, Mapping) else None
    return value
