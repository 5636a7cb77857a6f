"""An unexpected exception is a bug in the kit: said so plainly, with where to report it, never as a traceback.

The traceback goes to a 0600 file under the state directory for the report; the terminal gets one
line naming the failure and what to do.
"""

from __future__ import annotations

import datetime as dt
import os
import traceback
from pathlib import Path

from idpkit import paths

REPORT_TO = "the idpkit repository's issue tracker (README: Reporting bugs)"
_SUMMARY_LIMIT = 200


def record(error: BaseException) -> str:
    """Save the traceback for a bug report; the message to show the user."""
    summary = f"{type(error).__name__}: {error}"[:_SUMMARY_LIMIT]
    saved = _save(error)
    attach = f", attaching {saved}" if saved else ""
    return (
        f"internal error ({summary}). This is a bug in idpkit, not in your input or stack: please report it "
        f"to {REPORT_TO}{attach}"
    )


def _save(error: BaseException) -> Path | None:
    directory = paths.state_root() / "bug-reports"
    target = directory / f"{dt.datetime.now(dt.UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}.txt"
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as report:
            report.write("".join(traceback.format_exception(error)))
    except OSError:
        return None
    return target
