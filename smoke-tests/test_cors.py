"""CORS (RFC 9700 §2.6): a foreign web origin gets no grant from the token and UserInfo endpoints.

Actual requests, as a browser sends them after its preflight (Keycloak answers every preflight;
what matters is whether the response may be read), for every code-flow smoke client: a client's
codified web origin is granted, as the control, and a foreign origin is not, on both endpoints that
browsers call. A client declaring no web origin holds its secure default, none.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from idpkit.realm import loader
from idpkit.realm.loader import item_path
from idpkit.smoke import oauth
from idpkit.smoke.checks import check, claims
from idpkit.smoke.identities import Grant, SmokeClient, or_placeholder, smoke_clients

FOREIGN_ORIGIN = "https://attacker.example"
ALLOW_ORIGIN = "Access-Control-Allow-Origin"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "client_id" in metafunc.fixturenames:
        code = [
            c.client_id
            for c in smoke_clients(loader.load(metafunc.config.getoption("--stack")))
            if c.grant is Grant.CODE
        ]
        cases = [pytest.param(c, marks=claims(f"{item_path('clients', c)}.webOrigins")) for c in code]
        metafunc.parametrize("client_id", or_placeholder(cases))


def _own_origin(client: SmokeClient) -> str | None:
    """The client's first codified https web origin (None: it declares none and must be granted none)."""
    return next((o for o in client.declared.web_origins or [] if o.startswith("https://")), None)


def _refresh(
    endpoints: oauth.Endpoints, client: oauth.Client, verify: str | bool, refresh_token: str, origin: str
) -> requests.Response:
    return oauth.refresh(endpoints, client, refresh_token, verify=verify, headers={"Origin": origin})


def _userinfo(
    endpoints: oauth.Endpoints, client: oauth.Client, verify: str | bool, access_token: str, origin: str
) -> requests.Response:
    return oauth.resource_request(
        "GET", endpoints.userinfo, access_token, client.dpop, verify=verify, headers={"Origin": origin}
    )


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
    client_id: str,
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    smoke_identities: dict[str, SmokeClient],
    tls_verify: str | bool,
) -> None:
    client, own = clients[client_id], _own_origin(smoke_identities[client_id])
    tokens = oauth.sign_in(new_user_agent(), endpoints, client, "openid").tokens
    if endpoint == "token":
        refresh_token = tokens["refresh_token"]
        if own:
            control = _refresh(endpoints, client, tls_verify, refresh_token, own)
            refresh_token = control.json().get("refresh_token", "")
        foreign = _refresh(endpoints, client, tls_verify, refresh_token, FOREIGN_ORIGIN)
    else:
        control = _userinfo(endpoints, client, tls_verify, tokens["access_token"], own or FOREIGN_ORIGIN)
        foreign = _userinfo(endpoints, client, tls_verify, tokens["access_token"], FOREIGN_ORIGIN)
    if own:
        assert control.headers.get(ALLOW_ORIGIN) == own, (
            f"control: {endpoint} endpoint did not grant {client_id}'s own origin {own} ({control.status_code})"
        )
    granted = foreign.headers.get(ALLOW_ORIGIN)
    assert granted is None, (
        f"{endpoint} endpoint: {client_id}'s response from {FOREIGN_ORIGIN} allows origin {granted!r}"
    )
