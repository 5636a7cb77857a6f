"""`idpkit local up | down | status`: bring the local stack up, idempotently, and take it down cleanly."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import requests

from idpkit.console import Reporter
from idpkit.constants.keycloak import PROXY_SOURCE_ADDRESS
from idpkit.errors import IdpkitError
from idpkit.keycloak_server import distribution, release
from idpkit.keycloak_server.host_proxy import HostProxySettings, haproxy_binary
from idpkit.keycloak_server.kms_provider import SigningChoice
from idpkit.keycloak_server.options import (
    ClientCertificateLookup,
    DatabaseSettings,
    ServerSettings,
    discovery_override,
    render_keycloak_conf,
)
from idpkit.local import database, front_door, host_proxy, kms
from idpkit.local.kms import KmsHealth
from idpkit.local.layout import HOSTNAME, LISTEN_ADDRESS, LOOPBACK, LocalLayout
from idpkit.local.pki import ensure_pki
from idpkit.outputs import LOCAL_STACK, StackOutputs, write_local_outputs
from idpkit.realm.declared import realm_name
from idpkit.system import service_user
from idpkit.system.files import make_directory, write_if_changed, write_private, write_public
from idpkit.system.java import JavaRuntime, find_java
from idpkit.system.process import ManagedProcess
from idpkit.system.service_user import ServiceAccount

DatabaseChoice = Literal["dev-file", "postgres"]
BOOTSTRAP_ADMIN = "idpkit-bootstrap"
# Keycloak's default heap is 70% of the machine's memory; a local stack needs far less.
KEYCLOAK_HEAP = "-Xms256m -Xmx1024m"
HEALTH_TIMEOUT = 240.0
_SERVERS = ("nginx", "haproxy", "keycloak", "postgres", kms.PROCESS)


@dataclass(frozen=True)
class UpResult:
    outputs: StackOutputs
    changed: bool
    """False when everything was already up and configured as asked: `up` changed nothing."""
    seconds: float
    java: str
    database: DatabaseChoice
    signing: SigningChoice


@dataclass(frozen=True)
class ServerStatus:
    name: str
    pid: int | None


@dataclass(frozen=True)
class StackStatus:
    servers: tuple[ServerStatus, ...]
    healthy: bool
    database: DatabaseChoice | None
    signing: SigningChoice | None
    kms: KmsHealth | None
    """Whether Keycloak can reach KMS to sign (`--signing kms` only); unreachable makes the stack unhealthy."""


def up(
    layout: LocalLayout,
    reporter: Reporter,
    database_choice: DatabaseChoice | None = None,
    signing_choice: SigningChoice | None = None,
) -> UpResult:
    started = time.monotonic()
    chosen = database_choice or _saved_database(layout) or "dev-file"
    signing = signing_choice or saved_signing(layout) or "imported"
    with _translate_disk_errors(layout.root), _exclusive(layout, reporter):
        java = find_java()
        nginx = front_door.nginx_binary()
        haproxy = haproxy_binary()
        if chosen == "postgres":
            database.postgres_bin_dir()
        _check_ports_free(layout, chosen)
        account = service_user.account()
        changed = _prepare_directories(layout)
        if (previous := _saved_database(layout)) is not None and previous != chosen:
            _switch_admin_credentials(layout, previous, chosen)
        changed |= _ensure_keycloak_unpacked(layout, reporter)
        changed |= ensure_pki(layout.pki, dns_names=(HOSTNAME,), ip_addresses=(LOOPBACK,))
        if chosen == "postgres":
            with reporter.step("starting PostgreSQL"):
                was_running = database.process(layout).pid() is not None
                database_password: str | None = database.start(layout, account)
                changed |= not was_running
        else:
            database_password = None
            changed |= database.process(layout).stop()
        with reporter.step("KMS emulation" if signing == "kms" else "imported signing keys"):
            changed |= kms.ensure_emulation(layout, signing)
        changed |= _ensure_keycloak(layout, reporter, java, chosen, database_password, account, signing)
        changed |= host_proxy.ensure_running(layout, haproxy, host_proxy_settings(layout), account)
        changed |= _ensure_front_door(layout, nginx, account)
        _wait_healthy(layout, reporter)
        outputs = _outputs(layout)
        write_local_outputs(outputs)
        _save_settings(layout, chosen, signing)
    return UpResult(outputs, changed, time.monotonic() - started, f"{java.major} ({java.source})", chosen, signing)


def down(layout: LocalLayout, *, purge: bool) -> list[str]:
    """Stop every server of the stack; with `purge`, delete its state (the download cache stays)."""
    if not layout.root.exists():
        return []
    with _exclusive(layout, Reporter(json_mode=True)):
        stopped = [name for name in _SERVERS if _process(layout, name).stop()]
    if purge:
        shutil.rmtree(layout.root)
    return stopped


def status(layout: LocalLayout) -> StackStatus:
    servers = tuple(ServerStatus(name, _process(layout, name).pid()) for name in _SERVERS)
    signing = saved_signing(layout)
    kms_health = kms.health(layout, signing)
    healthy = _health_ready(layout) and (kms_health is None or kms_health.reachable)
    return StackStatus(servers, healthy, _saved_database(layout), signing, kms_health)


def log_files(layout: LocalLayout) -> dict[str, Path]:
    return {name: _process(layout, name).log_file for name in _SERVERS} | {
        "nginx-access": layout.logs / "nginx-access.log",
        "haproxy": layout.logs / "haproxy.log",
        "nginx-error": layout.logs / "nginx-error.log",
    }


def server_settings(layout: LocalLayout, database_settings: DatabaseSettings) -> ServerSettings:
    """The local stack's Keycloak options, from the definition the AWS hosts use too."""
    ports = layout.ports
    return ServerSettings(
        public_url=f"https://{HOSTNAME}:{ports.browser}",
        admin_url=f"https://{HOSTNAME}:{ports.keycloak}",
        bind_address=LOOPBACK,
        https_port=ports.keycloak,
        certificate_file=str(layout.pki.server_certificate),
        certificate_key_file=str(layout.pki.server_key),
        trusted_proxy_addresses=(PROXY_SOURCE_ADDRESS,),
        database=database_settings,
        management_bind_address=LOOPBACK,
        management_port=ports.management,
        client_certificate_lookup=ClientCertificateLookup(client_ca_bundle=str(layout.pki.client_ca_bundle)),
        discovery_override_file=str(_discovery_override_path(layout)),
    )


