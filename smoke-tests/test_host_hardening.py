"""Host hardening of the machines running Keycloak, checked with pytest-testinfra.

The local stack is this machine (`local://`); an AWS stack's hosts must be named in
IDPKIT_SMOKE_HOSTS (smoke-tests/README.md): without them these checks fail rather than pass on
a host nobody looked at. Profiles (users, ports, secret paths): idpkit/smoke/hosts.py.
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from functools import cache

import pytest
import testinfra
from testinfra.host import Host

from idpkit.compliance import Severity
from idpkit.constants.keycloak import MINIMUM_JAVA_MAJOR
from idpkit.smoke import credentials
from idpkit.smoke.checks import check
from idpkit.smoke.hosts import HOSTS_ENV, LOOPBACK_ADDRESSES, HostProfile, SecretPath, host_specs, profile_for

NO_HOSTS = "no-hosts-named"
# The JVM of `kc.sh start`: Quarkus' runner with Keycloak's home directory set.
KEYCLOAK_MAIN = "io.quarkus.bootstrap.runner.QuarkusEntryPoint"
KEYCLOAK_HOME_PROPERTY = "-Dkc.home.dir="
# Options that open a debugger, load an agent or expose JMX remotely.
DEBUG_OPTIONS = (
    "-agentlib:jdwp",
    "-Xrunjdwp",
    "-Xdebug",
    "-javaagent:",
    "-agentpath:",
    "-Dcom.sun.management.jmxremote",
)
DEV_MODE_COMMANDS = ("start-dev",)
_SS_PROCESS = re.compile(r"pid=(\d+)")
_JAVA_VERSION = re.compile(r'version "(\d+)(?:\.(\d+))?')


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    stack = metafunc.config.getoption("--stack")
    specs = host_specs(stack) or (NO_HOSTS,)
    if "secret_path" in metafunc.fixturenames:
        pairs = [(spec, path) for spec in specs for path in profile_for(stack).secret_paths]
        metafunc.parametrize(("host_spec", "secret_path"), pairs, ids=[f"{s}-{p.path}" for s, p in pairs])
    elif "host_spec" in metafunc.fixturenames:
        metafunc.parametrize("host_spec", specs)


@pytest.fixture(scope="session")
def profile(stack_name: str) -> HostProfile:
    return profile_for(stack_name)


@pytest.fixture
def target(host_spec: str, stack_name: str) -> Host:
    if host_spec == NO_HOSTS:
        credentials.missing(
            stack_name,
            "hosts",
            f"no Keycloak hosts to check. Name them in {HOSTS_ENV}, e.g. "
            f"{HOSTS_ENV}=ssh://ec2-user@i-0123456789abcdef0?ssh_config=~/.ssh/idpkit-ssm.conf&sudo=true "
            "(SSH through Session Manager; see smoke-tests/README.md)",
        )
    return testinfra.get_host(host_spec)


@dataclass(frozen=True)
class KeycloakJvm:
    pid: int
    user: str
    args: list[str]


@dataclass(frozen=True)
class Socket:
    address: str
    port: int


def _home_of(args: list[str]) -> str | None:
    home = next(
        (arg.removeprefix(KEYCLOAK_HOME_PROPERTY) for arg in args if arg.startswith(KEYCLOAK_HOME_PROPERTY)), None
    )
    return posixpath.normpath(home) if home else None


@cache
def _keycloak_jvm(spec: str, homes: tuple[str, ...]) -> KeycloakJvm:
    """The JVM of this stack's Keycloak: other Keycloak servers may run on the same machine."""
    host = testinfra.get_host(spec)
    found = [
        KeycloakJvm(pid=process.pid, user=process.user, args=process.args.split())
        for process in host.process.filter(comm="java")
        if KEYCLOAK_MAIN in process.args
    ]
    ours = [jvm for jvm in found if _home_of(jvm.args) in homes]
    assert len(ours) == 1, (
        f"{spec}: expected one Keycloak JVM with home {' or '.join(homes)}, found {len(ours)} "
        f"(Keycloak JVMs running: {[(jvm.pid, _home_of(jvm.args)) for jvm in found]})"
    )
    return ours[0]


