"""The package's dependencies point one way: from the command line down to the shared foundations.

Layers, lowest first, follow the kit's flow (configuration → validation → plan → apply → verification →
evidence): a module may import its own layer or lower ones, never a higher one, and no two modules import
each other, directly or around a loop. The import graph is read from the source (every `import` and
`from … import`, including the ones inside functions).
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "idpkit"
# Subpackages (and top-level modules) by layer; the flow runs upward.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "paths", "console", "constants", "compliance", "certificates", "bugs", "__init__"),
    ("system",),
    ("keycloak_server", "outputs"),
    ("keycloak_admin",),
    ("realm",),
    ("local", "host", "aws_config"),
    ("keys", "policy", "aws_graph"),
    ("smoke",),
    ("review", "rehearsal", "runbooks"),
    ("chaos",),
    ("cli", "__main__"),
)
LAYER_OF = {name: index for index, names in enumerate(LAYERS) for name in names}


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


MODULES = _modules()


def _imports() -> dict[str, set[str]]:
    """Module -> the kit's modules it imports (`from pkg import sub` counts as importing `pkg.sub`)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in MODULES.items():
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                submodules = [f"{node.module}.{alias.name}" for alias in node.names]
                targets = [target for target in submodules if target in MODULES] or [node.module]
            else:
                continue
            graph[name] |= {target for target in targets if target in MODULES and target != name}
    return graph


IMPORTS = _imports()


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_part_of_the_package_has_a_layer() -> None:
    unplaced = sorted({_layer(module) for module in MODULES} - set(LAYER_OF))
    assert not unplaced, f"idpkit parts without a layer in this test's LAYERS: {unplaced}"


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_upward_import(module: str) -> None:
    own = LAYER_OF[_layer(module)]
    upward = sorted(target for target in IMPORTS[module] if LAYER_OF[_layer(target)] > own)
    assert not upward, f"{module} (layer {_layer(module)}) imports higher layers: {upward}"


def test_no_import_cycle() -> None:
    cycles = _strongly_connected(IMPORTS)
    assert not cycles, f"modules importing each other around a loop: {cycles}"


def _strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively; components of more than one module are cycles."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []
    for start in sorted(MODULES):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, successors = work[-1]
            advanced = False
            for successor in successors:
                if successor not in index:
                    index[successor] = low[successor] = len(index)
                    stack.append(successor)
                    on_stack.add(successor)
                    work.append((successor, iter(sorted(graph[successor]))))
                    advanced = True
                    break
                if successor in on_stack:
                    low[node] = min(low[node], index[successor])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    components.append(sorted(component))
    return components
