"""The host's unprivileged Keycloak account."""

from __future__ import annotations

import pwd
import subprocess

from idpkit.errors import IdpkitError
from idpkit.host.layout import SERVICE_USER
from idpkit.system.service_user import ServiceAccount


def service_account() -> ServiceAccount:
    """The `keycloak` system user, created on first boot."""
    try:
        entry = pwd.getpwnam(SERVICE_USER)
    except KeyError:
        completed = subprocess.run(
            ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/sbin/nologin", "--comment", "Keycloak (idpkit)", SERVICE_USER],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if completed.returncode != 0:
            raise IdpkitError(f"cannot create the service user {SERVICE_USER}: {completed.stderr.strip()}") from None
        entry = pwd.getpwnam(SERVICE_USER)
    return ServiceAccount(SERVICE_USER, entry.pw_uid, entry.pw_gid)
