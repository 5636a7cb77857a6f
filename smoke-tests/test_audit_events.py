"""Audit controls (HIPAA 164.312(b)): what happens is recorded, as user events and admin events.

A real login is found as the LOGIN event of its very session (with the user's consent for a
third-party app); every event type the realm rules require is produced by its action and found;
an admin action through the admin API is recorded as an admin event, with its representation.
The event types come from the rule catalogue (`idpkit.realm.rules.REQUIRED_EVENT_TYPES`).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests

from idpkit.keycloak_admin import AdminApi, urls
from idpkit.realm.rules.events import REQUIRED_EVENT_TYPES
from idpkit.smoke import oauth
from idpkit.smoke.certificates import ClientCertificate
from idpkit.smoke.checks import check, claims
from idpkit.smoke.events import EVENT_WAIT_SECONDS, find, latest
from idpkit.smoke.throwaway import Throwaway

CLIENT = "smoke-spa"
CONFIDENTIAL = "smoke-web"
MACHINE = "smoke-backend"
# A PHI scope shown on the consent screen: a login asking only for `openid` has nothing to consent to, and
# Keycloak records no_consent_required for it even when the client requires consent.
CONSENTED_SCOPE = "openid patient/Observation.rs"
# Keycloak's LOGIN event detail: granted on this login, or remembered from an earlier one.
CONSENT_GIVEN = ("consent_granted", "persistent_consent")


@dataclass(frozen=True)
class Login:
    username: str
    session_id: str
    event: dict[str, Any] | None


@pytest.fixture(scope="module")
def login(
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    realm_admin: AdminApi,
) -> Login:
    """One real login of a person through the form (own cookie jar, password and TOTP), and its LOGIN event."""
    since = latest(realm_admin, urls.EVENTS, type="LOGIN")
    params = oauth.authorization_params(
        CLIENT, clients[CLIENT].redirect_uri or "", CONSENTED_SCOPE, oauth.Pkce.generate()
    )
    agent = new_user_agent()
    response = agent.authorize(endpoints, clients[CLIENT], params)
    session_id = response.params.get("session_state")
    assert response.code and session_id, f"{endpoints.authorization}: {CLIENT} login of {agent.username} got no code"
    event = find(realm_admin, urls.EVENTS, since, lambda e: e.get("sessionId") == session_id, type="LOGIN")
    return Login(agent.username, session_id, event)


@check("SMOKE-AUDIT-001", "A login is recorded as a LOGIN event of the realm",
       requirements=("HIPAA-164.312(b)", "HIPAA-164.316(b)(2)"),
       risk="Without login events nobody can reconstruct who accessed PHI, or notice credential abuse.",
       remediation="Realm events: eventsEnabled true, LOGIN in enabledEventTypes, jboss-logging listener.",
       claims=("realm.eventsEnabled", "realm.enabledEventTypes"))  # fmt: skip
def test_login_is_recorded_as_event(login: Login, realm_admin: AdminApi) -> None:
    assert login.event is not None, (
        f"realm {realm_admin.realm}: no LOGIN event for {login.username}'s session via {CLIENT} within "
        f"{EVENT_WAIT_SECONDS:.0f} s; login events must be recorded"
    )
    assert login.event.get("details", {}).get("username") == login.username, (
        f"realm {realm_admin.realm}: LOGIN event of session {login.session_id} names {login.event.get('details')}"
    )


@check("SMOKE-AUDIT-002", "A third-party app's login rests on the user's recorded consent",
       requirements=("HIPAA-164.312(b)", "SMART-2.2-SCOPES"),
       risk="Without consent a third-party app receives PHI scopes the patient never approved, and no record shows it.",
       remediation="consentRequired: true on third-party (public SMART) clients such as phi-patient-app.",
       claims=("clients[*].consentRequired",))  # fmt: skip
def test_third_party_login_records_consent(login: Login, realm_admin: AdminApi) -> None:
    assert login.event is not None, f"realm {realm_admin.realm}: no LOGIN event of {login.session_id} to read consent"
    consent = login.event.get("details", {}).get("consent")
    assert consent in CONSENT_GIVEN, (
        f"realm {realm_admin.realm}: {CLIENT} login of {login.username} records consent {consent!r}; "
        f"a third-party app needs the user's consent ({' or '.join(CONSENT_GIVEN)})"
    )


# --- every required event type, produced by its action --------------------------------------------------


@dataclass(frozen=True)
class Actions:
    endpoints: oauth.Endpoints
    clients: dict[str, oauth.Client]
    verify: str | bool
    agent: Callable[[], oauth.UserAgent]
    runtime: Throwaway
    certificate: Callable[[], ClientCertificate]

    def sign_in(self) -> tuple[oauth.UserAgent, dict[str, Any]]:
        agent = self.agent()
        return agent, oauth.sign_in(agent, self.endpoints, self.clients[CONFIDENTIAL], "openid").tokens

    def form(self, url: str, data: dict[str, str]) -> requests.Response:
        authentication = self.clients[CONFIDENTIAL].authentication(self.endpoints.issuer)
        return oauth.post_form(url, data | authentication, verify=self.verify)


def _login_error(act: Actions) -> None:
    user = act.runtime.user("login-error")
    wrong = oauth.UserAgent(act.verify, user.username, secrets.token_urlsafe(16), user.codes)
    params = oauth.authorization_params(CLIENT, act.clients[CLIENT].redirect_uri or "", "openid", oauth.Pkce.generate())
    wrong.authorize(act.endpoints, act.clients[CLIENT], params)


def _sign_in(act: Actions) -> None:
    act.sign_in()


def _bad_code(act: Actions) -> None:
    redirect_uri = act.clients[CONFIDENTIAL].redirect_uri or ""
    act.form(
        act.endpoints.token, {"grant_type": "authorization_code", "code": "no-such-code", "redirect_uri": redirect_uri}
    )


def _bad_refresh(act: Actions) -> None:
    act.form(act.endpoints.token, {"grant_type": "refresh_token", "refresh_token": "not.a.token"})


def _bad_revocation(act: Actions) -> None:
    act.form(act.endpoints.revocation, {"token": "not.a.token"})


def _bad_logout(act: Actions) -> None:
    act.agent().session.get(act.endpoints.end_session, params={"id_token_hint": "not.a.token"}, verify=act.verify,
                            allow_redirects=False, timeout=15)  # fmt: skip


def _refresh(act: Actions) -> None:
    _agent, tokens = act.sign_in()
    oauth.refresh(act.endpoints, act.clients[CONFIDENTIAL], tokens["refresh_token"], verify=act.verify)


def _revoke(act: Actions) -> None:
    _agent, tokens = act.sign_in()
    act.form(act.endpoints.revocation, {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"})


def _logout(act: Actions) -> None:
    agent, tokens = act.sign_in()
    agent.session.get(act.endpoints.end_session, params={"id_token_hint": tokens["id_token"]}, verify=act.verify,
                      allow_redirects=False, timeout=15)  # fmt: skip


def _client_login(act: Actions, *, forged: bool) -> None:
    client = act.clients[MACHINE]
    authentication = oauth.assertion_auth("not.a.jwt", MACHINE) if forged else None
    oauth.client_credentials(act.endpoints, client, cert=act.certificate().requests_cert, verify=act.verify,
                             authentication=authentication)  # fmt: skip


ACTIONS: dict[str, Callable[[Actions], None]] = {
    "LOGIN": _sign_in,
    "LOGIN_ERROR": _login_error,
    "CODE_TO_TOKEN": _sign_in,
    "CODE_TO_TOKEN_ERROR": _bad_code,
    "REFRESH_TOKEN": _refresh,
    "REFRESH_TOKEN_ERROR": _bad_refresh,
    "REVOKE_GRANT": _revoke,
    "REVOKE_GRANT_ERROR": _bad_revocation,
    "CLIENT_LOGIN": lambda act: _client_login(act, forged=False),
    "CLIENT_LOGIN_ERROR": lambda act: _client_login(act, forged=True),
    "LOGOUT": _logout,
    "LOGOUT_ERROR": _bad_logout,
}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "event_type" in metafunc.fixturenames:
        metafunc.parametrize(
            "event_type",
            [
                pytest.param(event_type, marks=claims("realm.eventsEnabled", "realm.enabledEventTypes"))
                for event_type in sorted(REQUIRED_EVENT_TYPES)
            ],
        )


@check("SMOKE-AUDIT-003", "Every event type the realm rules require is recorded when its action happens",
       requirements=("HIPAA-164.312(b)", "HIPAA-164.316(b)(2)"),
       risk="An event type dropped from the realm's list silently stops the audit trail for failed logins, token "
            "refreshes, revocations or logouts.",
       remediation="List every type of idpkit.realm.rules.REQUIRED_EVENT_TYPES in realm.enabledEventTypes.",
       claims=("realm.eventsEnabled", "realm.enabledEventTypes"))  # fmt: skip
def test_required_event_type_is_recorded(
    event_type: str,
    realm_admin: AdminApi,
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    tls_verify: str | bool,
    new_user_agent: Callable[[], oauth.UserAgent],
    runtime: Throwaway,
    request: pytest.FixtureRequest,
) -> None:
    action = ACTIONS.get(event_type)
    assert action is not None, f"no action produces {event_type}; add one to {__name__}"
    since = latest(realm_admin, urls.EVENTS, type=event_type)
    action(Actions(endpoints, clients, tls_verify, new_user_agent, runtime,
                   lambda: request.getfixturevalue("client_certificate")))  # fmt: skip
    event = find(realm_admin, urls.EVENTS, since, lambda _event: True, type=event_type)
    assert event is not None, f"realm {realm_admin.realm}: no {event_type} event recorded for its action"


@pytest.fixture(scope="module")
def admin_action(realm_admin: AdminApi) -> tuple[str, dict[str, Any] | None]:
    """A user created (and deleted) through the admin API, and the admin event of its creation."""
    since = latest(realm_admin, urls.ADMIN_EVENTS)
    created = Throwaway(realm_admin)
    user = created.user("admin-event")
    try:
        event = find(realm_admin, urls.ADMIN_EVENTS, since,
                      lambda e: e.get("resourcePath") == f"users/{user.id}", operationTypes="CREATE")  # fmt: skip
    finally:
        created.cleanup()
    return user.username, event


@check("SMOKE-AUDIT-004", "An administrator's change through the admin API is recorded as an admin event",
       requirements=("HIPAA-164.312(b)", "HIPAA-164.316(b)(2)"),
       risk="Configuration changes and account creations by administrators leave no trace.",
       remediation="realm.adminEventsEnabled: true.",
       claims=("realm.adminEventsEnabled",))  # fmt: skip
def test_admin_action_is_recorded(admin_action: tuple[str, dict[str, Any] | None], realm_admin: AdminApi) -> None:
    username, event = admin_action
    assert event is not None, f"realm {realm_admin.realm}: no admin event for creating user {username}"


@check("SMOKE-AUDIT-005", "Admin events carry what was changed (the representation sent)",
       requirements=("HIPAA-164.312(b)",),
       risk="An admin event without its representation says that something changed, not what.",
       remediation="realm.adminEventsDetailsEnabled: true.",
       claims=("realm.adminEventsDetailsEnabled",))  # fmt: skip
def test_admin_event_carries_the_representation(
    admin_action: tuple[str, dict[str, Any] | None], realm_admin: AdminApi
) -> None:
    username, event = admin_action
    assert event is not None, f"realm {realm_admin.realm}: no admin event for creating user {username} to read"
    assert username in (event.get("representation") or ""), (
        f"realm {realm_admin.realm}: the admin event for creating {username} carries no representation"
    )
