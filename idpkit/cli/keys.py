"""`idpkit keys`: the realm's signing keys (status, staged rotation, retire, emergency rotation, restore)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.console import Console
from rich.table import Table

from idpkit.cli.options import json_option, stack_option
from idpkit.console import Reporter
from idpkit.errors import ExitCode, IdpkitError
from idpkit.keycloak_server.kms_provider import SIGNING_CHOICES, SigningChoice
from idpkit.keys import material
from idpkit.keys.kms import SIGNING_ENV, KmsKeys, aws_target, local_kms, open_kms
from idpkit.keys.live import LiveRealm
from idpkit.keys.rotation import DEFAULT_MARGIN_SECONDS, DEFAULT_ROTATION_DAYS, KeyManager, Outcome
from idpkit.keys.store import open_store, rotation_credentials
from idpkit.local.layout import LocalLayout
from idpkit.local.stack import saved_signing
from idpkit.outputs import LOCAL_STACK, load_outputs

realm_option = click.option("--realm", default=None, help="Realm to act on (default: the stack's realm output).")
key_store_option = click.option(
    "--key-store", "key_store", envvar="IDPKIT_KEY_STORE", default=None, metavar="PATH|ARN",
    help="Key store: a directory (0700, files 0600) or a Secrets Manager secret ARN "
         "(default for the local stack: its secrets directory; required for AWS stacks).",
)  # fmt: skip
role_option = click.option(
    "--assume-role", "role_arn", envvar="IDPKIT_KEYS_ROLE_ARN", default=None, metavar="ARN",
    help="Role to assume for the Secrets Manager key store (the rotation role; CloudTrail records each use).",
)  # fmt: skip
algorithm_option = click.option(
    "--algorithm", type=click.Choice(material.ALGORITHMS), default=None,
    help="Algorithm of new keys (default: the realm's defaultSignatureAlgorithm).",
)  # fmt: skip
signing_option = click.option(
    "--signing", type=click.Choice(SIGNING_CHOICES), envvar=SIGNING_ENV, default=None,
    help="Where new keys live: `imported` (kit-generated material imported into Keycloak) or `kms` (created in "
         "KMS; Keycloak signs through it and never holds the private key). Default: the local stack's "
         "`--signing`, `imported` elsewhere.",
)  # fmt: skip
margin_option = click.option(
    "--margin", "margin", type=click.IntRange(min=0), default=DEFAULT_MARGIN_SECONDS, show_default=True,
    metavar="SECONDS", help="Resource servers' JWKS cache lifetime + clock skew: a new key is published this long "
                            "before it signs, and it is added to the passive window.",
)  # fmt: skip


@click.group()
def keys() -> None:
    """Realm signing keys: kit-generated, stored encrypted, rotated in resumable stages.

    Scheduled rotation: `rotate` publishes a new key, and once it has been in JWKS for the margin
    (run `rotate` again) makes it ACTIVE and the old keys PASSIVE; after the passive window computed
    from the live realm, `retire` disables, then removes, the old keys. `rotate --stage auto` does
    whatever is due and is what the schedule runs. `emergency-rotate` revokes at once.

    Exit codes: 0 done or nothing to do, 1 error (including retire refused before the window ends),
    64 usage. Private key material is never printed.
    """


@contextmanager
def _manager(
    stack: str,
    realm: str | None,
    key_store: str | None,
    role_arn: str | None,
    algorithm: str | None,
    margin: int,
    signing: SigningChoice | None,
) -> Iterator[KeyManager]:
    outputs = load_outputs(stack)
    store = open_store(key_store, stack, role_arn=role_arn)
    kms = _kms(stack, role_arn, signing)
    with store.lock():
        yield KeyManager(
            LiveRealm.open(outputs, realm or outputs.realm), store, algorithm=algorithm, margin_seconds=margin, kms=kms
        )


def _kms(stack: str, role_arn: str | None, signing: SigningChoice | None) -> KmsKeys | None:
    """KMS access for `--signing kms` (the local stack's emulation, or AWS as the rotation role)."""
    if stack == LOCAL_STACK:
        layout = LocalLayout.for_stack(stack)
        if (signing or saved_signing(layout)) != "kms":
            return None
        if saved_signing(layout) != "kms":
            raise IdpkitError(
                "--signing kms: the local stack does not run the KMS emulation",
                hint="idpkit local up --signing kms",
                exit_code=ExitCode.USAGE,
            )
        return local_kms(stack)
    if signing != "kms":
        return None
    target = aws_target(stack, role_arn)
    return open_kms(target, rotation_credentials(target.region, role_arn))


def _report(outcome: Outcome, json_mode: bool) -> None:
    Reporter(json_mode=json_mode).result(outcome.to_dict(), _render(outcome))


def _render(outcome: Outcome) -> Callable[[Console], None]:
    def render(console: Console) -> None:
        for action in outcome.actions:
            console.print(f"[green]✓[/green] {action}", highlight=False)
        if not outcome.actions:
            console.print(f"realm {outcome.realm} ({outcome.algorithm}): nothing to do", highlight=False)
        table = Table(title=f"signing keys of realm {outcome.realm}")
        for column in ("name", "provider", "algorithm", "kid", "status", "priority", "kit gen"):
            table.add_column(column, overflow="fold")
        for key in outcome.keys:
            table.add_row(
                key["name"],
                key["provider"],
                key["algorithm"] or "",
                key["kid"] or "",
                key["status"],
                str(key["priority"]),
                str(key["generation"] or "-"),
            )
        console.print(table)
        rotation: dict[str, Any] | None = outcome.rotation
        if rotation:
            console.print(
                f"rotation: {rotation['kind']} to generation {rotation['generation']}, stage {rotation['stage']}",
                highlight=False,
            )
            if "window" in rotation:
                console.print(
                    f"passive window {rotation['window']['seconds']} s ({rotation['window']['source']}) "
                    f"+ margin {rotation['margin_seconds']} s: retire due at {rotation['retire_due_at']} "
                    f"(in {rotation['retire_due_in_seconds']} s)",
                    highlight=False,
                )
            if rotation.get("blast_radius"):
                radius = rotation["blast_radius"]
                console.print(
                    f"blast radius: {radius['sessions']} session(s), {radius['offline_sessions']} "
                    f"offline session(s), {radius['users']} user(s) re-login",
                    highlight=False,
                )
        if outcome.next_step:
            console.print(f"next: {outcome.next_step}", highlight=False)

    return render


def _common(function: Callable[..., None]) -> Callable[..., None]:
    for option in (
        json_option,
        signing_option,
        margin_option,
        algorithm_option,
        role_option,
        key_store_option,
        realm_option,
        stack_option,
    ):
        function = option(function)
    return function


@keys.command()
@_common
def status(
    stack: str,
    realm: str | None,
    key_store: str | None,
    role_arn: str | None,
    algorithm: str | None,
    margin: int,
    signing: SigningChoice | None,
    json_mode: bool,
) -> None:
    """Show the realm's signing keys, the rotation in progress and when retire is due."""
    with _manager(stack, realm, key_store, role_arn, algorithm, margin, signing) as manager:
        _report(manager.status(), json_mode)


@keys.command()
@_common
@click.option(
    "--stage",
    type=click.Choice(["all", "add", "auto"]),
    default="all",
    show_default=True,
    help="all: publish, then (once the margin has passed) activate and demote; add: stop after "
    "publishing the new key; auto: whatever is due now (resume, retire after the window, rotate "
    "when the signing key is older than --every).",
)
@click.option(
    "--every",
    "every_days",
    type=click.FloatRange(min=1),
    default=DEFAULT_ROTATION_DAYS,
    show_default=True,
    metavar="DAYS",
    help="With --stage auto: rotate keys older than this.",
)
def rotate(
    stack: str,
    realm: str | None,
    key_store: str | None,
    role_arn: str | None,
    algorithm: str | None,
    margin: int,
    signing: SigningChoice | None,
    json_mode: bool,
    stage: str,
    every_days: float,
) -> None:
    """Start (or resume) a rotation: new key published, then ACTIVE, previous keys PASSIVE.

    No-op while a rotation waits for its margin or passive window.
    """
    with _manager(stack, realm, key_store, role_arn, algorithm, margin, signing) as manager:
        if stage == "auto":
            outcome = manager.auto(every_days=every_days)
        else:
            outcome = manager.rotate(until="add" if stage == "add" else "demote")
        _report(outcome, json_mode)


@keys.command()
@_common
@click.option(
    "--stage",
    type=click.Choice(["all", "disable"]),
    default="all",
    show_default=True,
    help="all: disable then remove; disable: stop after disabling the old keys.",
)
@click.option(
    "--force",
    is_flag=True,
    help="DANGER: retire before the passive window ends; tokens the old keys signed start failing.",
)
def retire(
    stack: str,
    realm: str | None,
    key_store: str | None,
    role_arn: str | None,
    algorithm: str | None,
    margin: int,
    signing: SigningChoice | None,
    json_mode: bool,
    stage: str,
    force: bool,
) -> None:
    """Disable, then remove, the keys the last rotation made passive (refused before the window ends)."""
    with _manager(stack, realm, key_store, role_arn, algorithm, margin, signing) as manager:
        _report(manager.retire(force=force, until="disable" if stage == "disable" else "remove"), json_mode)


@keys.command("emergency-rotate")
@_common
@click.option(
    "--kid", "kids", multiple=True, help="Compromised key id (repeatable; default: every enabled key of the algorithm)."
)
@click.option(
    "--keep-sessions",
    is_flag=True,
    help="Do not end the realm's sessions (users stay logged in; only tokens of revoked keys fail).",
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def emergency_rotate(
    stack: str,
    realm: str | None,
    key_store: str | None,
    role_arn: str | None,
    algorithm: str | None,
    margin: int,
    signing: SigningChoice | None,
    json_mode: bool,
    kids: tuple[str, ...],
    keep_sessions: bool,
    yes: bool,
) -> None:
    """Compromised key: new key ACTIVE now, compromised keys out of JWKS now, every session ended."""
    if not yes:
        click.confirm(
            "Revoke the signing key(s) now? Every token they signed fails at once"
            + ("" if keep_sessions else " and every user must log in again"),
            abort=True,
            err=True,
        )
    with _manager(stack, realm, key_store, role_arn, algorithm, margin, signing) as manager:
        _report(manager.emergency(kids=list(kids) or None, end_sessions=not keep_sessions), json_mode)


@keys.command()
@_common
def restore(
    stack: str,
    realm: str | None,
    key_store: str | None,
    role_arn: str | None,
    algorithm: str | None,
    margin: int,
    signing: SigningChoice | None,
    json_mode: bool,
) -> None:
    """Re-import every stored key missing from the realm (after a rebuild); the same keys and kids come back."""
    with _manager(stack, realm, key_store, role_arn, algorithm, margin, signing) as manager:
        _report(manager.restore(), json_mode)
