"""`idpkit review` end to end: verdict and exit code, exceptions, smoke results, the HTML in a browser."""

from __future__ import annotations

import dataclasses
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
from idpkit.review.model import Review
from idpkit.review.render_html import render as render_html
from idpkit.review.render_md import render as render_md
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


def test_local_review_passes_and_exits_zero(state_dir: Path, cached_collect: None) -> None:
    result = CliRunner().invoke(review_command, ["--stack", "local", "--format", "md"])
    assert result.exit_code == 0, result.output
    assert "Verdict: **PASS**" in result.output
    assert "No smoke run recorded for this stack." in result.output


def test_failed_smoke_test_fails_the_review(state_dir: Path, cached_collect: None) -> None:
    results = state_dir / "stacks" / "local" / "smoke" / "results.json"
    results.parent.mkdir(parents=True)
    outcome = {"check": "SMOKE-DISCOVERY-001", "test": "test_discovery.py::test_x", "flow": "discovery"}
    results.write_text(json.dumps({"stack": "local", "seconds": 1.0, "results": [outcome | {"outcome": "failed"}]}))
    result = CliRunner().invoke(review_command, ["--stack", "local", "--format", "md"])
    assert result.exit_code == 1, result.output
    assert "1 smoke test(s) failed in the latest run" in result.output
    assert "| failed | SMOKE-DISCOVERY-001 | test_discovery.py::test_x |" in result.output


def test_expired_exception_fails_the_review_and_says_why() -> None:
    expired = dataclasses.replace(review("local"), today=TODAY.replace(year=2028), smoke_run=None)
    assert not expired.passed
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
