"""Forged private_key_jwt client assertions (RFC 7523 §3, RFC 9700 §2.5) against smoke-backend.

Sent as smoke-backend's client-credentials request on the M2M listener with the smoke client
certificate, so only the assertion differs from the control request, which must succeed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
import requests

from idpkit.realm import secure_defaults
from idpkit.smoke import forgery, oauth
from idpkit.smoke.certificates import ClientCertificate
from idpkit.smoke.checks import check

CLIENT = "smoke-backend"
MAX_AGE = secure_defaults.entry("client", "attributes.token.endpoint.auth.signing.max.exp").attribute
STALE_SECONDS = 180
"""Older than Keycloak's 60 s with its clock skew, far younger than a weakened day."""
OTHER_ALGORITHM = {"PS256": "RS256", "PS384": "RS384", "ES256": "ES384", "ES384": "ES256"}
"""The same key under an algorithm the client's pinned token.endpoint.auth.signing.alg does not name."""


@pytest.fixture(scope="module")
def send(
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    client_certificate: ClientCertificate,
    tls_verify: str | bool,
) -> Callable[[str], requests.Response]:
    """Send smoke-backend's client-credentials request with the given assertion; the control must succeed."""

    def with_assertion(assertion: str) -> requests.Response:
        return oauth.client_credentials(
            endpoints, clients[CLIENT], cert=client_certificate.requests_cert, verify=tls_verify,
            authentication=oauth.assertion_auth(assertion, CLIENT),
        )  # fmt: skip

    control = with_assertion(oauth.client_assertion(_key(clients), endpoints.issuer))
    assert control.status_code == 200, (
        f"control: {endpoints.mtls_token} refused smoke-backend's valid assertion ({control.status_code})"
    )
    return with_assertion


def _key(clients: dict[str, oauth.Client]) -> oauth.ClientKey:
    key = clients[CLIENT].key
    assert key is not None, "smoke credentials: smoke-backend has no generated key"
    return key


@check(
    "SMOKE-ASSERT-004",
    "A client assertion is accepted only within the client's maximum after its iat (Keycloak's 60 s), whatever exp "
    "it names",
    requirements=("SMART-2.2-BACKEND", "RFC9700-2.5", "HIPAA-164.312(d)"),
    risk="An assertion copied before use from a log or a proxy, or signed ahead of time with a key since revoked, "
    "authenticates the client long after it was made.",
    remediation=f'Leave attributes["{MAX_AGE}"] unset (Keycloak: 60 s) on every private_key_jwt client.',
    claims=(f'clients[*].attributes["{MAX_AGE}"]',),
)
def test_assertion_is_accepted_only_shortly_after_it_was_issued(
    send: Callable[[str], requests.Response], clients: dict[str, oauth.Client], endpoints: oauth.Endpoints
) -> None:
    now = int(time.time())
    stale = {"iat": now - STALE_SECONDS, "exp": now + 60}
    assertion = oauth.client_assertion(_key(clients), endpoints.issuer, claims=stale)
    _assert_refused(send(assertion), endpoints.mtls_token, f"{STALE_SECONDS} s old (unexpired)")


def _assert_refused(response: requests.Response, endpoint: str, variant: str) -> None:
    # RFC 6749 §5.2: 401 when the client authenticated through a header, else 400; Keycloak uses both.
    assert response.status_code in {400, 401} and oauth.oauth_error(response) == "invalid_client", (
        f"{endpoint}: {CLIENT} sent a {variant} client assertion and got {response.status_code} "
        f"{oauth.oauth_error(response)}, expected invalid_client"
    )
    assert oauth.issued_tokens(response) == set(), f"{endpoint}: {CLIENT} got a token with a {variant} assertion"


def _claims_variant(variant: str, key: oauth.ClientKey, issuer: str) -> str:
    now = int(time.time())
    past = now - 600
    variants: dict[str, dict[str, Any]] = {
        "expired": {"claims": {"iat": past, "exp": past + 60}},
        "issued-in-the-future": {"claims": {"iat": now + 600, "exp": now + 660}},
        "wrong-audience": {"claims": {"aud": "https://idp.staging.idpkit.invalid/realms/phi"}},
        "no-sub": {"omit": ("sub",)},
        "sub-not-the-client": {"claims": {"sub": "smoke-web"}},
        "no-exp": {"omit": ("exp",)},
    }
    return oauth.client_assertion(key, issuer, **variants[variant])


