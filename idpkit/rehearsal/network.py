"""The rehearsal's network: a bridge on this machine and one network namespace per host and for the edge.

Every host gets its own loopback and address, so it runs exactly the AWS host's ports and addresses
(127.0.0.1:8444 for Keycloak, 127.0.0.2 as the proxy's source, 8443/8445/9000/7800 on its own address).
The edge namespace holds the load balancer emulation and is where operator commands run: its /etc/hosts
resolves the stack's public names to the load balancer (`ip netns exec` mounts /etc/netns/<ns>/hosts).
The AWS API emulation and PostgreSQL listen on the bridge address in this machine's own namespace.
"""

from __future__ import annotations

import ipaddress
import subprocess
from dataclasses import dataclass
from pathlib import Path

from idpkit.errors import IdpkitError

NETNS_ETC = Path("/etc/netns")
OWNERS = Path("/run/idpkit-rehearsals")
"""One file per stack naming the state directory whose rehearsal holds that stack's network."""
# One /24 per stack, out of a block reserved for the kit's rehearsals.
_SUBNETS = {"dev": 1, "staging": 2, "prod": 3}
_BLOCK = "10.231"
HOST_COUNT = 2


@dataclass(frozen=True)
class Topology:
    """Names and addresses of one stack's rehearsal network."""

    stack: str

    @property
    def _octet(self) -> int:
        return _SUBNETS.get(self.stack, 9)

    @property
    def prefix(self) -> str:
        return f"{_BLOCK}.{self._octet}"

    @property
    def bridge(self) -> str:
        return f"idpkrh{self._octet}"

    @property
    def gateway(self) -> str:
        """This machine's address on the bridge: the AWS API emulation and PostgreSQL listen here."""
        return f"{self.prefix}.1"

    @property
    def edge(self) -> str:
        return f"idpk{self._octet}-edge"

    @property
    def edge_address(self) -> str:
        """The load balancer's address."""
        return f"{self.prefix}.2"

    def host(self, index: int) -> str:
        return f"idpk{self._octet}-h{index}"

    def host_address(self, index: int) -> str:
        return f"{self.prefix}.{10 + index}"

    @property
    def namespaces(self) -> list[tuple[str, str]]:
        return [(self.edge, self.edge_address)] + [
            (self.host(index), self.host_address(index)) for index in range(1, HOST_COUNT + 1)
        ]

    def exec_prefix(self, namespace: str) -> list[str]:
        return ["ip", "netns", "exec", namespace]


def claim(topology: Topology, owner: Path) -> None:
    """Take the stack's rehearsal network for `owner` (a state directory), or refuse if another holds it."""
    record = OWNERS / topology.stack
    holder = record.read_text().strip() if record.exists() else None
    if holder and holder != str(owner) and (_link_exists(topology.bridge, None) or topology.edge in _namespaces()):
        raise IdpkitError(
            f"another rehearsal of {topology.stack} (state directory {holder}) holds this machine's rehearsal "
            f"network for {topology.stack} (bridge {topology.bridge}, namespaces {topology.edge}…)",
            hint=f"stop it with `IDPKIT_STATE_DIR={holder} idpkit rehearse --stack {topology.stack} --down`, "
            "or rehearse another stack",
        )
    OWNERS.mkdir(mode=0o700, parents=True, exist_ok=True)
    record.write_text(f"{owner}\n")


def release(topology: Topology, owner: Path) -> bool:
    """Whether `owner` may tear the stack's network down (it holds it, or nobody does); drops the claim."""
    record = OWNERS / topology.stack
    holder = record.read_text().strip() if record.exists() else None
    if holder and holder != str(owner):
        return False
    record.unlink(missing_ok=True)
    return True


def create(topology: Topology, hosts_file: dict[str, str]) -> bool:
    """The bridge and namespaces (idempotent); `hosts_file` maps names to addresses in every namespace."""
    changed = False
    if not _link_exists(topology.bridge, None):
        _ip("link", "add", topology.bridge, "type", "bridge")
        _ip("addr", "add", f"{topology.gateway}/24", "dev", topology.bridge)
        changed = True
    _ip("link", "set", topology.bridge, "up")
    existing = set(_namespaces())
    for index, (namespace, address) in enumerate(topology.namespaces):
        (NETNS_ETC / namespace).mkdir(parents=True, exist_ok=True)
        lines = ["127.0.0.1 localhost", *(f"{ip} {name}" for name, ip in sorted(hosts_file.items()))]
        (NETNS_ETC / namespace / "hosts").write_text("\n".join(lines) + "\n")
        if namespace in existing:
            continue
        changed = True
        outside, inside = f"{topology.bridge}v{index}", "eth0"
        _ip("netns", "add", namespace)
        _ip("link", "add", outside, "type", "veth", "peer", "name", inside, "netns", namespace)
        _ip("link", "set", outside, "master", topology.bridge, "up")
        run = [*topology.exec_prefix(namespace), "ip"]
        _run([*run, "addr", "add", f"{address}/24", "dev", inside])
        _run([*run, "link", "set", inside, "up"])
        _run([*run, "link", "set", "lo", "up"])
        _run([*run, "route", "add", "default", "via", topology.gateway])
    return changed


def destroy(topology: Topology) -> bool:
    """Remove the namespaces and the bridge (processes inside must be stopped first)."""
    removed = False
    present = set(_namespaces())
    for namespace, _address in topology.namespaces:
        if namespace in present:
            _ip("netns", "delete", namespace)
            removed = True
        hosts = NETNS_ETC / namespace / "hosts"
        hosts.unlink(missing_ok=True)
        if (NETNS_ETC / namespace).exists():
            (NETNS_ETC / namespace).rmdir()
    if _link_exists(topology.bridge, None):
        _ip("link", "delete", topology.bridge)
        removed = True
    return removed


def check_available() -> None:
    """Network namespaces need root (CAP_NET_ADMIN and CAP_SYS_ADMIN) and iproute2."""
    probe = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        raise IdpkitError(
            "the rehearsal needs network namespaces (iproute2, run as root)",
            hint=f"`ip netns list` failed: {probe.stderr.strip()}",
        )


def subnet(topology: Topology) -> ipaddress.IPv4Network:
    return ipaddress.IPv4Network(f"{topology.prefix}.0/24")


def _namespaces() -> list[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    return [line.split()[0] for line in listed.splitlines() if line.strip()]


def _link_exists(name: str, namespace: str | None) -> bool:
    command = ["ip", "link", "show", name] if namespace is None else ["ip", "-n", namespace, "link", "show", name]
    return subprocess.run(command, capture_output=True, check=False).returncode == 0


def _ip(*arguments: str) -> None:
    _run(["ip", *arguments])


def _run(command: list[str]) -> None:
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise IdpkitError(f"`{' '.join(command)}` failed: {completed.stderr.strip()}")
