"""Files the kit writes, each with the least permissions it needs, written atomically."""

from __future__ import annotations

import os
from pathlib import Path

from idpkit.system import service_user


def write_private(path: Path, data: bytes | str, *, service_readable: bool = False) -> None:
    """Owner-only (0600); with `service_readable`, also readable by the Keycloak service group (0640)."""
    group = service_user.group_id() if service_readable else None
    _write(path, data, 0o640 if group is not None else 0o600, group)


def write_public(path: Path, data: bytes | str) -> None:
    """Certificates, CRLs and rendered configuration that hold no secret (0644)."""
    _write(path, data, 0o644, None)


def write_if_changed(path: Path, content: str, *, private: bool) -> bool:
    """Write `content` unless `path` already holds it (private: 0640 to the service group); True if written."""
    if path.exists() and path.read_text() == content:
        return False
    if private:
        write_private(path, content, service_readable=True)
    else:
        write_public(path, content)
    return True


def make_directory(path: Path, mode: int, *, service_owned: bool = False) -> Path:
    """Create `path` with `mode`; with `service_owned`, owned by the Keycloak service user when root."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(mode)
    if service_owned and (account := service_user.account()) is not None:
        os.chown(path, account.uid, account.gid)
    return path


def _write(path: Path, data: bytes | str, mode: int, group: int | None) -> None:
    payload = data.encode() if isinstance(data, str) else data
    staging = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(descriptor, payload)
    finally:
        os.close(descriptor)
    staging.chmod(mode)  # the umask may have narrowed it
    if group is not None:
        os.chown(staging, -1, group)
    staging.replace(path)
