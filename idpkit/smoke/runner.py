"""Run the smoke suite against a stack: `idpkit smoke --stack NAME [pytest args]`."""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from idpkit import paths
from idpkit.errors import ExitCode, IdpkitError

SUITE_DIRECTORY = "smoke-tests"
# pytest's own exit codes: 0 passed, 1 failed, 2 interrupted, 3 internal error, 4 usage, 5 nothing collected.
_PYTEST_USAGE = 4


@dataclass(frozen=True)
class SmokeRun:
    exit_code: int
    junit: Path
    results: Path


def suite_directory() -> Path:
    directory = paths.project_root() / SUITE_DIRECTORY
    if not directory.is_dir():
        raise IdpkitError(f"no smoke suite at {directory}", hint="set IDPKIT_PROJECT_DIR to the kit's checkout")
    return directory


def artifacts_directory(stack: str) -> Path:
    directory = paths.stack_dir(stack) / "smoke"
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def run_suite(
    stack: str,
    pytest_args: Sequence[str],
    *,
    junit: Path | None = None,
    results: Path | None = None,
    quiet: bool = False,
    tests: Sequence[str] = (),
) -> SmokeRun:
    """Run the suite (or only `tests`, node ids) in a child pytest; its exit code is the suite's verdict."""
    artifacts = artifacts_directory(stack)
    junit_path = junit or artifacts / "junit.xml"
    results_path = results or artifacts / "results.json"
    command = [
        sys.executable, "-m", "pytest", *(str(suite_directory() / test) for test in tests or [""]), "--stack", stack,
        f"--junitxml={junit_path}", f"--smoke-results={results_path}", "-p", "no:cacheprovider",
        *pytest_args,
    ]  # fmt: skip
    completed = subprocess.run(command, check=False, capture_output=quiet)
    if completed.returncode == _PYTEST_USAGE:
        raise IdpkitError("pytest refused the arguments given to `idpkit smoke`", exit_code=ExitCode.USAGE)
    return SmokeRun(completed.returncode, junit_path, results_path)


def collect_catalog(stack: str) -> dict[str, Any]:
    """Every check of the suite with its metadata, claims and tests, collected (not run).

    pytest is called directly rather than through `run_suite`, which would replace the stack's
    JUnit file and results of the last real run.
    """
    with tempfile.TemporaryDirectory(prefix="idpkit-catalog-") as scratch:
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
        catalog: dict[str, Any] = json.loads(target.read_text())
    return catalog
