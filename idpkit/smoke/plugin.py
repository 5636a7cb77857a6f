"""pytest plugin for the smoke suite: the stack under test, requirement metadata, redaction, summary.

Loaded by `idpkit smoke` (`-p idpkit.smoke.plugin`). Every smoke test must carry a check
(`idpkit.smoke.checks.check`); its ID lands in the JUnit XML (property `check`), in the per-flow
summary, and in the results file that `idpkit review` reads.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Generator
from dataclasses import asdict
from pathlib import Path
from typing import Any

import pytest

from idpkit.compliance import RuleMetadata
from idpkit.smoke.redaction import redact

STACK_OPTION = "--stack"
RESULTS_OPTION = "--smoke-results"
CATALOG_OPTION = "--catalog"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("idpkit smoke")
    group.addoption(STACK_OPTION, default="local", help="Stack under test (its outputs contract is read).")
    group.addoption(RESULTS_OPTION, default=None, help="Write per-test results as JSON to this file.")
    group.addoption(CATALOG_OPTION, default=None, help="Write every check's metadata and tests as JSON to this file.")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "proves(metadata): the smoke check (RuleMetadata) this test proves")
    config.addinivalue_line("markers", "expiry: waits for a real expiry; deselected by default, run with -m expiry")
    config.stash[_RESULTS] = []
    config.stash[_STARTED] = time.monotonic()


def check_of(item: pytest.Item) -> RuleMetadata | None:
    marker = item.get_closest_marker("proves")
    if marker is None or not marker.args or not isinstance(marker.args[0], RuleMetadata):
        return None
    return marker.args[0]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problems: list[str] = []
    checks: dict[str, RuleMetadata] = {}
    for item in items:
        metadata = check_of(item)
        if metadata is None:
            problems.append(f"{item.nodeid}: no @check(...) requirement metadata")
        elif checks.setdefault(metadata.id, metadata) != metadata:
            problems.append(f"{item.nodeid}: check {metadata.id} is declared twice with different metadata")
    if problems:
        raise pytest.UsageError("smoke tests without consistent requirement metadata:\n" + "\n".join(problems))
    if target := config.getoption(CATALOG_OPTION):
        catalog = {
            check_id: asdict(metadata) | {"tests": [item.nodeid for item in items if check_of(item) == metadata]}
            for check_id, metadata in sorted(checks.items())
        }
        Path(target).write_text(json.dumps(catalog, indent=2) + "\n")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # Tokens, secrets and passwords never reach the terminal, the JUnit XML or the results file.
    if report.longrepr is not None:
        report.longrepr = redact(str(report.longrepr))
    report.sections = [(title, redact(content)) for title, content in report.sections]
    metadata = check_of(item)
    if metadata and (report.when == "call" or report.outcome != "passed"):
        if report.when == "call" or report.outcome == "failed":
            item.user_properties.append(("check", metadata.id))
        item.config.stash[_RESULTS].append(
            {"check": metadata.id, "test": item.nodeid, "flow": _flow(item), "outcome": report.outcome}
        )
    return report


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    results = _final_outcomes(config.stash[_RESULTS])
    if not results:
        return
    by_flow: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for result in results:
        by_flow[result["flow"]][result["outcome"]] += 1
    terminalreporter.section("smoke summary per flow")
    terminalreporter.write_line(f"{'flow':<34} {'passed':>7} {'failed':>7} {'skipped':>8}  verdict")
    for flow in sorted(by_flow):
        counts = by_flow[flow]
        verdict = "FAIL" if counts["failed"] else "pass"
        terminalreporter.write_line(
            f"{flow:<34} {counts['passed']:>7} {counts['failed']:>7} {counts['skipped']:>8}  {verdict}"
        )
    elapsed = time.monotonic() - config.stash[_STARTED]
    terminalreporter.write_line(f"smoke suite wall time: {elapsed:.1f} s")
    if target := config.getoption(RESULTS_OPTION):
        payload = {"stack": config.getoption(STACK_OPTION), "seconds": round(elapsed, 1), "results": results}
        Path(target).write_text(json.dumps(payload, indent=2) + "\n")


def _final_outcomes(results: list[dict[str, str]]) -> list[dict[str, str]]:
    """One outcome per test: a failed setup or teardown counts as the test failing."""
    final: dict[str, dict[str, str]] = {}
    for result in results:
        if result["test"] not in final or result["outcome"] != "passed":
            final[result["test"]] = result
    return list(final.values())


def _flow(item: pytest.Item) -> str:
    """The flow a test belongs to: its module name without `test_`, e.g. `attacks pkce`."""
    return item.path.stem.removeprefix("test_").replace("_", " ")


_RESULTS = pytest.StashKey[list[dict[str, str]]]()
_STARTED = pytest.StashKey[float]()
