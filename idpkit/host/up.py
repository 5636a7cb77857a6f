"""`idpkit host up`: everything a Keycloak host does after the OS packages and the kit are installed.

Each step is idempotent and reports whether it changed anything, so a re-run (a reboot, or an operator
after a failure) converges: artifacts verified against the kit's pins, secrets read from Secrets
Manager, TLS files, the database roles, keycloak.conf and the host proxy rendered with the definitions
the local stack uses, `kc.sh build` when its inputs changed, the services started, and readiness
awaited on the management port.
"""

from __future__ import annotations

import hashlib
import os
import random
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import requests

from idpkit.constants.keycloak import HEALTH_CHECK_PATH, MANAGEMENT_PORT
from idpkit.errors import IdpkitError
from idpkit.host import aws, database, firewall, kms_provider, render
from idpkit.host.account import service_account
from idpkit.host.config import HostConfig
from idpkit.host.layout import HostLayout
from idpkit.host.services import Supervisor, write_environment_file
from idpkit.keycloak_server import release
from idpkit.keycloak_server.distribution import sha512_of
from idpkit.keycloak_server.host_proxy import check_config, haproxy_binary, render_haproxy_conf
from idpkit.keycloak_server.options import discovery_override, render_keycloak_conf
from idpkit.system.java import find_java
from idpkit.system.service_user import ServiceAccount

HEALTH_TIMEOUT = 600.0
"""First start against an empty database runs every Liquibase migration; later starts take seconds."""
DB_USER_RECORD = "keycloak-db-user"
"""In the host's state directory: the database role the running Keycloak started with."""


@dataclass
class StepResult:
    name: str
    changed: bool
    seconds: float
    detail: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"step": self.name, "changed": self.changed, "seconds": round(self.seconds, 1), "detail": self.detail}


@dataclass
class HostRun:
    """One `host up`: the steps in order."""

    config: HostConfig
    layout: HostLayout
    supervisor: Supervisor
    progress: Callable[[str], None] = lambda _step: None
    steps: list[StepResult] = field(default_factory=list)

    def step(self, name: str, action: Callable[[], tuple[bool, str]]) -> None:
        self.progress(name)
        started = time.monotonic()
        changed, detail = action()
        self.steps.append(StepResult(name, changed, time.monotonic() - started, detail))


def up(config: HostConfig, layout: HostLayout, supervisor: Supervisor, progress: Callable[[str], None]) -> HostRun:
    run = HostRun(config, layout, supervisor, progress)
    account = service_account()
    run.step("service user", lambda: (False, f"{account.name} ({account.uid})"))
    run.step("instance metadata firewall", lambda: firewall.block_instance_metadata(layout, supervisor.kind))
    run.step("keycloak distribution", lambda: _install_distribution(config, layout, account))
    run.step("trust anchors", lambda: _trust_anchors(config, layout))
    run.step("host certificate", lambda: _host_tls(config, layout, account))
    run.step("database roles", lambda: _database_roles(config, layout))
    conf_changed: list[bool] = []
    run.step("configuration", lambda: _configuration(config, layout, account, conf_changed))
    run.step("kms signing", lambda: kms_provider.step(config, layout, account, supervisor.kind == "systemd"))
    run.step("kc.sh build", lambda: _build(layout, account))
    proxy_changed: list[bool] = []
    run.step("host proxy", lambda: _proxy(layout, supervisor, proxy_changed))
    run.step("keycloak", lambda: _keycloak(config, layout, supervisor, account, restart=any(conf_changed)))
    run.step("log shipping", lambda: _log_shipping(config, layout, supervisor))
    return run


def keycloak_environment(config: HostConfig, layout: HostLayout) -> dict[str, str]:
    """Keycloak's process environment: database role and password, and the bootstrap admin only until the
    kit's own admin service account exists (then the bootstrap password is not handed out again)."""
    credentials = database.current_credentials(config)
    environment = {
        "PATH": f"{find_java().home / 'bin'}:/usr/bin:/bin",
        "JAVA_HOME": str(find_java().home),
        "LANG": "C.UTF-8",
        "KC_DB_USERNAME": credentials.username,
        "KC_DB_PASSWORD": credentials.password,
    }
    if config.keycloak_heap:
        environment["JAVA_OPTS_KC_HEAP"] = config.keycloak_heap
    environment |= kms_provider.keycloak_environment(config, layout)
    admin = aws.optional_secret_json(config.region, config.admin_credentials_secret_arn) or {}
    if not admin.get("client_id"):
        bootstrap = aws.secret_json(config.region, config.bootstrap_admin_secret_arn)
        environment["KC_BOOTSTRAP_ADMIN_USERNAME"] = bootstrap["username"]
        environment["KC_BOOTSTRAP_ADMIN_PASSWORD"] = bootstrap["password"]
    _record(layout, DB_USER_RECORD, credentials.username)
    return environment


def write_keycloak_environment(config: HostConfig, layout: HostLayout) -> None:
    """`host keycloak-env`: systemd's ExecStartPre, so every (re)start reads the current secrets (and, with KMS
    signing, starts with fresh sign-only credentials: /run is empty after a reboot)."""
    write_environment_file(layout, keycloak_environment(config, layout), service_account())
    kms_provider.refresh_credentials(config, layout, service_account())


