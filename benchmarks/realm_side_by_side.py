"""`idpkit realm apply` beside keycloak-config-cli: same realm content, same server, back to back, as processes.

Per size, in a throwaway realm `bench-side-<N>`: the kit applies the generated configuration (cold), then
runs again with nothing to change, after one changed field (the realm's displayName), and after a hand-made
change (the realm's access-token lifespan raised through the admin API: does the run notice and restore
it?). The kit-applied realm is then exported (Keycloak's partial export plus its users: the same
content as keycloak-config-cli's input file), the realm deleted, and keycloak-config-cli runs the same steps
on that file: cold import, no-op with its default checksum skip and with its cache disabled, one changed
field, and the same hand-made change (default run, then cache disabled).

Every figure is a process as a user starts it (interpreter or JVM start included): wall time, peak resident
memory (the child's maxrss from wait4) and the writes it made, counted the same way for both tools: the realm's
admin events (the kit's realms record every admin write, with details), cleared before each run.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchlib import Section
from config_cli import Available

from idpkit.keycloak_admin import ADMIN_REALM, AdminApi, ApiError, connect, urls
from idpkit.outputs import OUTPUTS_FILE_ENV, StackOutputs, load_break_glass_credentials
from idpkit.realm import builtins

NO_OP_RUNS = 3
"""Runs of each tool's cheap no-op (the kit's, keycloak-config-cli's checksum skip) whose median is shown."""
HAND_MADE_FIELD, HAND_MADE_VALUE = "accessTokenLifespan", 3600
"""Changed by hand between two runs: both tools' input declares 300 s (the kit's REALM-TOKEN-001)."""
_ADMIN_EVENTS_PAGE = 100_000
_NOT_FOUND, _SERVER_ERROR = 404, 500
_DROP_ATTEMPTS, _DROP_PAUSE_SECONDS = 3, 10
_SAMPLE_SECONDS = 0.01
# Export fields neither tool is given: components (keys, which `idpkit keys` manages, and the user profile, which
# keycloak-config-cli reads from another field), and what Keycloak's export adds that no input file holds.
_NOT_MANAGED = ("components", "keycloakVersion", "clientScopeMappings")
_PROBES = 20
_CLOSED_PORT_URL = "https://127.0.0.1:9"
_NOT_IN_FILE = {"id", "containerId", "secret", "createdTimestamp", "access", "notBefore", "totp"}


@dataclass(frozen=True)
class Run:
    seconds: float
    peak_mib: float
    writes: int

    def cell(self) -> str:
        return f"{self.seconds:.2f} s, {self.writes} writes, {self.peak_mib:.0f} MiB"


@dataclass(frozen=True)
class Step:
    label: str
    kit: Run
    config_cli: Run | None
    restored: tuple[bool, bool | None] | None = None
    """For the hand-made change: whether each tool's run put the field back."""


