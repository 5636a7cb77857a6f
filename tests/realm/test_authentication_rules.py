"""REALM-MFA-001 on browser flows that let a password finish a login, one shape per case (offline)."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from idpkit.realm import loader
from idpkit.realm.model import AuthenticationFlow, RealmDocument
from idpkit.realm.rules.authentication import _mfa

PASSWORD = {"authenticator": "auth-username-password-form", "requirement": "REQUIRED"}
OTP = {"authenticator": "auth-otp-form", "requirement": "REQUIRED"}
CONFIGURED = {"authenticator": "conditional-user-configured", "requirement": "REQUIRED"}


def _flows(*flows: dict[str, Any]) -> list[AuthenticationFlow]:
    return [AuthenticationFlow.model_validate(flow) for flow in flows]


WEAK_FLOWS = {
    "password only": _flows({"alias": "login", "executions": [PASSWORD]}),
    "second factor before the password": _flows({"alias": "login", "executions": [OTP, PASSWORD]}),
    "second factor only an alternative": _flows(
        {
            "alias": "login",
            "executions": [{**PASSWORD, "requirement": "ALTERNATIVE"}, {**OTP, "requirement": "ALTERNATIVE"}],
        }
    ),
    "second factor disabled": _flows({"alias": "login", "executions": [PASSWORD, {**OTP, "requirement": "DISABLED"}]}),
    "second factor in a branch without a condition": _flows(
        {"alias": "login", "executions": [PASSWORD, {"flow": "factor", "requirement": "REQUIRED"}]},
        {"alias": "factor", "topLevel": False, "executions": [{"flow": "otp", "requirement": "CONDITIONAL"}]},
        {"alias": "otp", "topLevel": False, "executions": [OTP]},
    ),
    "a branch that takes no second factor": _flows(
        {"alias": "login", "executions": [PASSWORD, {"flow": "factor", "requirement": "REQUIRED"}]},
        {
            "alias": "factor",
            "topLevel": False,
            "executions": [
                {"flow": "otp", "requirement": "CONDITIONAL"},
                {"flow": "none", "requirement": "CONDITIONAL"},
            ],
        },
        {"alias": "otp", "topLevel": False, "executions": [CONFIGURED, OTP]},
        {
            "alias": "none",
            "topLevel": False,
            "executions": [CONFIGURED, {"authenticator": "auth-cookie", "requirement": "REQUIRED"}],
        },
    ),
}


def _with_flows(flows: list[AuthenticationFlow], bound: str = "login") -> loader.LoadedConfig:
    shipped = loader.load("prod")
    document: RealmDocument = shipped.document.model_copy(deep=True)
    assert document.realm is not None, "prod realm-config has no realm settings"
    document.realm.browser_flow = bound
    document.authentication_flows = flows
    return dataclasses.replace(shipped, document=document)


def test_shipped_browser_flow_passes() -> None:
    assert not list(_mfa(loader.load("prod"))), "realm-config's own browser flow is refused by REALM-MFA-001"


@pytest.mark.parametrize("shape", sorted(WEAK_FLOWS))
def test_flow_letting_a_password_finish_a_login_is_refused(shape: str) -> None:
    findings = list(_mfa(_with_flows(WEAK_FLOWS[shape])))
    assert findings, f"REALM-MFA-001 accepts a browser flow with {shape}"


def test_browser_flow_bound_to_an_undeclared_flow_is_refused() -> None:
    findings = list(_mfa(_with_flows(WEAK_FLOWS["password only"], bound="browser")))
    assert ("realm.browserFlow", "is 'browser'; must name a top-level flow declared in authenticationFlows") in (
        findings
    ), f"REALM-MFA-001 accepts the built-in browser flow: {findings}"
