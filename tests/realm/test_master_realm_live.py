"""Against the real local stack: the master realm's settings and sign-in flows are planned, applied once, and
weakening is drift that only a master administrator (`realm apply --break-glass`) may repair: the kit's own account
is refused it before any write."""

from __future__ import annotations

import json
from typing import Any

import pytest

from idpkit.keycloak_admin import AdminApi, urls
from idpkit.outputs import StackOutputs, load_break_glass_credentials
from idpkit.realm import engine, loader, master_authentication, master_realm
from idpkit.realm.diff import compare
from idpkit.realm.kinds.realm import carried
from idpkit.smoke.mutants import master_weakening
from tests.realm.helpers import run_realm

pytestmark = pytest.mark.local_stack

CODIFIED = master_realm.settings(loader.load("local"))


@pytest.fixture(scope="module")
def master(live_stack: StackOutputs) -> AdminApi:
    completed = run_realm("apply", "--stack", "local", "--json")
    assert completed.returncode == 0, f"realm apply failed: {completed.stderr}"
    return engine.Session.open(live_stack, break_glass=True).master


WEAKENABLE = sorted(field for field in CODIFIED if master_weakening(field) is not None)


def _weaker(field: str) -> Any:
    weaken = master_weakening(field)
    assert weaken is not None, f"master.{field}: no weakening"
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


@pytest.mark.parametrize("field", WEAKENABLE)
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


def test_break_glass_account_holds_the_role_that_spares_it_the_code(master: AdminApi, live_stack: StackOutputs) -> None:
    username = load_break_glass_credentials(live_stack).username
    user = master.get(master.path(urls.USERS), username=username, exact="true")[0]
    held = {role["name"] for role in master.get(master.path(urls.USER_REALM_ROLES, id=user["id"]))}
    assert master_authentication.BREAK_GLASS_ROLE in held, (
        f"realm master: the break-glass account {username} lacks {master_authentication.BREAK_GLASS_ROLE}"
    )


@pytest.mark.parametrize("flow", [flow.alias for flow in master_authentication.FLOWS])
def test_master_flow_step_disabled_by_hand_is_drift_and_apply_restores_it(master: AdminApi, flow: str) -> None:
    executions = master.get(master.path(urls.FLOW_EXECUTIONS, alias=flow))
    last = next(e for e in reversed(executions) if e["level"] == 0)
    owner = next(f.alias for f in master_authentication.FLOWS if f.top_level and _contains(f.alias, flow))
    master.put(master.path(urls.FLOW_EXECUTIONS, alias=flow), {**last, "requirement": "DISABLED"})
    try:
        code, drift = _run("drift")
        names = {(c["kind"], c["name"]) for c in drift["changes"]}
        assert code == 2 and names == {(master_authentication.FLOW_KIND, f"master/{owner}")}, (
            f"realm master: {flow}'s last step disabled by hand; drift exits {code} showing {names}"
        )
        refused = run_realm("apply", "--stack", "local")
        assert refused.returncode == 1 and "--break-glass" in refused.stderr, (
            f"realm master: the kit's account repaired flow {owner} (exit {refused.returncode}); only a master "
            "administrator may"
        )
    finally:
        assert run_realm("apply", "--stack", "local", "--break-glass").returncode == 0
    assert _run("drift")[0] == 0, f"realm master: apply --break-glass did not restore flow {owner}"


def _contains(top: str, flow: str) -> bool:
    """Whether `flow` is `top` or one of its sub-flows."""
    flows = {f.alias: f for f in master_authentication.FLOWS}
    return top == flow or any(_contains(e.flow, flow) for e in flows[top].executions if e.flow is not None)