def host_proxy_settings(layout: LocalLayout) -> HostProxySettings:
    """The local host proxy: the AWS hosts' HAProxy definition, on loopback ports."""
    return HostProxySettings(
        bind_address=LOOPBACK,
        browser_port=layout.ports.host_proxy_browser,
        m2m_port=layout.ports.host_proxy_m2m,
        keycloak_port=layout.ports.keycloak,
        certificate_bundle=str(layout.haproxy_dir / "proxy.pem"),
        keycloak_ca_file=str(layout.pki.server_ca),
        keycloak_server_name=HOSTNAME,
    )


def front_door_settings(layout: LocalLayout, account: ServiceAccount | None) -> front_door.FrontDoorSettings:
    """The local front door: one host proxy behind it, as a one-host AWS stack has."""
    pki, ports = layout.pki, layout.ports
    return front_door.FrontDoorSettings(
        directory=layout.nginx_dir,
        logs=layout.logs,
        pid_file=layout.run / "nginx-master.pid",
        listen_address=LISTEN_ADDRESS,
        browser_port=ports.browser,
        m2m_port=ports.m2m,
        certificate=pki.server_certificate,
        certificate_key=pki.server_key,
        client_ca_bundle=pki.client_ca_bundle,
        crl=pki.crl,
        upstream_ca=pki.server_ca,
        upstream_server_name=HOSTNAME,
        browser_upstreams=(f"{LOOPBACK}:{ports.host_proxy_browser}",),
        m2m_upstreams=(f"{LOOPBACK}:{ports.host_proxy_m2m}",),
        run_as=account.name if account else None,
    )


def _discovery_override_path(layout: LocalLayout) -> Path:
    return layout.keycloak_home / "conf" / "discovery-override.json"


