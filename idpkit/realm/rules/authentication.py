"""Authentication of people: a second factor after every password, enrolment of one, the one-time code policy."""

from __future__ import annotations

from collections.abc import Iterator

from idpkit.compliance import RuleMetadata, Severity
from idpkit.realm.located import LoadedConfig, item_path
from idpkit.realm.model import AuthenticationExecution, AuthenticationFlow
from idpkit.realm.rules.common import realm_field, realm_settings
from idpkit.realm.rules.registry import rule

PASSWORD_AUTHENTICATORS = frozenset(
    {"auth-username-password-form", "auth-password-form", "direct-grant-validate-password"}
)
SECOND_FACTORS = frozenset({
    "auth-otp-form", "webauthn-authenticator", "webauthn-authenticator-passwordless", "direct-grant-validate-otp"
})  # fmt: skip
ENROLMENT_ACTIONS = {
    "auth-otp-form": "CONFIGURE_TOTP",
    "webauthn-authenticator": "webauthn-register",
    "webauthn-authenticator-passwordless": "webauthn-register-passwordless",
}
"""The required action in which a person enrols each second factor themselves."""
MAX_OTP_PERIOD, MIN_OTP_DIGITS, MAX_OTP_LOOK_AHEAD = 30, 6, 1
SSO_COOKIE = "auth-cookie"
CONDITION_PREFIX = "conditional-"
"""Provider ids of conditions: they decide whether a CONDITIONAL sub-flow runs, they authenticate nobody."""


LEVEL_CONDITION = "conditional-level-of-authentication"
SUB_FLOW_CONDITION = "conditional-sub-flow-executed"


def _conditions(flow: AuthenticationFlow) -> list[AuthenticationExecution]:
    """The flow's enabled conditions: a CONDITIONAL sub-flow without one never runs (Keycloak skips it)."""
    return [
        e
        for e in flow.executions
        if (e.authenticator or "").startswith(CONDITION_PREFIX) and e.requirement != "DISABLED"
    ]


def _one_always_runs(
    running: list[AuthenticationExecution], siblings: set[str], flows: dict[str, AuthenticationFlow]
) -> bool:
    """Whether one of a flow's CONDITIONAL branches that can run runs for every login: the levels of authentication
    (a login runs the level it asks for), or a branch that runs whenever a sibling branch did not
    (`conditional-sub-flow-executed` on it, `not-executed`; a sibling that never runs leaves it running always): a
    person with no factor enrols one."""
    for branch in running:
        for condition in _conditions(flows[branch.flow or ""]):
            config = condition.config or {}
            if condition.authenticator == LEVEL_CONDITION:
                return True
            if (
                condition.authenticator == SUB_FLOW_CONDITION
                and config.get("check_result") == "not-executed"
                and config.get("flow_to_check") in siblings
            ):
                return True
    return False


def requires(execution: AuthenticationExecution, flows: dict[str, AuthenticationFlow], wanted: frozenset[str]) -> bool:
    """Whether passing this step takes one of the `wanted` authenticators: such an authenticator, or a sub-flow
    that takes one however it is passed (`flow_requires`)."""
    if execution.authenticator is not None:
        return execution.authenticator in wanted
    return flow_requires(execution.flow or "", flows, wanted)


def flow_requires(
    alias: str, flows: dict[str, AuthenticationFlow], wanted: frozenset[str], *, resuming: bool = False
) -> bool:
    """Whether every way through flow `alias` passes one of the `wanted` authenticators, as Keycloak runs a flow:
    its REQUIRED steps always run; its ALTERNATIVE steps only when no step is REQUIRED or CONDITIONAL, and then one
    of them must pass; a condition decides whether its CONDITIONAL sub-flow runs (none enabled: it never does). A
    flow made only of CONDITIONAL branches counts when each branch that can run does and one of them always runs
    (`_one_always_runs`; SMOKE-MFA-001 shows it). `resuming`: the flow is the one a session's logins pass, so its own
    SSO cookie step (which resumes such a session) is left out; a cookie anywhere else passes a step without what it
    demands."""
    flow = flows.get(alias)
    if flow is None:
        return False
    steps = [
        e for e in flow.executions
        if e.requirement != "DISABLED" and not (e.authenticator or "").startswith(CONDITION_PREFIX)
        and not (resuming and e.authenticator == SSO_COOKIE)
    ]  # fmt: skip
    mandatory = [e for e in steps if e.requirement == "REQUIRED"]
    if mandatory:
        return any(requires(e, flows, wanted) for e in mandatory)
    branches = [e for e in steps if e.requirement == "CONDITIONAL"]
    if branches:
        running = [e for e in branches if e.flow in flows and _conditions(flows[e.flow])]
        siblings = {e.flow for e in flow.executions if e.flow}  # a disabled one too: it never runs
        return _one_always_runs(running, siblings, flows) and all(requires(e, flows, wanted) for e in running)
    return bool(steps) and all(requires(e, flows, wanted) for e in steps)


def _second_factor(execution: AuthenticationExecution, flows: dict[str, AuthenticationFlow]) -> bool:
    """A REQUIRED step that only a second factor passes."""
    return execution.requirement == "REQUIRED" and requires(execution, flows, SECOND_FACTORS)


