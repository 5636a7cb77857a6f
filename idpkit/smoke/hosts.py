"""Host profiles for the host-hardening smoke checks: what a Keycloak host must look like.

The local stack is checked on this machine (`local://`); an AWS stack's hosts are named in
`IDPKIT_SMOKE_HOSTS` as testinfra host specs, reached over SSH through Session Manager (see
smoke-tests/README.md). The profile says which user Keycloak runs as, which sockets its JVM may
listen on, and which files hold secrets.
"""

from __future__ import annotations

import getpass
import os
from dataclasses import dataclass
from pathlib import Path

from idpkit import paths
from idpkit.constants.keycloak import JGROUPS_FD_PORT, JGROUPS_PORT, KEYCLOAK_HTTPS_PORT, MANAGEMENT_PORT
from idpkit.host.layout import AWS_HOST, SERVICE_USER, HostLayout
from idpkit.local.layout import LOOPBACK, LocalLayout
from idpkit.outputs import LOCAL_STACK
from idpkit.system import service_user

HOSTS_ENV = "IDPKIT_SMOKE_HOSTS"
HOST_ROOT_ENV = "IDPKIT_SMOKE_HOST_ROOT"
"""An AWS host's file tree under another root: a rehearsal host (`idpkit rehearse`); default `/`."""
LOCAL_HOST = "local://"
# How `ss` shows a wildcard binding: per family, or `*` for a dual-stack socket (Java's default).
ANY_ADDRESS = ("0.0.0.0", "::", "*")  # noqa: S104 - names the wildcard binding, binds nothing
OWN_ADDRESS = "own-address"
"""Stands for the host's own (private, non-loopback) address: JGroups binds there (`SITE_LOCAL`)."""
LOOPBACK_ADDRESSES = (LOOPBACK, "::1")


@dataclass(frozen=True)
class Listener:
    """A socket the Keycloak JVM is expected to listen on."""

    port: int
    addresses: tuple[str, ...]
    """Local addresses it may be bound to."""
    purpose: str


@dataclass(frozen=True)
class SecretPath:
    """A file or directory holding configuration, a private key or a secret: never world-readable."""

    path: str
    what: str


@dataclass(frozen=True)
class HostProfile:
    name: str
    keycloak_homes: tuple[str, ...]
    """Keycloak's home directory as its JVM names it (`-Dkc.home.dir`): tells this stack's JVM from others."""
    service_user: str
    """The dedicated, unprivileged account the Keycloak JVM runs as."""
    listeners: tuple[Listener, ...]
    management: Listener
    """Keycloak's management interface (health, metrics): never bound to a public address."""
    secret_paths: tuple[SecretPath, ...]

    def expected_listener(self, port: int, address: str) -> Listener | None:
        for listener in (*self.listeners, self.management):
            if listener.port == port and _allowed(address, listener.addresses):
                return listener
        return None


def _allowed(address: str, allowed: tuple[str, ...]) -> bool:
    if address in allowed:
        return True
    own = OWN_ADDRESS in allowed and address not in (*LOOPBACK_ADDRESSES, *ANY_ADDRESS)
    return own and not address.startswith("127.")


def local_profile(layout: LocalLayout | None = None) -> HostProfile:
    """The local stack on this machine: everything on loopback, secrets under the state directory."""
    layout = layout or LocalLayout.for_stack()
    # As root the kit runs Keycloak as its service account; otherwise as the (unprivileged) invoking user.
    user = service_user.NAME if paths.running_as_root() else getpass.getuser()
    secret_paths = [SecretPath(str(layout.keycloak_conf), "Keycloak configuration")]
    secret_paths += [SecretPath(str(key), "private key") for key in sorted(layout.pki.directory.glob("*.key"))]
    secret_paths += [SecretPath(str(layout.secrets), "secrets directory")]
    secret_paths += [SecretPath(str(item), "secret") for item in sorted(layout.secrets.glob("*"))]
    realm_state = layout.root / "realm"
    secret_paths += [SecretPath(str(realm_state), "realm state directory (smoke-test credentials)")]
    secret_paths += [SecretPath(str(item), "smoke-test credentials") for item in sorted(realm_state.glob("*"))]
    secret_paths += [SecretPath(str(layout.keycloak_home / "data"), "Keycloak data directory (database)")]
    return HostProfile(
        name="local stack",
        keycloak_homes=(str(layout.keycloak_home),),
        service_user=user,
        listeners=(Listener(layout.ports.keycloak, LOOPBACK_ADDRESSES, "Keycloak HTTPS (admin URL, host proxy)"),),
        management=Listener(layout.ports.management, LOOPBACK_ADDRESSES, "management interface"),
        secret_paths=tuple(secret_paths),
    )


def aws_profile(layout: HostLayout = AWS_HOST) -> HostProfile:
    """A Keycloak host of an AWS stack, as `idpkit host up` builds it (idpkit/host/)."""
    return HostProfile(
        name="AWS Keycloak host",
        # kc.sh may name its home through the /opt/keycloak symlink or the versioned directory behind it.
        keycloak_homes=(str(layout.keycloak_home), str(layout.install_dir)),
        service_user=SERVICE_USER,
        listeners=(
            Listener(KEYCLOAK_HTTPS_PORT, LOOPBACK_ADDRESSES, "Keycloak HTTPS (host proxy, SSM tunnel)"),
            # Cluster traffic between hosts, on the host's own address; the security group admits only the hosts.
            Listener(JGROUPS_PORT, (*ANY_ADDRESS, OWN_ADDRESS), "JGroups cluster"),
            Listener(JGROUPS_FD_PORT, (*ANY_ADDRESS, OWN_ADDRESS), "JGroups failure detection"),
        ),
        # The load balancer probes health here; hosts sit in private subnets and the security group
        # admits only the load balancer, so the wildcard bind is expected (the policy pack checks the group).
        management=Listener(MANAGEMENT_PORT, ANY_ADDRESS, "management interface"),
        secret_paths=(
            SecretPath(str(layout.keycloak_conf), "Keycloak configuration"),
            SecretPath(str(layout.keycloak_key), "private key"),
            SecretPath(str(layout.proxy_bundle), "private key"),
            SecretPath(str(layout.tls_dir), "TLS directory"),
            SecretPath(str(layout.environment_file), "secret (database and bootstrap admin passwords)"),
            SecretPath(str(layout.runtime_dir), "secrets directory"),
            SecretPath(str(layout.data_dir), "Keycloak data directory"),
        ),
    )


def profile_for(stack: str) -> HostProfile:
    if stack == LOCAL_STACK:
        return local_profile()
    return aws_profile(HostLayout(Path(os.environ.get(HOST_ROOT_ENV, "/"))))


def host_specs(stack: str) -> tuple[str, ...]:
    """testinfra host specs to check: `IDPKIT_SMOKE_HOSTS` (comma-separated), else this machine for
    the local stack; none for an AWS stack (its checks then fail and say how to name the hosts)."""
    if named := os.environ.get(HOSTS_ENV, "").strip():
        return tuple(spec.strip() for spec in named.split(",") if spec.strip())
    return (LOCAL_HOST,) if stack == LOCAL_STACK else ()
