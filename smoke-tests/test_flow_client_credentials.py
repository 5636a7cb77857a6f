"""SMART Backend Services: client credentials with private_key_jwt, token bound to the client certificate.

smoke-backend calls the M2M listener with the smoke client certificate (idpkit.smoke.certificates:
local client CA, or IDPKIT_SMOKE_CLIENT_CERT / IDPKIT_SMOKE_CLIENT_KEY on deployed stacks): the
holder-of-key policy refuses client credentials without one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import pytest
import requests
from jwt import PyJWKClient

from idpkit.realm.model import RealmSettings
from idpkit.smoke import oauth
from idpkit.smoke.certificates import ClientCertificate
from idpkit.smoke.checks import check

SMART_BACKEND_MAX_LIFETIME = 300
MACHINE_CLIENTS = ("smoke-backend", "smoke-mtls")


def _backend_expectations(
    expect: Callable[..., oauth.TokenExpectations], realm_settings: RealmSettings, scopes: frozenset[str]
) -> oauth.TokenExpectations:
    base = expect("smoke-backend", scopes=scopes)
    lifespan = min(SMART_BACKEND_MAX_LIFETIME, realm_settings.access_token_lifespan or SMART_BACKEND_MAX_LIFETIME)
    return dataclasses.replace(base, max_lifetime=lifespan)


@check(
    "SMOKE-CC-001",
    "Backend client (private_key_jwt) obtains a valid access token of at most 300 s",
    requirements=("SMART-2.2-BACKEND", "RFC9700-2.5", "FAPI2-SP-5.3.2", "HIPAA-164.312(d)"),
    risk="Backend services that cannot authenticate asymmetrically fall back to shared secrets.",
    remediation="Keep smoke-backend on client-jwt PS256 with its registered JWKS; accessTokenLifespan <= 300.",
    claims=("clients[*].serviceAccountsEnabled", 'clients[*].attributes["use.jwks.*"]'),
)
def test_backend_obtains_a_valid_token(
    backend_response: requests.Response,
    jwks_client: PyJWKClient,
    expect: Callable[..., oauth.TokenExpectations],
    realm_settings: RealmSettings,
) -> None:
    assert backend_response.status_code == 200, (
        f"M2M token endpoint: smoke-backend client credentials refused ({backend_response.status_code}, "
        f"{oauth.oauth_error(backend_response)})"
    )
    token = backend_response.json()["access_token"]
    oauth.validate_token(token, jwks_client, _backend_expectations(expect, realm_settings, frozenset()))


@check(
    "SMOKE-CC-002",
    "Backend tokens are bound to the client certificate (cnf x5t#S256)",
    requirements=("RFC8705", "RFC9700-2.2.1", "FAPI2-SP-5.3.3", "HIPAA-164.312(e)(1)"),
    risk="An unbound backend token with bulk PHI scopes is usable by whoever steals it.",
    remediation="Keep tls.client.certificate.bound.access.tokens and the holder-of-key client policy.",
    claims=('clients[*].attributes["tls.client.certificate.bound.access.tokens"]',),
)
def test_backend_token_is_certificate_bound(
    backend_response: requests.Response, client_certificate: ClientCertificate
) -> None:
    assert backend_response.status_code == 200, "M2M token endpoint: smoke-backend got no token to check"
    claims = oauth.unverified_claims(backend_response.json()["access_token"])
    expected = oauth.certificate_thumbprint(client_certificate.certificate.read_bytes())
    assert claims.get("cnf", {}).get("x5t#S256") == expected, (
        "M2M token endpoint: smoke-backend's token cnf.x5t#S256 is not the presented certificate's thumbprint"
    )


@check(
    "SMOKE-CC-003",
    "Backend tokens carry the client's SMART system scope",
    requirements=("SMART-2.2-SCOPES", "SMART-2.2-BACKEND", "RFC9700-2.3"),
    risk="Without the system scope in the token the resource server cannot authorize by scope; teams then "
    "widen access by other means (full scope, extra roles).",
    remediation="Give the backend's service account the realm role mapped to its system scope "
    "(system/Observation.rs -> phi-observations): Keycloak drops a role-mapped scope the subject lacks.",
)
def test_backend_token_carries_its_system_scope(
    backend_response: requests.Response,
    jwks_client: PyJWKClient,
    expect: Callable[..., oauth.TokenExpectations],
    realm_settings: RealmSettings,
) -> None:
    assert backend_response.status_code == 200, "M2M token endpoint: smoke-backend got no token to check"
    scopes = frozenset({"system/Observation.rs"})
    oauth.validate_token(
        backend_response.json()["access_token"], jwks_client, _backend_expectations(expect, realm_settings, scopes)
    )


@check(
    "SMOKE-CC-004",
    "Client-credentials responses carry no refresh token",
    requirements=("RFC9700-4.14", "SMART-2.2-BACKEND"),
    risk="A refresh token handed to a machine client outlives its short access token and is one more credential "
    "to steal, with nothing a user could revoke.",
    remediation="Keep client_credentials.use_refresh_token at its secure default (false).",
    claims=('clients[*].attributes["client_credentials.use_refresh_token"]',),
)
@pytest.mark.parametrize("client_id", MACHINE_CLIENTS)
def test_client_credentials_issue_no_refresh_token(
    client_id: str, token_response: Callable[[str], requests.Response]
) -> None:
    response = token_response(client_id)
    assert response.status_code == 200, f"M2M token endpoint: {client_id} got no token ({oauth.oauth_error(response)})"
    assert "refresh_token" not in response.json(), f"M2M token endpoint: {client_id} was given a refresh token"
