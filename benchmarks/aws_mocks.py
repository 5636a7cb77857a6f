"""Pulumi mock suite: wall time of `python -m pytest tests/aws -q` and of `idpkit.aws_graph.capture_all`.

Usage: python benchmarks/aws_mocks.py [--quick] [--results FILE]
No AWS account is touched: the program runs under Pulumi's mocks, one process per stack.
"""

from __future__ import annotations

import re
import sys
import time

from benchlib import Section, arguments, run_timed, save

from idpkit import paths
from idpkit.aws_graph import capture_all

STACKS, QUICK_STACKS = ("dev", "staging", "prod"), ("dev",)


def main() -> int:
    args = arguments(__doc__).parse_args()
    stacks = QUICK_STACKS if args.quick else STACKS
    section = Section(f"Pulumi mock suite ({', '.join(stacks)})", ["measurement", "wall time", "result"])
    started = time.monotonic()
    graphs = capture_all(stacks)
    captured = time.monotonic() - started
    resources = ", ".join(f"{name} {len(graph.resources)}" for name, graph in graphs.items())
    label = f"`idpkit.aws_graph.capture_all` ({len(stacks)} stacks in parallel)"
    section.add(label, f"{captured:.1f} s", f"resources: {resources}")
    if args.quick:
        section.note("--quick: the dev graph only; `pytest tests/aws` is the test suite's own job")
        save([section], args.results)
        return 0
    run = run_timed([sys.executable, "-m", "pytest", str(paths.project_root() / "tests" / "aws"), "-q",
                     "-p", "no:cacheprovider"])  # fmt: skip
    summary = re.findall(r"^=*\s*(\d+ passed.*?) in [\d.]+s", run.output, re.MULTILINE)
    section.add("`python -m pytest tests/aws -q`", f"{run.seconds:.1f} s", summary[-1] if summary else "see output")
    section.note("the pytest run captures the three graphs itself (once per session), then checks them")
    save([section], args.results)
    return run.returncode


if __name__ == "__main__":
    sys.exit(main())
