"""`idpkit smoke` end to end against the live local stack: verdict, reports, catalog, mutation testing."""

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
from idpkit.smoke.mutations import mutants
from idpkit.smoke.runner import artifacts_directory, suite_directory
from tests.conftest import idpkit

pytestmark = pytest.mark.local_stack
MINIMUM_MUTANTS = 20
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


def test_mutant_list_is_large_enough_and_named_uniquely() -> None:
    names = [mutant.name for mutant in mutants()]
    assert len(names) >= MINIMUM_MUTANTS, f"mutations: {len(names)} mutants, at least {MINIMUM_MUTANTS} required"
    assert len(set(names)) == len(names), f"mutations: duplicate mutant names in {names}"


def test_every_mutant_is_undone_by_realm_apply(applied_realm: StackOutputs) -> None:
    """An interrupted mutation run (even killed) leaves nothing `idpkit realm apply` cannot restore."""
    session = engine.Session.open(applied_realm)
    try:
        for mutant in mutants():
            mutant.apply(session.realm)
    finally:
        idpkit("realm", "apply", "--stack", "local")
    plan = idpkit("realm", "plan", "--stack", "local", "--json", check=False)
    assert plan.returncode == 0, f"realm plan after restoring every mutant: changes left\n{plan.stdout[-3000:]}"


@pytest.mark.slow
def test_mutation_run_catches_every_mutant(applied_realm: StackOutputs, record_figure) -> None:  # type: ignore[no-untyped-def]
    report_path = artifacts_directory("local") / "mutations" / "mutations.json"
    report_path.unlink(missing_ok=True)
    completed = idpkit("smoke", "--stack", "local", "--mutations", check=False, timeout=1800)
    assert report_path.exists(), f"idpkit smoke --mutations wrote no report:\n{completed.stderr[-3000:]}"
    report = json.loads(report_path.read_text())
    record_figure("idpkit smoke --mutations (wall time)", f"{report['seconds']} s for {report['mutants']} mutants")
    survivors = [f"{o['mutant']} (expected: {o['expected']})" for o in report["outcomes"] if o["caught_by"] is None]
    assert not survivors, "mutants no smoke test caught:\n" + "\n".join(survivors)
    assert not report["baseline_failures"], f"smoke tests failing with no mutation: {report['baseline_failures']}"
    assert not report["unstable_tests"], f"smoke tests failing on the restored realm: {report['unstable_tests']}"
    assert completed.returncode == 0, f"idpkit smoke --mutations exited {completed.returncode}"


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
