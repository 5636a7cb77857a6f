"""`idpkit realm`: realm configuration as code (validate, schema, plan, apply, drift)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import click
from rich.console import Console

from idpkit.cli.options import json_option, stack_option
from idpkit.console import Reporter
from idpkit.errors import ExitCode, IdpkitError
from idpkit.outputs import load_outputs
from idpkit.realm import engine, schema
from idpkit.realm import render as render_plan
from idpkit.realm.loader import ENVIRONMENTS

environment_option = click.option(
    "--env",
    "environment",
    type=click.Choice(ENVIRONMENTS),
    default=None,
    help="Overlay to use (default: the stack's name).",
)
format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["diff", "table"]),
    default="diff",
    help="diff: one line per changed field, fits 80 columns (default); table: every field in columns.",
)
prune_option = click.option(
    "--prune",
    is_flag=True,
    help="Also delete objects the kit created that the files no longer declare.",
)


def _environment(stack: str, environment: str | None) -> str:
    if environment:
        return environment
    if stack not in ENVIRONMENTS:
        raise IdpkitError(
            f"stack {stack!r} has no overlay of the same name", hint="pass --env", exit_code=ExitCode.USAGE
        )
    return stack


@click.group()
def realm() -> None:
    """Realm configuration as code: realm-config/ validated, planned, applied, checked for drift.

    Exit codes: 0 in sync / applied, 1 error (nothing applied if validation failed), 2 changes pending.
    """


@realm.command()
@click.option(
    "--env",
    "environments",
    type=click.Choice(ENVIRONMENTS),
    multiple=True,
    help="Overlay(s) to validate (default: all).",
)
@json_option
def validate(environments: tuple[str, ...], json_mode: bool) -> None:
    """Check the files' schema and security rules offline; list exceptions in force."""
    report = {}
    for environment in environments or ENVIRONMENTS:
        _loaded, waivers = engine.validate(environment)
        report[environment] = [
            {
                "rule": w.finding.rule.id,
                "path": w.finding.path,
                "owner": w.exception.owner,
                "reason": w.exception.reason,
                "expires": str(w.exception.expires),
            }
            for w in waivers
        ]

    def render(console: Console) -> None:
        for environment, waivers in report.items():
            console.print(f"[green]✓[/green] {environment}: valid", highlight=False)
            for waiver in waivers:
                console.print(
                    f"    exception {waiver['rule']} at {waiver['path']} (owner {waiver['owner']}, "
                    f"expires {waiver['expires']}): {waiver['reason']}",
                    highlight=False,
                )

    Reporter(json_mode=json_mode).result(report, render)


@realm.command("schema")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Where to write it (default: realm-config/{schema.SCHEMA_FILE}); `-` for stdout.",
)
def schema_command(output: Path | None) -> None:
    """Export the JSON Schema of realm-config files for editors."""
    if output == Path("-"):
        sys.stdout.write(schema.render())
        return
    target = schema.write(output)
    Reporter(json_mode=False).note(f"wrote {target}")


def _render(result: engine.Plan, title: str, output_format: str) -> Callable[[Console], None]:
    def render(console: Console) -> None:
        if not result.changes:
            console.print(f"[green]realm {result.realm} ({result.environment}) is in sync[/green]")
        elif output_format == "table":
            console.print(render_plan.table(result.changes, title))
        else:
            console.print(title, highlight=False)
            for line in render_plan.diff_lines(result.changes):
                console.print(line, highlight=False, markup=False, soft_wrap=True)
        for note in result.notes:
            console.print(f"[yellow]note:[/yellow] {note}", highlight=False)
        for note in result.unmanaged:
            console.print(f"[yellow]unmanaged:[/yellow] {note}", highlight=False)
        for waiver in result.waivers:
            console.print(
                f"[yellow]exception in force:[/yellow] {waiver.finding.rule.id} at {waiver.finding.path} "
                f"(owner {waiver.exception.owner}, expires {waiver.exception.expires}): "
                f"{waiver.exception.reason}",
                highlight=False,
            )

    return render