def passwords_without_second_factor(alias: str, flows: dict[str, AuthenticationFlow]) -> Iterator[tuple[str, str]]:
    """Every enabled password step of `alias` and its sub-flows with no REQUIRED second factor after it."""
    flow = flows[alias]
    for position, execution in enumerate(flow.executions):
        path = f"{item_path('authenticationFlows', alias)}.executions[{position}]"
        if execution.requirement == "DISABLED":
            continue
        if execution.authenticator in PASSWORD_AUTHENTICATORS and not any(
            _second_factor(later, flows) for later in flow.executions[position + 1 :]
        ):
            yield path, f"{execution.authenticator} has no REQUIRED second factor after it in {alias}"
        if execution.flow in flows:
            yield from passwords_without_second_factor(execution.flow, flows)


@rule(
    RuleMetadata(
        id="REALM-MFA-001",
        title="Browser logins are bound to a declared flow in which every password step is followed by a "
        "required second factor",
        requirements=("HIPAA-164.312(d)", "NIST-800-63B-4.2.1"),
        severity=Severity.CRITICAL,
        risk="A phished or guessed password alone opens a session with access to PHI.",
        remediation="Set realm.browserFlow to a flow of authenticationFlows (realm-config/base/authentication.yaml) "
        "where a REQUIRED auth-otp-form / webauthn-authenticator step (or a sub-flow of them) follows every "
        "password form.",
    )
)
def _mfa(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    flows = {flow.alias: flow for flow in loaded.document.authentication_flows or []}
    bound = realm_settings(loaded).get("browserFlow")
    if bound not in flows or not flows[bound].top_level:
        yield "realm.browserFlow", f"is {bound!r}; must name a top-level flow declared in authenticationFlows"
        return
    yield from passwords_without_second_factor(bound, flows)


@rule(
    RuleMetadata(
        id="REALM-MFA-002",
        title="Every second factor the flows offer can be enrolled by the person on first login (a required action)",
        requirements=("HIPAA-164.312(d)", "NIST-800-63B-6.1"),
        severity=Severity.HIGH,
        risk="Without self-enrolment, people are provisioned without a second factor, or administrators set "
        "factors on their behalf and know their secrets.",
        remediation="Declare requiredActions CONFIGURE_TOTP (auth-otp-form) and webauthn-register "
        "(webauthn-authenticator) with enabled: true.",
    )
)
def _enrolment(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    enabled = {a.alias for a in loaded.document.required_actions or [] if a.enabled}
    offered = sorted({
        e.authenticator for flow in loaded.document.authentication_flows or [] for e in flow.executions
        if e.authenticator in ENROLMENT_ACTIONS and e.requirement != "DISABLED"
    })  # fmt: skip
    for authenticator in offered:
        if ENROLMENT_ACTIONS[authenticator] not in enabled:
            yield (item_path("requiredActions", ENROLMENT_ACTIONS[authenticator]),
                   f"must be declared with enabled: true: flows offer {authenticator}")  # fmt: skip


@rule(
    RuleMetadata(
        id="REALM-OTP-001",
        title=f"One-time codes: TOTP, >= {MIN_OTP_DIGITS} digits, a period <= {MAX_OTP_PERIOD} s, a look-ahead "
        f"window <= {MAX_OTP_LOOK_AHEAD}",
        requirements=("HIPAA-164.312(d)", "NIST-800-63B-5.1.4.2"),
        severity=Severity.HIGH,
        risk="Long-lived, short or widely accepted codes can be guessed or replayed from an observed one.",
        remediation=f"realm.otpPolicyType: totp, otpPolicyDigits >= {MIN_OTP_DIGITS}, otpPolicyPeriod <= "
        f"{MAX_OTP_PERIOD}, otpPolicyLookAheadWindow <= {MAX_OTP_LOOK_AHEAD}.",
    )
)
def _otp_policy(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    yield from realm_field(loaded, "otpPolicyType", lambda v: v == "totp", "totp")
    yield from realm_field(loaded, "otpPolicyDigits", lambda v: v >= MIN_OTP_DIGITS, f">= {MIN_OTP_DIGITS}")
    yield from realm_field(loaded, "otpPolicyPeriod", lambda v: v <= MAX_OTP_PERIOD, f"<= {MAX_OTP_PERIOD}")
    yield from realm_field(
        loaded, "otpPolicyLookAheadWindow", lambda v: v <= MAX_OTP_LOOK_AHEAD, f"<= {MAX_OTP_LOOK_AHEAD}"
    )


@rule(
    RuleMetadata(
        id="REALM-WEBAUTHN-001",
        title="WebAuthn requires user verification: a passkey counts only with the person's PIN or biometric",
        requirements=("HIPAA-164.312(d)", "NIST-800-63B-5.1.8.1"),
        severity=Severity.HIGH,
        risk="Without user verification a passkey is something you have only: a stolen security key or an "
        "unlocked device passes the phishing-resistant step-up on its own.",
        remediation="realm.webAuthnPolicyUserVerificationRequirement: required.",
    )
)
def _webauthn_user_verification(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    yield from realm_field(loaded, "webAuthnPolicyUserVerificationRequirement", lambda v: v == "required", "required")
