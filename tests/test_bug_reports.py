"""An unexpected exception reaches the user as a bug report, not a traceback: one line, where to file it,
the traceback kept in a 0600 file, exit 1."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from idpkit.bugs import REPORT_TO

# A command whose code fails in a way no input explains (as a bug in the kit would).
BROKEN_COMMAND = """
import sys
from idpkit.realm import engine
def broken(environment):
    raise KeyError("phi-api")
engine.validate = broken
from idpkit.cli import main
sys.argv = ["idpkit", "realm", "validate", "--env", "local"]
main()
"""


def test_unexpected_exception_is_reported_as_a_bug(tmp_path: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-c", BROKEN_COMMAND],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "IDPKIT_STATE_DIR": str(tmp_path)},
        check=False,
    )
    assert completed.returncode == 1, f"exit {completed.returncode}: {completed.stderr}"
    assert "Traceback" not in completed.stderr, completed.stderr
    assert "bug in idpkit" in completed.stderr and "KeyError" in completed.stderr, completed.stderr
    assert REPORT_TO.split("(")[0].strip() in " ".join(completed.stderr.split()), completed.stderr
    (report,) = (tmp_path / "bug-reports").iterdir()
    assert report.stat().st_mode & 0o777 == 0o600, f"{report} is readable by others"
    assert "Traceback" in report.read_text() and "KeyError" in report.read_text(), "the report lacks the traceback"
