"""No token the realm issues is a plain bearer token: every smoke client's tokens are sender-constrained.

The cases come from realm-config: every smoke client with a grant, whatever it declares, so a client added to the
fragment without a binding fails here even before REALM-DPOP-002 or REALM-HOK-001 is read. A client-credentials
token must be bound to the client's certificate (RFC 8705, `cnf.x5t#S256`), any other token to a DPoP key
(RFC 9449, `cnf.jkt`, token type DPoP): a person's PHI scopes never travel as a bearer token.
"""

from __future__ import annotations

from typing import Any

import pytest

from idpkit.realm import loader
from idpkit.smoke import oauth
from idpkit.smoke.certificates import ClientCertificate
from idpkit.smoke.checks import check
from idpkit.smoke.identities import Grant, SmokeClient, or_placeholder, smoke_clients

CERTIFICATE_THUMBPRINT = "x5t#S256"
DPOP_THUMBPRINT = "jkt"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "token_client" in metafunc.fixturenames:
        declared = smoke_clients(loader.load(metafunc.config.getoption("--stack")))
        metafunc.parametrize("token_client", or_placeholder([c.client_id for c in declared if c.grant is not None]))


@check(
    "SMOKE-SENDER-001",
    "No smoke client obtains a plain bearer token: certificate-bound for client credentials, DPoP-bound otherwise",
    requirements=("RFC9700-2.2.1", "RFC9449", "RFC8705", "FAPI2-SP-5.3.3", "HIPAA-164.312(e)(1)"),
    risk="A plain bearer token carrying PHI scopes reads PHI for whoever copies it (a log line, a proxy, browser "
    "storage) until it expires.",
    remediation="dpop.bound.access.tokens: 'true' on every client that obtains a person's tokens (REALM-DPOP-001, "
    "REALM-DPOP-002); tls.client.certificate.bound.access.tokens: 'true' on every machine client (REALM-HOK-001).",
    claims=(
        'clients[*].attributes["dpop.bound.access.tokens"]',
        'clients[*].attributes["tls.client.certificate.bound.access.tokens"]',
    ),
)
def test_no_client_gets_a_plain_bearer_token(
    token_client: str,
    smoke_identities: dict[str, SmokeClient],
    clients: dict[str, oauth.Client],
    approved_grant: oauth.Approval,
    client_certificate: ClientCertificate,
    endpoints: oauth.Endpoints,
    tls_verify: str | bool,
) -> None:
    client = clients[token_client]
    machine = smoke_identities[token_client].grant is Grant.CLIENT_CREDENTIALS
    if machine:
        cert = client_certificate.requests_cert
        response = oauth.client_credentials(endpoints, client, cert=cert, verify=tls_verify)
    else:
        response = oauth.token_request(endpoints, client, approved_grant(client), verify=tls_verify)
    assert response.status_code == 200, (
        f"control: {endpoints.token}: {token_client} got no token "
        f"({response.status_code} {oauth.oauth_error(response)})"
    )
    tokens: dict[str, Any] = response.json()
    confirmation = oauth.unverified_claims(tokens["access_token"]).get("cnf") or {}
    expected = CERTIFICATE_THUMBPRINT if machine else DPOP_THUMBPRINT
    assert confirmation.get(expected), (
        f"{endpoints.token}: {token_client}'s access token (token_type {tokens.get('token_type')!r}) is not bound "
        f"to {'its certificate' if machine else 'a DPoP key'} (cnf {sorted(confirmation)}): a plain bearer token"
    )
    if not machine:
        assert tokens.get("token_type") == oauth.DPOP, (
            f"{endpoints.token}: {token_client} was issued token_type {tokens.get('token_type')!r}, not DPoP"
        )
