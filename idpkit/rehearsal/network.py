"""The rehearsal's network: a bridge on this machine and one network namespace per host and for the edge.

Every host gets its own loopback and address, so it runs exactly the AWS host's ports and addresses
(127.0.0.1:8444 for Keycloak, 127.0.0.2 as the proxy's source, 8443/8445/9000/7800 on its own address).
The edge namespace holds the load balancer emulation and is where operator commands run: its /etc/hosts
resolves the stack's public names to the load balancer (`ip netns exec` mounts /etc/netns/<ns>/hosts).
The AWS API emulation and PostgreSQL listen on the bridge address in this machine's own namespace.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from idpkit.errors import IdpkitError

NETNS_ETC = Path("/etc/netns")
OWNERS = Path("/run/idpkit-rehearsals")
"""One file per claimed slot (`slot-<n>`): the stack and the state directory whose rehearsal holds it."""
# One /24 per slot, out of a block reserved for the kit's rehearsals. Slots are claimed, not assigned per
# stack, so rehearsals from different state directories (a CI clone beside a kept one) never collide.
_BLOCK = "10.231"
_SLOTS = range(1, 64)
# A claim without a network is a rehearsal still in its first steps; after this long it is a leftover.
_CLAIM_GRACE_SECONDS = 3600
HOST_COUNT = 2


@dataclass(frozen=True)
class Topology:
    """Names and addresses of one rehearsal network (one claimed slot)."""

    stack: str
    slot: int

    @property
    def prefix(self) -> str:
        return f"{_BLOCK}.{self.slot}"

    @property
    def bridge(self) -> str:
        return f"idpkrh{self.slot}"

    @property
    def gateway(self) -> str:
        """This machine's address on the bridge: the AWS API emulation and PostgreSQL listen here."""
        return f"{self.prefix}.1"

    @property
    def edge(self) -> str:
        return f"idpk{self.slot}-edge"

    @property
    def edge_address(self) -> str:
        """The load balancer's address."""
        return f"{self.prefix}.2"

    def host(self, index: int) -> str:
        return f"idpk{self.slot}-h{index}"

    def host_address(self, index: int) -> str:
        return f"{self.prefix}.{10 + index}"

    @property
    def namespaces(self) -> list[tuple[str, str]]:
        return [(self.edge, self.edge_address)] + [
            (self.host(index), self.host_address(index)) for index in range(1, HOST_COUNT + 1)
        ]

    def exec_prefix(self, namespace: str) -> list[str]:
        return ["ip", "netns", "exec", namespace]


def held(stack: str, owner: Path) -> Topology | None:
    """The network that `owner`'s (a state directory) rehearsal of `stack` holds, if any."""
    wanted = [stack, str(owner)]
    for record in sorted(OWNERS.glob("slot-*")):
        if record.read_text().split() == wanted:
            return Topology(stack, int(record.name.removeprefix("slot-")))
    return None


def claim(stack: str, owner: Path) -> Topology:
    """The network `owner` already holds for `stack`, or the first free slot, claimed atomically."""
    if (mine := held(stack, owner)) is not None:
        return mine
    OWNERS.mkdir(mode=0o700, parents=True, exist_ok=True)
    present = set(_namespaces())
    for slot in _SLOTS:
        candidate, record = Topology(stack, slot), OWNERS / f"slot-{slot}"
        if _in_use(candidate, record, present):
            continue
        record.unlink(missing_ok=True)
        try:
            descriptor = os.open(record, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(descriptor, "w") as handle:
            handle.write(f"{stack}\n{owner}\n")
        return candidate
    holders = ", ".join(" ".join(record.read_text().split()) for record in sorted(OWNERS.glob("slot-*")))
    raise IdpkitError(
        f"every rehearsal network slot on this machine is taken ({holders})",
        hint="stop kept rehearsals with `IDPKIT_STATE_DIR=<their state directory> idpkit rehearse --stack X --down`",
    )


def release(topology: Topology, owner: Path) -> None:
    """Drop `owner`'s claim on the network (after it is torn down)."""
    record = OWNERS / f"slot-{topology.slot}"
    if record.exists() and record.read_text().split() == [topology.stack, str(owner)]:
        record.unlink()


def _in_use(topology: Topology, record: Path, namespaces: set[str]) -> bool:
    if topology.edge in namespaces or _link_exists(topology.bridge, None):
        return True
    return record.exists() and time.time() - record.stat().st_mtime < _CLAIM_GRACE_SECONDS


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
