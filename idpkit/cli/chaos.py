"""`idpkit chaos`: faults injected one at a time into a kept rehearsal under mixed load (idpkit/chaos/)."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from idpkit import paths
from idpkit.chaos import load, report, runner
from idpkit.chaos.catalogue import BY_NAME
from idpkit.cli.options import json_option
from idpkit.console import Reporter
from idpkit.errors import ExitCode, IdpkitError

REHEARSAL_STACKS = click.Choice(["dev", "staging", "prod"])


@click.group()
def chaos() -> None:
    """Reliability under faults and load, measured on a kept rehearsal (`idpkit rehearse --keep`).

    `run` drives browser-less logins, mTLS client-credentials grants, refreshes and JWKS validations
    through the stack's outputs while it injects one fault at a time, each against a goal stated
    before it is measured; `report` regenerates docs/reliability.md from the recorded runs.
    Exit codes: 0 every goal met, 1 a goal missed or an error, 64 usage.
    """


@chaos.command("run")
@click.option("--stack", "stack", required=True, type=REHEARSAL_STACKS, help="The kept rehearsal's stack.")
@click.option("--scenario", "names", multiple=True, type=click.Choice(list(BY_NAME)),
              help="Run only these (repeatable); default: every scenario, or the short set with --short.")  # fmt: skip
@click.option("--short", is_flag=True, help="CI form: node kill and key rotation, shorter waits, lighter load.")
@click.option("--record", is_flag=True, help="Save the results and regenerate docs/reliability.md (full form).")
@json_option
def run_command(stack: str, names: tuple[str, ...], short: bool, record: bool, json_mode: bool) -> None:
    """Run the scenarios against the kept rehearsal of STACK (root: it reaches into the namespaces)."""
    from idpkit.cli.bench import machine_facts  # noqa: PLC0415
    from idpkit.rehearsal.state import attach  # noqa: PLC0415

    if not paths.running_as_root():
        raise IdpkitError("`idpkit chaos` injects faults into the rehearsal's namespaces and needs root")
    if record and short:
        raise IdpkitError("--record keeps full-form runs only", exit_code=ExitCode.USAGE)
    reporter = Reporter(json_mode=json_mode)
    scenarios = runner.selected(names, short=short)
    machine = machine_facts()
    rehearsal = attach(stack)
    reporter.note(f"… {runner.prepare(rehearsal)}")
    results = []
    for scenario in scenarios:
        # One at a time, each recorded as it completes: a later scenario's failure keeps the earlier results.
        results += runner.run_all(rehearsal, [scenario], short=short, progress=lambda s: reporter.note(f"… {s}"))
        if record:
            report.write(runner.record(results[-1:], machine))
    payload = {"stack": stack, "short": short, "scenarios": [result.to_dict() for result in results]}
    reporter.result(
        payload,
        lambda console: console.print(
            "\n".join(
                f"{'met' if r.verdict.met else 'MISSED':>6}  {r.scenario.name:<18} {r.seconds:6.0f} s  "
                f"{r.verdict.summary}"
                for r in results
            ),
            highlight=False,
        ),
    )
    sys.exit(ExitCode.OK if all(result.verdict.met for result in results) else ExitCode.ERROR)


@chaos.command("report")
def report_command() -> None:
    """Regenerate docs/reliability.md from benchmarks/results/reliability.json."""
    target = paths.project_root() / runner.RESULTS
    if not target.exists():
        raise IdpkitError(f"no recorded results ({target})", hint="idpkit chaos run --stack staging --record")
    written = report.write(target)
    Reporter(json_mode=False).result({"report": str(written)}, lambda console: console.print(f"wrote {written}"))


@chaos.command("load", hidden=True)
@click.option("--stack", "stack", required=True, type=REHEARSAL_STACKS)
@click.option("--logins", type=click.FloatRange(min=0), required=True)
@click.option("--grants", type=click.FloatRange(min=0), required=True)
@click.option("--refreshes", type=click.FloatRange(min=0), required=True)
@click.option("--validations", type=click.FloatRange(min=0), required=True)
@click.option("--max-seconds", type=click.FloatRange(min=1, max=3600), required=True)
@click.option("--output", type=click.Path(path_type=Path, dir_okay=False), required=True)
def load_command(
    stack: str, logins: float, grants: float, refreshes: float, validations: float, max_seconds: float, output: Path
) -> None:
    """The load generator `run` starts in the rehearsal's edge namespace; stops on SIGTERM, then audits."""
    profile = load.LoadProfile(logins, grants, refreshes, validations)
    with tempfile.TemporaryDirectory(prefix="idpkit-chaos-") as scratch:
        load.serve(stack, profile, max_seconds, output, Path(scratch))
