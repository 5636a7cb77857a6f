"""Where everything lives on a host: absolute paths on AWS, the same tree under a root in a rehearsal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from idpkit.keycloak_server import release

SERVICE_USER = "keycloak"
"""The unprivileged system user Keycloak runs as on a host."""
PROXY_USER = "haproxy"
"""The user Amazon Linux's (and Debian's) HAProxy package creates; the host proxy drops to it."""


@dataclass(frozen=True)
class HostLayout:
    """Paths of one host. `root` is `/` on AWS; a rehearsal roots each of its hosts in its own directory."""

    root: Path = Path("/")

    def at(self, absolute: str) -> Path:
        return self.root / absolute.lstrip("/")

    @property
    def install_dir(self) -> Path:
        """The unpacked distribution (read-only to Keycloak)."""
        return self.at(f"/opt/{release.DIST_DIRECTORY}")

    @property
    def keycloak_home(self) -> Path:
        """A symlink to `install_dir`, so an upgrade swaps one link."""
        return self.at("/opt/keycloak")

    @property
    def keycloak_conf(self) -> Path:
        return self.install_dir / "conf" / "keycloak.conf"

    @property
    def discovery_override(self) -> Path:
        return self.install_dir / "conf" / "discovery-override.json"

    @property
    def build_stamp(self) -> Path:
        """What the current `kc.sh build` was made from, so an unchanged build is not redone."""
        return self.install_dir / "lib" / "idpkit-build.stamp"

    @property
    def data_dir(self) -> Path:
        return self.install_dir / "data"

    @property
    def etc(self) -> Path:
        return self.at("/etc/idpkit")

    @property
    def config_file(self) -> Path:
        """The host configuration the Pulumi program rendered (`HostConfig`)."""
        return self.etc / "host.json"

    @property
    def outputs_file(self) -> Path:
        """The stack outputs contract as a command on this host sees the stack (`IDPKIT_OUTPUTS_FILE`)."""
        return self.etc / "outputs.json"

    @property
    def tls_dir(self) -> Path:
        return self.etc / "tls"

    @property
    def host_certificate(self) -> Path:
        """The host certificate (CN/SAN localhost): Keycloak's, the host proxy's and the admin tunnel's."""
        return self.tls_dir / "host.pem"

    @property
    def keycloak_key(self) -> Path:
        """Keycloak's copy of the host key (owned by the service user)."""
        return self.tls_dir / "keycloak.key"

    @property
    def proxy_bundle(self) -> Path:
        """Certificate and key in one file for HAProxy (root only; read before it drops privileges)."""
        return self.tls_dir / "proxy.pem"

    @property
    def rds_ca_bundle(self) -> Path:
        return self.etc / "rds-ca.pem"

    @property
    def client_ca_bundle(self) -> Path:
        """The mTLS client CA bundle, the version the load balancer's trust store holds."""
        return self.etc / "client-ca-bundle.pem"

    @property
    def proxy_conf(self) -> Path:
        """Where Amazon Linux's haproxy.service reads its configuration."""
        return self.at("/etc/haproxy/haproxy.cfg")

    @property
    def log_dir(self) -> Path:
        return self.at("/var/log/keycloak")

    @property
    def server_log(self) -> Path:
        return self.log_dir / "keycloak.log"

    @property
    def state_dir(self) -> Path:
        """What `host up` records between runs (root only): the database user Keycloak runs with, pids."""
        return self.at("/var/lib/idpkit-host")

    @property
    def runtime_dir(self) -> Path:
        """tmpfs on AWS: the 0600 environment file with Keycloak's database password."""
        return self.at("/run/keycloak")

    @property
    def environment_file(self) -> Path:
        return self.runtime_dir / "keycloak.env"

    @property
    def systemd_dir(self) -> Path:
        return self.at("/etc/systemd/system")

    @property
    def cloudwatch_agent_config(self) -> Path:
        return self.at("/opt/aws/amazon-cloudwatch-agent/etc/amazon-cloudwatch-agent.json")

    @property
    def kit_dir(self) -> Path:
        """The kit's venv (root only), installed from the staged wheelhouse by the user data."""
        return self.at("/opt/idpkit")

    @property
    def kit_command(self) -> Path:
        return self.kit_dir / "bin" / "idpkit"


AWS_HOST = HostLayout()
"""The layout of every AWS host: what the Pulumi program's user data and schedules name."""
