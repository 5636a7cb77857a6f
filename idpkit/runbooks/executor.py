"""Run a runbook's local blocks in order, in one bash session, as an engineer pasting them would.

One session, so a variable set in step 2 is there in step 5; `set -euo pipefail`, so the first
failing command stops the run. Before each block the script writes the block's index to file
descriptor 3, which tells which step failed without parsing the blocks' own output.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from idpkit.runbooks.markdown import Block, Runbook

_PROLOGUE = "set -euo pipefail\n"
_OUTPUT_TAIL = 4000


@dataclass(frozen=True)
class StepFailure:
    block: Block
    exit_status: int


@dataclass(frozen=True)
class RunResult:
    runbook: Runbook
    exit_status: int
    output: str
    """stdout and stderr of the whole session, interleaved."""
    seconds: float
    blocks_started: int
    timed_out: bool

    @property
    def failure(self) -> StepFailure | None:
        """The block that failed (the last one started), None when every block succeeded."""
        if self.exit_status == 0 and not self.timed_out:
            return None
        return StepFailure(self.runbook.local_blocks[max(self.blocks_started - 1, 0)], self.exit_status)

    def describe(self) -> str:
        """A message naming the runbook, the step, its command and the end of the output."""
        failure = self.failure
        if failure is None:
            count = len(self.runbook.local_blocks)
            return f"{self.runbook.name}: {count} local block(s) passed in {self.seconds:.1f} s"
        what = "timed out" if self.timed_out else f"exited {failure.exit_status}"
        return (
            f"{self.runbook.name}, {failure.block.where} {what}:\n"
            f"{_indent(failure.block.code)}\noutput (last {_OUTPUT_TAIL} characters):\n{self.output[-_OUTPUT_TAIL:]}"
        )


def run_local_blocks(runbook: Runbook, env: Mapping[str, str], cwd: Path, timeout: float = 300) -> RunResult:
    """Run every `local` block of `runbook` in order in one `bash` with `env` added to the environment."""
    blocks = runbook.local_blocks
    script = _PROLOGUE + "".join(f"echo {index} >&3\n{block.code}" for index, block in enumerate(blocks, 1))
    with tempfile.TemporaryDirectory(prefix="runbook-") as scratch:
        progress = Path(scratch) / "progress"
        started, timed_out = time.monotonic(), False
        try:
            completed = subprocess.run(
                ["bash", "--noprofile", "--norc", "-c", f"exec 3>{_quote(progress)}\n{script}"],
                cwd=cwd,
                env={**os.environ, "PATH": _path_with_this_environment(), **env},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                text=True,
                timeout=timeout,
                check=False,
            )
            status, output = completed.returncode, completed.stdout
        except subprocess.TimeoutExpired as expired:
            status, timed_out = -1, True
            output = expired.stdout if isinstance(expired.stdout, str) else (expired.stdout or b"").decode()
        started_blocks = progress.read_text().split() if progress.exists() else []
    return RunResult(runbook, status, output, time.monotonic() - started, len(started_blocks), timed_out)


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "'\\''") + "'"


def _indent(code: str) -> str:
    return "\n".join(f"    {line}" for line in code.rstrip().splitlines())


def _path_with_this_environment() -> str:
    """PATH with this Python's scripts first, so `idpkit` in a runbook is the kit under test, not another install."""
    scripts = Path(sys.executable).parent
    return f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}"