@pytest.fixture
def jvm(target: Host, host_spec: str, profile: HostProfile) -> KeycloakJvm:
    del target  # requested so that a missing host list fails first, with its hint
    return _keycloak_jvm(host_spec, profile.keycloak_homes)


def _listening_sockets(host: Host, pid: int) -> list[Socket]:
    """TCP and UDP sockets the process listens on (needs root, or sudo on a remote host)."""
    listing = host.check_output("ss -H -l -n -t -u -p")
    sockets = []
    for line in listing.splitlines():
        fields = line.split()
        if len(fields) < 7 or str(pid) not in _SS_PROCESS.findall(fields[6]):
            continue
        address, _, port = fields[4].rpartition(":")
        sockets.append(Socket(address.strip("[]").removeprefix("::ffff:"), int(port)))
    return sockets


def _ephemeral_range(host: Host) -> range:
    low, high = host.file("/proc/sys/net/ipv4/ip_local_port_range").content_string.split()
    return range(int(low), int(high) + 1)


@check("SMOKE-HOST-001", "Keycloak does not run as root",
       requirements=("HIPAA-164.312(a)(1)",), severity=Severity.CRITICAL,
       risk="A flaw in an Internet-facing Java server running as root gives away the whole host and its secrets.",
       remediation="Run Keycloak as its own system account (User=keycloak; locally idpkit-keycloak).")  # fmt: skip
def test_keycloak_does_not_run_as_root(jvm: KeycloakJvm, host_spec: str) -> None:
    assert jvm.user != "root", f"{host_spec}: Keycloak JVM (pid {jvm.pid}) runs as root; it must be unprivileged"


@check("SMOKE-HOST-002", "Keycloak runs as its dedicated service account",
       requirements=("HIPAA-164.312(a)(1)",),
       risk="A shared account lets other services read Keycloak's keys and database, and Keycloak read theirs.",
       remediation="Run Keycloak as the host profile's account, owning only Keycloak's files.")  # fmt: skip
def test_keycloak_runs_as_its_service_account(jvm: KeycloakJvm, host_spec: str, profile: HostProfile) -> None:
    assert jvm.user == profile.service_user, (
        f"{host_spec}: Keycloak JVM (pid {jvm.pid}) runs as {jvm.user!r}, not the dedicated {profile.service_user!r}"
    )


@check("SMOKE-HOST-003", "Keycloak is not started in development mode",
       requirements=("HIPAA-164.312(e)(1)", "HIPAA-164.312(a)(1)"), severity=Severity.CRITICAL,
       risk="start-dev enables plain HTTP, relaxes hostname checks and caches nothing securely.",
       remediation="Start with `kc.sh start --optimized` after `kc.sh build`.")  # fmt: skip
def test_keycloak_is_not_in_dev_mode(jvm: KeycloakJvm, host_spec: str) -> None:
    used = [arg for arg in jvm.args if arg in DEV_MODE_COMMANDS]
    assert not used, f"{host_spec}: Keycloak JVM (pid {jvm.pid}) was started with {used}; production mode is required"


@check("SMOKE-HOST-004", "The Keycloak JVM loads no debugger, agent or remote JMX",
       requirements=("HIPAA-164.312(a)(1)",), severity=Severity.CRITICAL,
       risk="A JDWP or JMX port gives code execution inside the identity provider to whoever reaches it.",
       remediation="Remove debug and agent options from JAVA_OPTS / JAVA_OPTS_APPEND and the unit file.")  # fmt: skip
def test_keycloak_jvm_has_no_debug_options(jvm: KeycloakJvm, host_spec: str) -> None:
    found = [arg for arg in jvm.args if arg.startswith(DEBUG_OPTIONS)]
    assert not found, f"{host_spec}: Keycloak JVM (pid {jvm.pid}) runs with debug/agent options {found}"


