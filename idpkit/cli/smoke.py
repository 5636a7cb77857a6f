"""`idpkit smoke`: the flows that must succeed and the attacks that must fail, against any stack."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import click

from idpkit.cli.options import stack_option
from idpkit.console import stderr
from idpkit.errors import ExitCode
from idpkit.outputs import load_outputs
from idpkit.smoke import mutation_report
from idpkit.smoke.mutations import Outcome, run_mutations
from idpkit.smoke.plugin import EXPIRY_MARK
from idpkit.smoke.runner import artifacts_directory, run_suite

COLLECT_ONLY = frozenset({"--collect-only", "--co"})


@click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
@stack_option
@click.option("--junit", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="JUnit XML report path (default: the stack's state directory, smoke/junit.xml).")  # fmt: skip
@click.option("--complete", is_flag=True,
              help="Also run the checks that wait for real expiries (about 4 more minutes): the complete run a "
                   "review needs to say PASS.")  # fmt: skip
@click.option("--mutations", is_flag=True,
              help="Prove the suite has teeth: weaken each hardened setting in turn on the live realm (local stack "
                   "only) and run the checks claiming it; exit 1 unless every mutant is killed by them.")  # fmt: skip
@click.option("--mutant", "selected", multiple=True, metavar="NAME",
              help="With --mutations: run only these mutants (repeatable; named as the report shows).")  # fmt: skip
@click.option("--sample", type=click.IntRange(min=1), default=None, metavar="N",
              help="With --mutations: run N quick mutants (none waiting for an expiry), chosen by --seed.")  # fmt: skip
@click.option("--seed", default=None, metavar="TEXT",
              help="With --sample: what picks the sample (default: today's date, so CI rotates daily).")  # fmt: skip
@click.option("--report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="With --mutations: write the Markdown report here too (docs/mutations.md: a full run).")  # fmt: skip
@click.argument("pytest_args", nargs=-1, type=click.UNPROCESSED)
def smoke(
    stack: str,
    junit: Path | None,
    complete: bool,
    mutations: bool,
    selected: tuple[str, ...],
    sample: int | None,
    seed: str | None,
    report: Path | None,
    pytest_args: tuple[str, ...],
) -> None:
    """Run the smoke suite against the stack; extra arguments go to pytest (e.g. -k pkce, -m expiry).

    Without --complete (or a -m of your own) the checks that wait minutes for a real expiry are left out,
    and `idpkit review` reports the run INCOMPLETE. Exit 0 when every check run passed (with --mutations:
    every mutant was killed by a check claiming its setting), 1 otherwise.
    """
    if not mutations:
        if selected or sample or seed or report:
            raise click.UsageError("--mutant, --sample, --seed and --report go with --mutations")
        quick = () if complete or "-m" in pytest_args else ("-m", f"not {EXPIRY_MARK}")
        if not COLLECT_ONLY & set(pytest_args):
            load_outputs(stack)  # a stack that is not up exits 3 with its hint, not with every test in error
        run = run_suite(stack, [*quick, *pytest_args], junit=junit)
        stderr.print(f"JUnit XML: {run.junit}\nresults:   {run.results}", highlight=False)
        sys.exit(ExitCode.OK if run.exit_code == 0 else ExitCode.ERROR)
    if pytest_args or junit or complete:
        raise click.UsageError(
            "--mutations runs each mutant's claiming checks; it takes no pytest arguments, --junit or --complete"
        )
    if selected and sample:
        raise click.UsageError("--mutant and --sample exclude each other")
    _mutations(stack, selected, sample, seed or dt.date.today().isoformat(), report)


def _mutations(stack: str, selected: tuple[str, ...], sample: int | None, seed: str, report: Path | None) -> None:
    workdir = artifacts_directory(stack) / "mutations"

    def progress(outcome: Outcome) -> None:
        failing = ", ".join(outcome.killed_by or outcome.caught_by) or outcome.note
        click.echo(f"{outcome.verdict.value.upper():<16} {outcome.mutant.name}  [{failing}] ({outcome.seconds:.0f} s)",
                   err=True)  # fmt: skip

    run = run_mutations(stack, workdir=workdir, names=selected, sample=sample, seed=seed, progress=progress)
    # Plain lines, not a rich table: settings and test ids are long and must stay whole and greppable in CI logs.
    click.echo(f"mutation testing ({run.selection}): {len(run.killed)}/{len(run.outcomes)} mutants killed by the "
               "check claiming their setting")  # fmt: skip
    for outcome in run.outcomes:
        if outcome.verdict.value != "killed":
            click.echo(f"{outcome.verdict.value.upper()}: {outcome.mutant.name} (claiming: "
                       f"{', '.join(outcome.claiming) or 'none'}) {outcome.note}")  # fmt: skip
    for test in run.unstable:
        click.echo(f"unstable (failed on the restored realm too; its kills do not count): {test}")
    (workdir / "mutations.json").write_text(json.dumps(run.to_dict(), indent=2) + "\n")
    if report is not None:
        report.write_text(mutation_report.render(run))
        click.echo(f"report: {report}")
    click.echo(f"mutation run wall time: {run.seconds:.1f} s\ndetails: {workdir / 'mutations.json'}")
    sys.exit(ExitCode.OK if run.passed else ExitCode.ERROR)
