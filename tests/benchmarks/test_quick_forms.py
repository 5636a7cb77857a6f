"""Every benchmark's quick form runs against the real local stack, so a benchmark cannot rot unnoticed.

The quick forms prove the scripts still work (their generated realms pass validation, every token scenario
gets tokens, a no-op apply writes nothing); their figures are never asserted. Each script fails (non-zero
exit, or a "FAILED" note) when an invariant it measures breaks. `bringup` is left out here: it takes its
stack down and purges it, so it runs only on a second stack (`idpkit bench --quick --only bringup`).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from idpkit import paths
from idpkit.cli.bench import BENCHMARKS
from idpkit.outputs import StackOutputs

QUICK_FORMS = [name for name, benchmark in BENCHMARKS.items() if not benchmark.owns_stack]
TIMEOUT_SECONDS = 120


@pytest.mark.parametrize("name", QUICK_FORMS)
def test_quick_form_runs(name: str, applied_realm: StackOutputs, tmp_path: Path) -> None:
    script = paths.project_root() / "benchmarks" / BENCHMARKS[name].script
    results = tmp_path / "sections.json"
    completed = subprocess.run(
        [sys.executable, str(script), "--quick", "--results", str(results)],
        capture_output=True, text=True, timeout=TIMEOUT_SECONDS, check=False,
    )  # fmt: skip
    tail = "\n".join((completed.stdout + completed.stderr).strip().splitlines()[-15:])
    assert completed.returncode == 0, f"benchmark {name} ({script.name} --quick) exited {completed.returncode}:\n{tail}"
    sections = json.loads(results.read_text())
    assert sections, f"benchmark {name}: no section written"
    for section in sections:
        assert section["rows"], f"benchmark {name}, section {section['title']!r}: no row measured"
        failed = [note for note in section["notes"] if note.startswith("FAILED")]
        assert not failed, f"benchmark {name}, section {section['title']!r}: {failed}"
