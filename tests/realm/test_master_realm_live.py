"""Against the real local stack: the master realm's settings are planned, applied once, and weakening is drift
that only a master administrator (`realm apply --break-glass`) may repair: the kit's own account is refused it
before any write."""

from __future__ import annotations

import json
from typing import Any

import pytest

from idpkit.keycloak_admin import AdminApi, urls
from idpkit.outputs import StackOutputs
from idpkit.realm import engine, loader, master_realm
from idpkit.realm.diff import compare
from idpkit.realm.kinds.realm import carried
from idpkit.smoke.mutants import MASTER_REALM_WEAKENINGS, WEAKENINGS
from tests.realm.helpers import run_realm

pytestmark = pytest.mark.local_stack

CODIFIED = master_realm.settings(loader.load("local"))


@pytest.fixture(scope="module")
def master(live_stack: StackOutputs) -> AdminApi:
    completed = run_realm("apply", "--stack", "local", "--json")
    assert completed.returncode == 0, f"realm apply failed: {completed.stderr}"
    return engine.Session.open(live_stack, break_glass=True).master


def _weaker(field: str) -> Any:
    weaken = MASTER_REALM_WEAKENINGS.get(field) or WEAKENINGS[f"realm.{field}"]
    return next(weaken(CODIFIED[field]))


def _run(command: str) -> tuple[int, dict[str, Any]]:
    completed = run_realm(command, "--stack", "local", "--json")
    assert completed.returncode in (0, 2), f"realm {command} failed: {completed.stderr}"
    return completed.returncode, json.loads(completed.stdout)


def test_master_realm_holds_its_codified_settings_and_reapply_writes_nothing(master: AdminApi) -> None:
    live = master.get(master.path(urls.REALM))
    differing = {field: live.get(field) for field, value in CODIFIED.items() if compare({field: value}, live)}
    assert not differing, f"realm master after apply: {differing} differ from {master_realm.SOURCE}"
    writes = _run("apply")[1]["writes"]
    assert writes["total"] == 0, f"realm master: a second apply made writes {writes}"


@pytest.mark.parametrize("field", sorted(CODIFIED))
def test_weakened_master_setting_is_drift_and_apply_restores_it(master: AdminApi, field: str) -> None:
    live = master.get(master.path(urls.REALM))
    master.put(master.path(urls.REALM), carried(live, {field: _weaker(field)}))
    try:
        code, drift = _run("drift")
        fields = {(c["kind"], c["name"], f["field"]) for c in drift["changes"] for f in c["fields"]}
        assert code == 2, f"realm master: {field} weakened by hand, but drift exits {code}"
        assert fields == {(master_realm.KIND, "master", field)}, f"realm master: {field} weakened; drift shows {fields}"
        refused = run_realm("apply", "--stack", "local")
        assert refused.returncode == 1 and "--break-glass" in refused.stderr, (
            f"realm master: the kit's account applied master's {field} (exit {refused.returncode}); only a master "
            "administrator may"
        )
        assert _run("drift")[0] == 2, f"realm master: the refused apply wrote {field} anyway"
    finally:
        assert run_realm("apply", "--stack", "local", "--break-glass").returncode == 0
    assert _run("drift")[0] == 0, f"realm master: apply --break-glass did not restore {field}"
