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
from idpkit.host.account import service_account
from idpkit.host.database import APPLICATION_ROLES, OWNER_ROLE
from idpkit.host.services import Processes
from idpkit.local import front_door
from idpkit.rehearsal import database, hosts
from idpkit.rehearsal.edge import front_door_settings
from idpkit.rehearsal.environment import database_handle
from idpkit.rehearsal.hosts import RehearsalHost
from idpkit.rehearsal.state import Rehearsal
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
    return db, run.layout.database_process()


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


# --- backup and restore (runbooks/restore-from-backup.md, on the rehearsal's PostgreSQL) ----------------


def backup(run: Rehearsal, dump: Path) -> None:
    """The stand-in for RDS's automated backup: a consistent dump of Keycloak's database."""
    db = database_handle(run)
    _client(run, "pg_dump", "-Fc", "-f", str(dump), db.database)


def restore(run: Rehearsal, dump: Path, target: str) -> None:
    """Restore to a new database (the runbook restores to a new instance), owned as the kit sets it up."""
    psql(run, f"DROP DATABASE IF EXISTS {target}")
    psql(run, f"CREATE DATABASE {target} OWNER {OWNER_ROLE}")
    _client(run, "pg_restore", "--exit-on-error", "-d", target, str(dump))


def swap_databases(run: Rehearsal, restored: str, damaged: str) -> None:
    """The runbook's swap by name: the hosts' connection string now reaches the restored data."""
    live = database_handle(run).database
    psql(run, f"DROP DATABASE IF EXISTS {damaged}")
    psql(run, f"ALTER DATABASE {live} RENAME TO {damaged}")
    psql(run, f"ALTER DATABASE {restored} RENAME TO {live}")


def drop_database(run: Rehearsal, name: str) -> None:
    psql(run, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def refuse_connections(run: Rehearsal, *, refuse: bool) -> None:
    """Keycloak's roles get no connection (as with `max_connections` reached), and lose those they hold."""
    roles = ", ".join(f"'{role}'" for role in APPLICATION_ROLES)
    limit = 0 if refuse else -1
    statements = [f"ALTER ROLE {role} CONNECTION LIMIT {limit};" for role in APPLICATION_ROLES]
    if refuse:
        # The kit's own role names (idpkit.host.database), not input.
        statements.append(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename IN ({roles});")  # noqa: S608
    psql(run, "\n".join(statements))


def _client(run: Rehearsal, tool: str, *arguments: str) -> None:
    db = database_handle(run)
    password = (db.directory / "admin-password").read_text().strip()
    completed = subprocess.run(
        [str(_bin(tool)), "-h", str(db.directory), "-p", str(db.port), "-U", database.CLUSTER_ADMIN, *arguments],
        env={"PGPASSWORD": password, "PATH": "/usr/bin:/bin"}, capture_output=True, text=True, check=False,
        timeout=600,
    )  # fmt: skip
    if completed.returncode != 0:
        raise IdpkitError(f"{tool} failed: {completed.stderr.strip()[-800:]}")


# --- the event log's disk ----------------------------------------------------------------------------------

_FILLER = ".idpkit-chaos-filler"


def mount_small_log_disk(host: RehearsalHost, size: int) -> None:
    """Keycloak's log directory on a file system of its own, `size` bytes (its services must be stopped)."""
    account = service_account()
    directory = host.layout.log_dir
    _run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=0750,uid={account.uid},gid={account.gid}",
          "idpkit-chaos-logs", str(directory)])  # fmt: skip


def unmount_log_disk(host: RehearsalHost) -> None:
    _run(["umount", str(host.layout.log_dir)])


def fill_log_disk(host: RehearsalHost, headroom: int) -> dict[str, float]:
    """Fill the log file system up to `headroom` free bytes; what a disk metric would read then."""
    directory = host.layout.log_dir
    free = os.statvfs(directory).f_bavail * os.statvfs(directory).f_frsize
    with (directory / _FILLER).open("wb") as filler:
        filler.truncate(0)
        chunk = b"\0" * 2**16
        for _ in range(max(0, free - headroom) // len(chunk)):
            filler.write(chunk)
    stats = os.statvfs(directory)
    return {
        "size_mib": round(stats.f_blocks * stats.f_frsize / 2**20, 1),
        "free_kib": round(stats.f_bavail * stats.f_frsize / 1024, 1),
        "used_percent": round(100 * (1 - stats.f_bavail / stats.f_blocks), 1),
    }


def log_disk_usage(host: RehearsalHost) -> str:
    stats = os.statvfs(host.layout.log_dir)
    used = 100 * (1 - stats.f_bavail / stats.f_blocks)
    return f"{stats.f_bavail * stats.f_frsize / 1024:.0f} KiB free ({used:.1f} % used)"


def free_log_disk(host: RehearsalHost) -> None:
    (host.layout.log_dir / _FILLER).unlink(missing_ok=True)


LOGIN_EVENT = 'type="LOGIN"'


def event_lines(host: RehearsalHost, kind: str = "") -> int:
    """Keycloak's event lines (category org.keycloak.events, what the agent ships) in its log file."""
    log = host.layout.server_log
    if not log.exists():
        return 0
    lines = log.read_text(errors="replace").splitlines()
    return sum(1 for line in lines if "[org.keycloak.events]" in line and kind in line)


def logins_served(run: Rehearsal, host: RehearsalHost, since: float, until: float) -> int:
    """Logins (the login form accepted) the host answered, from the front door's log."""
    from idpkit.chaos.probes import routed_since  # noqa: PLC0415
    from idpkit.constants.keycloak import BROWSER_PROXY_PORT  # noqa: PLC0415

    upstream = f"{host.address}:{BROWSER_PROXY_PORT}"
    return sum(
        1
        for entry in routed_since(run.layout.logs / "nginx-access.log", 0)
        if since <= entry.at <= until
        and entry.method == "POST"
        and entry.path.endswith("/login-actions/authenticate")
        and entry.upstreams[-1:] == (upstream,)
        and entry.status == 302  # a login accepted redirects to the client
    )


def disk_errors(host: RehearsalHost) -> int:
    """'No space left on device' in Keycloak's own output (the supervisor's log, on the host's root disk)."""
    output = host.layout.at("/var/log/idpkit/keycloak.log")
    if not output.exists():
        return 0
    return output.read_text(errors="replace").count("No space left on device")


def _run(command: list[str]) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise IdpkitError(f"`{' '.join(command)}` failed: {completed.stderr.strip()}")
