"""PKCE attacks (RFC 9700 §2.1.1, §4.8; SMART App Launch): missing, `plain`, wrong verifier, downgrade."""

from __future__ import annotations

import pytest

from idpkit.smoke import oauth
from idpkit.smoke.checks import check

pytestmark = pytest.mark.usefixtures("code_flow_controls")
CODE_FLOW_CLIENTS = ["smoke-spa", "smoke-web"]


def _refused_at_authorization(result: oauth.AuthorizationResponse, endpoint: str, client_id: str, rule: str) -> None:
    assert result.error == "invalid_request", (
        f"{endpoint}: {client_id} {rule}: expected error=invalid_request, got {result.error!r} ({result.status})"
    )
    assert result.code is None, f"{endpoint}: {client_id} {rule}: a code was issued"


@check(
    "SMOKE-PKCE-001",
    "Authorization request without PKCE is refused",
    requirements=("RFC9700-2.1.1", "SMART-2.2-PKCE", "FAPI2-SP-5.2.2"),
    risk="Without PKCE an intercepted or injected authorization code can be redeemed by an attacker.",
    remediation="Client policy pkce-enforcer on every client; pkce.code.challenge.method S256.",
    claims=('clients[*].attributes["pkce.code.challenge.method"]',),
)
@pytest.mark.parametrize("client_id", CODE_FLOW_CLIENTS)
def test_authorization_without_pkce_is_refused(
    client_id: str, clinician_browser: oauth.UserAgent, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client]
) -> None:
    redirect_uri = clients[client_id].redirect_uri or ""
    params = oauth.authorization_params(client_id, redirect_uri, "openid", None)
    result = clinician_browser.authorize(endpoints, clients[client_id], params)
    _refused_at_authorization(result, endpoints.authorization, client_id, "without code_challenge")


@check(
    "SMOKE-PKCE-002",
    "Authorization request with `plain` PKCE is refused",
    requirements=("RFC9700-2.1.1", "SMART-2.2-PKCE"),
    risk="`plain` sends the verifier itself in the front channel: whoever sees the request can redeem the code.",
    remediation="pkce.code.challenge.method S256 on every code-flow client.",
    claims=('clients[*].attributes["pkce.code.challenge.method"]',),
)
@pytest.mark.parametrize("client_id", CODE_FLOW_CLIENTS)
def test_plain_pkce_is_refused(
    client_id: str, clinician_browser: oauth.UserAgent, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client]
) -> None:
    params = oauth.authorization_params(
        client_id, clients[client_id].redirect_uri or "", "openid", oauth.Pkce.generate(method="plain")
    )
    result = clinician_browser.authorize(endpoints, clients[client_id], params)
    _refused_at_authorization(result, endpoints.authorization, client_id, "with code_challenge_method=plain")


@check(
    "SMOKE-PKCE-003",
    "Token request with a missing or wrong code_verifier is refused",
    requirements=("RFC9700-2.1.1", "RFC9700-4.5", "SMART-2.2-PKCE"),
    risk="A code redeemable without its verifier gives PKCE no protection against code theft.",
    remediation="Keep PKCE enforced; never accept a code without verifying code_verifier against the challenge.",
)
@pytest.mark.parametrize("verifier", ["missing", "wrong"])
def test_token_request_with_bad_verifier_is_refused(
    verifier: str,
    clinician_browser: oauth.UserAgent,
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    tls_verify: str | bool,
) -> None:
    spa = clients["smoke-spa"]
    params = oauth.authorization_params(spa.client_id, spa.redirect_uri or "", "openid", oauth.Pkce.generate())
    code = clinician_browser.authorize(endpoints, spa, params).code
    assert code, f"{endpoints.authorization}: smoke-spa got no code to attack"
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": spa.redirect_uri or ""}
    if verifier == "wrong":
        data["code_verifier"] = oauth.Pkce.generate().verifier
    # With a valid DPoP proof of smoke-spa's key: the refusal must be PKCE's, not a missing proof's.
    response = oauth.token_request(endpoints, spa, data, verify=tls_verify)
    assert (response.status_code, oauth.oauth_error(response)) == (400, "invalid_grant"), (
        f"{endpoints.token}: smoke-spa code with {verifier} code_verifier: expected 400 invalid_grant, "
        f"got {response.status_code} {oauth.oauth_error(response)}"
    )
    assert oauth.issued_tokens(response) == set(), f"{endpoints.token}: smoke-spa got tokens with a {verifier} verifier"


@check(
    "SMOKE-PKCE-004",
    "PKCE downgrade: a request stripped of its code_challenge is refused, even with the method kept",
    requirements=("RFC9700-4.8", "RFC9700-2.1.1", "FAPI2-SP-5.2.2"),
    risk="If the server issues a code for a request without challenge, an attacker who strips it can later "
    "redeem the code with any verifier (or none): PKCE is silently disabled.",
    remediation="Require code_challenge on every authorization request (pkce-enforcer), never only when sent.",
    claims=('clients[*].attributes["pkce.code.challenge.method"]',),
)
@pytest.mark.parametrize("client_id", CODE_FLOW_CLIENTS)
def test_pkce_downgrade_is_refused(
    client_id: str, clinician_browser: oauth.UserAgent, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client]
) -> None:
    params = oauth.authorization_params(
        client_id, clients[client_id].redirect_uri or "", "openid", None, code_challenge_method="S256"
    )
    result = clinician_browser.authorize(endpoints, clients[client_id], params)
    _refused_at_authorization(result, endpoints.authorization, client_id, "with code_challenge stripped")
