"""Staged and emergency rotation of a realm's signing keys; every stage idempotent and resumable.

A scheduled rotation walks these stages, each recorded in the key store once done, so a run that
stops anywhere (killed, lost host, `--stage` to stop early) resumes where it stopped:

  add      new key generated, stored, then imported PASSIVE: published in JWKS, not yet signing
  activate after the margin (resource servers' JWKS cache refresh), new key ACTIVE above every
           other key: it signs from now on
  demote   every other key of the algorithm set PASSIVE (still in JWKS, verifies, never signs)
  wait     the passive window: the longest lifetime of anything the old keys signed (`window`)
  disable  old keys disabled (out of JWKS)
  remove   the kit's old components deleted and their private keys dropped from the store
           (keys the kit did not create are left disabled: the kit deletes only what it owns; on a
           stack that signs through KMS they are deleted too, see below)

Publishing before signing matters: resource servers cache JWKS and rate-limit refetches on an
unknown kid (PyJWKClient: once per 30 s), so a key that signs the moment it appears fails their
validations until they refetch (measured with benchmarks/rotation_load.py).

On a KMS stack (`kms` set) a rotation also replaces every signing key whose private half Keycloak holds,
whatever its algorithm or state: its generated `rsa-generated` and the `fallback-<alg>` keys its key manager
mints when no active key serves an algorithm. They are demoted only once the KMS key is ACTIVE (nothing can
mint a fallback in between) and deleted at `remove`, so no private signing key stays in Keycloak's database.
A rotation refuses, before any write, a realm asking for an algorithm KMS does not sign with.

Each stage checks the live realm before writing, so repeating one changes nothing. An emergency
rotation runs add (ACTIVE at once), revoke (compromised keys out of JWKS at once) and sessions
(every session ended).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from idpkit.constants.aws import SIGNING_KEY_SPECS
from idpkit.errors import ExitCode, IdpkitError
from idpkit.keycloak_server.kms_provider import PROVIDER_ID
from idpkit.keys import material
from idpkit.keys.kms import KmsKeys
from idpkit.keys.live import LiveKey, LiveRealm, component_name
from idpkit.keys.store import (
    ACTIVE,
    COMPROMISED,
    DISABLED,
    HISTORY_LIMIT,
    PASSIVE,
    PENDING,
    REMOVED,
    KeyRecord,
    KeyStore,
    Predecessor,
    Rotation,
)

SCHEDULED, EMERGENCY = "scheduled", "emergency"
ADD, ACTIVATE, DEMOTE, WAIT, DISABLE, REMOVE, REVOKE, SESSIONS, DONE = (
    "add", "activate", "demote", "wait", "disable", "remove", "revoke", "sessions", "done",
)  # fmt: skip
ROTATE_STAGES = (ADD, ACTIVATE, DEMOTE)
RETIRE_STAGES = (DISABLE, REMOVE)
PRIORITY_BASE = 10_000
"""Kit keys sit above Keycloak's generated keys (priority 100) and above each older kit key."""
DEFAULT_MARGIN_SECONDS = 300
"""Resource servers' JWKS cache lifetime plus clock skew: how long a new key is published before it
signs, and what is added to the passive window before the old key goes."""
DEFAULT_ROTATION_DAYS = 90
"""Keycloak's guidance is new signing keys every 3-6 months."""


