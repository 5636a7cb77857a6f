"""The `idpkit` command line: one group per concern, every command taking `--stack NAME`."""

from __future__ import annotations

import sys

import click
from rich.markup import escape

from idpkit import __version__, bugs
from idpkit.cli.bench import bench
from idpkit.cli.certs import certs
from idpkit.cli.chaos import chaos
from idpkit.cli.host import host
from idpkit.cli.keys import keys
from idpkit.cli.local import local
from idpkit.cli.outputs import outputs
from idpkit.cli.realm import realm
from idpkit.cli.rehearse import rehearse_command
from idpkit.cli.review import review
from idpkit.cli.smoke import smoke
from idpkit.console import stderr
from idpkit.errors import ExitCode, IdpkitError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="idpkit")
def cli() -> None:
    """Deploy, configure, test and operate a hardened Keycloak identity provider for PHI APIs.

    Exit codes: 0 success, 1 error, 2 changes pending (plan/drift), 3 stack not running, 64 usage.
    """


cli.add_command(bench)
cli.add_command(certs)
cli.add_command(chaos)
cli.add_command(host)
cli.add_command(keys)
cli.add_command(local)
cli.add_command(outputs)
cli.add_command(realm)
cli.add_command(rehearse_command, name="rehearse")
cli.add_command(review)
cli.add_command(smoke)


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
