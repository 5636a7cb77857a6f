"""`idpkit smoke` end to end against the live local stack: verdict, reports, catalog, mutation mode."""

from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
import textwrap
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from idpkit.compliance import REQUIREMENTS
from idpkit.outputs import StackOutputs
from idpkit.realm import engine
from idpkit.smoke import live, mutation_report, mutations
from idpkit.smoke.mutants import Family, mutants
from idpkit.smoke.runner import artifacts_directory, suite_directory
from tests.conftest import idpkit

pytestmark = pytest.mark.local_stack
# A quick sample of the mutation run (a few minutes at most); the full run is on demand (docs/mutations.md).
CI_SAMPLE = "8"
SECRETS_PRINTED = {
    "jwt": "eyJhbGciOiJQUzI1NiJ9.eyJzdWIiOiJzbW9rZS1jbGluaWNpYW4ifQ.c2lnbmF0dXJlLWJ5dGVz",
    "password": "Correct-Horse-Battery-9",
    "registered": "kit-generated-secret-4711",
}


def test_smoke_suite_passes_and_writes_its_reports(applied_realm: StackOutputs, tmp_path: Path, record_figure) -> None:  # type: ignore[no-untyped-def]
    junit = tmp_path / "junit.xml"
    results = artifacts_directory("local") / "results.json"
    results.unlink(missing_ok=True)
    started = time.monotonic()
    # Without --complete: the checks waiting for real expiries add four minutes (the mutation baseline runs them).
    completed = idpkit("smoke", "--stack", "local", "--junit", str(junit), check=False)
    record_figure("idpkit smoke --stack local (wall time)", f"{time.monotonic() - started:.1f} s")
    assert completed.returncode == 0, f"idpkit smoke exited {completed.returncode}:\n{completed.stdout[-4000:]}"
    assert "smoke summary per flow" in completed.stdout, "idpkit smoke: no per-flow summary printed"
    assert re.search(r"smoke suite wall time: \d+\.\d s", completed.stdout), "idpkit smoke: no wall time printed"
    cases = ET.parse(junit).getroot().iter("testcase")  # noqa: S314 - the JUnit file this test just had written
    checks = {
        case.get("name"): [p.get("value") for p in case.iter("property") if p.get("name") == "check"] for case in cases
    }
    assert checks and all(checks.values()), (
        f"{junit}: test cases without a check property: {[n for n, c in checks.items() if not c]}"
    )
    payload = json.loads(results.read_text())
    assert payload["stack"] == "local" and payload["results"], f"{results}: no results recorded"
    assert {r["outcome"] for r in payload["results"]} <= {"passed", "skipped"}, f"{results}: failures recorded"


def test_catalog_lists_every_check_with_known_requirements(tmp_path: Path) -> None:
    catalog_path = tmp_path / "catalog.json"
    idpkit("smoke", "--stack", "local", "--collect-only", "-q", "--catalog", str(catalog_path))
    catalog = json.loads(catalog_path.read_text())
    declared = _declared_check_ids(suite_directory())
    assert declared - catalog.keys() == set(), (
        f"catalog: checks declared in smoke-tests but missing: {declared - catalog.keys()}"
    )
    for check_id, entry in catalog.items():
        for field in ("title", "risk", "remediation", "severity"):
            assert entry[field], f"catalog {check_id}: empty {field}"
        unknown = [ref for ref in entry["requirements"] if ref not in REQUIREMENTS]
        assert entry["requirements"] and not unknown, f"catalog {check_id}: unknown requirements {unknown}"
        assert entry["tests"], f"catalog {check_id}: no test proves it"
        config_read = entry["config_read"]
        assert config_read is None or config_read.strip(), f"catalog {check_id}: a config read without its reason"


@pytest.mark.parametrize("family", [Family.RULE, Family.SECURE_DEFAULT])
def test_interrupted_mutation_run_is_undone_by_the_next(
    family: Family, applied_realm: StackOutputs, tmp_path: Path
) -> None:
    """A run killed while a mutant is applied leaves a pending file; the next run restores the setting first."""
    mutant = next(m for m in mutants() if m.family is family and not m.setting.startswith("master."))
    session = engine.Session.open(applied_realm)
    mutations._weaken(session, mutant, tmp_path)  # what a run does before it is killed
    assert (tmp_path / mutations.PENDING_FILE).exists(), "the mutant was applied without a pending file"
    mutations.recover(session, tmp_path)
    mutations.restore(session, "local")
    assert not (tmp_path / mutations.PENDING_FILE).exists()
    if mutant.held is None:
        assert live.setting(mutant.setting).read(session) == mutant.codified, f"{mutant.name}: not restored"
    assert not engine.plan(session, "local", "local").changes, f"{mutant.name}: the realm still differs"


