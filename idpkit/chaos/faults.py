"""Faults injected into a kept rehearsal, and the operator actions that mend them.

Each acts the way the fault or the runbook does on AWS, through the rehearsal's own handles: a Keycloak
JVM killed with SIGKILL; a host taken out of the load balancer (the ALB's deregistration) before its
services stop and `idpkit host up` brings them back; PostgreSQL stopped (fast shutdown, as an RDS reboot
or Multi-AZ failover drops every connection) and started again.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from idpkit.errors import IdpkitError
from idpkit.host.services import Processes
from idpkit.local import front_door
from idpkit.rehearsal import database, hosts
from idpkit.rehearsal.hosts import RehearsalHost
from idpkit.rehearsal.run import Rehearsal, database_handle, front_door_settings
from idpkit.system import service_user
from idpkit.system.process import ManagedProcess

DRAIN_SECONDS = 5.0
"""After a host leaves the load balancer, in-flight requests finish before its services stop (the ALB's
deregistration delay, 30 s on AWS: the load's requests take well under a second)."""


def keycloak_pid(host: RehearsalHost) -> int:
    pid = Processes(host.layout).keycloak_pid()
    if pid is None:
        raise IdpkitError(f"{host.name}: Keycloak is not running")
    return pid


def kill_keycloak(host: RehearsalHost) -> int:
    """SIGKILL to Keycloak's whole process group (kc.sh and its JVM): no shutdown hook runs."""
    pid = keycloak_pid(host)
    os.killpg(pid, signal.SIGKILL)
    return pid


def host_up(run: Rehearsal, host: RehearsalHost) -> float:
    """`idpkit host up` on the host, as after a reboot or on a replacement instance; seconds until ready."""
    started = time.monotonic()
    hosts.run(
        host,
        ["host", "up", "--config", str(host.layout.config_file), "--root", str(host.layout.root),
         "--supervisor", "process"],
        run.aws_env(),
    )  # fmt: skip
    return time.monotonic() - started


def host_down(run: Rehearsal, host: RehearsalHost) -> None:
    """Stop the host's services with SIGTERM, as systemd stops them when an instance is terminated."""
    hosts.run(host, ["host", "down", "--root", str(host.layout.root)], run.aws_env())


def set_drained(run: Rehearsal, drained: tuple[str, ...]) -> None:
    """Register every host but `drained` with the load balancer emulation (nginx reloads gracefully)."""
    settings = front_door_settings(run, drained)
    conf, _changed = front_door.write_configuration(settings)
    front_door.check_config(front_door.nginx_binary(), conf, run.layout.front_door)
    if not run.layout.process("front-door").reload():
        raise IdpkitError("the front door (nginx) is not running")


def database_process(run: Rehearsal) -> tuple[database.RehearsalDatabase, ManagedProcess]:
    db = database_handle(run)
    return db, db.process(run.layout.logs, run.layout.run)


def stop_database(run: Rehearsal) -> None:
    _db, process = database_process(run)
    if not process.stop():
        raise IdpkitError("the rehearsal's PostgreSQL is not running")


def start_database(run: Rehearsal) -> None:
    db, process = database_process(run)
    account = service_user.account()
    if account is None:
        raise IdpkitError("the rehearsal needs root")
    password = (run.layout.secrets / "rds-master-password").read_text().strip()
    database.start(db, process, account, password)


def psql(run: Rehearsal, sql: str, *, dbname: str = "postgres", timeout: float = 120) -> str:
    """A statement as the cluster's superuser over the local socket (RDS: the master user)."""
    db = database_handle(run)
    password = (db.directory / "admin-password").read_text().strip()
    completed = subprocess.run(
        [str(_bin("psql")), "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-h", str(db.directory),
         "-p", str(db.port), "-U", database.CLUSTER_ADMIN, "-d", dbname, "-f", "-"],
        env={"PGPASSWORD": password, "PATH": "/usr/bin:/bin"}, input=sql,
        capture_output=True, text=True, check=False, timeout=timeout,
    )  # fmt: skip
    if completed.returncode != 0:
        raise IdpkitError(f"the rehearsal database refused a statement: {completed.stderr.strip()[-500:]}")
    return completed.stdout.strip()


def _bin(name: str) -> Path:
    from idpkit.local.database import postgres_bin_dir  # noqa: PLC0415

    return postgres_bin_dir() / name