def _process(layout: LocalLayout, name: str) -> ManagedProcess:
    return database.process(layout) if name == "postgres" else layout.process(name)


def _outputs(layout: LocalLayout) -> StackOutputs:
    ports = layout.ports
    base_url = f"https://{HOSTNAME}:{ports.browser}"
    realm = realm_name(LOCAL_STACK)
    return StackOutputs(
        base_url=base_url,
        m2m_url=f"https://{HOSTNAME}:{ports.m2m}",
        admin_url=f"https://{HOSTNAME}:{ports.keycloak}",
        realm=realm,
        issuer=f"{base_url}/realms/{realm}",
        ca_bundle=str(layout.pki.server_ca),
        admin_credentials=str(layout.admin_credentials_file),
        bootstrap_admin_credentials=str(layout.bootstrap_admin_file),
    )


def _prepare_directories(layout: LocalLayout) -> bool:
    existed = layout.root.exists()
    # As root the service user must traverse (not list) the state tree; otherwise it is the owner's alone.
    traverse_only = 0o711 if service_user.account() else 0o700
    for directory in (layout.root.parent.parent, layout.root.parent, layout.root):
        make_directory(directory, traverse_only)
    make_directory(layout.secrets, 0o700)
    make_directory(layout.run, 0o700)
    make_directory(layout.logs, 0o700)
    make_directory(layout.pki.directory, 0o711 if service_user.account() else 0o700)
    make_directory(layout.nginx_dir / "tmp", 0o700, service_owned=True)
    make_directory(layout.haproxy_dir, 0o750 if service_user.account() else 0o700, service_owned=True)
    return not existed


def _ensure_keycloak_unpacked(layout: LocalLayout, reporter: Reporter) -> bool:
    version_file = layout.keycloak_home / "version.txt"
    if version_file.exists() and release.VERSION in version_file.read_text():
        return False
    _process(layout, "keycloak").stop()
    archive = distribution.ensure_archive(reporter)
    distribution.unpack(archive, layout.root, reporter)
    return True


def _ensure_keycloak(
    layout: LocalLayout,
    reporter: Reporter,
    java: JavaRuntime,
    database_choice: DatabaseChoice,
    database_password: str | None,
    account: ServiceAccount | None,
    signing: SigningChoice,
) -> bool:
    database_settings = (
        database.database_settings(layout) if database_choice == "postgres" else DatabaseSettings(vendor="dev-file")
    )
    conf = render_keycloak_conf(server_settings(layout, database_settings))
    outputs = _outputs(layout)
    override = discovery_override(outputs.m2m_url, outputs.realm)
    conf_changed = write_if_changed(_discovery_override_path(layout), override, private=False)
    conf_changed |= write_if_changed(layout.keycloak_conf, conf, private=True)
    provider = f"{signing} signing, {kms.ensure_provider(layout)}"
    # The extension jar and the KMS credentials are inputs of the running server just as keycloak.conf is.
    conf_changed |= _saved_signing_applied(layout) != provider
    keycloak = layout.process("keycloak")
    running = keycloak.pid() is not None
    if running and not conf_changed:
        return False
    if running:
        with reporter.step("stopping Keycloak to apply the changed configuration"):
            keycloak.stop()
    env = _keycloak_environment(layout, java, database_password) | kms.keycloak_environment(signing)
    built_with = f"{conf}\n{provider}"
    stamp = hashlib.sha256(f"{release.VERSION}\n{java.home}\n{built_with}".encode()).hexdigest()
    if not layout.build_stamp.exists() or layout.build_stamp.read_text() != stamp:
        with reporter.step("building the optimized Keycloak server (kc.sh build)"):
            _run_build(layout, env)
        write_public(layout.build_stamp, stamp)
    make_directory(layout.keycloak_home / "data", 0o700, service_owned=True)
    with reporter.step("starting Keycloak"):
        keycloak.start(
            [str(layout.keycloak_home / "bin" / "kc.sh"), "start", "--optimized"],
            env=env,
            cwd=layout.keycloak_home,
            account=account,
        )
    write_public(layout.run / "keycloak-signing", provider)
    return True


