"""`idpkit review` end to end: honest verdicts and exit codes, exceptions, smoke results, the HTML in a browser."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import shutil
import struct
import subprocess
import tempfile
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from idpkit.cli.review import review as review_command
from idpkit.review import collect as collect_module
from idpkit.review import smoke
from idpkit.review.model import Review, SmokeResult, SmokeRun, Verdict
from idpkit.review.render_html import render as render_html
from idpkit.review.render_md import render as render_md
from idpkit.review.summary import summarize
from idpkit.review.traceability import trace
from tests.conftest import ARTIFACTS
from tests.review.reviews import TODAY, review

CHROMIUM = shutil.which("chromium")


@pytest.fixture
def state_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("IDPKIT_STATE_DIR", str(tmp_path))
    return tmp_path


@pytest.fixture
def cached_collect(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI on the session's reviews (the AWS capture is the slow part), dated like them."""
    # The CLI imports `collect` when it runs, so patching the module's function is what it sees.
    monkeypatch.setattr(collect_module, "collect", lambda stack: _with_fresh_smoke(review(stack)))


def _with_fresh_smoke(cached: Review) -> Review:
    return dataclasses.replace(cached, smoke_run=smoke.latest_run(cached.stack))


def _record(state_dir: Path, stack: str, outcomes: dict[str, str]) -> None:
    """A results file as `idpkit smoke` writes it: every test of the suite, with the given outcomes."""
    results = state_dir / "stacks" / stack / "smoke" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    entries = [
        {"check": check.metadata.id, "test": test, "flow": "f", "outcome": outcomes.get(test, "passed"),
         "reason": "not applicable: smoke-identities" if outcomes.get(test) == "not_applicable" else ""}
        for check in review(stack).smoke_checks
        for test in check.tests
    ]  # fmt: skip
    results.write_text(json.dumps({"stack": stack, "seconds": 1.0, "results": entries}))


def _verdict(stack: str) -> tuple[int, str]:
    result = CliRunner().invoke(review_command, ["--stack", stack, "--format", "md"])
    return result.exit_code, result.output


def _a_test(stack: str, check_id: str) -> str:
    return next(check.tests[0] for check in review(stack).smoke_checks if check.metadata.id == check_id)


def test_review_without_a_smoke_run_is_incomplete(state_dir: Path, cached_collect: None) -> None:
    exit_code, output = _verdict("local")
    assert exit_code == 1, output
    assert "Verdict: **INCOMPLETE**" in output
    assert "no smoke run is recorded for this stack" in output


def test_complete_passing_run_passes(state_dir: Path, cached_collect: None) -> None:
    _record(state_dir, "local", {})
    exit_code, output = _verdict("local")
    assert exit_code == 0, output
    assert "Verdict: **PASS**" in output


def test_skipped_test_makes_the_review_incomplete(state_dir: Path, cached_collect: None) -> None:
    skipped = _a_test("local", "SMOKE-BRUTE-002")
    _record(state_dir, "local", {skipped: "skipped"})
    exit_code, output = _verdict("local")
    assert exit_code == 1, output
    assert "Verdict: **INCOMPLETE**" in output
    assert "1 smoke test(s) were skipped without a not-applicable declaration (SMOKE-BRUTE-002)" in output


def test_partial_run_makes_the_review_incomplete(state_dir: Path, cached_collect: None) -> None:
    left_out = _a_test("local", "SMOKE-CODE-007")
    _record(state_dir, "local", {})
    results = state_dir / "stacks" / "local" / "smoke" / "results.json"
    payload = json.loads(results.read_text())
    payload["results"] = [r for r in payload["results"] if r["test"] != left_out]
    results.write_text(json.dumps(payload))
    exit_code, output = _verdict("local")
    assert exit_code == 1, output
    assert f"1 smoke test(s) of the suite did not run in the latest run ({left_out})" in output
    assert "idpkit smoke --stack local --complete" in output, "the review says how to run them all"


