"""RP-initiated logout: back to the registered post-logout URI, and the session is gone."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests

from idpkit.smoke import oauth
from idpkit.smoke.checks import check

POST_LOGOUT_REDIRECT_URI = "https://127.0.0.1:8765/signed-out"


@dataclass(frozen=True)
class LoggedOut:
    logout: requests.Response
    state: str
    refresh_after: requests.Response
    silent_login_after: oauth.AuthorizationResponse


@pytest.fixture(scope="module")
def logged_out(
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
) -> LoggedOut:
    web = clients["smoke-web"]
    agent = new_user_agent()
    grant = oauth.sign_in(agent, endpoints, web, "openid")
    assert grant.response.status_code == 200, f"{endpoints.token}: smoke-web sign-in failed"
    state = secrets.token_urlsafe(16)
    logout = agent.session.get(
        endpoints.end_session,
        params={"id_token_hint": grant.tokens["id_token"], "post_logout_redirect_uri": POST_LOGOUT_REDIRECT_URI,
                "state": state, "client_id": web.client_id},
        verify=agent.verify, allow_redirects=False, timeout=15,
    )  # fmt: skip
    # With a fresh proof of smoke-web's key: the refusal must be the ended session's, not a missing proof's.
    refresh_after = oauth.refresh(endpoints, web, grant.tokens["refresh_token"], verify=agent.verify)
    assert web.redirect_uri is not None
    silent = oauth.authorization_params(web.client_id, web.redirect_uri, "openid", oauth.Pkce.generate(), prompt="none")
    return LoggedOut(logout, state, refresh_after, agent.authorize(endpoints, web, silent))


@check(
    "SMOKE-LOGOUT-001",
    "RP-initiated logout returns to the client's registered post-logout URI with its state",
    requirements=("HIPAA-164.312(a)(2)(iii)", "RFC9700-4.2"),
    risk="A logout that cannot complete leaves sessions on shared clinical workstations.",
    remediation="Register post.logout.redirect.uris on every client; clients send id_token_hint.",
    claims=('clients[*].attributes["post.logout.redirect.uris"]',),
)
def test_logout_returns_to_the_post_logout_uri(logged_out: LoggedOut, endpoints: oauth.Endpoints) -> None:
    location = logged_out.logout.headers.get("Location", "")
    assert logged_out.logout.status_code == 302 and location.startswith(POST_LOGOUT_REDIRECT_URI), (
        f"{endpoints.end_session}: smoke-web's logout did not redirect to its post-logout URI "
        f"({logged_out.logout.status_code})"
    )
    assert f"state={logged_out.state}" in location, f"{endpoints.end_session}: smoke-web's logout lost its state"


@check(
    "SMOKE-LOGOUT-002",
    "After logout the session's refresh token and SSO cookie no longer work",
    requirements=("HIPAA-164.312(a)(2)(iii)", "RFC9700-4.14", "HIPAA-164.312(a)(1)"),
    risk="A session surviving logout lets the next person at a shared workstation act as the clinician.",
    remediation="Logout must end the user session: keep the end-session endpoint and revokeRefreshToken.",
)
def test_logout_ends_the_session(logged_out: LoggedOut, endpoints: oauth.Endpoints) -> None:
    assert logged_out.refresh_after.status_code == 400, (
        f"{endpoints.token}: smoke-web's refresh token still works after logout "
        f"({logged_out.refresh_after.status_code})"
    )
    assert oauth.issued_tokens(logged_out.refresh_after) == set(), f"{endpoints.token}: tokens issued after logout"
    assert logged_out.silent_login_after.error == "login_required", (
        f"{endpoints.authorization}: prompt=none after logout gave {logged_out.silent_login_after.error!r}, "
        "expected login_required"
    )


@check(
    "SMOKE-LOGOUT-003",
    "Logout redirects only to a registered post-logout URI",
    requirements=("RFC9700-4.2", "HIPAA-164.312(a)(2)(iii)"),
    risk="A logout that redirects anywhere is an open redirector on the identity provider's own domain.",
    remediation="Register exact post.logout.redirect.uris per client; never '*' or foreign URIs.",
    claims=('clients[*].attributes["post.logout.redirect.uris"]',),
)
def test_unregistered_post_logout_uri_is_refused(
    new_user_agent: Callable[[], oauth.UserAgent], endpoints: oauth.Endpoints, clients: dict[str, oauth.Client]
) -> None:
    web = clients["smoke-web"]
    agent = new_user_agent()
    grant = oauth.sign_in(agent, endpoints, web, "openid")
    response = agent.session.get(
        endpoints.end_session,
        params={"id_token_hint": grant.tokens["id_token"], "post_logout_redirect_uri": "https://attacker.example/signed-out",
                "client_id": web.client_id},
        verify=agent.verify, allow_redirects=False, timeout=15,
    )  # fmt: skip
    location = response.headers.get("Location", "")
    assert not location.startswith("https://attacker.example"), (
        f"{endpoints.end_session}: smoke-web's logout redirected to an unregistered URI"
    )
    assert response.status_code == 400, (
        f"{endpoints.end_session}: unregistered post-logout URI answered {response.status_code}"
    )