class Realm:
    """The throwaway realm both tools write: its admin events (the write count), the hand-made change. Read and
    changed as the break-glass account: keycloak-config-cli's realm is not delegated to the kit's account."""

    def __init__(self, outputs: StackOutputs, name: str) -> None:
        connection = connect(outputs, load_break_glass_credentials(outputs))
        self.master, self.api = AdminApi(connection, ADMIN_REALM), AdminApi(connection, name)

    def drop(self) -> None:
        """Delete the realm if it exists. Deleting thousands of clients can fail on a loaded machine's dev-file
        database (HTTP 500, rolled back): tried again before giving up."""
        for attempt in range(_DROP_ATTEMPTS):
            try:
                self.master.delete(self.api.path(urls.REALM))
            except ApiError as error:
                if error.status == _NOT_FOUND:
                    return
                if error.status < _SERVER_ERROR or attempt == _DROP_ATTEMPTS - 1:
                    raise
                time.sleep(_DROP_PAUSE_SECONDS)
            else:
                return

    def clear_events(self) -> None:
        try:
            self.api.delete(self.api.path(urls.ADMIN_EVENTS))
        except ApiError as error:
            if error.status != _NOT_FOUND:  # no realm yet: a cold run
                raise

    def writes_recorded(self) -> int:
        events = self.api.get(self.api.path(urls.ADMIN_EVENTS), first=0, max=_ADMIN_EVENTS_PAGE) or []
        return sum(1 for event in events if event.get("operationType") in ("CREATE", "UPDATE", "DELETE", "ACTION"))

    def warm(self) -> None:
        """Read every client once, untimed: after a bulk create Keycloak fills its cache from the database on the
        first read (the kit's engine table shows that first plan apart), and no-op runs compare steady state."""
        self.api.get(self.api.path(urls.CLIENTS))

    def change_by_hand(self) -> None:
        """Lengthen the realm's access tokens through the admin API, as an operator in a hurry would."""
        self.api.put(self.api.path(urls.REALM), {HAND_MADE_FIELD: HAND_MADE_VALUE})
        if not self.hand_made_change_left():
            raise RuntimeError(f"realm {self.api.realm}: the hand-made change of {HAND_MADE_FIELD} did not take")

    def hand_made_change_left(self) -> bool:
        return bool(self.api.get(self.api.path(urls.REALM))[HAND_MADE_FIELD] == HAND_MADE_VALUE)

    def export(self) -> dict[str, Any]:
        """The realm as Keycloak represents it, with its users and service accounts and their realm roles, minus
        ids, masked secrets and what the kit does not manage (keys, built-in flows and clients, client roles)."""
        path = self.api.path(urls.REALM) + "/partial-export"
        exported: dict[str, Any] = self.api.connection.raw_post(
            path, data="", exportClients="true", exportGroupsAndRoles="true"
        ).json()
        for name in _NOT_MANAGED:
            exported.pop(name, None)
        exported["clients"] = [c for c in exported["clients"] if c["clientId"] not in builtins.CLIENTS]
        # The kit's own flows (the MFA browser flow the realm is bound to): Keycloak's built-in ones are its own.
        exported["authenticationFlows"] = [f for f in exported.get("authenticationFlows", []) if not f.get("builtIn")]
        exported["roles"] = {"realm": exported.get("roles", {}).get("realm", [])}
        users = self.api.get(self.api.path(urls.USERS), briefRepresentation="false") or []
        accounts = [
            {**self.api.get(self.api.path(urls.CLIENT_SERVICE_ACCOUNT, id=client["id"])),
             "serviceAccountClientId": client["clientId"]}
            for client in exported["clients"] if client.get("serviceAccountsEnabled")
        ]  # fmt: skip
        exported["users"] = [self._with_realm_roles(user) for user in [*users, *accounts]]
        cleaned: dict[str, Any] = _without(exported, _NOT_IN_FILE)
        return cleaned

    def _with_realm_roles(self, user: dict[str, Any]) -> dict[str, Any]:
        roles = self.api.get(self.api.path(urls.USER_REALM_ROLES, id=user["id"])) or []
        return {**user, "realmRoles": sorted(role["name"] for role in roles)}


def _without(value: Any, names: set[str]) -> Any:
    """`value` with every object's fields called one of `names` removed, at any depth."""
    if isinstance(value, dict):
        return {key: _without(item, names) for key, item in value.items() if key not in names}
    if isinstance(value, list):
        return [_without(item, names) for item in value]
    return value


def timed(command: Sequence[str], env: dict[str, str]) -> tuple[float, float, str]:
    """Wall time, peak resident memory (MiB) and output of a process run to completion; raises if it fails.

    The peak is the process's own high-water mark (VmHWM), sampled until it exits: wait4's ru_maxrss would
    also count the memory of this process, which the child had until its exec.
    """
    with tempfile.TemporaryFile() as output:
        started = time.monotonic()
        process = subprocess.Popen(list(command), env=env, stdout=output, stderr=subprocess.STDOUT)
        peak_kib = 0
        while process.poll() is None:
            peak_kib = max(peak_kib, _high_water_kib(process.pid))
            time.sleep(_SAMPLE_SECONDS)
        seconds = time.monotonic() - started
        output.seek(0)
        text = output.read().decode(errors="replace")
    if process.returncode != 0:
        errors = [line for line in text.splitlines() if " ERROR " in line or line.startswith("error")]
        tail = "\n".join((errors or text.strip().splitlines())[-5:])
        raise RuntimeError(f"{command[0]} ... exited {process.returncode}:\n{tail}")
    return seconds, peak_kib / 1024, text


