"""`--db postgres`: a PostgreSQL cluster the kit owns (own data directory, loopback port, TLS).

Keycloak connects the way it does to RDS on AWS: over TLS with `sslmode=verify-full` against the
kit's CA, as a role that owns only its database.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from pathlib import Path

from idpkit.errors import IdpkitError
from idpkit.keycloak_server.options import DatabaseSettings
from idpkit.local.layout import HOSTNAME, LOOPBACK, LocalLayout
from idpkit.system.files import make_directory, write_private
from idpkit.system.process import ManagedProcess
from idpkit.system.service_user import ServiceAccount

POSTGRES_PACKAGE = "postgresql"
SUPERUSER = "idpkit"
DATABASE = "keycloak"
ROLE = "keycloak"
_START_TIMEOUT = 60.0


def postgres_bin_dir() -> Path:
    candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin/postgres"), key=lambda p: int(p.parent.parent.name))
    if not candidates:
        raise IdpkitError(
            "PostgreSQL server binaries are not installed; `--db postgres` needs them",
            hint=f"apt-get install {POSTGRES_PACKAGE}",
        )
    return candidates[-1].parent


def database_settings(layout: LocalLayout) -> DatabaseSettings:
    return DatabaseSettings(
        vendor="postgres",
        host=HOSTNAME,
        port=layout.ports.postgres,
        database=DATABASE,
        username=ROLE,
        url_properties=f"?sslmode=verify-full&sslrootcert={layout.pki.server_ca}",
    )


def process(layout: LocalLayout) -> ManagedProcess:
    managed = layout.process("postgres")
    # SIGINT is PostgreSQL's "fast" shutdown: it does not wait for Keycloak's pooled connections.
    return ManagedProcess(managed.name, managed.pid_file, managed.log_file, stop_signal=signal.SIGINT)


def start(layout: LocalLayout, account: ServiceAccount | None) -> str:
    """Start (initializing on first use) the cluster; returns Keycloak's database password."""
    bin_dir = postgres_bin_dir()
    data = layout.postgres_dir / "data"
    superuser_password_file = layout.secrets / "postgres-superuser-password"
    if not (data / "PG_VERSION").exists():
        _initialize(bin_dir, data, superuser_password_file, layout, account)
    server = process(layout)
    if server.pid() is None:
        server.start(
            [
                str(bin_dir / "postgres"), "-D", str(data), "-p", str(layout.ports.postgres),
                "-c", f"listen_addresses={LOOPBACK}", "-c", f"unix_socket_directories={layout.postgres_dir}",
                "-c", "ssl=on", "-c", f"ssl_cert_file={layout.pki.server_certificate}",
                "-c", f"ssl_key_file={layout.pki.server_key}", "-c", "ssl_min_protocol_version=TLSv1.2",
                "-c", "password_encryption=scram-sha-256",
            ],
            env={"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"},
            cwd=layout.postgres_dir,
            account=account,
        )  # fmt: skip
    superuser_password = superuser_password_file.read_text().strip()
    _wait_ready(bin_dir, layout, server)
    return _ensure_keycloak_role(bin_dir, layout, superuser_password)


def _initialize(
    bin_dir: Path, data: Path, password_file: Path, layout: LocalLayout, account: ServiceAccount | None
) -> None:
    make_directory(layout.postgres_dir, 0o700, service_owned=True)
    write_private(password_file, secrets.token_urlsafe(32))
    # initdb runs as the service user, which must read the password once; a private copy it owns is removed after.
    handoff = layout.postgres_dir / ".initdb-password"
    write_private(handoff, password_file.read_text())
    if account:
        os.chown(handoff, account.uid, account.gid)
    try:
        completed = subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, f"--pwfile={handoff}",
             "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
            capture_output=True, text=True, check=False,
            user=account.uid if account else None, group=account.gid if account else None,
            extra_groups=[] if account else None,
        )  # fmt: skip
    finally:
        handoff.unlink(missing_ok=True)
    if completed.returncode != 0:
        raise IdpkitError(f"initdb failed: {completed.stderr.strip()}")


def _psql(bin_dir: Path, layout: LocalLayout, password: str, sql: str) -> str:
    completed = subprocess.run(
        [str(bin_dir / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", LOOPBACK,
         "-p", str(layout.ports.postgres), "-U", SUPERUSER, "-d", "postgres", "-f", "-"],
        env={"PGPASSWORD": password, "PGSSLMODE": "require", "PATH": "/usr/bin:/bin"},
        # Through stdin, never argv: statements may carry a password, and argv is world-readable in /proc.
        input=sql, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise IdpkitError(f"PostgreSQL refused the kit's setup statement: {completed.stderr.strip()}")
    return completed.stdout.strip()


def _wait_ready(bin_dir: Path, layout: LocalLayout, server: ManagedProcess) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if server.exited_early():
            raise IdpkitError(f"PostgreSQL exited during start-up; see {server.log_file}")
        ready = subprocess.run(
            [str(bin_dir / "pg_isready"), "-q", "-h", LOOPBACK, "-p", str(layout.ports.postgres)], check=False
        )
        if ready.returncode == 0:
            return
        time.sleep(0.5)
    raise IdpkitError(f"PostgreSQL did not accept connections within {_START_TIMEOUT:.0f} s; see {server.log_file}")


def _ensure_keycloak_role(bin_dir: Path, layout: LocalLayout, superuser_password: str) -> str:
    password_file = layout.database_password_file
    if not password_file.exists():
        write_private(password_file, secrets.token_urlsafe(32))
    password = password_file.read_text().strip()
    # The password is set on every start so that the role and the file can never disagree.
    _psql(
        bin_dir, layout, superuser_password,
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{ROLE}') THEN "
        f"CREATE ROLE {ROLE} LOGIN; END IF; END $$; ALTER ROLE {ROLE} PASSWORD '{password}';",
    )  # fmt: skip
    # Identifiers and the password are the kit's own constants and random tokens, never user input.
    exists = _psql(bin_dir, layout, superuser_password, f"SELECT 1 FROM pg_database WHERE datname = '{DATABASE}'")  # noqa: S608
    if exists != "1":
        _psql(bin_dir, layout, superuser_password, f"CREATE DATABASE {DATABASE} OWNER {ROLE}")
    return password
