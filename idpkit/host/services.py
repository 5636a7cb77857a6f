"""How a host runs its two services, the host proxy (HAProxy) and Keycloak: systemd on AWS, or the kit's
own process supervisor where there is no systemd (a rehearsal host). Both start the same commands with the
same environment; systemd adds its sandbox (`keycloak_unit`) and restarts on failure.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

from idpkit.errors import IdpkitError
from idpkit.host.account import service_account
from idpkit.host.layout import SERVICE_USER, HostLayout
from idpkit.keycloak_server import release
from idpkit.keycloak_server.host_proxy import proxy_command
from idpkit.system.process import ManagedProcess
from idpkit.system.service_user import ServiceAccount

SupervisorKind = Literal["systemd", "process"]
KEYCLOAK_UNIT = "keycloak.service"
PROXY_UNIT = "haproxy.service"
CLOUDWATCH_AGENT_CTL = "/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl"


class Supervisor(Protocol):
    kind: SupervisorKind

    def start_proxy(self, binary: str, conf: Path, *, restart: bool) -> None: ...

    def start_keycloak(self, *, restart: bool) -> None: ...

    def keycloak_running(self) -> bool: ...

    def stop_keycloak(self) -> None: ...

    def start_log_shipping(self, agent_config: Path) -> None: ...


def detect(layout: HostLayout, requested: SupervisorKind | None) -> Supervisor:
    """systemd when it runs this machine (an AWS host), else the kit's process supervisor."""
    kind = requested or ("systemd" if Path("/run/systemd/system").is_dir() else "process")
    if kind == "systemd":
        return Systemd(layout)
    return Processes(layout)


def keycloak_command(layout: HostLayout) -> list[str]:
    return [str(layout.keycloak_home / "bin" / "kc.sh"), "start", "--optimized"]


def keycloak_unit(layout: HostLayout) -> str:
    """Keycloak's systemd unit: unprivileged, sandboxed, its secrets read by one root step before each start."""
    return f"""[Unit]
Description=Keycloak {release.VERSION} (idpkit)
Wants=network-online.target
After=network-online.target

[Service]
Type=exec
User={SERVICE_USER}
Group={SERVICE_USER}
RuntimeDirectory=keycloak
RuntimeDirectoryMode=0700
# '+': this one step runs as root to read Secrets Manager and write a 0600 environment file on tmpfs;
# Keycloak itself holds no AWS rights.
ExecStartPre=+{layout.kit_command} host keycloak-env --config {layout.config_file}
EnvironmentFile={layout.environment_file}
ExecStart={" ".join(keycloak_command(layout))}
Restart=on-failure
RestartSec=15
TimeoutStartSec=600
LimitNOFILE=65536
UMask=0077
# Sandbox (HIPAA 164.312(a)(1) access control; least privilege for an Internet-facing service).
NoNewPrivileges=yes
ProtectSystem=strict
ReadWritePaths={layout.data_dir} {layout.log_dir}
PrivateTmp=yes
PrivateDevices=yes
ProtectHome=yes
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
RestrictNamespaces=yes
RestrictRealtime=yes
RestrictSUIDSGID=yes
LockPersonality=yes
RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX
CapabilityBoundingSet=
AmbientCapabilities=
SystemCallArchitectures=native
SystemCallFilter=@system-service

[Install]
WantedBy=multi-user.target
"""


def read_environment_file(layout: HostLayout) -> dict[str, str]:
    """The `NAME='value'` lines `write_environment_file` wrote, as systemd's EnvironmentFile reads them."""
    environment = {}
    for line in layout.environment_file.read_text().splitlines():
        name, _, quoted = line.partition("=")
        environment[name] = quoted.removeprefix("'").removesuffix("'")
    return environment


def write_environment_file(layout: HostLayout, environment: Mapping[str, str], account: ServiceAccount) -> None:
    """The systemd `EnvironmentFile`: 0600, owned by the service user, on tmpfs (never on disk)."""
    for name, value in environment.items():
        if "'" in value or "\n" in value:
            raise IdpkitError(f"{name}: quotes and newlines cannot be passed to Keycloak through its environment")
    layout.runtime_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    _write_owned(
        layout.environment_file,
        "".join(f"{name}='{value}'\n" for name, value in environment.items()),
        0o600,
        account,
    )


