"""The `idpkit` command line: one group per concern, every command taking `--stack NAME`.

Each subcommand's module is imported only when that subcommand runs (or help lists it): `idpkit realm apply`
must not pay for Pulumi, the smoke suite or the rehearsal at every start.
"""

from __future__ import annotations

import importlib
import sys

import click
from rich.markup import escape

from idpkit import __version__, bugs
from idpkit.console import stderr
from idpkit.errors import ExitCode, IdpkitError

SUBCOMMANDS = {
    "admin": "idpkit.cli.admin:admin",
    "bench": "idpkit.cli.bench:bench",
    "certs": "idpkit.cli.certs:certs",
    "chaos": "idpkit.cli.chaos:chaos",
    "host": "idpkit.cli.host:host",
    "keys": "idpkit.cli.keys:keys",
    "local": "idpkit.cli.local:local",
    "outputs": "idpkit.cli.outputs:outputs",
    "realm": "idpkit.cli.realm:realm",
    "rehearse": "idpkit.cli.rehearse:rehearse_command",
    "review": "idpkit.cli.review:review",
    "smoke": "idpkit.cli.smoke:smoke",
}
"""Subcommand name -> "module:attribute" of its click command."""


class LazyGroup(click.Group):
    """A group whose subcommands are imported when first asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:  # noqa: ARG002 - click's signature
        return sorted(SUBCOMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:  # noqa: ARG002 - click's
        if cmd_name not in SUBCOMMANDS:
            return None
        module, attribute = SUBCOMMANDS[cmd_name].split(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{SUBCOMMANDS[cmd_name]} is not a click command")
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="idpkit")
def cli() -> None:
    """Deploy, configure, test and operate a hardened Keycloak identity provider for PHI APIs.

    Exit codes: 0 success, 1 error, 2 changes pending (plan/drift), 3 stack not running, 64 usage.
    """


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        stderr.print("aborted")
        sys.exit(ExitCode.ERROR)
    except click.ClickException as error:
        error.show()
        sys.exit(ExitCode.USAGE if isinstance(error, click.UsageError) else ExitCode.ERROR)
    except IdpkitError as error:
        stderr.print(f"[bold red]error:[/bold red] {error.message}", highlight=False)
        if error.hint:
            stderr.print(f"hint: {error.hint}", highlight=False)
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as error:  # anything else is a bug in the kit, reported as one
        stderr.print(f"[bold red]bug:[/bold red] {escape(bugs.record(error))}", highlight=False)
        sys.exit(ExitCode.ERROR)
    sys.exit(ExitCode.OK)