@check(
    "SMOKE-ASSERT-001",
    "Client assertions with invalid claims (expired, issued in the future, wrong aud, missing or foreign sub, no exp) "
    "are refused",
    requirements=("RFC9700-2.5", "FAPI2-SP-5.3.2", "SMART-2.2-BACKEND", "HIPAA-164.312(d)"),
    risk="Lax assertion checks let a captured or mis-addressed assertion authenticate the client again.",
    remediation="Keep Keycloak's client-jwt authenticator (it checks exp, aud = realm, iss = sub = client_id).",
)
@pytest.mark.parametrize(
    "variant", ["expired", "issued-in-the-future", "wrong-audience", "no-sub", "sub-not-the-client", "no-exp"]
)
def test_assertion_with_invalid_claims_is_refused(
    variant: str, send: Callable[[str], requests.Response], clients: dict[str, oauth.Client], endpoints: oauth.Endpoints
) -> None:
    _assert_refused(send(_claims_variant(variant, _key(clients), endpoints.issuer)), endpoints.mtls_token, variant)


@check(
    "SMOKE-ASSERT-002",
    "Client assertions not signed as registered (alg none, HS256 with the public key, rogue key, the registered key "
    "with another algorithm) are refused",
    requirements=("RFC9700-2.5", "FAPI2-SP-5.4", "FAPI2-SP-5.3.2", "HIPAA-164.312(d)"),
    risk="Accepting unsigned, algorithm-confused or foreign-key assertions lets anyone impersonate the backend.",
    remediation="token.endpoint.auth.signing.alg PS256 on every private_key_jwt client; only registered JWKS.",
    claims=('clients[*].attributes["token.endpoint.auth.signing.alg"]',),
)
@pytest.mark.parametrize(
    "variant", ["alg-none", "hs256-with-public-key", "unregistered-key", "registered-key-other-alg"]
)
def test_assertion_not_signed_by_the_registered_key_is_refused(
    variant: str, send: Callable[[str], requests.Response], clients: dict[str, oauth.Client], endpoints: oauth.Endpoints
) -> None:
    key = _key(clients)
    payload = oauth.unverified_claims(oauth.client_assertion(key, endpoints.issuer))
    if variant == "alg-none":
        assertion = forgery.unsigned(payload, kid=key.kid)
    elif variant == "hs256-with-public-key":
        assertion = forgery.hmac_with_public_key(payload, key.public_key_pem, kid=key.kid)
    elif variant == "registered-key-other-alg":  # FAPI 2.0 allows PS256 and ES256 only: RS256 is PKCS#1 v1.5
        other = OTHER_ALGORITHM[key.algorithm]
        assertion = jwt.encode(payload, key.private_key, algorithm=other, headers={"kid": key.kid})
    else:
        assertion = forgery.signed_with(payload, forgery.rogue_key(), kid=key.kid)
    _assert_refused(send(assertion), endpoints.mtls_token, variant)


@check(
    "SMOKE-ASSERT-003",
    "A client assertion cannot be used twice (jti replay)",
    requirements=("RFC9700-2.5", "FAPI2-SP-5.3.2", "SMART-2.2-BACKEND"),
    risk="A replayable assertion captured in transit or in logs authenticates the client until it expires.",
    remediation="Keep Keycloak's single-use jti check for client assertions.",
)
def test_reused_assertion_is_refused(
    send: Callable[[str], requests.Response], clients: dict[str, oauth.Client], endpoints: oauth.Endpoints
) -> None:
    assertion = oauth.client_assertion(_key(clients), endpoints.issuer)
    first = send(assertion)
    assert first.status_code == 200, f"control: {endpoints.mtls_token} refused smoke-backend's fresh assertion"
    _assert_refused(send(assertion), endpoints.mtls_token, "replayed (same jti)")
