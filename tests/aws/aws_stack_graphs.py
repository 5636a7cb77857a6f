"""Shared, cached resource graphs of the three AWS stacks for the tests in this directory.

Each stack's graph is captured once per test session (one subprocess per stack, in parallel) by
`idpkit.aws_graph`, when the first test module asks for it at collection time.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

from idpkit.aws_config import missing_host_wheelhouse
from idpkit.aws_graph import Resource, StackGraph, capture_all

PROJECT = Path(__file__).resolve().parents[2]

STACKS = ("dev", "staging", "prod")


@functools.cache
def graphs() -> dict[str, StackGraph]:
    captured = capture_all(STACKS)
    for stack, graph in captured.items():
        if graph.error:
            raise RuntimeError(f"stack {stack}: the program failed under mocks: {graph.error}")
    _missing_wheelhouse_at_capture.append(missing_host_wheelhouse(PROJECT, "x86_64"))
    return captured


_missing_wheelhouse_at_capture: list[str | None] = []


def missing_wheelhouse_at_capture() -> str | None:
    """What the program announced about the x86_64 host wheelhouse when the graphs were captured (a later
    test, such as a rehearsal, may build it meanwhile)."""
    graphs()
    return _missing_wheelhouse_at_capture[0]


def params(
    type_token: str,
    stacks: Iterable[str] = STACKS,
    where: Callable[[Resource], bool] = lambda _: True,
) -> list[Any]:
    """`pytest.param(stack, resource)` for every resource of `type_token`, with readable ids."""
    found = [
        pytest.param(stack, resource, id=f"{stack}:{resource.name}")
        for stack in stacks
        for resource in graphs()[stack].of_type(type_token)
        if where(resource)
    ]
    if not found:
        raise AssertionError(f"no {type_token} resource in stacks {list(stacks)}: the parametrized rule checks nothing")
    return found


def stack_params(stacks: Iterable[str] = STACKS) -> list[Any]:
    return [pytest.param(stack, id=stack) for stack in stacks]


def policy(resource: Resource, key: str = "policy") -> dict[str, Any]:
    """A JSON policy input, parsed."""
    loaded: dict[str, Any] = json.loads(resource.inputs[key])
    return loaded


def describe(resource: Resource) -> str:
    return f"{resource.type} {resource.name} ({resource.urn})"


def related(graph: StackGraph, type_token: str, key: str, value: Any) -> list[Resource]:
    """Resources of `type_token` whose input `key` equals `value` (e.g. the versioning of a bucket)."""
    return [resource for resource in graph.of_type(type_token) if resource.inputs.get(key) == value]
