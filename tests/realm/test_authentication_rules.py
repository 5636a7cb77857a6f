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


def _enrolment(
    *,
    known_branch: str = "CONDITIONAL",
    enrol_branch: str = "CONDITIONAL",
    known_condition: str = "REQUIRED",
    enrol_condition: str = "REQUIRED",
    checked: str = "known",
) -> list[dict[str, Any]]:
    """The shipped shape: a factor the person has, or enrolment of one when that branch did not run."""
    executed = {"authenticator": "conditional-sub-flow-executed", "requirement": enrol_condition,
                "config": {"flow_to_check": checked, "check_result": "not-executed"}}  # fmt: skip
    return [
        {"alias": "login", "executions": [PASSWORD, {"flow": "factor", "requirement": "REQUIRED"}]},
        {
            "alias": "factor",
            "topLevel": False,
            "executions": [
                {"flow": "known", "requirement": known_branch},
                {"flow": "enrol", "requirement": enrol_branch},
            ],
        },
        {"alias": "known", "topLevel": False, "executions": [{**CONFIGURED, "requirement": known_condition}, OTP]},
        {"alias": "enrol", "topLevel": False, "executions": [executed, OTP]},
    ]


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
    # A person without a factor configured runs no branch: the password alone finishes the login.
    "only the branch for people with a factor": _flows(
        {"alias": "login", "executions": [PASSWORD, {"flow": "factor", "requirement": "REQUIRED"}]},
        {"alias": "factor", "topLevel": False, "executions": [{"flow": "otp", "requirement": "CONDITIONAL"}]},
        {"alias": "otp", "topLevel": False, "executions": [CONFIGURED, OTP]},
    ),
    "the enrolment branch switched off": _flows(*_enrolment(enrol_branch="DISABLED")),
    "the enrolment branch's condition switched off": _flows(*_enrolment(enrol_condition="DISABLED")),
    "the enrolment branch conditioned on another flow": _flows(*_enrolment(checked="login")),
}
STRICTER_FLOWS = {
    # The known-factor branch never runs, so the enrolment branch always does: everyone gives a one-time code.
    "the known-factor branch switched off": _flows(*_enrolment(known_branch="DISABLED")),
    "the known-factor branch's condition switched off": _flows(*_enrolment(known_condition="DISABLED")),
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


@pytest.mark.parametrize("shape", ["the shipped enrolment", *sorted(STRICTER_FLOWS)])
def test_flow_where_a_factor_or_its_enrolment_always_runs_passes(shape: str) -> None:
    flows = _flows(*_enrolment()) if shape == "the shipped enrolment" else STRICTER_FLOWS[shape]
    findings = list(_mfa(_with_flows(flows)))
    assert not findings, f"REALM-MFA-001 refuses a browser flow with {shape}: {findings}"


def test_browser_flow_bound_to_an_undeclared_flow_is_refused() -> None:
    findings = list(_mfa(_with_flows(WEAK_FLOWS["password only"], bound="browser")))
    assert ("realm.browserFlow", "is 'browser'; must name a top-level flow declared in authenticationFlows") in (
        findings
    ), f"REALM-MFA-001 accepts the built-in browser flow: {findings}"