@dataclass
class Systemd:
    """AWS hosts: systemd units (the package's haproxy.service, the kit's keycloak.service)."""

    layout: HostLayout
    kind: SupervisorKind = "systemd"

    def start_proxy(self, binary: str, conf: Path, *, restart: bool) -> None:  # noqa: ARG002 - systemd knows both
        _systemctl("enable", PROXY_UNIT)
        _systemctl("reload-or-restart" if restart else "start", PROXY_UNIT)

    def start_keycloak(self, *, restart: bool) -> None:
        # The unit's ExecStartPre writes the environment file at every start, so restarts re-read secrets.
        unit = self.layout.systemd_dir / KEYCLOAK_UNIT
        content = keycloak_unit(self.layout)
        changed = not unit.exists() or unit.read_text() != content
        if changed:
            unit.parent.mkdir(parents=True, exist_ok=True)
            unit.write_text(content)
            unit.chmod(0o644)
            _systemctl("daemon-reload")
        _systemctl("enable", KEYCLOAK_UNIT)
        _systemctl("restart" if restart or changed else "start", KEYCLOAK_UNIT)

    def keycloak_running(self) -> bool:
        return subprocess.run(["systemctl", "is-active", "--quiet", KEYCLOAK_UNIT], check=False).returncode == 0

    def stop_keycloak(self) -> None:
        _systemctl("stop", KEYCLOAK_UNIT)

    def start_log_shipping(self, agent_config: Path) -> None:
        command = [CLOUDWATCH_AGENT_CTL, "-a", "fetch-config", "-m", "ec2", "-s", "-c", f"file:{agent_config}"]
        _run(command, "the CloudWatch agent")


@dataclass
class Processes:
    """Rehearsal hosts (no systemd): the kit's process supervisor, pid files under the host's state dir."""

    layout: HostLayout
    kind: SupervisorKind = "process"

    def _process(self, name: str) -> ManagedProcess:
        state = self.layout.state_dir
        return ManagedProcess(name, state / f"{name}.pid", self.layout.at(f"/var/log/idpkit/{name}.log"))

    def start_proxy(self, binary: str, conf: Path, *, restart: bool) -> None:
        proxy = self._process("haproxy")
        if proxy.pid() is not None and not restart:
            return
        proxy.stop()
        # Started as root like haproxy.service: it reads its key, binds, then drops to PROXY_USER.
        proxy.start(proxy_command(binary, conf), env={}, cwd=self.layout.root, account=None)

    def start_keycloak(self, *, restart: bool) -> None:
        """Like keycloak.service: the environment file written first (`host keycloak-env`), then Keycloak."""
        keycloak = self._process("keycloak")
        if keycloak.pid() is not None and not restart:
            return
        keycloak.stop()
        environment = read_environment_file(self.layout)
        # As the unprivileged service user, like keycloak.service's User=.
        keycloak.start(
            keycloak_command(self.layout), env=environment, cwd=self.layout.install_dir, account=service_account()
        )

    def keycloak_running(self) -> bool:
        return self._process("keycloak").pid() is not None

    def keycloak_pid(self) -> int | None:
        """Keycloak's process (kc.sh, the JVM in its session): what a fault harness kills."""
        return self._process("keycloak").pid()

    def stop_keycloak(self) -> None:
        self._process("keycloak").stop()

    def stop_all(self) -> list[str]:
        return [name for name in ("keycloak", "haproxy") if self._process(name).stop()]

    def start_log_shipping(self, agent_config: Path) -> None:
        """No CloudWatch agent off AWS: the configuration is rendered and checked, not run."""
        json.loads(agent_config.read_text())


def _systemctl(*arguments: str) -> None:
    _run(["systemctl", *arguments], f"systemctl {' '.join(arguments)}")


def _run(command: list[str], what: str) -> None:
    if shutil.which(command[0]) is None and not Path(command[0]).exists():
        raise IdpkitError(f"{what}: {command[0]} is not installed on this host")
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise IdpkitError(f"{what} failed: {(completed.stderr or completed.stdout).strip()[-500:]}")


def _write_owned(path: Path, content: str, mode: int, account: ServiceAccount) -> None:
    import os  # noqa: PLC0415

    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(content)
    path.chmod(mode)
    os.chown(path, account.uid, account.gid)