@dataclass
class Outcome:
    """What a command did (or would do next), for humans and --json."""

    realm: str
    algorithm: str
    actions: list[str] = field(default_factory=list)
    rotation: dict[str, Any] | None = None
    keys: list[dict[str, Any]] = field(default_factory=list)
    next_step: str | None = None
    writes: int = 0
    held_by_keycloak: list[str] = field(default_factory=list)
    """Signing keys whose private half is in Keycloak's database: none on a KMS stack once retired."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "realm": self.realm,
            "algorithm": self.algorithm,
            "changed": bool(self.actions),
            "actions": self.actions,
            "rotation": self.rotation,
            "keys": self.keys,
            "next_step": self.next_step,
            "writes": self.writes,
            "held_by_keycloak": self.held_by_keycloak,
        }


class KeyManager:
    """One realm's signing keys: the live realm (`live`) and the kit's key store (`store`)."""

    def __init__(
        self,
        live: LiveRealm,
        store: KeyStore,
        *,
        algorithm: str | None = None,
        margin_seconds: int = DEFAULT_MARGIN_SECONDS,
        clock: Callable[[], float] = time.time,
        kms: KmsKeys | None = None,
    ) -> None:
        """`kms`: new keys are created in KMS (Keycloak signs through it); None: kit-generated material."""
        if margin_seconds < 0:
            raise IdpkitError("--margin must not be negative", exit_code=ExitCode.USAGE)
        self.live = live
        self.store = store
        self.margin = margin_seconds
        self.clock = clock
        self.kms = kms
        self.state = store.load(live.realm)
        self.algorithm = self._algorithm(algorithm)
        self.outcome = Outcome(live.realm, self.algorithm)

    # Commands -----------------------------------------------------------------------------------

    def status(self) -> Outcome:
        return self._finish()

    def restore(self) -> Outcome:
        """Re-create every stored key missing from the realm (a rebuilt cluster gets the same keys back)."""
        for record in self.state.keys:
            if record.status not in (ACTIVE, PASSIVE, DISABLED):
                continue
            if record.material is None and record.kms_key_arn is None:
                continue
            if self.live.find(record.name) is None:
                self._import(record, active=record.status == ACTIVE, enabled=record.status != DISABLED)
                self._act(f"restored {record.name} ({record.status}, kid {record.kid}) from {self.store.location}")
        return self._finish()

    def rotate(self, *, until: str = DEMOTE) -> Outcome:
        """Start a rotation (or resume one) and run it through `until` (add or demote).

        The new key signs only once it has been published for the margin; until then a run leaves
        it published and reports when activation is due (exit 0: a schedule just runs again).
        """
        self._refuse_algorithms_kms_does_not_serve()
        self.restore()
        rotation = self.state.rotation
        if rotation is not None and rotation.kind == EMERGENCY and rotation.stage != DONE:
            raise IdpkitError(
                f"an emergency rotation (generation {rotation.generation}) is unfinished",
                hint="re-run `idpkit keys emergency-rotate` to finish it",
            )
        if rotation is None or rotation.stage == DONE:
            rotation = self._start(SCHEDULED)
        if rotation.stage == ADD:
            self._add(rotation, active=False, next_stage=ACTIVATE)
        if rotation.stage == ACTIVATE and until == DEMOTE and self.clock() >= self._activation_due(rotation):
            self._activate(rotation)
        if rotation.stage == DEMOTE and until == DEMOTE:
            self._demote(rotation)
        return self._finish()

    def retire(self, *, force: bool = False, until: str = REMOVE) -> Outcome:
        """Disable, then remove, the keys a rotation demoted, once the passive window has elapsed."""
        rotation = self.state.rotation
        if rotation is None or rotation.stage == DONE:
            return self._finish()
        if rotation.kind == EMERGENCY or rotation.stage in ROTATE_STAGES:
            raise IdpkitError(
                f"rotation to generation {rotation.generation} is at stage {rotation.stage!r}",
                hint="finish it first: `idpkit keys rotate` (or emergency-rotate)",
            )
        if rotation.stage == WAIT:
            due = self._due_at(rotation)
            if self.clock() < due and not force:
                raise IdpkitError(
                    f"the passive window has not elapsed: {due - self.clock():.0f} s left "
                    f"(until {_timestamp(due)}); old tokens may still be in use",
                    hint="wait, or pass --force to disable the old keys now (their tokens will fail)",
                )
            if self.clock() < due:
                self._act(f"FORCED: retiring {due - self.clock():.0f} s before the passive window ends")
            rotation.stage = DISABLE
            self._save()
        if rotation.stage == DISABLE:
            self._disable(rotation)
        if rotation.stage == REMOVE and until == REMOVE:
            self._remove(rotation)
        return self._finish()

    def auto(self, *, every_days: float = DEFAULT_ROTATION_DAYS) -> Outcome:
        """The scheduled step: whatever is due now, and nothing when nothing is (exit 0 either way)."""
        rotation = self.state.rotation
        if rotation is not None and rotation.kind == EMERGENCY and rotation.stage != DONE:
            return self.emergency(kids=None, end_sessions=True)
        if rotation is not None and rotation.stage in ROTATE_STAGES:
            return self.rotate()
        if rotation is not None and rotation.stage == WAIT and self.clock() < self._due_at(rotation):
            self.restore()
            return self._finish()
        if rotation is not None and rotation.stage in (WAIT, DISABLE, REMOVE):
            self.restore()
            return self.retire()
        self.restore()
        if self._rotation_due(every_days):
            return self.rotate()
        return self._finish()

    def emergency(self, *, kids: list[str] | None, end_sessions: bool) -> Outcome:
        """New key active at once, compromised keys out of JWKS at once, then (by default) every session ended."""
        rotation = self.state.rotation
        if rotation is None or rotation.kind != EMERGENCY or rotation.stage == DONE:
            rotation = self._start(EMERGENCY, compromised=self._compromised(kids))
        if rotation.stage == ADD:
            self._add(rotation, active=True, next_stage=REVOKE)
        if rotation.stage == REVOKE:
            self._revoke(rotation)
        if rotation.stage == SESSIONS:
            radius = self.live.blast_radius()
            rotation.blast_radius = radius.to_dict()
            if end_sessions:
                self.live.end_all_sessions()
                self._act(
                    f"ended {radius.sessions} session(s) and {radius.offline_sessions} offline session(s): "
                    f"{radius.users} user(s) must log in again"
                )
            else:
                self._act(f"--keep-sessions: {radius.sessions} session(s) of {radius.users} user(s) left running")
            self._complete(rotation)
        return self._finish()

    # Stages -------------------------------------------------------------------------------------

    def _start(self, kind: str, compromised: list[Predecessor] | None = None) -> Rotation:
        generation = self.state.next_generation
        name = component_name(self.algorithm, generation)
        if self.kms is not None:
            arn = self.kms.create(self.algorithm, f"idpkit realm {self.live.realm} {self.algorithm} key {generation}")
            key, fingerprint, where = None, self.kms.fingerprint(arn), f"created in KMS as {arn}"
        else:
            arn = None
            key = material.generate(self.algorithm, subject=f"{self.live.realm} signing key {generation}")
            fingerprint, where = key.fingerprint, f"stored in {self.store.location}"
        self.state.keys.append(KeyRecord(
            generation=generation, name=name, algorithm=self.algorithm, status=PENDING, created_at=self.clock(),
            fingerprint=fingerprint, material=key, kms_key_arn=arn,
        ))  # fmt: skip
        rotation = Rotation(kind, generation, ADD, self.clock(), predecessors=compromised)
        self.state.rotation = rotation
        # Stored before Keycloak sees it: a key that signs must always be restorable.
        self._save()
        self._act(f"generated {kind} key generation {generation} ({self.algorithm}, {fingerprint}), {where}")
        return rotation

    def _add(self, rotation: Rotation, *, active: bool, next_stage: str) -> None:
        record = self.state.key(rotation.generation)
        others = [key.priority for key in self.live.signing_keys(self.algorithm) if key.name != record.name]
        record.priority = max([PRIORITY_BASE + record.generation, *(priority + 1 for priority in others)])
        self._import(record, active=active, enabled=True)
        if active:
            self._point_alias(record)
        record.status = ACTIVE if active else PASSIVE
        rotation.published_at = self.clock()
        rotation.stage = next_stage
        self._save()
        if active:
            self._act(f"added {record.name} ACTIVE at priority {record.priority} (kid {record.kid}): it signs now")
        else:
            self._act(
                f"published {record.name} (kid {record.kid}) in JWKS; it signs from "
                f"{_timestamp(self._activation_due(rotation))} (after the {self.margin} s margin)"
            )

    def _activate(self, rotation: Rotation) -> None:
        record = self.state.key(rotation.generation)
        if self.live.set_state(record.component_id or "", active=True):
            self._act(f"{record.name} (kid {record.kid}) is now ACTIVE at priority {record.priority}: it signs")
        self._point_alias(record)
        record.status = ACTIVE
        rotation.stage = DEMOTE
        self._save()

    def _demote(self, rotation: Rotation) -> None:
        new = self.state.key(rotation.generation)
        if rotation.predecessors is None:
            unserved = self._unserved()
            rotation.predecessors = [
                self._predecessor(key) for key in self.live.all_signing_keys()
                if key.component_id != new.component_id and self._replaced(key, set(unserved))
            ]  # fmt: skip
            for algorithm, where in sorted(unserved.items()):
                self._act(
                    f"kept the {algorithm} keys Keycloak holds: the realm asks for {algorithm} ({', '.join(where)}) "
                    f"and no KMS key serves it yet (`idpkit keys rotate --algorithm {algorithm}` makes one)"
                )
            self._save()
        for predecessor in rotation.predecessors:
            if self.live.set_state(predecessor.component_id, active=False):
                self._act(f"{predecessor.name} (kid {predecessor.kid}) is now PASSIVE: verifies, never signs")
            self._mark(predecessor, PASSIVE)
        window = self.live.passive_window()
        rotation.passive_since = rotation.passive_since or self.clock()
        rotation.window_seconds = window.seconds
        rotation.stage = WAIT if rotation.predecessors else DONE
        self._save()

    def _disable(self, rotation: Rotation) -> None:
        for predecessor in rotation.predecessors or []:
            if self.live.set_state(predecessor.component_id, enabled=False):
                self._act(f"{predecessor.name} (kid {predecessor.kid}) disabled: out of JWKS, its tokens now fail")
            self._mark(predecessor, DISABLED)
        rotation.stage = REMOVE
        self._save()

    def _remove(self, rotation: Rotation) -> None:
        for predecessor in rotation.predecessors or []:
            if not predecessor.managed:
                self._remove_foreign(predecessor)
                continue
            if self.live.delete(predecessor.component_id):
                self._act(f"removed {predecessor.name} (kid {predecessor.kid}) and its private key")
            arn = self.state.key(predecessor.generation or 0).kms_key_arn
            if arn and self._kms_for(predecessor.name).schedule_deletion(arn):
                self._act(f"KMS key {arn} of {predecessor.name} scheduled for deletion")
            self._mark(predecessor, REMOVED)
        self._complete(rotation)

    def _remove_foreign(self, predecessor: Predecessor) -> None:
        """A key the kit did not create: deleted on a KMS stack (its private half is in Keycloak's database), else
        left disabled (the kit deletes only what it owns)."""
        if self.kms is None:
            self._act(f"{predecessor.name} was not created by the kit: left disabled, not deleted")
        elif self.live.delete(predecessor.component_id):
            self._act(
                f"removed {predecessor.name} (kid {predecessor.kid}), a key the kit did not create: on a KMS stack "
                "no private signing key stays in Keycloak's database"
            )

    def _revoke(self, rotation: Rotation) -> None:
        for predecessor in rotation.predecessors or []:
            if predecessor.managed:
                arn = self.state.key(predecessor.generation or 0).kms_key_arn
                # First in KMS: from this moment no node can sign with the key, whatever it has cached.
                if arn and self._kms_for(predecessor.name).disable(arn):
                    self._act(f"REVOKED in KMS: key {arn} of {predecessor.name} disabled, it signs nothing more")
                changed = self.live.delete(predecessor.component_id)
                if arn:
                    self._kms_for(predecessor.name).schedule_deletion(arn)
            else:
                changed = self.live.set_state(predecessor.component_id, enabled=False)
            if changed:
                self._act(f"REVOKED {predecessor.name} (kid {predecessor.kid}): out of JWKS, its tokens fail now")
            self._mark(predecessor, COMPROMISED)
        rotation.stage = SESSIONS
        self._save()

    def _complete(self, rotation: Rotation) -> None:
        rotation.stage = DONE
        rotation.finished_at = self.clock()
        self.state.history = [*self.state.history, _summary(rotation)][-HISTORY_LIMIT:]
        self._save()

    # Helpers ------------------------------------------------------------------------------------

    def _import(self, record: KeyRecord, *, active: bool, enabled: bool) -> None:
        """Create the component for `record` unless it exists, and check it holds the stored key."""
        if record.material is None and record.kms_key_arn is None:
            raise IdpkitError(f"{record.name}: the key store holds no material for it (status {record.status})")
        live = self.live.find(record.name)
        if live is None:
            if record.kms_key_arn:
                kms = self._kms_for(record.name)
                config = kms.component_config(
                    record.kms_key_arn, record.algorithm, priority=record.priority, active=active, enabled=enabled
                )
                self.live.create(record.name, PROVIDER_ID, config)
            else:
                assert record.material is not None  # checked above
                config = record.material.component_config(priority=record.priority, active=active, enabled=enabled)
                self.live.create(record.name, material.PROVIDER_IDS[record.algorithm], config)
            live = self.live.find(record.name)
        if live is None or live.public_key is None:
            raise IdpkitError(f"{record.name}: Keycloak did not load the imported key", hint="see the server log")
        if material.public_key_fingerprint(live.public_key) != record.fingerprint:
            raise IdpkitError(
                f"{record.name}: the live component holds a different key than the key store",
                hint="a component with the kit's name was created outside the kit; investigate",
            )
        record.kid, record.component_id = live.kid, live.component_id

    def _kms_for(self, name: str) -> KmsKeys:
        if self.kms is None:
            raise IdpkitError(
                f"{name} lives in KMS: this command needs KMS access",
                hint="pass --signing kms (the local stack: `idpkit local up --signing kms` first)",
                exit_code=ExitCode.USAGE,
            )
        return self.kms

    def _point_alias(self, record: KeyRecord) -> None:
        if record.kms_key_arn:
            alias = self._kms_for(record.name).point_alias(self.live.realm, record.algorithm, record.kms_key_arn)
            self._act(f"KMS alias {alias} now names {record.kms_key_arn}, the key that signs")

    def _replaced(self, key: LiveKey, unserved: set[str]) -> bool:
        """Whether a rotation demotes, then retires, `key`: an enabled key of the algorithm; on a KMS stack also
        every key whose private half Keycloak holds (its generated `rsa-generated`, `fallback-*`, …), in any state,
        unless it is of an algorithm the realm asks for and no KMS key serves yet (`unserved`)."""
        if self.kms is not None and key.held_by_keycloak and key.algorithm not in unserved:
            return True
        return key.enabled and key.algorithm == self.algorithm

    def _unserved(self) -> dict[str, list[str]]:
        """On a KMS stack: the algorithms the realm asks for that no KMS key (nor this rotation's) serves yet."""
        if self.kms is None:
            return {}
        served = {self.algorithm} | {
            key.algorithm for key in self.live.all_signing_keys() if key.enabled and not key.held_by_keycloak
        }
        return {alg: where for alg, where in self.live.requested_algorithms().items() if alg not in served}

    def _refuse_algorithms_kms_does_not_serve(self) -> None:
        """On a KMS stack every algorithm the realm signs with must be one KMS signs: for any other Keycloak would
        generate a `fallback-<alg>` key with its private half in its database. Checked before any write."""
        if self.kms is None:
            return
        refused = {
            alg: where for alg, where in self.live.requested_algorithms().items() if alg not in SIGNING_KEY_SPECS
        }
        if refused:
            raise IdpkitError(
                f"realm {self.live.realm} signs through KMS, which serves {' and '.join(SIGNING_KEY_SPECS)} only, "
                "but asks for "
                + "; ".join(f"{alg} ({', '.join(where)})" for alg, where in sorted(refused.items()))
                + ": Keycloak would sign those tokens with a key it generates and keeps in its database",
                hint=f"sign with {' or '.join(SIGNING_KEY_SPECS)} (realm-config); nothing was changed",
                exit_code=ExitCode.USAGE,
            )

    def _predecessor(self, key: LiveKey) -> Predecessor:
        generation = next((r.generation for r in self.state.keys if r.component_id == key.component_id), None)
        return Predecessor(key.component_id, key.name, key.kid or "", generation)

    def _mark(self, predecessor: Predecessor, status: str) -> None:
        if predecessor.generation is None:
            return
        record = self.state.key(predecessor.generation)
        record.status = status
        if status in (REMOVED, COMPROMISED):
            record.material = None

    def _compromised(self, kids: list[str] | None) -> list[Predecessor]:
        enabled = [key for key in self.live.signing_keys(self.algorithm) if key.enabled]
        if kids:
            unknown = set(kids) - {key.kid for key in enabled}
            if unknown:
                raise IdpkitError(
                    f"no enabled {self.algorithm} key with kid {', '.join(sorted(unknown))}", exit_code=ExitCode.USAGE
                )
            enabled = [key for key in enabled if key.kid in kids]
        return [self._predecessor(key) for key in enabled]

    def _activation_due(self, rotation: Rotation) -> float:
        return (rotation.published_at or self.clock()) + self.margin

    def _due_at(self, rotation: Rotation) -> float:
        window = max(rotation.window_seconds or 0, self.live.passive_window().seconds)
        return (rotation.passive_since or self.clock()) + window + self.margin

    def _rotation_due(self, every_days: float) -> bool:
        signing = next((key for key in self.live.signing_keys(self.algorithm) if key.status == "ACTIVE"), None)
        record = next((r for r in self.state.keys if signing and r.component_id == signing.component_id), None)
        if record is None:
            return True  # nothing signs, or a key the kit cannot restore signs: adopt
        return self.clock() - record.created_at >= every_days * 86_400

    def _algorithm(self, requested: str | None) -> str:
        rotation = self.state.rotation
        if rotation is not None and rotation.stage != DONE:
            return self.state.key(rotation.generation).algorithm
        algorithm = requested or self.live.representation().get("defaultSignatureAlgorithm") or "RS256"
        if algorithm not in material.ALGORITHMS:
            raise IdpkitError(
                f"realm {self.live.realm} signs with {algorithm}; the kit rotates PS256 or ES256 keys",
                hint="set the realm's defaultSignatureAlgorithm (realm-config) or pass --algorithm",
                exit_code=ExitCode.USAGE,
            )
        return algorithm

    def _act(self, message: str) -> None:
        self.outcome.actions.append(message)

    def _save(self) -> None:
        self.store.save(self.state)

    def _finish(self) -> Outcome:
        outcome = self.outcome
        live = self.live.all_signing_keys()
        records = {record.component_id: record for record in self.state.keys if record.component_id}
        outcome.keys = [
            key.to_dict() | {"generation": record.generation if (record := records.get(key.component_id)) else None}
            for key in live
        ]
        rotation = self.state.rotation
        outcome.rotation = _rotation_view(rotation) if rotation else None
        if rotation is not None and rotation.stage == ACTIVATE:
            due = self._activation_due(rotation)
            outcome.rotation = (outcome.rotation or {}) | {
                "activate_due_at": _timestamp(due), "activate_due_in_seconds": max(0, round(due - self.clock())),
            }  # fmt: skip
        if rotation is not None and rotation.stage == WAIT:
            window = self.live.passive_window()
            due = self._due_at(rotation)
            outcome.rotation = (outcome.rotation or {}) | {
                "window": window.to_dict(), "margin_seconds": self.margin, "retire_due_at": _timestamp(due),
                "retire_due_in_seconds": max(0, round(due - self.clock())),
            }  # fmt: skip
        outcome.held_by_keycloak = [f"{key.name} ({key.provider_id})" for key in live if key.held_by_keycloak]
        outcome.next_step = _next_step(rotation)
        outcome.writes = self.live.writes.total
        return outcome


def _rotation_view(rotation: Rotation) -> dict[str, Any]:
    return {
        "kind": rotation.kind, "generation": rotation.generation, "stage": rotation.stage,
        "started_at": _timestamp(rotation.started_at),
        "passive_since": _timestamp(rotation.passive_since) if rotation.passive_since else None,
        "finished_at": _timestamp(rotation.finished_at) if rotation.finished_at else None,
        "predecessors": [{"name": p.name, "kid": p.kid, "managed": p.managed} for p in rotation.predecessors or []],
        "blast_radius": rotation.blast_radius,
    }  # fmt: skip


def _summary(rotation: Rotation) -> dict[str, Any]:
    return {
        "kind": rotation.kind,
        "generation": rotation.generation,
        "started_at": _timestamp(rotation.started_at),
        "finished_at": _timestamp(rotation.finished_at or 0),
        "replaced": [p.kid for p in rotation.predecessors or []],
        "blast_radius": rotation.blast_radius,
    }


def _next_step(rotation: Rotation | None) -> str | None:
    if rotation is None or rotation.stage == DONE:
        return None
    if rotation.kind == EMERGENCY:
        return "idpkit keys emergency-rotate (resume)"
    if rotation.stage == ACTIVATE:
        return "idpkit keys rotate (after the margin: activates the published key)"
    if rotation.stage in ROTATE_STAGES:
        return "idpkit keys rotate (resume)"
    return "idpkit keys retire" + (" (after the passive window)" if rotation.stage == WAIT else " (resume)")


def _timestamp(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))
