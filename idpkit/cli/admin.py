"""`idpkit admin`: the kit's admin service account, for runbook steps that call Keycloak's admin API directly."""

from __future__ import annotations

import sys

import click

from idpkit.cli.options import json_option, stack_option
from idpkit.console import Reporter
from idpkit.errors import ExitCode, IdpkitError
from idpkit.keycloak_admin import ADMIN_REALM, AdminApi, connect
from idpkit.outputs import AdminCredentials, load_admin_credentials, load_break_glass_credentials, load_outputs
from idpkit.realm import bootstrap


@click.group()
def admin() -> None:
    """The kit's admin service account (`idpkit-admin` in master, private_key_jwt)."""


@admin.command()
@stack_option
def token(stack: str) -> None:
    """Print a fresh access token of the kit's admin service account (it lives two minutes).

    For a pipe or `$(…)` only: refused when stdout is a terminal, so the token never reaches a screen.
    The private key never leaves this process; the token administers the stack's realm, never master.
    """
    if sys.stdout.isatty():
        raise IdpkitError(
            "refusing to print an admin token on a terminal",
            hint='capture it instead: token=$(idpkit admin token --stack "$STACK")',
            exit_code=ExitCode.USAGE,
        )
    outputs = load_outputs(stack)
    connection = connect(outputs, load_admin_credentials(outputs))
    click.echo((connection.token or {})["access_token"])


@admin.command("rotate-key")
@stack_option
@json_option
def rotate_key(stack: str, json_mode: bool) -> None:
    """Give the kit's service account a new private key, and store it where the kit reads its credentials.

    Break-glass: only a master administrator may change the kit's client, so this logs in to master as the
    bootstrap admin (bootstrap_admin_credentials). The old key stops working at once. Works when the stored
    key is lost or unreadable.
    """
    reporter = Reporter(json_mode=json_mode)
    outputs = load_outputs(stack)
    reporter.note(f"break-glass: the kit's admin client is changed as the bootstrap admin of stack {stack}; record why")
    try:
        current = load_admin_credentials(outputs)
    except IdpkitError:
        current = AdminCredentials()
    with reporter.step(f"registering a new key for {bootstrap.ADMIN_CLIENT_ID} on stack {stack}"):
        master = AdminApi(connect(outputs, load_break_glass_credentials(outputs)), ADMIN_REALM)
        fresh = bootstrap.bootstrap(master, outputs, current, rekey=True)
        connect(outputs, fresh)  # the new key logs in, or this fails loudly
    result = {"client_id": fresh.client_id, "key_id": fresh.key_id, "stored_in": outputs.admin_credentials}
    reporter.result(
        result, lambda console: console.print(f"new key {fresh.key_id} stored in {outputs.admin_credentials}")
    )
