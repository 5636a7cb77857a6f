"""The rehearsal's stand-in for RDS: a PostgreSQL cluster on the bridge, TLS only, an RDS-like master user.

Like RDS, the master user is not a superuser (it may create roles and databases), the database the
program names exists and belongs to it, and only TLS connections are accepted (`hostssl`, as
`rds.force_ssl`). Its certificate names the RDS endpoint the program declares, signed by the CA the
artifacts bucket serves as the region's RDS bundle, so the hosts' `sslmode=verify-full` is real.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from idpkit.errors import IdpkitError
from idpkit.local.database import postgres_bin_dir
from idpkit.system.files import make_directory, write_private
from idpkit.system.process import ManagedProcess
from idpkit.system.service_user import ServiceAccount

CLUSTER_ADMIN = "rehearsal_admin"
"""The cluster's superuser (RDS keeps its own, `rdsadmin`, out of the customer's reach)."""
_START_TIMEOUT = 60.0


@dataclass(frozen=True)
class RehearsalDatabase:
    directory: Path
    address: str
    port: int
    subnet: str
    certificate: Path
    key: Path
    master_username: str
    database: str

    @property
    def data(self) -> Path:
        return self.directory / "data"


def start(db: RehearsalDatabase, process: ManagedProcess, account: ServiceAccount, master_password: str) -> None:
    """Initialize on first use, start, and make the master user and database exist as RDS would."""
    bin_dir = postgres_bin_dir()
    admin_password_file = db.directory / "admin-password"
    if not (db.data / "PG_VERSION").exists():
        make_directory(db.directory, 0o700, service_owned=True)
        import secrets  # noqa: PLC0415

        write_private(admin_password_file, secrets.token_urlsafe(24))
        handoff = db.directory / ".initdb-password"
        write_private(handoff, admin_password_file.read_text())
        import os  # noqa: PLC0415

        os.chown(handoff, account.uid, account.gid)
        completed = subprocess.run(
            [str(bin_dir / "initdb"), "-D", str(db.data), "-U", CLUSTER_ADMIN, f"--pwfile={handoff}",
             "--auth=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"],
            capture_output=True, text=True, check=False,
            user=account.uid, group=account.gid, extra_groups=[],
        )  # fmt: skip
        handoff.unlink(missing_ok=True)
        if completed.returncode != 0:
            raise IdpkitError(f"initdb failed: {completed.stderr.strip()}")
        (db.data / "pg_hba.conf").write_text(
            "# TLS only, password (SCRAM) only: as RDS with rds.force_ssl=1.\n"
            "local all all scram-sha-256\n"
            f"hostssl all all {db.subnet} scram-sha-256\n"
        )
    if process.pid() is None:
        process.start(
            [str(bin_dir / "postgres"), "-D", str(db.data), "-p", str(db.port),
             "-c", f"listen_addresses={db.address}", "-c", f"unix_socket_directories={db.directory}",
             "-c", "ssl=on", "-c", f"ssl_cert_file={db.certificate}", "-c", f"ssl_key_file={db.key}",
             "-c", "ssl_min_protocol_version=TLSv1.2", "-c", "password_encryption=scram-sha-256",
             "-c", "log_connections=on", "-c", "log_disconnections=on", "-c", "max_connections=300"],
            env={"LC_ALL": "C.UTF-8", "PATH": "/usr/bin:/bin"}, cwd=db.directory, account=account,
        )  # fmt: skip
    _wait_ready(bin_dir, db, process)
    admin = admin_password_file.read_text().strip()
    master = db.master_username
    _psql(
        bin_dir, db, admin,
        f"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{master}') THEN "
        f"CREATE ROLE {master} LOGIN CREATEROLE CREATEDB; END IF; END $$; "
        f"ALTER ROLE {master} PASSWORD '{master_password}';",
    )  # fmt: skip
    exists = _psql(bin_dir, db, admin, f"SELECT 1 FROM pg_database WHERE datname = '{db.database}'")  # noqa: S608
    if exists != "1":
        _psql(bin_dir, db, admin, f"CREATE DATABASE {db.database} OWNER {master}")


def _psql(bin_dir: Path, db: RehearsalDatabase, password: str, sql: str) -> str:
    completed = subprocess.run(
        [str(bin_dir / "psql"), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", str(db.directory),
         "-p", str(db.port), "-U", CLUSTER_ADMIN, "-d", "postgres", "-f", "-"],
        env={"PGPASSWORD": password, "PATH": "/usr/bin:/bin"},
        # Through stdin, never argv: statements carry a password, and argv is world-readable in /proc.
        input=sql, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise IdpkitError(f"the rehearsal database refused a setup statement: {completed.stderr.strip()}")
    return completed.stdout.strip()


def _wait_ready(bin_dir: Path, db: RehearsalDatabase, process: ManagedProcess) -> None:
    deadline = time.monotonic() + _START_TIMEOUT
    while time.monotonic() < deadline:
        if process.exited_early():
            raise IdpkitError(f"PostgreSQL exited during start-up; see {process.log_file}")
        ready = subprocess.run(
            [str(bin_dir / "pg_isready"), "-q", "-h", str(db.directory), "-p", str(db.port)], check=False
        )
        if ready.returncode == 0:
            return
        time.sleep(0.5)
    raise IdpkitError(f"PostgreSQL did not accept connections within {_START_TIMEOUT:.0f} s; see {process.log_file}")


def dump(db: RehearsalDatabase) -> bytes:
    """`pg_dump` of the program's database as the cluster's superuser: everything Keycloak keeps in it."""
    completed = subprocess.run(
        [str(postgres_bin_dir() / "pg_dump"), "-h", str(db.directory), "-p", str(db.port), "-U", CLUSTER_ADMIN,
         "-d", db.database, "--no-owner"],
        env={"PGPASSWORD": (db.directory / "admin-password").read_text().strip(), "PATH": "/usr/bin:/bin"},
        capture_output=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise IdpkitError(f"pg_dump of {db.database} failed: {completed.stderr.decode(errors='replace').strip()}")
    return completed.stdout