@check("SMOKE-HOST-005", "The Keycloak JVM listens only on the expected ports",
       requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(e)(1)"),
       risk="An unexpected listener (debug port, embedded database server) is an unreviewed way in.",
       remediation="Disable the listener, or add it to the host profile after review (smoke/hosts.py).")  # fmt: skip
def test_keycloak_listens_only_on_expected_ports(
    target: Host, jvm: KeycloakJvm, host_spec: str, profile: HostProfile
) -> None:
    ephemeral = _ephemeral_range(target)
    unexpected = [
        f"{socket.address}:{socket.port}"
        for socket in _listening_sockets(target, jvm.pid)
        if profile.expected_listener(socket.port, socket.address) is None
        # Narayana's transaction status manager takes a kernel-assigned loopback port at start.
        and not (socket.address in LOOPBACK_ADDRESSES and socket.port in ephemeral)
    ]
    assert not unexpected, (
        f"{host_spec}: Keycloak JVM (pid {jvm.pid}) listens on unexpected sockets {unexpected}; "
        f"the {profile.name} profile allows {[f'{x.port} ({x.purpose})' for x in profile.listeners]}"
    )


@check("SMOKE-HOST-006", "The management interface is not bound to a public address",
       requirements=("HIPAA-164.312(a)(1)",),
       risk="Health and metrics endpoints reveal internals and are unauthenticated.",
       remediation="http-management-host loopback; on AWS only behind the LB-only security group.")  # fmt: skip
def test_management_interface_is_not_public(
    target: Host, jvm: KeycloakJvm, host_spec: str, profile: HostProfile
) -> None:
    bound = [s.address for s in _listening_sockets(target, jvm.pid) if s.port == profile.management.port]
    assert bound, f"{host_spec}: nothing listens on management port {profile.management.port}"
    exposed = [address for address in bound if address not in profile.management.addresses]
    assert not exposed, (
        f"{host_spec}: management port {profile.management.port} is bound to {exposed}; "
        f"the {profile.name} profile allows only {list(profile.management.addresses)}"
    )


@check("SMOKE-HOST-007", "Configuration, private keys and secrets are not world-readable",
       requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(e)(1)"), severity=Severity.CRITICAL,
       risk="Any local account (or a compromised neighbour service) reads TLS keys, passwords or the database.",
       remediation="chmod o-rwx the file or directory; own keys by the one service that needs them.")  # fmt: skip
def test_secret_path_is_not_world_readable(target: Host, host_spec: str, secret_path: SecretPath) -> None:
    item = target.file(secret_path.path)
    assert item.exists, f"{host_spec}: {secret_path.what} {secret_path.path} does not exist (profile out of date?)"
    assert not item.mode & 0o004, (
        f"{host_spec}: {secret_path.what} {secret_path.path} is world-readable (mode {item.mode:04o})"
    )


@check("SMOKE-HOST-008", f"Keycloak runs on a supported Java (>= {MINIMUM_JAVA_MAJOR})",
       requirements=("HIPAA-164.312(a)(1)", "RFC9325-BCP195"),
       risk="An unsupported JVM misses security fixes, including to its TLS stack.",
       remediation="Install a supported JDK (the AWS hosts use Amazon Corretto 21).")  # fmt: skip
def test_java_is_supported(target: Host, jvm: KeycloakJvm, host_spec: str) -> None:
    java = jvm.args[0]
    banner = target.run(f"{java} -version").stderr
    match = _JAVA_VERSION.search(banner)
    assert match, f"{host_spec}: {java} -version printed no version: {banner.strip()[:200]}"
    major = int(match.group(2) if match.group(1) == "1" else match.group(1))
    assert major >= MINIMUM_JAVA_MAJOR, (
        f"{host_spec}: Keycloak runs on Java {major} ({java}); Keycloak needs >= {MINIMUM_JAVA_MAJOR}"
    )
