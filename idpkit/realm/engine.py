"""plan / apply / drift: validate, read live state, compute changes, write in dependency order.

Re-running apply after success makes no write call; after an interruption it converges, because
every change is computed from live state and every write is idempotent at the object level.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from idpkit.errors import IdpkitError
from idpkit.outputs import StackOutputs, load_admin_credentials
from idpkit.realm import loader, rules, urls
from idpkit.realm.api import ADMIN_REALM, AdminApi, ApiError, WriteCounter, connect
from idpkit.realm.bootstrap import bootstrap_change
from idpkit.realm.resources import KINDS, Change, Context
from idpkit.realm.secrets import SecretStore

_NOT_FOUND = 404


@dataclass
class Plan:
    """Changes in apply order, plus what reports show alongside them."""

    realm: str
    environment: str
    changes: list[Change]
    unmanaged: list[str]
    waivers: list[rules.Waiver]
    writes: WriteCounter = field(default_factory=WriteCounter)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "realm": self.realm,
            "environment": self.environment,
            "in_sync": not self.changes,
            "changes": [change.to_dict() for change in self.changes],
            "unmanaged": self.unmanaged,
            "exceptions": [
                {
                    "rule": w.finding.rule.id,
                    "path": w.finding.path,
                    "finding": w.finding.message,
                    "owner": w.exception.owner,
                    "reason": w.exception.reason,
                    "expires": str(w.exception.expires),
                }
                for w in self.waivers
            ],
            "writes": {
                "post": self.writes.post,
                "put": self.writes.put,
                "delete": self.writes.delete,
                "total": self.writes.total,
            },
            "seconds": round(self.seconds, 3),
        }


def validate(environment: str) -> tuple[loader.LoadedConfig, list[rules.Waiver]]:
    """Schema and security rules; raises ConfigError before anything touches Keycloak."""
    loaded = loader.load(environment)
    return loaded, rules.evaluate(loaded)


@dataclass
class Session:
    """Admin API access for one stack: `master` (bootstrap) and the managed realm, sharing a counter."""

    outputs: StackOutputs
    master: AdminApi
    realm: AdminApi

    @classmethod
    def open(cls, outputs: StackOutputs) -> Session:
        connection = connect(outputs, load_admin_credentials(outputs))
        master, realm = AdminApi(connection, ADMIN_REALM), AdminApi(connection, outputs.realm)
        realm.writes = master.writes
        return cls(outputs, master, realm)

    def relogin(self) -> None:
        connection = connect(self.outputs, load_admin_credentials(self.outputs))
        self.master.connection = self.realm.connection = connection


def plan(
    session: Session,
    environment: str,
    stack: str,
    *,
    prune: bool = False,
    generate: bool = False,
) -> Plan:
    started = time.monotonic()
    loaded, waivers = validate(environment)
    document = loaded.document
    declared = document.realm.realm if document.realm else None
    if declared != session.outputs.realm:
        raise IdpkitError(f"stack {stack!r} serves realm {session.outputs.realm!r} but the files declare {declared!r}")
    ctx = Context(document, session.realm, SecretStore.open(stack, generate=generate), prune)
    ctx.realm_exists = _realm_exists(session.realm)
    changes: list[Change] = []
    admin = bootstrap_change(session.master, session.outputs, load_admin_credentials(session.outputs))
    if admin:
        changes.append(admin)
    for _kind, planner in KINDS:
        changes.extend(planner(ctx))
    result = Plan(session.outputs.realm, environment, changes, ctx.unmanaged, waivers, session.realm.writes)
    result.seconds = time.monotonic() - started
    return result


def apply(session: Session, environment: str, stack: str, *, prune: bool = False) -> Plan:
    """Apply every pending change; returns the changes applied, with the write count."""
    started = time.monotonic()
    applied: list[Change] = []
    replan = True
    while replan:
        pending = plan(session, environment, stack, prune=prune, generate=True)
        replan = False
        for change in pending.changes:
            change.apply()
            applied.append(change)
            if change.kind == "adminClient":
                session.relogin()
            # A new realm comes with built-in scopes, roles and clients: plan the rest against them.
            if change.kind == "realm" and change.action == "create":
                replan = True
                break
    pending.changes = applied
    pending.seconds = time.monotonic() - started
    return pending


def _realm_exists(api: AdminApi) -> bool:
    try:
        api.get(api.path(urls.REALM))
    except ApiError as error:
        if error.status == _NOT_FOUND:
            return False
        raise
    return True
