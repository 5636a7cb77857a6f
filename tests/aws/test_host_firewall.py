"""The host firewall (idpkit/host/firewall.py): rendered, then proven in a real network namespace.

The proof runs the kit's own step in a fresh namespace where 169.254.169.254 answers (as instance metadata
does on EC2): a process of a blocked user cannot connect, root and any other user can. Needs root, iproute2
and nftables (scripts/install-system-packages), as the AWS rehearsal does.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from idpkit.errors import IdpkitError
from idpkit.host import firewall
from idpkit.host.layout import HostLayout

METADATA_PORT = 80
BLOCKED = pwd.getpwnam("nobody").pw_uid
OTHER = pwd.getpwnam("daemon").pw_uid
"""An unprivileged user the rule does not name: it must still connect (the rule matches owners, not all)."""


def test_ruleset_rejects_only_the_named_users_packets_to_instance_metadata() -> None:
    rendered = firewall.render_ruleset([BLOCKED, 998])
    rules = [line.strip() for line in rendered.splitlines() if line.strip().startswith("meta skuid")]
    assert rules == [
        f"meta skuid {{ 998, {BLOCKED} }} ip daddr 169.254.169.254 counter reject with icmpx admin-prohibited",
        f"meta skuid {{ 998, {BLOCKED} }} ip6 daddr fd00:ec2::254 counter reject with icmpx admin-prohibited",
    ], "only the service users' packets to instance metadata (IPv4 and IPv6) may be rejected"
    assert "169.254.169.253" not in rendered and "policy accept" in rendered, "DNS and everything else stay open"


@pytest.mark.parametrize("uids", [[], [0], [BLOCKED, 0]], ids=["none", "root", "root among others"])
def test_ruleset_refuses_to_block_root_or_nobody(uids: list[int]) -> None:
    with pytest.raises(IdpkitError, match="never root"):
        firewall.render_ruleset(uids)


def test_boot_unit_loads_the_rules_before_keycloak_and_haproxy_which_require_it() -> None:
    layout = HostLayout()
    unit = firewall.render_unit(layout, "/usr/sbin/nft")
    lines = set(unit.splitlines())
    assert "ExecStart=/usr/sbin/nft -f /etc/idpkit/host-firewall.nft" in lines
    assert "Before=network-pre.target keycloak.service haproxy.service" in lines
    assert "RequiredBy=keycloak.service haproxy.service" in lines, "Keycloak and HAProxy must not start without it"


# --- proof in a network namespace --------------------------------------------------------------------------

SERVER = textwrap.dedent(
    """
    import socket, sys
    server = socket.create_server(("169.254.169.254", int(sys.argv[1])))
    print("listening", flush=True)
    while True:
        connection, _ = server.accept()
        connection.sendall(b"metadata")
        connection.close()
    """
)
CLIENT = textwrap.dedent(
    """
    import socket, sys
    try:
        with socket.create_connection(("169.254.169.254", int(sys.argv[1])), timeout=3) as connection:
            print(connection.recv(100).decode())
    except OSError as error:
        print(f"refused: {error}")
    """
)


def _ip(*arguments: str) -> None:
    subprocess.run(["ip", *arguments], check=True, capture_output=True)


@pytest.fixture
def namespace() -> Iterator[str]:
    """A fresh network namespace in which 169.254.169.254 answers on METADATA_PORT."""
    if os.geteuid() != 0:
        pytest.fail("the firewall proof needs root (network namespaces and nftables), as the rehearsal does")
    name = f"idpkit-fw-{uuid.uuid4().hex[:8]}"
    _ip("netns", "add", name)
    server = None
    try:
        _ip("-n", name, "link", "set", "lo", "up")
        _ip("-n", name, "addr", "add", f"{firewall.INSTANCE_METADATA_IPV4}/32", "dev", "lo")
        server = subprocess.Popen(
            ["ip", "netns", "exec", name, sys.executable, "-c", SERVER, str(METADATA_PORT)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None and server.stdout.readline().strip() == "listening"
        yield name
    finally:
        if server is not None:
            server.kill()
            server.wait()
        _ip("netns", "delete", name)


def _connect(namespace: str, uid: int) -> str:
    """What a process of `uid` in `namespace` gets when it connects to instance metadata."""
    completed = subprocess.run(
        ["ip", "netns", "exec", namespace, "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
         sys.executable, "-c", CLIENT, str(METADATA_PORT)],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return completed.stdout.strip()


def _host_up_step(namespace: str, root: Path, uids: list[int]) -> str:
    """The kit's `host up` step, run inside the namespace as on a rehearsal host."""
    step = (
        "import json, sys; from pathlib import Path; from idpkit.host.firewall import block_instance_metadata; "
        "from idpkit.host.layout import HostLayout; "
        "print(json.dumps(block_instance_metadata(HostLayout(Path(sys.argv[1])), 'process', json.loads(sys.argv[2]))))"
    )
    completed = subprocess.run(
        ["ip", "netns", "exec", namespace, sys.executable, "-c", step, str(root), str(uids)],
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip
    assert completed.returncode == 0, f"the firewall step failed: {completed.stderr[-1500:]}"
    return completed.stdout


def test_blocked_user_cannot_reach_instance_metadata_while_root_and_others_can(namespace: str, tmp_path: Path) -> None:
    before = {uid: _connect(namespace, uid) for uid in (0, BLOCKED, OTHER)}
    assert before == dict.fromkeys((0, BLOCKED, OTHER), "metadata"), f"without the rule every user connects: {before}"
    _host_up_step(namespace, tmp_path, [BLOCKED])
    started = time.monotonic()
    blocked = _connect(namespace, BLOCKED)
    assert blocked.startswith("refused:"), f"uid {BLOCKED} still reaches instance metadata: {blocked!r}"
    assert time.monotonic() - started < 5, "the rule must reject at once, not let the connection time out"
    assert _connect(namespace, 0) == "metadata", "root (the kit, the SSM agent) must keep instance metadata"
    assert _connect(namespace, OTHER) == "metadata", "the rule must match the blocked owners only"


def test_the_step_converges_when_run_again(namespace: str, tmp_path: Path) -> None:
    first = _host_up_step(namespace, tmp_path, [BLOCKED])
    second = _host_up_step(namespace, tmp_path, [BLOCKED])
    assert first.startswith("[true,") and second.startswith("[false,"), (first, second)
    listed = subprocess.run(
        ["ip", "netns", "exec", namespace, firewall.nft_binary(), "list", "table", "inet", firewall.TABLE],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert listed.count("meta skuid") == 2, f"a re-run must replace the table, not add rules:\n{listed}"
    assert _connect(namespace, BLOCKED).startswith("refused:")
