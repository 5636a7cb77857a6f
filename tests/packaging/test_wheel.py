"""The wheel the hosts install (from the staged wheelhouse) carries every file the kit reads at run time.

Which files the kit reads is derived from the code, not listed here: every
`importlib.resources.files(<package>).joinpath(<path>)` in the package, evaluated in its module.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import idpkit

PROJECT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory: pytest.TempPathFactory) -> set[str]:
    out = tmp_path_factory.mktemp("wheel")
    completed = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--disable-pip-version-check", "-q",
         "--wheel-dir", str(out), str(PROJECT)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert completed.returncode == 0, f"pip wheel failed:\n{completed.stderr[-3000:]}"
    assert "warning" not in completed.stderr.lower(), f"building the wheel warns:\n{completed.stderr[-3000:]}"
    (wheel,) = out.glob("idpkit-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        return set(archive.namelist())


def _modules() -> Iterator[str]:
    for module in pkgutil.walk_packages(idpkit.__path__, "idpkit."):
        yield module.name


def _resource_reads() -> Iterator[tuple[str, str]]:
    """(module, file path in the wheel) of every `resources.files(pkg).joinpath(path)` in the kit."""
    for name in _modules():
        source = importlib.util.find_spec(name)
        assert source and source.origin
        tree = ast.parse(Path(source.origin).read_text())
        for node in ast.walk(tree):
            if not (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "joinpath"
            ):
                continue
            files = node.func.value
            if not (
                isinstance(files, ast.Call) and isinstance(files.func, ast.Attribute) and files.func.attr == "files"
            ):
                continue
            namespace = vars(importlib.import_module(name))
            package = eval(compile(ast.Expression(files.args[0]), name, "eval"), namespace)  # noqa: S307 - own code
            path = eval(compile(ast.Expression(node.args[0]), name, "eval"), namespace)  # noqa: S307 - own code
            yield name, f"{package.replace('.', '/')}/{path}"


READS = sorted(set(_resource_reads()))


def test_the_kit_reads_some_package_files() -> None:
    assert READS, "no resources.files(...).joinpath(...) found: the scan that derives the list is broken"


@pytest.mark.parametrize(("module", "path"), READS)
def test_wheel_carries_every_file_the_kit_reads(wheel_names: set[str], module: str, path: str) -> None:
    assert path in wheel_names, f"{module} reads {path} at run time, but the wheel lacks it (pyproject package-data)"


def test_wheel_carries_no_unread_data_files(wheel_names: set[str]) -> None:
    data = {n for n in wheel_names if n.startswith("idpkit/") and not n.endswith((".py", "/py.typed"))}
    assert data == {path for _module, path in READS}, f"package data the kit never reads: {sorted(data)}"


def test_wheel_installs_no_top_level_components_package(wheel_names: set[str]) -> None:
    tops = {name.split("/", 1)[0] for name in wheel_names if not name.startswith("idpkit-")}
    assert tops == {"idpkit"}, f"the wheel installs top-level packages {sorted(tops)}; only idpkit belongs there"
