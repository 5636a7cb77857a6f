"""pytest plugin for the smoke suite: the stack under test, requirement metadata, redaction, summary.

Loaded by `idpkit smoke` (`-p idpkit.smoke.plugin`). Every smoke test must carry a check
(`idpkit.smoke.checks.check`); its ID lands in the JUnit XML (property `check`), in the per-flow
summary, and in the results file that `idpkit review` reads. A test skipped because realm-config
declares its credential not applicable to the environment (`idpkit.smoke.credentials`) is recorded
as `not_applicable`, apart from plain skips, which leave a review INCOMPLETE.
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

from idpkit.smoke.checks import SmokeCheck, matches
from idpkit.smoke.credentials import NOT_APPLICABLE
from idpkit.smoke.redaction import redact

STACK_OPTION = "--stack"
RESULTS_OPTION = "--smoke-results"
CATALOG_OPTION = "--catalog"
NOT_APPLICABLE_OUTCOME = "not_applicable"
EXPIRY_MARK = "expiry"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("idpkit smoke")
    group.addoption(STACK_OPTION, default="local", help="Stack under test (its outputs contract is read).")
    group.addoption(RESULTS_OPTION, default=None, help="Write per-test results as JSON to this file.")
    group.addoption(CATALOG_OPTION, default=None, help="Write every check's metadata and tests as JSON to this file.")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "proves(check): the smoke check (SmokeCheck) this test proves")
    config.addinivalue_line("markers", "claims(*settings): the settings one parametrized case exercises")
    config.addinivalue_line("markers", f"{EXPIRY_MARK}: waits for a real expiry (a minute or more)")
    config.stash[_RESULTS] = []
    config.stash[_STARTED] = time.monotonic()


def check_of(item: pytest.Item) -> SmokeCheck | None:
    marker = item.get_closest_marker("proves")
    if marker is None or not marker.args or not isinstance(marker.args[0], SmokeCheck):
        return None
    return marker.args[0]


def claims_of(item: pytest.Item) -> tuple[str, ...]:
    """The settings a test exercises: its own `claims` mark, else its check's claims."""
    own = tuple(setting for marker in item.iter_markers("claims") for setting in marker.args)
    found = check_of(item)
    return own or (found.claims if found else ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    problems: list[str] = []
    checks: dict[str, SmokeCheck] = {}
    for item in items:
        found = check_of(item)
        if found is None:
            problems.append(f"{item.nodeid}: no @check(...) requirement metadata")
            continue
        if checks.setdefault(found.metadata.id, found) != found:
            problems.append(f"{item.nodeid}: check {found.metadata.id} is declared twice with different metadata")
        stray = [c for c in claims_of(item) if not any(matches(pattern, c) for pattern in found.claims)]
        if stray:
            problems.append(f"{item.nodeid}: claims {stray} outside its check's claims {list(found.claims)}")
    if problems:
        raise pytest.UsageError("smoke tests without consistent requirement metadata:\n" + "\n".join(problems))
    # Checks that wait minutes for an expiry run last, while the session's tokens are still fresh for the others.
    items.sort(key=_expiry)
    if target := config.getoption(CATALOG_OPTION):
        catalog = {
            check_id: asdict(found.metadata)
            | {
                "claims": list(found.claims),
                "config_read": found.config_read,
                "tests": [
                    {"test": item.nodeid, "claims": list(claims_of(item)), "expiry": _expiry(item)}
                    for item in items
                    if check_of(item) == found
                ],
            }
            for check_id, found in sorted(checks.items())
        }
        Path(target).write_text(json.dumps(catalog, indent=2) + "\n")


def _expiry(item: pytest.Item) -> bool:
    return item.get_closest_marker(EXPIRY_MARK) is not None


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    # Tokens, secrets and passwords never reach the terminal, the JUnit XML or the results file.
    if isinstance(report.longrepr, tuple):  # a skip: (path, line, reason)
        path, line, reason = report.longrepr
        report.longrepr = (path, line, redact(reason))
    elif report.longrepr is not None:
        report.longrepr = redact(str(report.longrepr))
    report.sections = [(title, redact(content)) for title, content in report.sections]
    found = check_of(item)
    if found and (report.when == "call" or report.outcome != "passed"):
        if report.when == "call" or report.outcome == "failed":
            item.user_properties.append(("check", found.metadata.id))
        result = {"check": found.metadata.id, "test": item.nodeid, "flow": _flow(item), "outcome": report.outcome}
        if report.skipped:
            reason = _skip_reason(report)
            result |= {"reason": reason}
            if reason.startswith(NOT_APPLICABLE):
                result["outcome"] = NOT_APPLICABLE_OUTCOME
        item.config.stash[_RESULTS].append(result)
    return report


def _skip_reason(report: pytest.TestReport) -> str:
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    return reason.removeprefix("Skipped: ")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    results = _final_outcomes(config.stash[_RESULTS])
    if not results:
        return
    by_flow: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for result in results:
        by_flow[result["flow"]][result["outcome"]] += 1
    terminalreporter.section("smoke summary per flow")
    header = f"{'flow':<34} {'passed':>7} {'failed':>7} {'skipped':>8} {'n/a':>5}  verdict"
    terminalreporter.write_line(header)
    for flow in sorted(by_flow):
        counts = by_flow[flow]
        verdict = "FAIL" if counts["failed"] else "incomplete" if counts["skipped"] else "pass"
        terminalreporter.write_line(
            f"{flow:<34} {counts['passed']:>7} {counts['failed']:>7} {counts['skipped']:>8} "
            f"{counts[NOT_APPLICABLE_OUTCOME]:>5}  {verdict}"
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
