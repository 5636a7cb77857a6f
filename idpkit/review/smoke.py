"""Smoke checks as the suite declares them now, and the latest recorded run against the stack."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from idpkit import paths
from idpkit.compliance import RuleMetadata, Severity
from idpkit.review.model import Family, Rule, SmokeResult, SmokeRun
from idpkit.smoke.runner import collect_catalog


def catalog(stack: str) -> list[Rule]:
    """Every smoke check with the tests that prove it and the settings they claim, as the suite declares them."""
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
            tuple(test["test"] for test in entry["tests"]),
            # The check's own patterns name the class of settings it proves; its cases' claims may be narrower.
            claims=tuple(sorted({*entry["claims"], *(claim for test in entry["tests"] for claim in test["claims"])})),
            config_read=entry["config_read"],
        )
        for entry in collect_catalog(stack).values()
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
            SmokeResult(r["check"], r["test"], r.get("flow", ""), r["outcome"], r.get("reason", ""))
            for r in data.get("results", [])
        ),
    )
