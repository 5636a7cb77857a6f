"""Authorization code attacks (RFC 9700 §4.5, RFC 6749 §4.1.2): single use, short-lived, bound to the client."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests

from idpkit.realm.model import RealmSettings
from idpkit.smoke import oauth
from idpkit.smoke.checks import check

pytestmark = pytest.mark.usefixtures("code_flow_controls")


@dataclass(frozen=True)
class Issued:
    code: str
    pkce: oauth.Pkce
    redirect_uri: str
    key: oauth.DPoPKey | None
    """The DPoP key the code is bound to (`dpop_jkt`), if its client holds one."""


def _issue_code(agent: oauth.UserAgent, endpoints: oauth.Endpoints, client: oauth.Client) -> Issued:
    pkce = oauth.Pkce.generate()
    redirect_uri = client.redirect_uri or ""
    result = agent.authorize(
        endpoints, client, oauth.authorization_params(client.client_id, redirect_uri, "openid", pkce)
    )
    assert result.code, f"{endpoints.authorization}: {client.client_id} got no code to attack"
    return Issued(result.code, pkce, redirect_uri, client.dpop)


def _redeem(
    http: requests.Session, endpoints: oauth.Endpoints, issued: Issued, client: oauth.Client
) -> requests.Response:
    data = {"grant_type": "authorization_code", "code": issued.code, "redirect_uri": issued.redirect_uri,
            "code_verifier": issued.pkce.verifier}  # fmt: skip
    # With a DPoP proof of the key the code is bound to: a code issued to a public client needs one, and the refusal
    # of a code stolen from one must be the client binding's, not a missing or foreign proof's.
    proof = {oauth.DPOP: (issued.key or oauth.DPoPKey.generate()).proof("POST", endpoints.token)}
    return http.post(endpoints.token, data=data | client.authentication(endpoints.issuer), headers=proof, timeout=15)


@dataclass(frozen=True)
class Replay:
    first: requests.Response
    second: requests.Response
    introspection_after: requests.Response


@pytest.fixture(scope="module")
def replay(
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    http: requests.Session,
) -> Replay:
    """A code redeemed twice, in a session of its own (the replay revokes it)."""
    web = clients["smoke-web"]
    issued = _issue_code(new_user_agent(), endpoints, web)
    first = _redeem(http, endpoints, issued, web)
    assert first.status_code == 200, f"control: {endpoints.token} refused smoke-web's first redemption"
    second = _redeem(http, endpoints, issued, web)
    introspection = http.post(
        endpoints.introspection,
        data={"token": first.json()["refresh_token"], "token_type_hint": "refresh_token"}
        | web.authentication(endpoints.issuer),
        timeout=15,
    )
    return Replay(first, second, introspection)


@check(
    "SMOKE-CODE-004",
    "A redeemed authorization code cannot be redeemed again",
    requirements=("RFC9700-4.5", "FAPI2-SP-5.2.2", "HIPAA-164.312(a)(1)"),
    risk="A replayable code lets whoever captured it (logs, Referer, proxy) obtain a second set of tokens.",
    remediation="Keep Keycloak's single-use code store (never replicate codes without it).",
)
def test_code_reuse_is_refused(replay: Replay, endpoints: oauth.Endpoints) -> None:
    assert (replay.second.status_code, oauth.oauth_error(replay.second)) == (400, "invalid_grant"), (
        f"{endpoints.token}: smoke-web redeemed a code twice, expected 400 invalid_grant, "
        f"got {replay.second.status_code} {oauth.oauth_error(replay.second)}"
    )
    assert oauth.issued_tokens(replay.second) == set(), f"{endpoints.token}: smoke-web's replayed code issued tokens"


@check(
    "SMOKE-CODE-005",
    "Code reuse revokes the tokens of the first redemption",
    requirements=("RFC9700-4.5", "RFC9700-4.14", "HIPAA-164.312(a)(1)"),
    risk="If the first redemption was the attacker's, its tokens stay valid unless reuse revokes them "
    "(RFC 6749 §4.1.2: SHOULD revoke).",
    remediation="Keycloak revokes the client session on code reuse; keep that behaviour (no custom code store).",
)
def test_code_reuse_revokes_first_tokens(replay: Replay, endpoints: oauth.Endpoints) -> None:
    assert replay.introspection_after.status_code == 200, f"{endpoints.introspection}: smoke-web refused"
    assert replay.introspection_after.json().get("active") is False, (
        f"{endpoints.introspection}: smoke-web's refresh token from the first redemption still active after code reuse"
    )


@check(
    "SMOKE-CODE-006",
    "A code issued to one client cannot be redeemed by another",
    requirements=("RFC9700-4.5", "HIPAA-164.312(d)"),
    risk="Code injection across clients lets a malicious client obtain tokens for a user's session elsewhere.",
    remediation="Keycloak binds codes to client_id; keep confidential clients on private_key_jwt.",
)
def test_code_redeemed_by_another_client_is_refused(
    clinician_browser: oauth.UserAgent,
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    http: requests.Session,
) -> None:
    issued = _issue_code(clinician_browser, endpoints, clients["smoke-spa"])
    response = _redeem(http, endpoints, issued, clients["smoke-web"])
    assert (response.status_code, oauth.oauth_error(response)) == (400, "invalid_grant"), (
        f"{endpoints.token}: smoke-spa's code redeemed by smoke-web: expected 400 invalid_grant, "
        f"got {response.status_code} {oauth.oauth_error(response)}"
    )
    assert oauth.issued_tokens(response) == set(), f"{endpoints.token}: smoke-web obtained tokens with smoke-spa's code"


@check(
    "SMOKE-CODE-007",
    "An authorization code older than the configured lifespan is refused",
    requirements=("FAPI2-SP-5.2.2", "RFC9700-4.5"),
    risk="Long-lived codes widen the window for stolen-code redemption.",
    remediation="Realm accessCodeLifespan <= 60 s.",
    claims=("realm.accessCodeLifespan",),
)
@pytest.mark.expiry
def test_expired_code_is_refused(
    clinician_browser: oauth.UserAgent,
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    http: requests.Session,
    realm_settings: RealmSettings,
) -> None:
    issued = _issue_code(clinician_browser, endpoints, clients["smoke-web"])
    time.sleep((realm_settings.access_code_lifespan or 60) + 5)
    response = _redeem(http, endpoints, issued, clients["smoke-web"])
    assert (response.status_code, oauth.oauth_error(response)) == (400, "invalid_grant"), (
        f"{endpoints.token}: smoke-web redeemed an expired code, expected 400 invalid_grant, "
        f"got {response.status_code} {oauth.oauth_error(response)}"
    )
    assert oauth.issued_tokens(response) == set(), f"{endpoints.token}: smoke-web's expired code issued tokens"
