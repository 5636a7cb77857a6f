"""Live settings read and write what they name. A mutant kept in a realm attribute (a SMART field, an acr's level)
changes that attribute and no other: Keycloak replaces a realm's attributes with those an update names, so a write
that named only its own would also remove the acr map or the SMART document, and mutants would be killed by that
side effect instead of their own weakening. Every step and option of the realm's flows reads back as codified."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from idpkit.keycloak_admin import urls
from idpkit.outputs import StackOutputs
from idpkit.realm import engine, loader
from idpkit.smoke import codified, live, mutations
from idpkit.smoke.mutants import Mutant, mutants

pytestmark = pytest.mark.local_stack

ATTRIBUTE_SETTINGS = (live.SmartSetting, live.AcrLevel)


def _attribute_mutants() -> list[Any]:
    return [
        pytest.param(m, id=m.name)
        for m in mutants()
        if m.held is None and isinstance(live.setting(m.setting), ATTRIBUTE_SETTINGS)
    ]


def _attributes(session: engine.Session) -> dict[str, str]:
    found: dict[str, str] = session.realm.get(session.realm.path(urls.REALM)).get("attributes") or {}
    return found


@pytest.mark.parametrize("mutant", _attribute_mutants())
def test_a_realm_attribute_mutant_changes_only_its_attribute(
    mutant: Mutant, applied_realm: StackOutputs, tmp_path: Path
) -> None:
    session = engine.Session.open(applied_realm)
    before = _attributes(session)
    mutations._weaken(session, mutant, tmp_path)
    try:
        after = _attributes(session)
        changed = sorted(name for name in before.keys() | after.keys() if before.get(name) != after.get(name))
        assert len(changed) == 1, f"{mutant.name}: changed the realm attributes {changed}, not one"
        assert live.setting(mutant.setting).read(session) == mutant.weakened, f"{mutant.name}: not written"
    finally:
        mutations.recover(session, tmp_path)
        mutations.restore(session, "local")


def _flow_settings() -> list[Any]:
    found = codified.settings(loader.load("local"))
    return [
        pytest.param(path, value, id=path) for path, value in found.items() if path.startswith("authenticationFlows")
    ]


@pytest.mark.parametrize(("path", "value"), _flow_settings())
def test_a_flow_setting_reads_back_as_codified(path: str, value: Any, applied_realm: StackOutputs) -> None:
    session = engine.Session.open(applied_realm)
    assert live.setting(path).read(session) == value, f"{path}: the live flow does not read back {value!r}"
