"""`idpkit smoke`: the flows that must succeed and the attacks that must fail, against any stack."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from idpkit.cli.options import stack_option
from idpkit.console import stderr
from idpkit.errors import ExitCode
from idpkit.smoke.mutations import Outcome, run_mutations
from idpkit.smoke.runner import artifacts_directory, run_suite


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@stack_option
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JUnit XML report path (default: the stack's state directory, smoke/junit.xml).")  # fmt: skip
@click.option("--mutations", is_flag=True,
              help="Prove the suite has teeth: weaken each hardened realm setting in turn (local stack only), "
                   "run the suite, restore; exit 1 if any weakening goes unnoticed.")  # fmt: skip
@click.option("--mutant", "selected", multiple=True, metavar="NAME",
              help="With --mutations: run only these mutants (repeatable).")  # fmt: skip
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def smoke(
    stack: str, junit: Path | None, mutations: bool, selected: tuple[str, ...], pytest_args: tuple[str, ...]
) -> None:
    """Run the smoke suite against the stack; extra arguments go to pytest (e.g. -k pkce, -m expiry).

    Exit 0 when every check passed (with --mutations: every mutant was caught), 1 otherwise.
    """
    if mutations:
        if pytest_args or junit:
            raise click.UsageError(
                "--mutations runs the whole suite per mutant; it takes no pytest arguments or --junit"
            )
        _mutations(stack, selected)
        return
    run = run_suite(stack, pytest_args, junit=junit)
    stderr.print(f"JUnit XML: {run.junit}\nresults:   {run.results}", highlight=False)
    sys.exit(ExitCode.OK if run.exit_code == 0 else ExitCode.ERROR)


def _mutations(stack: str, selected: tuple[str, ...]) -> None:
    workdir = artifacts_directory(stack) / "mutations"

    def progress(outcome: Outcome) -> None:
        verdict = f"caught by {outcome.caught_by}" if outcome.caught_by else "SURVIVED"
        click.echo(f"{outcome.mutant.name}: {verdict} ({outcome.seconds:.1f} s)", err=True)

    run = run_mutations(stack, selected=selected, workdir=workdir, progress=progress)
    # Plain lines, not a rich table: settings and test ids are long and must stay whole and greppable in CI logs.
    caught = len(run.outcomes) - len(run.survivors)
    click.echo(f"mutation testing: {caught}/{len(run.outcomes)} mutants caught")
    click.echo(f"{'mutant':<24} {'weakened setting':<100} catching test")
    for outcome in run.outcomes:
        verdict = outcome.caught_by or f"SURVIVED (should be caught by: {outcome.mutant.expected})"
        click.echo(f"{outcome.mutant.name:<24} {outcome.mutant.setting:<100} {verdict}")
    for test in run.baseline_failures:
        click.echo(f"failing before any mutation (left out of mutant runs): {test}")
    for test in run.unstable:
        click.echo(f"unstable (failed on the restored realm too; left out): {test}")
    report = workdir / "mutations.json"
    report.write_text(json.dumps(run.to_dict(), indent=2) + "\n")
    click.echo(f"mutation run wall time: {run.seconds:.1f} s\nreport: {report}")
    sys.exit(ExitCode.ERROR if run.survivors or run.baseline_failures or run.unstable else ExitCode.OK)
