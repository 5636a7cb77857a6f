"""`idpkit host`: the wheelhouse the AWS hosts install (operator's machine), and the commands hosts run.

On a host (root, from /opt/idpkit): `up` at first boot and after any change, `keycloak-env` before each
Keycloak start (systemd's ExecStartPre), `rotate-db-credentials` on a schedule and
`refresh-db-credentials` on every host after it, one host at a time.
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

import click

from idpkit import paths
from idpkit.cli.options import json_option
from idpkit.console import Reporter
from idpkit.host import database, kms_provider
from idpkit.host.account import service_account
from idpkit.host.config import HostConfig, load_host_config
from idpkit.host.layout import AWS_HOST, HostLayout
from idpkit.host.services import Processes, Supervisor, SupervisorKind, detect
from idpkit.host.up import running_database_user, up, wait_ready, write_keycloak_environment
from idpkit.host.wheelhouse import PLATFORMS, build_wheelhouse
from idpkit.keycloak_server.kms_provider import stage as stage_kms_provider

config_option = click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=f"Host configuration (default: {AWS_HOST.config_file} under --root).",
)
root_option = click.option(
    "--root",
    type=click.Path(file_okay=False, path_type=Path),
    default=Path("/"),
    show_default=True,
    help="Root of the host's file tree: `/` on AWS; a rehearsal host's own directory otherwise.",
)
supervisor_option = click.option(
    "--supervisor",
    type=click.Choice(["systemd", "process"]),
    default=None,
    help="How services run: systemd (AWS hosts; the default when systemd runs this machine) or the kit's "
    "process supervisor.",
)


def _context(config_path: Path | None, root: Path, supervisor: str | None) -> tuple[HostConfig, HostLayout, Supervisor]:
    layout = HostLayout(root)
    config = load_host_config(config_path or layout.config_file)
    return config, layout, detect(layout, cast(SupervisorKind | None, supervisor))


@click.group()
def host() -> None:
    """The AWS Keycloak hosts: their wheelhouse (built here before `pulumi up`) and what they run."""


@host.command()
@click.option(
    "--arch",
    "architecture",
    type=click.Choice(sorted(PLATFORMS)),
    default="x86_64",
    show_default=True,
    help="The hosts' architecture (idpkit:amiParameter's suffix).",
)
@json_option
def wheelhouse(architecture: str, json_mode: bool) -> None:
    """Build build/host-wheelhouse-<arch>.tar: the kit and its host dependencies, for offline install."""
    archive, names, digest = build_wheelhouse(paths.project_root(), architecture)
    Reporter(json_mode=json_mode).result(
        {"archive": str(archive), "sha256": digest, "wheels": names},
        lambda console: console.print(f"{archive}: {len(names)} wheels, sha256 {digest}", highlight=False),
    )


@host.command("up")
@config_option
@root_option
@supervisor_option
@json_option
def host_up(config_path: Path | None, root: Path, supervisor: str | None, json_mode: bool) -> None:
    """Bring this host up: artifacts, secrets, TLS, database roles, configuration, proxy, Keycloak (idempotent)."""
    config, layout, chosen = _context(config_path, root, supervisor)
    reporter = Reporter(json_mode=json_mode)
    run = up(config, layout, chosen, progress=lambda step: reporter.note(f"… {step}"))
    steps = [step.to_dict() for step in run.steps]
    reporter.result(
        {
            "stack": config.stack,
            "supervisor": chosen.kind,
            "changed": any(s.changed for s in run.steps),
            "steps": steps,
        },
        lambda console: console.print(
            "\n".join(
                f"{'changed' if s.changed else 'ok':>7}  {s.name:<22} {s.seconds:6.1f} s  {s.detail}" for s in run.steps
            ),
            highlight=False,
        ),
    )


@host.command("keycloak-env")
@config_option
@root_option
def keycloak_env(config_path: Path | None, root: Path) -> None:
    """Write Keycloak's 0600 environment file from the current secrets (systemd ExecStartPre)."""
    layout = HostLayout(root)
    write_keycloak_environment(load_host_config(config_path or layout.config_file), layout)


@host.command("kms-credentials")
@config_option
@root_option
@json_option
def kms_credentials(config_path: Path | None, root: Path, json_mode: bool) -> None:
    """Refresh Keycloak's KMS sign-only credentials (root; at each start and from a 15-minute timer)."""
    layout = HostLayout(root)
    detail = kms_provider.refresh_credentials(
        load_host_config(config_path or layout.config_file), layout, service_account()
    )
    Reporter(json_mode=json_mode).result({"credentials": detail}, lambda console: console.print(detail))


@host.command("kms-provider")
@json_option
def kms_provider_build(json_mode: bool) -> None:
    """Build build/idpkit-keycloak-kms.jar from keycloak-kms/ (Maven; skipped when unchanged) for `pulumi up`."""
    from idpkit.aws_config import kms_provider_jar_path  # noqa: PLC0415 - imports pulumi; hosts never need it

    built = stage_kms_provider(kms_provider_jar_path(paths.project_root()))
    Reporter(json_mode=json_mode).result(
        {"jar": str(built.jar), "sha256": built.sha256, "built": built.built, "seconds": round(built.seconds, 1)},
        lambda console: console.print(f"{built.jar} sha256 {built.sha256} ({'built' if built.built else 'unchanged'})"),
    )


@host.command("rotate-db-credentials")
@config_option
@root_option
@json_option
def rotate_db_credentials(config_path: Path | None, root: Path, json_mode: bool) -> None:
    """Alternating-users rotation: a new password on the database role no node uses, made current.

    Refused while any connection still uses that role (a node not restarted since the last rotation).
    Running nodes keep their role; `refresh-db-credentials` moves each node to the new one.
    """
    layout = HostLayout(root)
    config = load_host_config(config_path or layout.config_file)
    previous, current = database.rotate(config, layout.rds_ca_bundle)
    Reporter(json_mode=json_mode).result(
        {"previous_role": previous, "current_role": current},
        lambda console: console.print(
            f"new password on {current}, now current; nodes keep {previous} until refresh-db-credentials"
        ),
    )


@host.command("refresh-db-credentials")
@config_option
@root_option
@supervisor_option
@json_option
def refresh_db_credentials(config_path: Path | None, root: Path, supervisor: str | None, json_mode: bool) -> None:
    """Restart Keycloak on this host if it runs with a database role the secret no longer names."""
    config, layout, chosen = _context(config_path, root, supervisor)
    wanted = database.current_credentials(config).username
    running = running_database_user(layout)
    restarted = running != wanted or not chosen.keycloak_running()
    if restarted:
        if chosen.kind == "process":
            write_keycloak_environment(config, layout)  # what keycloak.service's ExecStartPre does
        chosen.start_keycloak(restart=True)
        wait_ready(layout, chosen)
    Reporter(json_mode=json_mode).result(
        {"restarted": restarted, "previous_role": running, "role": wanted},
        lambda console: console.print(
            f"Keycloak restarted: {running} → {wanted}" if restarted else f"Keycloak already runs as {wanted}"
        ),
    )


@host.command("down")
@root_option
@json_option
def host_down(root: Path, json_mode: bool) -> None:
    """Stop the services the kit's process supervisor started (rehearsal hosts; systemd hosts use systemctl)."""
    stopped = Processes(HostLayout(root)).stop_all()
    Reporter(json_mode=json_mode).result(
        {"stopped": stopped}, lambda console: console.print(f"stopped: {', '.join(stopped) or 'nothing'}")
    )
