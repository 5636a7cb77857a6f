"""The unprivileged account Keycloak and PostgreSQL run as when the kit is run as root."""

from __future__ import annotations

import grp
import pwd
import subprocess
from dataclasses import dataclass

from idpkit import paths
from idpkit.errors import IdpkitError

NAME = "idpkit-keycloak"


@dataclass(frozen=True)
class ServiceAccount:
    name: str
    uid: int
    gid: int


def account() -> ServiceAccount | None:
    """The service account when running as root (created on first use); `None` otherwise.

    Not root: the servers run as the invoking user, which is already unprivileged.
    """
    if not paths.running_as_root():
        return None
    try:
        entry = pwd.getpwnam(NAME)
    except KeyError:
        _create()
        entry = pwd.getpwnam(NAME)
    return ServiceAccount(name=NAME, uid=entry.pw_uid, gid=entry.pw_gid)


def group_id() -> int | None:
    if (service := account()) is None:
        return None
    return grp.getgrgid(service.gid).gr_gid


def _create() -> None:
    completed = subprocess.run(
        ["useradd", "--system", "--user-group", "--no-create-home", "--home-dir", "/nonexistent",
         "--shell", "/usr/sbin/nologin", "--comment", "idpkit local Keycloak", NAME],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise IdpkitError(f"could not create the service user {NAME}: {completed.stderr.strip()}")
