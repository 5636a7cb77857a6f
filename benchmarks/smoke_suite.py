"""Smoke suite wall time against the local stack: `idpkit smoke --stack local`, as a user runs it.

Usage: python benchmarks/smoke_suite.py [--quick] [--results FILE]
Two figures: the suite's own "smoke suite wall time" (the plugin prints it: collection to summary) and
the command's wall time (adds interpreter start-up and pytest's imports).
"""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass

from benchlib import IDPKIT, Section, arguments, run_timed, save

QUICK_SELECTION = ("-k", "discovery")
"""--quick runs one module: enough to prove the command and the parsing work."""


@dataclass(frozen=True)
class SmokeTiming:
    command_seconds: float
    suite_seconds: float | None
    summary: str
    failed: list[str]
    """Node ids of failing tests: the suite's verdict, reported beside the time it took."""


def run_smoke(pytest_args: Sequence[str] = (), env: dict[str, str] | None = None) -> SmokeTiming:
    run = run_timed([*IDPKIT, "smoke", "--stack", "local", *pytest_args], env=env)
    wall = re.search(r"smoke suite wall time: ([\d.]+) s", run.output)
    summary = re.findall(r"^=+ (.*?) in [\d.]+s", run.output, re.MULTILINE)
    return SmokeTiming(
        run.seconds,
        float(wall.group(1)) if wall else None,
        summary[-1] if summary else "no summary",
        re.findall(r"^(?:FAILED|ERROR) (\S+)", run.output, re.MULTILINE),
    )


def main() -> int:
    args = arguments(__doc__).parse_args()
    section = Section("Smoke suite against the local stack", ["run", "suite wall time", "command wall time", "outcome"])
    timing = run_smoke(QUICK_SELECTION if args.quick else ())
    suite = f"{timing.suite_seconds:.1f} s" if timing.suite_seconds is not None else "n/a"
    label = "`idpkit smoke --stack local -k discovery`" if args.quick else "`idpkit smoke --stack local`"
    section.add(label, suite, f"{timing.command_seconds:.1f} s", timing.summary)
    for test in timing.failed:
        section.note(f"failed: {test}")
    save([section], args.results)
    return 1 if timing.failed or timing.suite_seconds is None else 0


if __name__ == "__main__":
    sys.exit(main())
