"""CORS (RFC 9700 §2.6): a foreign web origin gets no grant from the token and UserInfo endpoints.

Actual requests, as a browser sends them after its preflight (Keycloak answers every preflight;
what matters is whether the response may be read): smoke-spa's codified web origin is granted, as
the control, and a foreign origin is not, on both endpoints that browsers call.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from idpkit.smoke import oauth
from idpkit.smoke.checks import check
from idpkit.smoke.identities import SmokeClient

CLIENT = "smoke-spa"
FOREIGN_ORIGIN = "https://attacker.example"
ALLOW_ORIGIN = "Access-Control-Allow-Origin"


@pytest.fixture(scope="module")
def own_origin(smoke_identities: dict[str, SmokeClient]) -> str:
    origins = [o for o in smoke_identities[CLIENT].declared.web_origins or [] if o.startswith("https://")]
    assert origins, f"realm-config: {CLIENT} codifies no https web origin for the control"
    return origins[0]


def _refresh(endpoints: oauth.Endpoints, verify: str | bool, refresh_token: str, origin: str) -> requests.Response:
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": CLIENT}
    return oauth.post_form(endpoints.token, data, verify=verify, headers={"Origin": origin})


def _userinfo(endpoints: oauth.Endpoints, verify: str | bool, access_token: str, origin: str) -> requests.Response:
    headers = oauth.bearer(access_token) | {"Origin": origin}
    return requests.get(endpoints.userinfo, headers=headers, verify=verify, timeout=oauth.TIMEOUT)


@check(
    "SMOKE-CORS-001",
    "The token and UserInfo endpoints grant CORS only to a client's registered web origins",
    requirements=("RFC9700-2.6", "HIPAA-164.312(e)(1)"),
    risk="A wildcard or foreign web origin lets any web page read tokens and the user's claims through the "
    "user's own browser.",
    remediation="List each browser app's exact https origin in webOrigins (or '+'); never '*'.",
    claims=("clients[*].webOrigins",),
)
@pytest.mark.parametrize("endpoint", ["token", "userinfo"])
def test_foreign_origin_gets_no_cors_grant(
    endpoint: str,
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    tls_verify: str | bool,
    own_origin: str,
) -> None:
    tokens = oauth.sign_in(new_user_agent(), endpoints, clients[CLIENT], "openid").tokens
    if endpoint == "token":
        control = _refresh(endpoints, tls_verify, tokens["refresh_token"], own_origin)
        foreign = _refresh(endpoints, tls_verify, control.json().get("refresh_token", ""), FOREIGN_ORIGIN)
    else:
        control = _userinfo(endpoints, tls_verify, tokens["access_token"], own_origin)
        foreign = _userinfo(endpoints, tls_verify, tokens["access_token"], FOREIGN_ORIGIN)
    assert control.headers.get(ALLOW_ORIGIN) == own_origin, (
        f"control: {endpoint} endpoint did not grant {CLIENT}'s own origin {own_origin} ({control.status_code})"
    )
    granted = foreign.headers.get(ALLOW_ORIGIN)
    assert granted is None, f"{endpoint} endpoint: {CLIENT}'s response from {FOREIGN_ORIGIN} allows origin {granted!r}"
    assert oauth.issued_tokens(foreign) == set(), f"{endpoint} endpoint: {FOREIGN_ORIGIN} obtained tokens of {CLIENT}"
