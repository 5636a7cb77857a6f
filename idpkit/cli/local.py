"""`idpkit local up | down | status | logs`: the local stack on a real Keycloak."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import asdict

import click
from rich.console import Console
from rich.table import Table

from idpkit.cli.options import json_option
from idpkit.console import Reporter
from idpkit.errors import ExitCode, IdpkitError
from idpkit.keycloak_server import distribution, kms_provider, release
from idpkit.local import stack
from idpkit.local.layout import LocalLayout


@click.group()
def local() -> None:
    """The local stack: hardened Keycloak (production mode, HTTPS) behind an nginx front door."""


@local.command()
@json_option
def fetch(json_mode: bool) -> None:
    """Download and verify the pinned Keycloak distribution into the cache (up does this when needed)."""
    reporter = Reporter(json_mode=json_mode)
    archive = distribution.ensure_archive(reporter)
    reporter.result(
        {"archive": str(archive), "version": release.VERSION, "sha512": release.SHA512},
        lambda console: console.print(f"Keycloak {release.VERSION}: {archive} (SHA-512 verified)"),
    )


@local.command()
@click.option(
    "--db",
    "database_choice",
    type=click.Choice(["dev-file", "postgres"]),
    default=None,
    help="Keycloak's database: embedded `dev-file` (default) or a kit-owned PostgreSQL cluster. "
    "Omitted: keep the stack's current choice.",
)
@click.option(
    "--signing",
    "signing_choice",
    type=click.Choice(kms_provider.SIGNING_CHOICES),
    default=None,
    help="Where realm signing keys live: `imported` (default; kit-generated keys imported into Keycloak) or "
    "`kms` (a KMS emulation on loopback: Keycloak signs through the kit's KMS provider and never holds the "
    "private key). Omitted: keep the stack's current choice.",
)
@json_option
def up(
    database_choice: stack.DatabaseChoice | None, signing_choice: kms_provider.SigningChoice | None, json_mode: bool
) -> None:
    """Bring the local stack up (idempotent: running it again changes nothing)."""
    reporter = Reporter(json_mode=json_mode)
    result = stack.up(LocalLayout.for_stack(), reporter, database_choice, signing_choice)
    summary = stack.describe(result)

    def render(console: Console) -> None:
        verb = "up" if result.changed else "already up, nothing changed"
        console.print(
            f"local stack {verb} in {result.seconds:.1f} s (Keycloak {summary['keycloak']}, "
            f"Java {result.java}, database {result.database}, signing {result.signing})"
        )
        table = Table(show_header=False)
        for key, value in result.outputs.to_dict().items():
            table.add_row(key, str(value))
        console.print(table)

    reporter.result(summary, render)


@local.command()
@click.option(
    "--purge", is_flag=True, help="Also delete the stack's state (database, keys, PKI); the download cache stays."
)
@json_option
def down(purge: bool, json_mode: bool) -> None:
    """Stop every server of the local stack."""
    stopped = stack.down(LocalLayout.for_stack(), purge=purge)
    Reporter(json_mode=json_mode).result(
        {"stopped": stopped, "purged": purge},
        lambda console: console.print(
            f"stopped: {', '.join(stopped) or 'nothing was running'}" + ("; state deleted" if purge else "")
        ),
    )


@local.command()
@json_option
def status(json_mode: bool) -> None:
    """Show which servers run and whether Keycloak reports ready (exit 3 when not healthy)."""
    current = stack.status(LocalLayout.for_stack())

    def render(console: Console) -> None:
        table = Table("server", "state")
        for server in current.servers:
            table.add_row(server.name, f"running (pid {server.pid})" if server.pid else "stopped")
        console.print(table)
        console.print("Keycloak: " + ("[green]ready[/green]" if current.healthy else "[red]not ready[/red]"))
        if current.kms is not None:
            console.print(
                "signing keys: KMS "
                + ("[green]reachable[/green]" if current.kms.reachable else f"[red]{current.kms.reason}[/red]"),
                highlight=False,
            )

    Reporter(json_mode=json_mode).result(asdict(current), render)
    if not current.healthy:
        sys.exit(ExitCode.NOT_RUNNING)


@local.command()
@click.argument(
    "server",
    type=click.Choice(["keycloak", "nginx", "nginx-access", "nginx-error", "postgres", "kms"]),
    default="keycloak",
)
@click.option("-n", "--lines", default=100, show_default=True, help="How many of the last lines to show.")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines.")
def logs(server: str, lines: int, follow: bool) -> None:
    """Print a server's log."""
    path = stack.log_files(LocalLayout.for_stack())[server]
    if not path.exists():
        raise IdpkitError(f"no {server} log yet at {path}", exit_code=ExitCode.NOT_RUNNING)
    command = ["tail", "-n", str(lines)] + (["-F"] if follow else []) + [str(path)]
    sys.exit(subprocess.run(command, check=False).returncode)