def _saved_signing_applied(layout: LocalLayout) -> str | None:
    """What the running Keycloak was started with (signing choice and extension jar), if it was started by up."""
    try:
        return (layout.run / "keycloak-signing").read_text()
    except OSError:
        return None


def _keycloak_environment(layout: LocalLayout, java: JavaRuntime, database_password: str | None) -> dict[str, str]:
    bootstrap = _bootstrap_admin(layout)
    env = {
        "PATH": f"{java.home / 'bin'}:/usr/bin:/bin",
        "JAVA_HOME": str(java.home),
        "LANG": "C.UTF-8",
        "JAVA_OPTS_KC_HEAP": KEYCLOAK_HEAP,
        # Read once, on the first start against an empty database; harmless afterwards.
        "KC_BOOTSTRAP_ADMIN_USERNAME": bootstrap["username"],
        "KC_BOOTSTRAP_ADMIN_PASSWORD": bootstrap["password"],
    }
    if database_password is not None:
        env["KC_DB_PASSWORD"] = database_password
    return env


def _bootstrap_admin(layout: LocalLayout) -> dict[str, str]:
    """The bootstrap admin: a random password in a 0600 file, never printed."""
    if not layout.bootstrap_admin_file.exists():
        credentials = {"username": BOOTSTRAP_ADMIN, "password": secrets.token_urlsafe(24)}
        write_private(layout.bootstrap_admin_file, json.dumps(credentials))
    loaded: dict[str, str] = json.loads(layout.bootstrap_admin_file.read_text())
    if not layout.admin_credentials_file.exists():
        # Until `idpkit realm apply` creates the kit's service account, the bootstrap admin is the admin.
        write_private(layout.admin_credentials_file, json.dumps(loaded))
    return loaded


def _switch_admin_credentials(layout: LocalLayout, previous: DatabaseChoice, chosen: DatabaseChoice) -> None:
    """Each database holds its own kit admin account: keep the credentials that log in to `previous`, and bring
    back those of `chosen` (none yet: its bootstrap admin's, until `realm apply` creates the kit's account)."""
    with contextlib.suppress(FileNotFoundError):
        layout.admin_credentials_file.replace(layout.secrets / f"admin-credentials.{previous}.json")
    with contextlib.suppress(FileNotFoundError):
        (layout.secrets / f"admin-credentials.{chosen}.json").replace(layout.admin_credentials_file)


def _run_build(layout: LocalLayout, env: dict[str, str]) -> None:
    completed = subprocess.run(
        [str(layout.keycloak_home / "bin" / "kc.sh"), "build"],
        env={key: value for key, value in env.items() if not key.startswith("KC_")},
        cwd=layout.keycloak_home,
        capture_output=True,
        text=True,
        check=False,
    )
    (layout.logs / "keycloak-build.log").write_text(completed.stdout + completed.stderr)
    if completed.returncode != 0:
        raise IdpkitError(f"kc.sh build failed; see {layout.logs / 'keycloak-build.log'}")


def _ensure_front_door(layout: LocalLayout, nginx: str, account: ServiceAccount | None) -> bool:
    conf_path, conf_changed = front_door.write_configuration(front_door_settings(layout, account))
    server = layout.process("nginx")
    running = server.pid() is not None
    if running and not conf_changed:
        return False
    front_door.check_config(nginx, conf_path, layout.nginx_dir)
    if running:
        server.stop()
    server.start(
        front_door.nginx_command(nginx, conf_path, layout.nginx_dir), env={}, cwd=layout.nginx_dir, account=None
    )
    return True