def running_database_user(layout: HostLayout) -> str | None:
    record = layout.state_dir / DB_USER_RECORD
    return record.read_text().strip() if record.exists() else None


def wait_ready(layout: HostLayout, supervisor: Supervisor, timeout: float = HEALTH_TIMEOUT) -> float:
    """Seconds until Keycloak's management port answers ready; an error naming the log otherwise."""
    started = time.monotonic()
    url = f"https://{render.HOST_NAME}:{MANAGEMENT_PORT}{HEALTH_CHECK_PATH}"
    while time.monotonic() - started < timeout:
        try:
            if requests.get(url, verify=str(layout.host_certificate), timeout=5).status_code == 200:
                return time.monotonic() - started
        except requests.RequestException:
            pass
        if not supervisor.keycloak_running():
            raise IdpkitError(f"Keycloak stopped during start-up; see {layout.server_log}")
        time.sleep(2)
    raise IdpkitError(f"Keycloak was not ready within {timeout:.0f} s; see {layout.server_log}")


# --- steps ------------------------------------------------------------------------------------------


def _install_distribution(config: HostConfig, layout: HostLayout, account: ServiceAccount) -> tuple[bool, str]:
    version_file = layout.install_dir / "version.txt"
    if version_file.exists() and release.VERSION in version_file.read_text():
        _link(layout)
        return False, release.VERSION
    archive = layout.state_dir / release.ARCHIVE_NAME
    layout.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    aws.download(config.region, config.artifacts_bucket, config.keycloak_object_key, archive)
    try:
        actual = sha512_of(archive)
        if actual != release.SHA512:
            raise IdpkitError(
                f"s3://{config.artifacts_bucket}/{config.keycloak_object_key}: SHA-512 {actual[:16]}… is not the "
                f"pinned {release.SHA512[:16]}… (idpkit/keycloak_server/release.py); refusing to install it"
            )
        staging = layout.install_dir.with_name(f".{layout.install_dir.name}.unpacking")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        with tarfile.open(archive) as tar:
            tar.extractall(staging, filter="data")
        shutil.rmtree(layout.install_dir, ignore_errors=True)
        (staging / release.DIST_DIRECTORY).replace(layout.install_dir)
        staging.rmdir()
    finally:
        archive.unlink(missing_ok=True)
    # Readable by Keycloak's group, writable by root only; Keycloak writes only its data directory.
    _chown_tree(layout.install_dir, 0, account.gid)
    subprocess.run(["chmod", "-R", "go-w,o-rwx", str(layout.install_dir)], check=True)
    _link(layout)
    return True, release.VERSION


def _link(layout: HostLayout) -> None:
    if layout.keycloak_home.is_symlink() and layout.keycloak_home.resolve() == layout.install_dir.resolve():
        return
    temporary = layout.keycloak_home.with_name(".keycloak-link")
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(layout.install_dir)
    temporary.replace(layout.keycloak_home)


def _trust_anchors(config: HostConfig, layout: HostLayout) -> tuple[bool, str]:
    layout.etc.mkdir(mode=0o755, parents=True, exist_ok=True)
    changed = _fetch_public(config, config.rds_ca_object_key, layout.rds_ca_bundle, None)
    # Exactly the bundle version the load balancer's trust store verifies client certificates with.
    changed |= _fetch_public(
        config, config.client_ca_object_key, layout.client_ca_bundle, config.client_ca_object_version
    )
    return changed, f"client CA version {config.client_ca_object_version}"


def _fetch_public(config: HostConfig, key: str, target: Path, version: str | None) -> bool:
    scratch = target.with_name(f".{target.name}.download")
    aws.download(config.region, config.artifacts_bucket, key, scratch, version)
    return _replace_if_changed(scratch, target, 0o644, 0, 0)


def _host_tls(config: HostConfig, layout: HostLayout, account: ServiceAccount) -> tuple[bool, str]:
    value = aws.secret_json(config.region, config.host_tls_secret_arn)
    certificate, key = value.get("certificate"), value.get("private_key")
    if not isinstance(certificate, str) or not isinstance(key, str):
        raise IdpkitError(f"secret {config.host_tls_secret_arn}: needs `certificate` and `private_key` (PEM)")
    layout.tls_dir.mkdir(parents=True, exist_ok=True)
    layout.tls_dir.chmod(0o751)
    changed = _write_if_changed(layout.host_certificate, certificate, 0o644, 0, account.gid)
    changed |= _write_if_changed(layout.keycloak_key, key, 0o600, account.uid, account.gid)
    changed |= _write_if_changed(layout.proxy_bundle, certificate.rstrip("\n") + "\n" + key, 0o600, 0, 0)
    return changed, str(layout.tls_dir)


def _database_roles(config: HostConfig, layout: HostLayout) -> tuple[bool, str]:
    credentials = database.ensure_roles(config, layout.rds_ca_bundle)
    return False, f"Keycloak logs in as {credentials.username}"


