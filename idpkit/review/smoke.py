"""Smoke checks as the suite declares them now, and the latest recorded run against the stack."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from idpkit import paths
from idpkit.compliance import RuleMetadata, Severity
from idpkit.errors import IdpkitError
from idpkit.review.model import Family, Rule, SmokeResult, SmokeRun
from idpkit.smoke.runner import suite_directory


def catalog(stack: str) -> list[Rule]:
    """Every smoke check with the tests that prove it, collected (not run) from the suite on disk.

    pytest is called directly rather than through `idpkit smoke`, which would replace the stack's
    JUnit file of the last real run with an empty one.
    """
    with tempfile.TemporaryDirectory(prefix="idpkit-review-") as scratch:
        target = Path(scratch) / "catalog.json"
        completed = subprocess.run(
            [sys.executable, "-m", "pytest", str(suite_directory()), "--stack", stack, "--collect-only", "-q",
             f"--catalog={target}", "-p", "no:cacheprovider"],
            capture_output=True, text=True, check=False, timeout=120,
        )  # fmt: skip
        if completed.returncode != 0 or not target.exists():
            raise IdpkitError(
                f"cannot list the smoke checks (pytest exited {completed.returncode}):\n{completed.stdout[-2000:]}"
            )
        entries = json.loads(target.read_text())
    return [
        Rule(
            Family.SMOKE,
            RuleMetadata(
                id=entry["id"],
                title=entry["title"],
                requirements=tuple(entry["requirements"]),
                severity=Severity(entry["severity"]),
                risk=entry["risk"],
                remediation=entry["remediation"],
            ),
            tuple(entry["tests"]),
        )
        for entry in entries.values()
    ]


def results_path(stack: str) -> Path:
    return paths.stack_dir(stack) / "smoke" / "results.json"


def latest_run(stack: str) -> SmokeRun | None:
    """The results file `idpkit smoke` wrote for the stack, or None when the suite never ran there."""
    path = results_path(stack)
    if not path.is_file():
        return None
    data = json.loads(path.read_text())
    return SmokeRun(
        path=str(path),
        recorded=dt.datetime.fromtimestamp(path.stat().st_mtime, tz=dt.UTC),
        seconds=float(data.get("seconds", 0)),
        results=tuple(
            SmokeResult(r["check"], r["test"], r.get("flow", ""), r["outcome"]) for r in data.get("results", [])
        ),
    )
