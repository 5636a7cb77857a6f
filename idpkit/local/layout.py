"""Where the local stack lives on disk and which loopback ports it uses."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path

from idpkit import paths
from idpkit.local.pki import LocalPki
from idpkit.system.process import ManagedProcess

HOSTNAME = "localhost"
LOOPBACK = "127.0.0.1"
# The front door (nginx, standing in for the AWS load balancer) answers here; everything behind it
# listens on loopback too, so the local stack is never reachable from the network.
LISTEN_ADDRESS = LOOPBACK
PORT_OFFSET_ENV = "IDPKIT_LOCAL_PORT_OFFSET"


@dataclass(frozen=True)
class LocalPorts:
    browser: int = 8443
    """Front door, browser listener (no client certificates)."""
    m2m: int = 8444
    """Front door, machine-to-machine listener (client certificate required)."""
    keycloak: int = 18443
    """Keycloak's own HTTPS port (loopback): admin API and console; the host proxy's upstream."""
    host_proxy_browser: int = 18444
    """Host-local proxy (HAProxy), browser port (as on an AWS host): the front door's browser upstream."""
    host_proxy_m2m: int = 18445
    """Host-local proxy (HAProxy), M2M port (as on an AWS host): the front door's M2M upstream."""
    management: int = 9000
    """Keycloak's management interface (health, metrics), loopback only."""
    postgres: int = 15432
    """The kit-owned PostgreSQL cluster (`--db postgres`), loopback only."""
    kms: int = 14566
    """The KMS emulation (`--signing kms`: moto on AWS's semantics), loopback only."""


@dataclass(frozen=True)
class LocalLayout:
    """Paths of one local stack's state directory."""

    root: Path
    ports: LocalPorts = LocalPorts()

    @classmethod
    def for_stack(cls, stack: str = "local") -> LocalLayout:
        """The stack's layout; `IDPKIT_LOCAL_PORT_OFFSET` shifts every port, so a second stack (say, a CI run
        on a workstation whose own stack is up, with its own IDPKIT_STATE_DIR) can run beside the first."""
        offset = int(os.environ.get(PORT_OFFSET_ENV, "0"))
        ports = LocalPorts(**{name: port + offset for name, port in asdict(LocalPorts()).items()})
        return cls(paths.stack_dir(stack), ports)

    @property
    def keycloak_home(self) -> Path:
        return self.root / "keycloak"

    @property
    def keycloak_conf(self) -> Path:
        return self.keycloak_home / "conf" / "keycloak.conf"

    @property
    def build_stamp(self) -> Path:
        """Records what the current `kc.sh build` was made from, so an unchanged build is not redone."""
        return self.keycloak_home / "lib" / "idpkit-build.stamp"

    @property
    def pki(self) -> LocalPki:
        return LocalPki(self.root / "pki")

    @property
    def nginx_dir(self) -> Path:
        return self.root / "nginx"

    @property
    def haproxy_dir(self) -> Path:
        """The host proxy's configuration and its certificate bundle."""
        return self.root / "haproxy"

    @property
    def postgres_dir(self) -> Path:
        return self.root / "postgres"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def secrets(self) -> Path:
        return self.root / "secrets"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def bootstrap_admin_file(self) -> Path:
        return self.secrets / "bootstrap-admin.json"

    @property
    def admin_credentials_file(self) -> Path:
        return self.secrets / "admin-credentials.json"

    @property
    def database_password_file(self) -> Path:
        return self.secrets / "database-password"

    @property
    def kms_endpoint(self) -> str:
        """The KMS emulation's URL (`--signing kms`): Keycloak's key components and `idpkit keys` call it."""
        return f"http://{LOOPBACK}:{self.ports.kms}"

    @property
    def settings_file(self) -> Path:
        """What `up` was last asked for (database, signing), so `status` and a bare `up` keep it."""
        return self.root / "stack.json"

    @property
    def keycloak_log(self) -> Path:
        return self.logs / "keycloak.log"

    def process(self, name: str) -> ManagedProcess:
        return ManagedProcess(name=name, pid_file=self.run / f"{name}.pid", log_file=self.logs / f"{name}.log")