def _high_water_kib(pid: int) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) if found else 0


@dataclass
class Kit:
    """`idpkit realm apply` on the generated project, pointed at the throwaway realm."""

    env: dict[str, str]
    realm: Realm

    def run(self, *, cold: bool = False) -> Run:
        """One apply; `cold`: the realm does not exist yet, and only a master administrator creates a realm."""
        self.realm.clear_events()
        command = [sys.executable, "-m", "idpkit", "realm", "apply", "--stack", "local"]
        seconds, peak, _ = timed([*command, "--break-glass"] if cold else command, self.env)
        return Run(seconds, peak, self.realm.writes_recorded())


@dataclass
class ConfigCli:
    """keycloak-config-cli on realm files, logged in as the kit's admin, trusting the stack's CA."""

    tool: Available
    outputs: StackOutputs
    work: Path
    unknown: list[str] = field(default_factory=list)
    """Exported fields its reader rejects (found once, then left out of every file)."""

    def __post_init__(self) -> None:
        # The JVM trusts the stack's CA through a PKCS12 truststore made from its PEM (none: Java's default CAs).
        self.trust: list[str] = []
        if ca := self.outputs.admin_ca_bundle or self.outputs.ca_bundle:
            truststore = self.work / "truststore.p12"
            keytool = self.tool.java.home / "bin" / "keytool"
            subprocess.run([str(keytool), "-importcert", "-noprompt", "-alias", "stack-ca", "-file", ca,
                            "-keystore", str(truststore), "-storetype", "PKCS12", "-storepass", "changeit"],
                           check=True, capture_output=True)  # fmt: skip
            self.trust = [f"-Djavax.net.ssl.trustStore={truststore}", "-Djavax.net.ssl.trustStorePassword=changeit",
                          "-Djavax.net.ssl.trustStoreType=PKCS12"]  # fmt: skip
        # keycloak-config-cli logs in with a password or a client secret, never a signed assertion (the kit's
        # service account), so it logs in as the bootstrap admin of this throwaway benchmark stack. Spring's relaxed
        # binding reads these from the environment, so no secret is on a command line.
        credentials = load_break_glass_credentials(self.outputs)
        self.login = {"KEYCLOAK_USER": credentials.username or "", "KEYCLOAK_PASSWORD": credentials.password or ""}

    def run(self, realm: Realm, realm_file: Path, *, cache: bool = True) -> Run:
        realm.clear_events()
        seconds, peak, _ = timed(self._command(realm_file, self.outputs.admin_url, cache), {**os.environ, **self.login})
        return Run(seconds, peak, realm.writes_recorded())

    def readable(self, document: dict[str, Any]) -> dict[str, Any]:
        """`document` without the fields its model does not know (its reader rejects a file with any of them).

        Keycloak adds representation fields in minor releases; they are found by letting keycloak-config-cli
        read the file against a closed port (nothing is written), and remembered for the next sizes.
        """
        realm_file = self.work / "probe.json"
        for _ in range(_PROBES):
            document = _without(document, set(self.unknown))
            realm_file.write_text(json.dumps(document))
            command = self._command(realm_file, _CLOSED_PORT_URL, cache=True)
            output = subprocess.run(command, capture_output=True, text=True, check=False).stdout
            unknown = re.search(r'Unrecognized field "([^"]+)"', output)
            if unknown is None:
                return document
            self.unknown.append(unknown.group(1))
        raise RuntimeError(f"keycloak-config-cli still rejects the export without {', '.join(self.unknown)}")

    def _command(self, realm_file: Path, url: str, cache: bool) -> list[str]:
        return [
            str(self.tool.java.executable), *self.trust, "-jar", str(self.tool.jar),
            f"--keycloak.url={url}", "--keycloak.login-realm=master", "--keycloak.availability-check.enabled=false",
            f"--import.files.locations=file:{realm_file}", f"--import.cache.enabled={str(cache).lower()}",
        ]  # fmt: skip


