"""The local stack's lifecycle: from nothing to healthy, idempotent `up`, clean `down`, warm restart."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import pytest

from idpkit.local import database
from idpkit.local.layout import LocalLayout
from idpkit.system.process import session_members_of
from tests.conftest import idpkit, idpkit_json

pytestmark = pytest.mark.lifecycle
SERVERS = ("keycloak", "nginx")


def _server_pids(layout: LocalLayout) -> dict[str, int | None]:
    return {name: layout.process(name).pid() for name in SERVERS}


def _processes_mentioning(root: Path) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                command_line = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if str(root) in command_line:
                found.append(f"{entry.name}: {command_line[:120]}")
    return found


@pytest.fixture(scope="module")
def fresh_up(local_layout: LocalLayout, record_figure) -> dict[str, object]:
    """`down --purge`, then `up`: the stack comes up from nothing but the download cache."""
    idpkit("local", "down", "--purge")
    assert not local_layout.root.exists(), f"{local_layout.root}: `down --purge` left state behind"
    started = time.monotonic()
    result = idpkit_json("local", "up")
    record_figure("local up from nothing (warm download cache)", f"{time.monotonic() - started:.1f} s")
    return result


def test_up_from_nothing_reports_a_healthy_stack(fresh_up: dict[str, object]) -> None:
    assert fresh_up["changed"] is True, "local up from nothing: reported no change"
    status = idpkit("local", "status", "--json", check=False)
    assert status.returncode == 0, f"local status after up: exit {status.returncode}, expected 0 (healthy)"
    assert json.loads(status.stdout)["healthy"] is True, "local status after up: Keycloak not ready"


def test_outputs_contract_has_every_key(fresh_up: dict[str, object]) -> None:
    outputs = idpkit_json("outputs", "--stack", "local")
    expected = {"base_url", "m2m_url", "admin_url", "realm", "issuer", "ca_bundle", "admin_credentials"}
    assert expected <= outputs.keys(), f"outputs --stack local: missing {expected - outputs.keys()}"
    assert outputs == fresh_up["outputs"], "outputs --stack local differs from what `local up` reported"


def test_second_up_is_a_no_op(fresh_up: dict[str, object], local_layout: LocalLayout) -> None:
    pids_before = _server_pids(local_layout)
    watched = [local_layout.keycloak_conf, local_layout.nginx_dir / "nginx.conf", local_layout.pki.server_certificate]
    mtimes_before = [path.stat().st_mtime_ns for path in watched]
    again = idpkit_json("local", "up")
    assert again["changed"] is False, "second `local up`: reported changes"
    assert _server_pids(local_layout) == pids_before, "second `local up`: restarted a server"
    assert [path.stat().st_mtime_ns for path in watched] == mtimes_before, "second `local up`: rewrote files"


def test_down_leaves_no_process_behind(fresh_up: dict[str, object], local_layout: LocalLayout) -> None:
    pids = {name: pid for name, pid in _server_pids(local_layout).items() if pid is not None}
    assert set(pids) == set(SERVERS), f"before down: expected {SERVERS} running, found {pids}"
    idpkit("local", "down")
    for name, pid in pids.items():
        assert not session_members_of(pid), f"after down: {name} (session {pid}) still has live processes"
    assert not _processes_mentioning(local_layout.root), "after down: processes still use the stack's files"


def test_up_after_down_comes_back_healthy(
    fresh_up: dict[str, object], local_layout: LocalLayout, record_figure
) -> None:
    started = time.monotonic()
    result = idpkit_json("local", "up")
    record_figure("local up after down (built server reused)", f"{time.monotonic() - started:.1f} s")
    assert result["changed"] is True, "local up after down: reported no change"
    assert idpkit("local", "status", check=False).returncode == 0, "local up after down: not healthy"


def test_postgres_database_serves_keycloak_over_verified_tls(
    fresh_up: dict[str, object], local_layout: LocalLayout
) -> None:
    result = idpkit_json("local", "up", "--db", "postgres")
    try:
        assert result["database"] == "postgres", "local up --db postgres: stack reports another database"
        assert idpkit("local", "status", check=False).returncode == 0, "local up --db postgres: not healthy"
        password = (local_layout.secrets / "postgres-superuser-password").read_text().strip()
        query = "SELECT count(*) FROM pg_stat_ssl JOIN pg_stat_activity USING (pid) WHERE usename = 'keycloak' AND ssl"
        completed = subprocess.run(
            [str(database.postgres_bin_dir() / "psql"), "-X", "-t", "-A", "-h", "127.0.0.1",
             "-p", str(local_layout.ports.postgres), "-U", database.SUPERUSER, "-d", "postgres", "-c", query],
            env={"PGPASSWORD": password, "PGSSLMODE": "require"}, capture_output=True, text=True, check=True,
        )  # fmt: skip
        assert int(completed.stdout.strip()) > 0, "postgres: Keycloak holds no TLS connection to its database"
    finally:
        idpkit("local", "up", "--db", "dev-file")
    assert database.process(local_layout).pid() is None, "local up --db dev-file: PostgreSQL left running"


def test_each_database_keeps_its_own_kit_admin(fresh_up: dict[str, object]) -> None:
    """`realm apply` moves the kit onto a service account inside the database in use; switching databases and
    back must leave both logins working (the other database has its own bootstrap admin, then its own account)."""
    for database_choice in ("dev-file", "postgres", "dev-file"):
        idpkit("local", "up", "--db", database_choice)
        applied = idpkit("realm", "apply", "--stack", "local", check=False)
        assert applied.returncode == 0, f"realm apply after local up --db {database_choice}: {applied.stderr[-400:]}"
