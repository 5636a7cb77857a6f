"""Against the real local stack, one case per secure-defaults catalogue entry: a hand-made weakening of a
field the files leave out is drift (exit 2), apply restores it, and a second apply makes no write."""

from __future__ import annotations

import json
from typing import Any

import pytest

from idpkit.outputs import StackOutputs
from idpkit.realm import engine, loader, weakenings
from idpkit.realm.secure_defaults import CATALOGUE, SecureDefault
from tests.realm.helpers import run_realm

pytestmark = pytest.mark.local_stack
ENVIRONMENT = STACK = "local"


def _entries() -> list[Any]:
    return [pytest.param(entry, id=f"{entry.kind}.{entry.field}") for entry in CATALOGUE]


def _drifted_fields(drift: dict[str, Any], kind: str, name: str) -> list[str]:
    return [f["field"] for c in drift["changes"] if (c["kind"], c["name"]) == (kind, name) for f in c["fields"]]


def _names(entry: SecureDefault, field: str) -> bool:
    return field == entry.field or field.startswith(f"{entry.field}[")


@pytest.mark.parametrize("entry", _entries())
def test_hand_made_weakening_is_drift_and_apply_restores_it(applied_realm: StackOutputs, entry: SecureDefault) -> None:
    session = engine.Session.open(applied_realm)
    assert not engine.plan(session, ENVIRONMENT, STACK).changes, "the realm must start in sync"
    name = weakenings.target(entry, loader.load(ENVIRONMENT).document)
    try:
        weakenings.lift_guard(session.realm, entry)
        weakenings.weaken(session.realm, entry, name)
        drift = run_realm("drift", "--stack", STACK, "--json")
        assert drift.returncode == 2, (
            f"{entry.kind} {name}: drift exited {drift.returncode} after {entry.field} was set to "
            f"{entry.weaker_value!r} by hand: {drift.stderr}"
        )
        fields = _drifted_fields(json.loads(drift.stdout), entry.kind, name)
        assert any(_names(entry, field) for field in fields), (
            f"{entry.kind} {name}: drift misses {entry.field} (set to {entry.weaker_value!r}); it shows {fields}"
        )
    finally:
        restored = engine.apply(engine.Session.open(applied_realm), ENVIRONMENT, STACK)
    assert restored.writes.total > 0, f"{entry.kind} {name}: apply did not revert {entry.field}"
    again = engine.apply(engine.Session.open(applied_realm), ENVIRONMENT, STACK)
    assert again.writes.total == 0, (
        f"{entry.kind} {name}: after restoring {entry.field}, a second apply made writes "
        f"{[c.to_dict() for c in again.changes]}"
    )
