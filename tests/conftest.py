"""Shared fixtures: the real local stack, and Keycloak's logs kept as artifacts when a test fails."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Generator
from pathlib import Path

import pytest

from idpkit.local.layout import LocalLayout
from idpkit.outputs import StackOutputs, load_outputs

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


def idpkit(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    """Run the real `idpkit` command line, as a user would."""
    completed = subprocess.run(
        [sys.executable, "-m", "idpkit", *args], capture_output=True, text=True, timeout=timeout, check=False
    )
    if check and completed.returncode != 0:
        pytest.fail(f"`idpkit {' '.join(args)}` exited {completed.returncode}:\n{completed.stderr}")
    return completed


def idpkit_json(*args: str) -> dict[str, object]:
    loaded: dict[str, object] = json.loads(idpkit(*args, "--json").stdout)
    return loaded


@pytest.fixture(scope="session")
def live_stack() -> StackOutputs:
    """The local stack, up and healthy (brought up if needed), as its outputs contract."""
    idpkit("local", "up", "--json")
    return load_outputs("local")


@pytest.fixture(scope="session")
def applied_realm(live_stack: StackOutputs) -> StackOutputs:
    """The local stack with the codified realm applied (and its smoke credentials generated).

    Tests that need the shipped realm ask for this rather than relying on an earlier test having applied it.
    """
    idpkit("realm", "apply", "--stack", "local")
    return live_stack


@pytest.fixture(scope="session")
def local_layout() -> LocalLayout:
    return LocalLayout.for_stack()


ALL_REHEARSALS = "--run-all-rehearsals"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        ALL_REHEARSALS, action="store_true", help="Also rehearse staging (about 10 minutes; CI rehearses dev and prod)."
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Lifecycle tests (which tear the stack down and bring it back) run before anything that uses it; the
    slow rehearsals run only when asked for (`make rehearsal`)."""
    items.sort(key=lambda item: 0 if item.get_closest_marker("lifecycle") else 1)
    if not config.getoption(ALL_REHEARSALS):
        slow = [item for item in items if item.get_closest_marker("slow_rehearsal")]
        for item in slow:
            items.remove(item)
        config.hook.pytest_deselected(items=slow)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        _keep_server_logs(item.name)
    return report


def _keep_server_logs(test_name: str) -> None:
    logs = LocalLayout.for_stack().logs
    if logs.is_dir():
        target = ARTIFACTS / test_name.replace("/", "_")
        shutil.copytree(logs, target, dirs_exist_ok=True)


_FIGURES: list[tuple[str, str]] = []


@pytest.fixture(scope="session")
def record_figure():  # type: ignore[no-untyped-def]
    """Record a measured figure (a time, a count) printed at the end of the run; never asserted on."""

    def record(name: str, value: str) -> None:
        _FIGURES.append((name, value))

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _FIGURES:
        terminalreporter.section("measured figures")
        for name, value in _FIGURES:
            terminalreporter.write_line(f"{name}: {value}")