def realm_name(size: int) -> str:
    return f"bench-side-{size}"


def compare(
    outputs: StackOutputs,
    project: Path,
    size: int,
    config_cli: ConfigCli | None,
    edit_display_name: Callable[[Path], None],
) -> list[Step]:
    """Both tools through the same steps on realm `bench-side-<size>`, which is deleted at the end."""
    name = realm_name(size)
    side = dataclasses.replace(outputs, realm=name, issuer=f"{outputs.base_url}/realms/{name}")
    realm = Realm(side, name)
    with tempfile.TemporaryDirectory(prefix="realm-side-") as scratch:
        outputs_file, realm_file = Path(scratch) / "outputs.json", Path(scratch) / f"{name}.json"
        outputs_file.write_text(json.dumps(side.to_dict()))
        kit = Kit({**os.environ, OUTPUTS_FILE_ENV: str(outputs_file), "IDPKIT_PROJECT_DIR": str(project)}, realm)
        realm.drop()
        try:
            kit_cold = kit.run(cold=True)
            realm.warm()
            kit_noop = median([kit.run() for _ in range(NO_OP_RUNS)])
            exported = realm.export()
            edit_display_name(project)
            kit_edit = kit.run()
            realm.change_by_hand()
            kit_hand = kit.run()
            kit_restored = not realm.hand_made_change_left()
            if config_cli is None:
                return _steps(kit_cold, kit_noop, kit_edit, kit_hand, (kit_restored, None))
            realm.drop()
            exported = config_cli.readable(exported)
            realm_file.write_text(json.dumps(exported))
            cold = config_cli.run(realm, realm_file)
            realm.warm()
            skip = median([config_cli.run(realm, realm_file) for _ in range(NO_OP_RUNS)])
            full = config_cli.run(realm, realm_file, cache=False)
            realm_file.write_text(
                json.dumps({**exported, "displayName": f"{exported.get('displayName', '')} (edited)"})
            )
            edit = config_cli.run(realm, realm_file)
            realm.change_by_hand()
            hand = config_cli.run(realm, realm_file)
            noticed = not realm.hand_made_change_left()
            hand_full = config_cli.run(realm, realm_file, cache=False)
            restored_full = not realm.hand_made_change_left()
        finally:
            realm.drop()
    steps = _steps(kit_cold, kit_noop, kit_edit, kit_hand, (kit_restored, noticed), (cold, skip, full, edit, hand))
    label = "hand-made change, keycloak-config-cli cache disabled"
    return [*steps, Step(label, kit_hand, hand_full, (kit_restored, restored_full))]


def median(runs: Sequence[Run]) -> Run:
    """The run of median wall time (a sub-second figure varies by a tenth of a second from run to run)."""
    return sorted(runs, key=lambda run: run.seconds)[len(runs) // 2]


def _steps(
    cold: Run, noop: Run, edit: Run, hand: Run, restored: tuple[bool, bool | None], other: Sequence[Run | None] = ()
) -> list[Step]:
    theirs = list(other) or [None] * 5
    return [
        Step("cold import (empty realm)", cold, theirs[0]),
        Step("no-op re-run (keycloak-config-cli: checksum skip, its default)", noop, theirs[1]),
        Step("no-op re-run (keycloak-config-cli: cache disabled, full compare)", noop, theirs[2]),
        Step("one changed field (realm displayName)", edit, theirs[3]),
        Step("hand-made change in between (default runs)", hand, theirs[4], restored),
    ]


def add_rows(section: Section, clients: int, steps: Sequence[Step]) -> None:
    for step in steps:
        kit_cell, theirs = step.kit.cell(), step.config_cli.cell() if step.config_cli else "not run"
        if step.restored is not None:
            kit_cell += "; " + _restored(step.restored[0])
            if step.config_cli is not None:
                theirs += "; " + _restored(step.restored[1])
        ratio = f"{step.config_cli.seconds / step.kit.seconds:.1f}x" if step.config_cli else "n/a"
        section.add(clients, step.label, kit_cell, theirs, ratio)


def _restored(restored: bool | None) -> str:
    return "restored" if restored else "NOT noticed (field left changed)"