def _configuration(
    config: HostConfig, layout: HostLayout, account: ServiceAccount, changed_out: list[bool]
) -> tuple[bool, str]:
    conf = render_keycloak_conf(render.server_settings(config, layout))
    changed = _write_if_changed(layout.keycloak_conf, conf, 0o640, 0, account.gid)
    changed |= _write_if_changed(
        layout.discovery_override, discovery_override(config.m2m_url, config.realm), 0o640, 0, account.gid
    )
    changed_out.append(changed)
    layout.log_dir.mkdir(parents=True, exist_ok=True)
    os.chown(layout.log_dir, account.uid, account.gid)
    layout.log_dir.chmod(0o750)
    layout.data_dir.mkdir(exist_ok=True)
    os.chown(layout.data_dir, account.uid, account.gid)
    layout.data_dir.chmod(0o700)
    outputs = _write_if_changed(layout.outputs_file, render.host_outputs(config, layout), 0o600, 0, 0)
    agent = _write_if_changed(
        layout.cloudwatch_agent_config, render.cloudwatch_agent_config(config, layout), 0o644, 0, 0
    )
    return changed or outputs or agent, str(layout.keycloak_conf)


def _build(layout: HostLayout, account: ServiceAccount) -> tuple[bool, str]:
    java = find_java()
    stamp = hashlib.sha256(f"{release.VERSION}\n{java.home}\n{layout.keycloak_conf.read_text()}".encode()).hexdigest()
    if layout.build_stamp.exists() and layout.build_stamp.read_text() == stamp:
        return False, "unchanged"
    completed = subprocess.run(
        [str(layout.keycloak_home / "bin" / "kc.sh"), "build"],
        env={"PATH": f"{java.home / 'bin'}:/usr/bin:/bin", "JAVA_HOME": str(java.home), "LANG": "C.UTF-8"},
        cwd=layout.install_dir, capture_output=True, text=True, check=False,
    )  # fmt: skip
    if completed.returncode != 0:
        raise IdpkitError(f"kc.sh build failed: {(completed.stdout + completed.stderr).strip()[-1500:]}")
    layout.build_stamp.write_text(stamp)
    _chown_tree(layout.install_dir / "lib", 0, account.gid)
    subprocess.run(["chmod", "-R", "go-w,o-rwx", str(layout.install_dir / "lib")], check=True)
    return True, f"Java {java.major}"


def _proxy(layout: HostLayout, supervisor: Supervisor, changed_out: list[bool]) -> tuple[bool, str]:
    binary = haproxy_binary()
    changed = _write_if_changed(layout.proxy_conf, render_haproxy_conf(render.proxy_settings(layout)), 0o644, 0, 0)
    check_config(binary, layout.proxy_conf)
    supervisor.start_proxy(binary, layout.proxy_conf, restart=changed)
    changed_out.append(changed)
    return changed, str(layout.proxy_conf)


def _keycloak(
    config: HostConfig, layout: HostLayout, supervisor: Supervisor, account: ServiceAccount, *, restart: bool
) -> tuple[bool, str]:
    del account  # the supervisor starts Keycloak as the service user
    if supervisor.keycloak_running() and not restart:
        return False, f"ready (database role {running_database_user(layout)})"
    if not supervisor.keycloak_running() and config.start_jitter_seconds:
        time.sleep(random.uniform(0, config.start_jitter_seconds))  # noqa: S311 - jitter, not a secret
    if supervisor.kind == "process":
        write_keycloak_environment(config, layout)  # what keycloak.service's ExecStartPre does
    supervisor.start_keycloak(restart=restart)
    seconds = wait_ready(layout, supervisor)
    return True, f"ready after {seconds:.0f} s as database role {running_database_user(layout)}"


def _log_shipping(config: HostConfig, layout: HostLayout, supervisor: Supervisor) -> tuple[bool, str]:
    del config
    supervisor.start_log_shipping(layout.cloudwatch_agent_config)
    return False, supervisor.kind


# --- files ------------------------------------------------------------------------------------------


def _write_if_changed(path: Path, content: str, mode: int, uid: int, gid: int) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text() == content:
        _own(path, mode, uid, gid)
        return False
    staging = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)
    _own(staging, mode, uid, gid)
    staging.replace(path)
    return True


def _replace_if_changed(scratch: Path, target: Path, mode: int, uid: int, gid: int) -> bool:
    if target.exists() and target.read_bytes() == scratch.read_bytes():
        scratch.unlink()
        _own(target, mode, uid, gid)
        return False
    _own(scratch, mode, uid, gid)
    scratch.replace(target)
    return True


def _own(path: Path, mode: int, uid: int, gid: int) -> None:
    os.chown(path, uid, gid)
    path.chmod(mode)


def _chown_tree(top: Path, uid: int, gid: int) -> None:
    for directory, _dirs, files in os.walk(top):
        os.chown(directory, uid, gid)
        for name in files:
            os.lchown(Path(directory) / name, uid, gid)


def _record(layout: HostLayout, name: str, value: str) -> None:
    layout.state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    (layout.state_dir / name).write_text(value + "\n")
