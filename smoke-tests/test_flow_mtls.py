"""mTLS client authentication (RFC 8705 §2, client-x509): smoke-mtls authenticates with its certificate.

The certificate comes from idpkit.smoke.certificates (local client CA, or IDPKIT_SMOKE_CLIENT_CERT /
IDPKIT_SMOKE_CLIENT_KEY on deployed stacks); the realm pins its subject DN to exactly CN=smoke-mtls.
"""

from __future__ import annotations

from collections.abc import Callable

import requests
from jwt import PyJWKClient

from idpkit.smoke import oauth
from idpkit.smoke.certificates import ClientCertificate
from idpkit.smoke.checks import check


@check(
    "SMOKE-MTLS-001",
    "mTLS client (client-x509) obtains a valid access token with its certificate",
    requirements=("RFC8705", "RFC9700-2.5", "FAPI2-SP-5.3.2", "HIPAA-164.312(d)"),
    risk="If certificate authentication fails, integrators are pushed to weaker client authentication.",
    remediation="The certificates the kit issues must match smoke-mtls's x509.subjectdn exactly "
    "(and x509.casubjectdn the issuing CA).",
    claims=('clients[*].attributes["x509.subjectdn"]', "clients[*].clientAuthenticatorType"),
)
def test_mtls_client_obtains_a_valid_token(
    mtls_response: requests.Response, jwks_client: PyJWKClient, expect: Callable[..., oauth.TokenExpectations]
) -> None:
    assert mtls_response.status_code == 200, (
        f"M2M token endpoint: smoke-mtls refused with its certificate ({mtls_response.status_code}, "
        f"{oauth.oauth_error(mtls_response)})"
    )
    oauth.validate_token(mtls_response.json()["access_token"], jwks_client, expect("smoke-mtls"))


@check(
    "SMOKE-MTLS-002",
    "mTLS client tokens are bound to the authenticating certificate (cnf x5t#S256)",
    requirements=("RFC8705", "RFC9700-2.2.1", "FAPI2-SP-5.3.3"),
    risk="An unbound token is a bearer token: stolen once, usable anywhere.",
    remediation="Set tls.client.certificate.bound.access.tokens on smoke-mtls.",
    claims=('clients[*].attributes["tls.client.certificate.bound.access.tokens"]',),
)
def test_mtls_token_is_bound_to_the_certificate(
    mtls_response: requests.Response, client_certificate: ClientCertificate
) -> None:
    assert mtls_response.status_code == 200, "M2M token endpoint: smoke-mtls got no token to check"
    claims = oauth.unverified_claims(mtls_response.json()["access_token"])
    expected = oauth.certificate_thumbprint(client_certificate.certificate.read_bytes())
    assert claims.get("cnf", {}).get("x5t#S256") == expected, (
        "M2M token endpoint: smoke-mtls's token cnf.x5t#S256 is not the presented certificate's thumbprint"
    )