def _wait_healthy(layout: LocalLayout, reporter: Reporter) -> None:
    keycloak = layout.process("keycloak")
    deadline = time.monotonic() + HEALTH_TIMEOUT
    with reporter.step("waiting for Keycloak to report ready"):
        while not _health_ready(layout):
            if keycloak.exited_early():
                raise IdpkitError(f"Keycloak exited during start-up:\n{_tail(keycloak.log_file)}")
            if time.monotonic() > deadline:
                raise IdpkitError(
                    f"Keycloak did not become ready within {HEALTH_TIMEOUT:.0f} s; see {keycloak.log_file}"
                )
            time.sleep(1)
    nginx = layout.process("nginx")
    base_url = _outputs(layout).base_url
    while True:
        try:
            response = requests.get(f"{base_url}/", verify=str(layout.pki.server_ca), timeout=5, allow_redirects=False)
        except requests.ConnectionError:
            response = None
        if response is not None and response.status_code not in (502, 503, 504):
            return
        if nginx.exited_early():
            raise IdpkitError(f"nginx exited during start-up:\n{_tail(layout.logs / 'nginx-error.log')}")
        if time.monotonic() > deadline:
            raise IdpkitError(f"the front door {base_url} did not reach Keycloak; see {layout.logs}")
        time.sleep(0.5)


def _health_ready(layout: LocalLayout) -> bool:
    url = f"https://{LOOPBACK}:{layout.ports.management}/health/ready"
    try:
        response = requests.get(url, verify=str(layout.pki.server_ca), timeout=3)
    except (requests.RequestException, OSError):
        return False
    return response.status_code == 200


def _check_ports_free(layout: LocalLayout, database_choice: DatabaseChoice) -> None:
    ports = layout.ports
    owned = {
        "nginx": (ports.browser, ports.m2m),
        "haproxy": (ports.host_proxy_browser, ports.host_proxy_m2m),
        "keycloak": (ports.keycloak, ports.management),
        "postgres": (ports.postgres,) if database_choice == "postgres" else (),
    }
    for name, numbers in owned.items():
        if _process(layout, name).pid() is not None:
            continue
        for port in numbers:
            with socket.socket() as probe:
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind((LOOPBACK, port))
                except OSError as error:
                    raise IdpkitError(
                        f"port {port} ({name}) is already in use by another program",
                        hint=f"find it with `ss -ltnp 'sport = :{port}'` and stop it",
                    ) from error


def _saved_settings(layout: LocalLayout) -> dict[str, str]:
    try:
        loaded = json.loads(layout.settings_file.read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def _saved_database(layout: LocalLayout) -> DatabaseChoice | None:
    saved = _saved_settings(layout).get("database")
    return "postgres" if saved == "postgres" else "dev-file" if saved == "dev-file" else None


def saved_signing(layout: LocalLayout) -> SigningChoice | None:
    """How the stack signs tokens: `kms` (KMS emulation) or `imported` (kit-generated keys in Keycloak)."""
    saved = _saved_settings(layout).get("signing")
    return "kms" if saved == "kms" else "imported" if saved == "imported" else None


def _save_settings(layout: LocalLayout, database_choice: DatabaseChoice, signing: SigningChoice) -> None:
    wanted = {"database": database_choice, "signing": signing}
    if _saved_settings(layout) != wanted:
        write_public(layout.settings_file, json.dumps(wanted) + "\n")


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return f"(no log at {path})"


@contextmanager
def _exclusive(layout: LocalLayout, reporter: Reporter) -> Iterator[None]:
    """One `up`/`down` at a time per stack: two concurrent runs would start servers behind each other's back."""
    layout.root.mkdir(parents=True, exist_ok=True)
    with (layout.root / ".lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            reporter.note("another idpkit command is changing this stack; waiting for it")
            fcntl.flock(lock, fcntl.LOCK_EX)
        yield


@contextmanager
def _translate_disk_errors(where: Path) -> Iterator[None]:
    try:
        yield
    except OSError as error:
        if error.errno == errno.ENOSPC:
            raise IdpkitError(f"no space left on the disk holding {where}") from error
        if error.errno == errno.EACCES:
            raise IdpkitError(f"permission denied: {error.filename}") from error
        raise


def describe(result: UpResult) -> dict[str, object]:
    return {
        "status": "started" if result.changed else "already up",
        "changed": result.changed,
        "seconds": round(result.seconds, 1),
        "keycloak": release.VERSION,
        "java": result.java,
        "database": result.database,
        "signing": result.signing,
        "outputs": result.outputs.to_dict(),
    }
