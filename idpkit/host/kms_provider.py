"""KMS signing on a host: the kit's provider jar, verified and installed, and Keycloak's sign-only credentials.

The Pulumi program stages the jar (built from `keycloak-kms/` on the operator's machine) in the artifacts
bucket and pins its SHA-256 in the host configuration; a host installs exactly those bytes into
Keycloak's `providers/` and refuses anything else. A new jar invalidates the `kc.sh build` stamp, so the
next step rebuilds the optimized server with it.

Credentials: Keycloak's user cannot reach instance metadata (the hosts block it for that user), so it can
never use the instance role. A root-run refresher (`idpkit host kms-credentials`, at every Keycloak start
and from a systemd timer every `REFRESH_MINUTES`) assumes the hosts' sign-only role from the instance role
and writes its short-lived credentials to a tmpfs file that only Keycloak's user can read; the provider
re-reads the file whenever it changes. The role can `Sign`/`GetPublicKey` with the realm keys and nothing
else, and a stolen copy of the file expires within the hour.
"""

from __future__ import annotations

import configparser
import io
import os
import subprocess
from pathlib import Path

from idpkit.errors import IdpkitError
from idpkit.host import aws
from idpkit.host.config import HostConfig
from idpkit.host.layout import HostLayout
from idpkit.keycloak_server.kms_provider import JAR_NAME, sha256_of
from idpkit.system.service_user import ServiceAccount

SESSION_NAME = "idpkit-keycloak-signer"
SESSION_SECONDS = 3600
REFRESH_MINUTES = 15
"""Well inside the session: a failed refresh is retried three times before the credentials expire."""
CREDENTIALS_ENV = "AWS_SHARED_CREDENTIALS_FILE"
TIMER_UNIT = "idpkit-kms-credentials.timer"
SERVICE_UNIT = "idpkit-kms-credentials.service"


def installed_jar(layout: HostLayout) -> Path:
    return layout.install_dir / "providers" / JAR_NAME


def credentials_file(layout: HostLayout) -> Path:
    return layout.runtime_dir / "aws-credentials"


def install(config: HostConfig, layout: HostLayout, account: ServiceAccount) -> tuple[bool, str]:
    """The `kms signing` step of `host up`: the pinned extension jar (KMS signing, SMART discovery) in providers/,
    or none when the configuration stages none."""
    target = installed_jar(layout)
    if not config.kms_provider_object_key or not config.kms_provider_sha256:
        changed = target.exists()
        target.unlink(missing_ok=True)
        if changed:
            layout.build_stamp.unlink(missing_ok=True)
        return changed, "no extension jar configured"
    if target.exists() and sha256_of(target) == config.kms_provider_sha256:
        return False, f"{JAR_NAME} {config.kms_provider_sha256[:16]}…"
    scratch = target.with_name(f".{target.name}.download")
    target.parent.mkdir(parents=True, exist_ok=True)
    aws.download(config.region, config.artifacts_bucket, config.kms_provider_object_key, scratch)
    actual = sha256_of(scratch)
    if actual != config.kms_provider_sha256:
        scratch.unlink()
        raise IdpkitError(
            f"s3://{config.artifacts_bucket}/{config.kms_provider_object_key}: SHA-256 {actual[:16]}… is not the "
            f"pinned {config.kms_provider_sha256[:16]}…; refusing to install it"
        )
    os.chown(scratch, 0, account.gid)
    scratch.chmod(0o640)
    scratch.replace(target)
    layout.build_stamp.unlink(missing_ok=True)  # the next `kc.sh build` includes the provider
    return True, f"{JAR_NAME} {actual[:16]}…"


def keycloak_environment(config: HostConfig, layout: HostLayout) -> dict[str, str]:
    """What Keycloak's process needs to sign with KMS: where its credentials file is, and the region."""
    if not config.kms_signer_role_arn:
        return {}
    return {CREDENTIALS_ENV: str(credentials_file(layout)), "AWS_REGION": config.region}


def refresh_credentials(config: HostConfig, layout: HostLayout, account: ServiceAccount) -> str:
    """Assume the sign-only role (as root, with the instance role) and hand its credentials to Keycloak's user."""
    if not config.kms_signer_role_arn:
        return "no KMS signer role configured"
    try:
        answer = aws.client("sts", config.region).assume_role(
            RoleArn=config.kms_signer_role_arn, RoleSessionName=SESSION_NAME, DurationSeconds=SESSION_SECONDS
        )["Credentials"]
    except Exception as error:  # botocore raises many types; the message is what the operator needs
        raise IdpkitError(f"cannot assume the KMS signer role {config.kms_signer_role_arn} ({error})") from error
    profile = configparser.ConfigParser()
    profile["default"] = {
        "aws_access_key_id": answer["AccessKeyId"],
        "aws_secret_access_key": answer["SecretAccessKey"],
        "aws_session_token": answer["SessionToken"],
    }
    text = io.StringIO()
    profile.write(text)
    target = credentials_file(layout)
    layout.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chown(layout.runtime_dir, account.uid, account.gid)
    staging = target.with_name(f".{target.name}.tmp")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o400)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(text.getvalue())
    os.chown(staging, account.uid, account.gid)
    staging.replace(target)
    return f"credentials of {config.kms_signer_role_arn} until {answer['Expiration']}"


def refresher_units(layout: HostLayout) -> dict[str, str]:
    """The systemd timer that keeps Keycloak's credentials fresh (AWS hosts)."""
    service = f"""[Unit]
Description=idpkit: refresh Keycloak's KMS sign-only credentials

[Service]
Type=oneshot
ExecStart={layout.kit_command} host kms-credentials --config {layout.config_file}
"""
    timer = f"""[Unit]
Description=idpkit: refresh Keycloak's KMS sign-only credentials every {REFRESH_MINUTES} minutes

[Timer]
OnBootSec=1min
OnUnitActiveSec={REFRESH_MINUTES}min
AccuracySec=30s

[Install]
WantedBy=timers.target
"""
    return {SERVICE_UNIT: service, TIMER_UNIT: timer}


def enable_refresher(layout: HostLayout, systemd: bool) -> bool:
    """Write and start the timer (systemd hosts); the rehearsal's process supervisor refreshes at each start."""
    changed = False
    for name, content in refresher_units(layout).items():
        unit = layout.systemd_dir / name
        if not unit.exists() or unit.read_text() != content:
            unit.parent.mkdir(parents=True, exist_ok=True)
            unit.write_text(content)
            unit.chmod(0o644)
            changed = True
    if systemd:
        subprocess.run(["systemctl", "daemon-reload"], check=True)
        subprocess.run(["systemctl", "enable", "--now", TIMER_UNIT], check=True)
    return changed


def step(config: HostConfig, layout: HostLayout, account: ServiceAccount, systemd: bool) -> tuple[bool, str]:
    """`host up`'s one KMS step: provider jar, then (when a signer role is configured) credentials and timer."""
    changed, detail = install(config, layout, account)
    if config.kms_signer_role_arn:
        detail += "; " + refresh_credentials(config, layout, account)
        changed |= enable_refresher(layout, systemd)
    return changed, detail