def _finish(result: engine.Plan, json_mode: bool, title: str, output_format: str, *, pending: bool) -> None:
    Reporter(json_mode=json_mode).result(result.to_dict(), _render(result, title, output_format))
    if pending:
        sys.exit(ExitCode.CHANGES_PENDING)


@realm.command()
@stack_option
@environment_option
@prune_option
@format_option
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Also save the plan to this file, for `realm apply --plan` (after review).",
)
@json_option
def plan(
    stack: str, environment: str | None, prune: bool, output_format: str, out: Path | None, json_mode: bool
) -> None:
    """Show what apply would change, per object and field (exit 2 when changes are pending)."""
    env = _environment(stack, environment)
    validated = engine.validate(env)  # refuse bad files before any API call, even the login
    result = engine.plan(engine.Session.open(load_outputs(stack)), env, stack, prune=prune, validated=validated)
    if out is not None:
        engine.save_plan(result, stack, out)
        Reporter(json_mode=json_mode).note(f"plan saved to {out}: apply it with `idpkit realm apply --plan {out}`")
    title = f"realm plan: stack {stack}, overlay {env}"
    _finish(result, json_mode, title, output_format, pending=bool(result.changes))


@realm.command()
@stack_option
@environment_option
@prune_option
@format_option
@click.option(
    "--plan",
    "plan_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Apply exactly this saved plan (refused if the realm changed since it was made).",
)
@click.option(
    "--break-glass",
    is_flag=True,
    help="Change the master realm too (its settings, the kit's admin client and roles), logged in to master as the "
    "break-glass account (bootstrap_admin_credentials); an emergency procedure, see "
    "runbooks/break-glass-admin-access.md.",
)
@json_option
def apply(
    stack: str,
    environment: str | None,
    prune: bool,
    output_format: str,
    plan_file: Path | None,
    break_glass: bool,
    json_mode: bool,
) -> None:
    """Validate, then create/update (and with --prune delete owned) objects in dependency order.

    The master realm is changed only on the first apply (by the bootstrap admin) and with --break-glass.
    """
    reporter = Reporter(json_mode=json_mode)
    session_outputs = load_outputs(stack)
    if break_glass:
        reporter.note(f"break-glass: master is changed as the bootstrap admin of stack {stack}; record why")
    if plan_file is not None:
        if environment or prune:
            raise IdpkitError("--plan applies a saved plan as it is: drop --env and --prune", exit_code=ExitCode.USAGE)
        with reporter.step(f"applying the saved plan {plan_file} to stack {stack}"):
            session = engine.Session.open(session_outputs, break_glass=break_glass)
            result = engine.apply_saved(session, plan_file, stack)
        title = f"realm apply: stack {stack}, saved plan {plan_file}"
    else:
        env = _environment(stack, environment)
        validated = engine.validate(env)  # refuse bad files before any API call, even the login
        with reporter.step(f"applying realm-config ({env}) to stack {stack}"):
            session = engine.Session.open(session_outputs, break_glass=break_glass)
            result = engine.apply(session, env, stack, prune=prune, validated=validated)
        title = f"realm apply: stack {stack}, overlay {env}"
    reporter.note(f"{len(result.changes)} change(s), {result.writes.total} write call(s), {result.seconds:.1f} s")
    _finish(result, json_mode, title, output_format, pending=False)


@realm.command()
@stack_option
@environment_option
@format_option
@json_option
def drift(stack: str, environment: str | None, output_format: str, json_mode: bool) -> None:
    """Report live changes made outside the kit (exit 2 on drift); for scheduled runs."""
    env = _environment(stack, environment)
    validated = engine.validate(env)  # refuse bad files before any API call, even the login
    result = engine.plan(engine.Session.open(load_outputs(stack)), env, stack, prune=True, validated=validated)
    drifted = bool(result.changes or result.unmanaged)
    _finish(result, json_mode, f"realm drift: stack {stack}, overlay {env}", output_format, pending=drifted)
