"""`idpkit rehearse`: run an AWS stack's host path for real on this machine (idpkit/rehearsal/)."""

from __future__ import annotations

import sys

import click

from idpkit.chaos import runner
from idpkit.cli.options import json_option
from idpkit.console import Reporter
from idpkit.errors import ExitCode
from idpkit.rehearsal.run import down, purge, rehearse


@click.command()
@click.option("--stack", "stack", required=True, type=click.Choice(["dev", "staging", "prod"]), help="AWS stack.")
@click.option("--keep", is_flag=True, help="Leave the rehearsal running (hosts, database, front door) afterwards.")
@click.option("--up-only", is_flag=True, help="Stop after the hosts and the front door are up (no realm, no smoke).")
@click.option("--down", "tear_down", is_flag=True, help="Stop a kept rehearsal and remove its namespaces.")
@click.option("--chaos", "chaos", type=click.Choice(["short"]), default=None,
              help="After the last step, the short fault scenarios (`idpkit chaos run --short`): node kill and "
                   "key rotation under load.")  # fmt: skip
@click.option("--purge", "remove", is_flag=True, help="With --down: delete the rehearsal's state too.")
@json_option
def rehearse_command(
    stack: str, keep: bool, up_only: bool, tear_down: bool, chaos: str | None, remove: bool, json_mode: bool
) -> None:
    """Rehearse the AWS deployment of STACK here: the program's graph seeds an AWS API emulation, two hosts
    run `idpkit host up` from the staged wheelhouse and cluster on a TLS PostgreSQL behind the load balancer
    emulation, then realm apply, smoke (database credentials rotated mid-run) and a signing key rotation.

    Exit 0 only when every step passed. Needs root (network namespaces). docs/aws.md says what it proves.
    """
    reporter = Reporter(json_mode=json_mode)
    if tear_down:
        if remove:
            purge(stack)
            stopped: list[str] = ["state removed"]
        else:
            stopped = down(stack)
        reporter.result(
            {"stopped": stopped}, lambda console: console.print(f"stopped: {', '.join(stopped) or 'nothing'}")
        )
        return
    run = rehearse(
        stack,
        keep=keep,
        progress=lambda step: reporter.note(f"… {step}"),
        only_up=up_only,
        afterwards=runner.rehearsal_steps if chaos is not None else None,
    )
    reporter.result(
        run.to_dict(),
        lambda console: console.print(
            "\n".join(
                f"{'ok' if o.ok else 'FAILED':>6}  {o.step:<55} {o.seconds:7.1f} s  {o.detail}" for o in run.outcomes
            )
            + f"\nrehearsal of {stack}: {'passed' if run.ok else 'FAILED'} (report: {run.layout.report})",
            highlight=False,
        ),
    )
    sys.exit(ExitCode.OK if run.ok else ExitCode.ERROR)