def test_mutation_sample_kills_every_mutant(applied_realm: StackOutputs, tmp_path: Path, record_figure) -> None:  # type: ignore[no-untyped-def]
    report = tmp_path / "mutations.md"
    started = time.monotonic()
    completed = idpkit("smoke", "--stack", "local", "--mutations", "--sample", CI_SAMPLE, "--seed", "ci",
                       "--report", str(report), check=False, timeout=900)  # fmt: skip
    record_figure(f"idpkit smoke --mutations --sample {CI_SAMPLE} (wall time)", f"{time.monotonic() - started:.1f} s")
    assert report.exists(), f"idpkit smoke --mutations wrote no report:\n{completed.stderr[-3000:]}"
    verdicts = mutation_report.rows(report.read_text())
    assert len(verdicts) == int(CI_SAMPLE), f"{report}: expected {CI_SAMPLE} mutants, found {sorted(verdicts)}"
    assert set(verdicts.values()) <= {"killed", "killed (config read)"}, f"mutants not killed: {verdicts}"
    assert completed.returncode == 0, f"idpkit smoke --mutations exited {completed.returncode}:\n{completed.stdout}"


def test_claims_outside_the_check_are_refused(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_stray.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from idpkit.smoke.checks import check, claims


            @check("SMOKE-STRAY-001", "A case claiming what its check does not", requirements=("HIPAA-164.312(b)",),
                   risk="r", remediation="m", claims=("realm.eventsEnabled",))
            @pytest.mark.parametrize("case", [pytest.param(1, marks=claims("realm.sslRequired"))])
            def test_stray(case):
                pass
            """
        )
    )
    completed = _run_pytest(tmp_path, "-p", "idpkit.smoke.plugin", "--collect-only", "-p", "no:cacheprovider")
    assert completed.returncode != 0, "a case claiming a setting outside its check's claims was collected"
    assert "outside its check's claims" in completed.stdout + completed.stderr


def test_declared_not_applicable_is_recorded_apart_from_skips(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_na.py").write_text(
        textwrap.dedent(
            """
            import pytest
            from idpkit.smoke import credentials
            from idpkit.smoke.checks import check

            META = dict(requirements=("HIPAA-164.312(b)",), risk="r", remediation="m")


            @check("SMOKE-NA-001", "Needs what production declares it does without", **META)
            def test_declared():
                credentials.missing("prod", "admin-api", "no admin API in this test")


            @check("SMOKE-NA-002", "Skipped for no declared reason", **META)
            def test_skipped():
                pytest.skip("nothing declared")
            """
        )
    )
    results = tmp_path / "results.json"
    _run_pytest(tmp_path, "-p", "idpkit.smoke.plugin", "--stack", "prod", f"--smoke-results={results}",
                "-p", "no:cacheprovider")  # fmt: skip
    outcomes = {r["check"]: r["outcome"] for r in json.loads(results.read_text())["results"]}
    assert outcomes == {"SMOKE-NA-001": "not_applicable", "SMOKE-NA-002": "skipped"}, outcomes


def test_failing_smoke_test_output_is_redacted(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_leaky.py").write_text(
        textwrap.dedent(
            f"""
            from idpkit.smoke.checks import check
            from idpkit.smoke.redaction import register_secret


            @check("SMOKE-LEAK-001", "A test that leaks", requirements=("HIPAA-164.312(b)",), risk="r", remediation="m")
            def test_leaks():
                register_secret({SECRETS_PRINTED["registered"]!r})
                print("access_token={SECRETS_PRINTED["jwt"]} registered={SECRETS_PRINTED["registered"]}")
                body = {{"password": "{SECRETS_PRINTED["password"]}"}}
                assert False, f"token endpoint refused {{body}}"
            """
        )
    )
    junit = tmp_path / "junit.xml"
    completed = _run_pytest(tmp_path, "-p", "idpkit.smoke.plugin", f"--junitxml={junit}", "-p", "no:cacheprovider")
    assert completed.returncode == 1, f"the leaky test should fail:\n{completed.stdout[-2000:]}"
    written = {"terminal": completed.stdout + completed.stderr, "JUnit XML": junit.read_text()}
    for where, text in written.items():
        leaked = [name for name, value in SECRETS_PRINTED.items() if value in text]
        assert not leaked, f"{where}: {leaked} printed in clear"
        assert "redacted" in text, f"{where}: no redaction marker (was the failure reported at all?)"


def _run_pytest(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """A bare pytest on `directory`, configured by its own pytest.ini (not the kit's or the suite's)."""
    config = ["--rootdir", str(directory), "-c", str(directory / "pytest.ini")]
    return subprocess.run(
        [sys.executable, "-m", "pytest", str(directory), *config, *args],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _declared_check_ids(directory: Path) -> set[str]:
    """Check ids passed to @check(...) in the suite's sources."""
    found = set()
    for source in directory.glob("test_*.py"):
        for node in ast.walk(ast.parse(source.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "check" and node.args:
                first = node.args[0]
                # f-string ids cannot be read statically; the catalog check still covers them through REQUIREMENTS.
                if isinstance(first, ast.Constant) and isinstance(first.value, str):
                    found.add(first.value)
    return found
