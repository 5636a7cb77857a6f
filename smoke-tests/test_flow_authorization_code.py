"""Authorization code + PKCE S256 for a public (smoke-spa) and a confidential (smoke-web) client."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from jwt import PyJWKClient

from idpkit.smoke import oauth
from idpkit.smoke.checks import check


@check(
    "SMOKE-CODE-001",
    "Public client: authorization code + PKCE S256 yields a valid, audience-restricted access token",
    requirements=("RFC9700-2.1.1", "SMART-2.2-PKCE", "RFC9700-2.3", "HIPAA-164.312(d)"),
    risk="A broken code flow pushes apps to insecure workarounds (implicit, ROPC); a token without "
    "audience or with a long lifetime is replayable against other APIs.",
    remediation="Keep smoke-spa on standard flow with pkce.code.challenge.method S256 and the phi-api-audience scope.",
    claims=("clients[*].standardFlowEnabled", "clients[*].publicClient"),
)
def test_public_client_code_flow_issues_a_valid_access_token(
    spa_grant: oauth.CodeGrant, jwks_client: PyJWKClient, expect: Callable[..., oauth.TokenExpectations]
) -> None:
    assert spa_grant.response.status_code == 200, (
        f"token endpoint: smoke-spa code redemption refused ({spa_grant.response.status_code})"
    )
    oauth.validate_token(
        spa_grant.tokens["access_token"], jwks_client, expect("smoke-spa", scopes=frozenset({"patient/Observation.rs"}))
    )


@check(
    "SMOKE-CODE-002",
    "Confidential client: code + PKCE S256 + private_key_jwt yields a valid access token",
    requirements=("RFC9700-2.1.1", "RFC9700-2.5", "FAPI2-SP-5.3.2", "HIPAA-164.312(d)"),
    risk="Without asymmetric client authentication a stolen code or secret is enough to obtain PHI tokens.",
    remediation="Keep smoke-web on client-jwt (PS256) with its registered JWKS and S256 PKCE.",
    claims=(
        "clients[*].standardFlowEnabled",
        "clients[*].clientAuthenticatorType",
        'clients[*].attributes["use.jwks.*"]',
    ),
)
def test_confidential_client_code_flow_issues_a_valid_access_token(
    web_grant: oauth.CodeGrant, jwks_client: PyJWKClient, expect: Callable[..., oauth.TokenExpectations]
) -> None:
    assert web_grant.response.status_code == 200, (
        f"token endpoint: smoke-web code redemption refused ({web_grant.response.status_code})"
    )
    oauth.validate_token(
        web_grant.tokens["access_token"], jwks_client, expect("smoke-web", scopes=frozenset({"patient/Patient.rs"}))
    )


@check(
    "SMOKE-CODE-003",
    "ID tokens are signed PS256, addressed to the client and bound to the request's nonce",
    requirements=("FAPI2-SP-5.4", "RFC9700-4.5", "HIPAA-164.312(d)"),
    risk="An ID token without the client's audience or nonce can be replayed into another login (injection).",
    remediation="Keep defaultSignatureAlgorithm PS256; clients must send a nonce and check it.",
)
@pytest.mark.parametrize(("grant", "client_id"), [("spa_grant", "smoke-spa"), ("web_grant", "smoke-web")])
def test_id_token_is_valid_and_bound_to_the_nonce(
    grant: str,
    client_id: str,
    request: pytest.FixtureRequest,
    jwks_client: PyJWKClient,
    expect: Callable[..., oauth.TokenExpectations],
) -> None:
    code_grant: oauth.CodeGrant = request.getfixturevalue(grant)
    assert "id_token" in code_grant.tokens, f"token endpoint: {client_id} asked for openid but got no ID token"
    oauth.validate_token(
        code_grant.tokens["id_token"], jwks_client, expect(client_id, typ="ID", nonce=code_grant.nonce)
    )


@check(
    "SMOKE-CODE-008",
    "The authorization response names its issuer (`iss`, RFC 9207), so a client can detect a mix-up",
    requirements=("RFC9700-4.4", "FAPI2-SP-5.2.2"),
    risk="A client that talks to several authorization servers cannot tell which one answered: an attacker's "
    "server can have a code from this one sent to it (mix-up attack).",
    remediation='Leave attributes["exclude.issuer.from.auth.response"] unset or "false" on every client.',
    claims=('clients[*].attributes["exclude.issuer.from.auth.response"]',),
)
@pytest.mark.parametrize("client_id", ["smoke-spa", "smoke-web"])
def test_authorization_response_names_the_issuer(
    client_id: str,
    clinician_browser: oauth.UserAgent,
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
) -> None:
    client = clients[client_id]
    params = oauth.authorization_params(client_id, client.redirect_uri or "", "openid", oauth.Pkce.generate())
    response = clinician_browser.authorize(endpoints, client, params)
    assert response.code is not None, f"control: {client_id} got no code ({response.status}, {response.error!r})"
    issuer = response.params.get("iss")
    assert issuer == endpoints.issuer, (
        f"{endpoints.authorization}: {client_id}'s authorization response names issuer {issuer!r}, "
        f"not {endpoints.issuer!r} (RFC 9207)"
    )
