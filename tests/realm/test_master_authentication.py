"""Master's codified sign-in: the analysis REALM-MFA-001 applies to the PHI realm's files holds for master's browser
flow, the direct-grant flow's only exemption is the break-glass role, and master's settings bind both flows."""

from __future__ import annotations

import pytest

from idpkit.realm import loader, master_authentication, master_realm
from idpkit.realm.rules.authentication import SECOND_FACTORS, _password_without_second_factor

FLOWS = {flow.alias: flow for flow in master_authentication.FLOWS}


def test_every_password_step_of_the_console_login_is_followed_by_a_required_second_factor() -> None:
    found = list(_password_without_second_factor(master_authentication.BROWSER_FLOW, FLOWS))
    assert not found, f"{master_authentication.SOURCE}: master's browser flow lets a password alone sign in: {found}"


def test_the_command_line_login_spares_only_the_break_glass_role_the_code() -> None:
    top = FLOWS[master_authentication.DIRECT_GRANT_FLOW]
    conditional = [e for e in top.executions if e.requirement == "CONDITIONAL"]
    assert len(conditional) == 1 and conditional[0].flow in FLOWS, "one conditional sub-flow holds the code step"
    steps = FLOWS[conditional[0].flow or ""].executions
    conditions = [e for e in steps if (e.authenticator or "").startswith("conditional-")]
    assert [(e.authenticator, e.config) for e in conditions] == [
        ("conditional-user-role", {"condUserRole": master_authentication.BREAK_GLASS_ROLE, "negate": "true"})
    ], f"{master_authentication.SOURCE}: the code is skipped on another condition than the break-glass role"
    assert [e.authenticator for e in steps if e not in conditions] == ["direct-grant-validate-otp"]
    assert all(e.requirement == "REQUIRED" for e in steps), "a step of the code sub-flow is not REQUIRED"


def test_every_master_flow_step_is_enabled_and_second_factors_are_one_time_codes() -> None:
    disabled = [(alias, e) for alias, flow in FLOWS.items() for e in flow.executions if e.requirement == "DISABLED"]
    assert not disabled, f"{master_authentication.SOURCE}: disabled steps {disabled}"
    factors = {e.authenticator for flow in FLOWS.values() for e in flow.executions} & SECOND_FACTORS
    assert factors == {"auth-otp-form"}, "master's people enrol and give TOTP (the PHI realm's OTP policy)"


@pytest.mark.parametrize("environment", loader.ENVIRONMENTS)
def test_master_settings_bind_the_codified_flows(environment: str) -> None:
    settings = master_realm.settings(loader.load(environment))
    bound = {name: settings.get(name) for name in master_authentication.BINDINGS}
    assert bound == master_authentication.BINDINGS, f"{environment}: master binds {bound}"
    assert all(FLOWS[alias].top_level for alias in bound.values()), "a binding names a sub-flow"
