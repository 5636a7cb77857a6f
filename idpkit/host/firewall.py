"""The host firewall: Keycloak's and HAProxy's users cannot reach the instance metadata service.

IMDSv2 with a hop limit of 1 keeps instance credentials away from containers, not from processes on the host.
Keycloak and HAProxy face the internet; a server-side request forgery in either could otherwise fetch the
instance role's credentials (which read the database master secret and may assume the signing key rotation
role). An nftables rule matching the socket's owner (`meta skuid`) rejects their packets to 169.254.169.254
(and the IPv6 endpoint fd00:ec2::254); root, which runs the kit's host commands and the SSM agent, keeps
access. The Amazon DNS resolver (169.254.169.253) and time service (169.254.169.123) stay reachable.

`idpkit host up` renders the ruleset into the host's configuration directory and loads it as one nftables
transaction (the table is replaced whole, so a re-run converges). On AWS a oneshot systemd unit loads it at
every boot before Keycloak and HAProxy start, and both services require it: if the rules cannot be loaded,
they do not start. A rehearsal host (its own network namespace, no systemd) gets the same rules loaded into
its namespace.
"""

from __future__ import annotations

import pwd
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from idpkit.errors import IdpkitError
from idpkit.host.account import service_account
from idpkit.host.layout import PROXY_USER, HostLayout

INSTANCE_METADATA_IPV4 = "169.254.169.254"
INSTANCE_METADATA_IPV6 = "fd00:ec2::254"
TABLE = "idpkit_host"
UNIT = "idpkit-host-firewall.service"
GUARDED_UNITS = ("keycloak.service", "haproxy.service")
"""The services that require the firewall: they do not start without it."""


def ruleset_file(layout: HostLayout) -> Path:
    return layout.etc / "host-firewall.nft"


def render_ruleset(blocked_uids: Sequence[int]) -> str:
    """The nftables ruleset: the `blocked_uids`' packets to instance metadata are rejected at once."""
    if not blocked_uids or any(uid == 0 for uid in blocked_uids):
        raise IdpkitError("host firewall: the blocked users must be unprivileged service users, never root")
    owners = ", ".join(str(uid) for uid in sorted(set(blocked_uids)))
    return f"""# Rendered by idpkit (idpkit/host/firewall.py); loaded by `idpkit host up` and {UNIT}.
# Declaring the table first lets the delete succeed on a first load: the whole table is replaced in one transaction.
table inet {TABLE}
delete table inet {TABLE}
table inet {TABLE} {{
    chain output {{
        type filter hook output priority filter; policy accept;
        meta skuid {{ {owners} }} ip daddr {INSTANCE_METADATA_IPV4} counter reject with icmpx admin-prohibited
        meta skuid {{ {owners} }} ip6 daddr {INSTANCE_METADATA_IPV6} counter reject with icmpx admin-prohibited
    }}
}}
"""


def render_unit(layout: HostLayout, nft: str) -> str:
    """The systemd unit that loads the ruleset at boot, before (and required by) Keycloak and HAProxy."""
    guarded = " ".join(GUARDED_UNITS)
    return f"""[Unit]
Description=idpkit: Keycloak's and HAProxy's users cannot reach instance metadata
DefaultDependencies=no
Before=network-pre.target {guarded}
Wants=network-pre.target
After=local-fs.target

[Service]
Type=oneshot
RemainAfterExit=yes
ExecStart={nft} -f {ruleset_file(layout)}

[Install]
WantedBy=multi-user.target
RequiredBy={guarded}
"""


def nft_binary() -> str:
    found = shutil.which("nft") or next((p for p in ("/usr/sbin/nft", "/sbin/nft") if Path(p).exists()), None)
    if found is None:
        raise IdpkitError("host firewall: `nft` is not installed (Amazon Linux and Debian package: nftables)")
    return found


def apply_ruleset(path: Path) -> None:
    """Check, then load the ruleset file into this network namespace as one transaction."""
    nft = nft_binary()
    for arguments, what in ((["--check", "-f"], "is not valid"), (["-f"], "could not be loaded")):
        completed = subprocess.run([nft, *arguments, str(path)], capture_output=True, text=True, check=False)
        if completed.returncode != 0:
            raise IdpkitError(f"host firewall: {path} {what}: {completed.stderr.strip()[-500:]}")


def service_uids() -> list[int]:
    """Keycloak's service user and HAProxy's (created by its package before `host up` runs)."""
    try:
        proxy = pwd.getpwnam(PROXY_USER).pw_uid
    except KeyError:
        raise IdpkitError(
            f"host firewall: the HAProxy user {PROXY_USER!r} does not exist; is HAProxy installed?"
        ) from None
    return [service_account().uid, proxy]


def block_instance_metadata(
    layout: HostLayout, supervisor_kind: str, uids: Sequence[int] | None = None
) -> tuple[bool, str]:
    """The `host up` step: render the ruleset (and on systemd hosts its boot unit), load it now."""
    blocked = list(uids) if uids is not None else service_uids()
    path = ruleset_file(layout)
    changed = _write_if_changed(path, render_ruleset(blocked), 0o644)
    if supervisor_kind == "systemd":
        unit = layout.systemd_dir / UNIT
        if _write_if_changed(unit, render_unit(layout, nft_binary()), 0o644):
            changed = True
            _systemctl("daemon-reload")
        _systemctl("enable", UNIT)
    apply_ruleset(path)
    return changed, f"uids {', '.join(map(str, sorted(set(blocked))))} cannot reach {INSTANCE_METADATA_IPV4}"


def _write_if_changed(path: Path, content: str, mode: int) -> bool:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and path.read_text() == content:
        return False
    staging = path.with_name(f".{path.name}.tmp")
    staging.write_text(content)
    staging.chmod(mode)
    staging.replace(path)
    return True


def _systemctl(*arguments: str) -> None:
    completed = subprocess.run(["systemctl", *arguments], capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise IdpkitError(f"systemctl {' '.join(arguments)} failed: {completed.stderr.strip()[-500:]}")
