"""`idpkit smoke`: the flows that must succeed and the attacks that must fail, against any stack."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from idpkit.cli.options import stack_option
from idpkit.console import stderr
from idpkit.errors import ExitCode
from idpkit.smoke.runner import run_suite


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@stack_option
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JUnit XML report path (default: the stack's state directory, smoke/junit.xml).")  # fmt: skip
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def smoke(stack: str, junit: Path | None, pytest_args: tuple[str, ...]) -> None:
    """Run the smoke suite against the stack; extra arguments go to pytest (e.g. -k pkce, -m expiry).

    Exit 0 when every check passed, 1 when any failed.
    """
    run = run_suite(stack, pytest_args, junit=junit)
    stderr.print(f"JUnit XML: {run.junit}\nresults:   {run.results}", highlight=False)
    sys.exit(ExitCode.OK if run.exit_code == 0 else ExitCode.ERROR)