def test_failed_smoke_test_fails_the_review(state_dir: Path, cached_collect: None) -> None:
    failed = _a_test("local", "SMOKE-DISCOVERY-001")
    _record(state_dir, "local", {failed: "failed"})
    exit_code, output = _verdict("local")
    assert exit_code == 1, output
    assert "Verdict: **FAIL**" in output
    assert "1 smoke test(s) failed in the latest run" in output
    assert f"| failed | SMOKE-DISCOVERY-001 | {failed} |" in output


def test_declared_not_applicable_checks_do_not_hold_back_a_pass() -> None:
    """prod declares smoke identities not applicable: those tests recorded so, the rest passing, is a PASS."""
    prod = review("prod")
    not_applicable = {"smoke-identities", "client-certificates", "admin-api", "break-glass"}
    assert {entry.credential for entry in prod.not_applicable} == not_applicable, prod.not_applicable
    results = tuple(
        SmokeResult(
            check.metadata.id, test, "f", "not_applicable" if check.metadata.id.startswith("SMOKE-CODE") else "passed"
        )
        for check in prod.smoke_checks
        for test in check.tests
    )
    run = SmokeRun("results.json", dt.datetime.now(dt.UTC), 1.0, results)
    verdict = summarize(dataclasses.replace(prod, smoke_run=run), trace(prod)).verdict
    assert verdict is Verdict.PASS
    report = render_md(dataclasses.replace(prod, smoke_run=run))
    assert "Production carries no test identities" in report


def test_expired_exception_fails_the_review_and_says_why() -> None:
    expired = dataclasses.replace(review("local"), today=TODAY.replace(year=2028), smoke_run=None)
    assert summarize(expired, trace(expired)).verdict is Verdict.FAIL
    report = render_md(expired)
    assert "Verdict: **FAIL**" in report
    assert (
        "the exception to REALM-EVENTS-001 (realm.eventsExpiration) owned by identity-team expired on 2027-06-30"
        in (report)
    )
    assert "| EXPIRED |" in report


def test_waived_findings_are_listed_with_their_exception() -> None:
    report = render_md(review("local"))
    assert "| waived | REALM-EVENTS-001 |" in report
    assert "The local stack's dev-file database is throwaway" in report


def test_environments_side_by_side_show_the_local_loosening() -> None:
    (row,) = [r for r in review("prod").environment_rows if r.path == "realm.eventsExpiration"]
    assert row.differs and row.values["local"] == 86400 and row.values["prod"] == 7776000, row.values


def test_html_is_self_contained() -> None:
    html = render_html(review("prod"))
    for external in ("<script", "<link", " src=", "url(", "@import", "http-equiv"):
        assert external not in html, f"the HTML report uses {external!r}: it must need nothing but itself"


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium (scripts/install-system-packages)")
def test_html_renders_in_headless_chromium() -> None:
    directory = ARTIFACTS / "review"
    directory.mkdir(parents=True, exist_ok=True)
    page, screenshot = directory / "prod-review.html", directory / "prod-review.png"
    page.write_text(render_html(review("prod")))
    screenshot.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="idpkit-chromium-") as profile:
        subprocess.run(
            [str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", f"--screenshot={screenshot}", "--window-size=1280,2000", page.as_uri()],
            capture_output=True, timeout=120, check=True,
        )  # fmt: skip
    assert screenshot.stat().st_size > 10_000, f"{screenshot} is only {screenshot.stat().st_size} bytes"
    assert _distinct_pixel_bytes(screenshot.read_bytes()) > 16, f"{screenshot} is (nearly) a single colour"


def _distinct_pixel_bytes(png: bytes) -> int:
    """How many distinct byte values the decompressed image data holds (a blank page has a handful)."""
    assert png.startswith(b"\x89PNG\r\n\x1a\n"), "not a PNG"
    position, data = 8, b""
    while position < len(png):
        (length,) = struct.unpack(">I", png[position : position + 4])
        kind = png[position + 4 : position + 8]
        if kind == b"IDAT":
            data += png[position + 8 : position + 8 + length]
        position += 12 + length
    return len(set(zlib.decompress(data)))
