"""JWT bearer grant attacks (RFC 7523 §3): a trusted issuer's assertion is honoured once, fresh and as signed.

The limits come from the provider the JWT bearer smoke client trusts, as realm-config codifies it:
its reuse policy, how old an assertion may be (Keycloak bounds the age of `iat`, not `exp - iat`)
and its signature algorithm. Each attack alters one thing of an otherwise valid assertion.
"""

from __future__ import annotations

import time

import jwt
import pytest
import requests

from idpkit.smoke import forgery, oauth
from idpkit.smoke.checks import check
from idpkit.smoke.identities import AssertionProvider, SmokeClient

REUSE = "jwtAuthorizationGrantAssertionReuseAllowed"
MAX_AGE = "jwtAuthorizationGrantMaxAllowedAssertionExpiration"
ALGORITHM = "jwtAuthorizationGrantAssertionSignatureAlg"
OTHER_RSA_ALGORITHM = {"PS256": "RS256", "RS256": "PS256"}


def _exchange(
    endpoints: oauth.Endpoints, client: oauth.Client, assertion: str, verify: str | bool
) -> requests.Response:
    return oauth.jwt_bearer_grant(endpoints, client, assertion, "openid", verify=verify)


def _assert_refused(response: requests.Response, client_id: str, attack: str, endpoint: str) -> None:
    assert response.status_code == 400 and oauth.issued_tokens(response) == set(), (
        f"{endpoint}: {client_id} exchanged {attack} for tokens ({response.status_code}); it must be refused"
    )


@check(
    "SMOKE-JWTBEARER-002",
    "A JWT bearer assertion cannot be exchanged twice (jti replay)",
    requirements=("RFC9700-2.5", "HIPAA-164.312(d)"),
    risk="An assertion captured in transit or in a log logs the partner's user in again until it expires.",
    remediation=f"{REUSE}: 'false' on every assertion-grant identity provider.",
    claims=(f"identityProviders[*].config.{REUSE}",),
)
def test_replayed_assertion_is_refused(
    endpoints: oauth.Endpoints, clients: dict[str, oauth.Client], jwt_bearer_client: SmokeClient,
    assertion_provider_of_clinician: AssertionProvider, tls_verify: str | bool,
) -> None:  # fmt: skip
    client, provider = clients[jwt_bearer_client.client_id], assertion_provider_of_clinician
    assert client.key is not None and provider.config.get(REUSE) == "false", "realm-config allows assertion reuse"
    assertion = oauth.bearer_assertion(client.key, provider.issuer, provider.subject, endpoints.issuer)
    first = _exchange(endpoints, client, assertion, tls_verify)
    assert first.status_code == 200, (
        f"control: {client.client_id}'s fresh assertion refused ({oauth.oauth_error(first)})"
    )
    _assert_refused(_exchange(endpoints, client, assertion, tls_verify), client.client_id, "a replayed assertion",
                    endpoints.token)  # fmt: skip


@check(
    "SMOKE-JWTBEARER-003",
    "An assertion issued longer ago than the provider's codified maximum is refused",
    requirements=("RFC9700-2.5", "HIPAA-164.312(d)"),
    risk="Old assertions (from a backup, a log, a compromised partner queue) keep working as logins.",
    remediation=f"{MAX_AGE}: 300 (seconds) on every assertion-grant identity provider.",
    claims=(f"identityProviders[*].config.{MAX_AGE}",),
)
def test_stale_assertion_is_refused(
    endpoints: oauth.Endpoints, clients: dict[str, oauth.Client], jwt_bearer_client: SmokeClient,
    assertion_provider_of_clinician: AssertionProvider, tls_verify: str | bool,
) -> None:  # fmt: skip
    client, provider = clients[jwt_bearer_client.client_id], assertion_provider_of_clinician
    assert client.key is not None
    max_age = int(provider.config[MAX_AGE])
    now = int(time.time())
    fresh = oauth.bearer_assertion(client.key, provider.issuer, provider.subject, endpoints.issuer,
                                   claims={"iat": now - max_age // 2})  # fmt: skip
    assert _exchange(endpoints, client, fresh, tls_verify).status_code == 200, (
        f"control: {client.client_id}'s assertion issued {max_age // 2} s ago was refused"
    )
    stale = oauth.bearer_assertion(client.key, provider.issuer, provider.subject, endpoints.issuer,
                                   claims={"iat": now - max_age - 60})  # fmt: skip
    _assert_refused(_exchange(endpoints, client, stale, tls_verify), client.client_id,
                    f"an assertion issued {max_age + 60} s ago (maximum {max_age} s)", endpoints.token)  # fmt: skip


@check(
    "SMOKE-JWTBEARER-004",
    "An assertion signed with another algorithm than the provider's codified one is refused, same key or not",
    requirements=("RFC9700-2.5", "FAPI2-SP-5.4"),
    risk="Accepting any algorithm the key supports opens algorithm-confusion and weaker-padding attacks.",
    remediation=f"{ALGORITHM}: PS256 on every assertion-grant identity provider.",
    claims=(f"identityProviders[*].config.{ALGORITHM}",),
)
def test_assertion_with_another_algorithm_is_refused(
    endpoints: oauth.Endpoints, clients: dict[str, oauth.Client], jwt_bearer_client: SmokeClient,
    assertion_provider_of_clinician: AssertionProvider, tls_verify: str | bool,
) -> None:  # fmt: skip
    client, provider = clients[jwt_bearer_client.client_id], assertion_provider_of_clinician
    assert client.key is not None
    codified = provider.config[ALGORITHM]
    other = OTHER_RSA_ALGORITHM.get(codified)
    assert other, f"realm-config: no other algorithm for the provider's key to try against {codified}"
    payload = oauth.unverified_claims(
        oauth.bearer_assertion(client.key, provider.issuer, provider.subject, endpoints.issuer)
    )
    forged = jwt.encode(payload, client.key.private_key, algorithm=other, headers={"kid": client.key.kid})
    _assert_refused(_exchange(endpoints, client, forged, tls_verify), client.client_id,
                    f"an assertion signed {other} (codified: {codified})", endpoints.token)  # fmt: skip


@check(
    "SMOKE-JWTBEARER-005",
    "Only the trusted issuer's assertions, signed with its registered key, are honoured",
    requirements=("RFC9700-2.5", "HIPAA-164.312(d)"),
    risk="An assertion naming another issuer, or signed with a key the provider never registered, would log "
    "anyone in as any linked user.",
    remediation="Keep each assertion-grant provider's issuer and verification key (jwksUrl or a registered "
    "public key) exactly as codified.",
    claims=(
        "identityProviders[*].config.issuer",
        "identityProviders[*].config.useJwksUrl",
        "identityProviders[*].config.jwksUrl",
        "identityProviders[*].config.publicKeySignatureVerifier",
    ),
)
@pytest.mark.parametrize("forgery_kind", ["foreign-issuer", "unregistered-key"])
def test_assertion_from_elsewhere_is_refused(
    forgery_kind: str, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client], jwt_bearer_client: SmokeClient,
    assertion_provider_of_clinician: AssertionProvider, tls_verify: str | bool,
) -> None:  # fmt: skip
    client, provider = clients[jwt_bearer_client.client_id], assertion_provider_of_clinician
    assert client.key is not None
    payload = oauth.unverified_claims(
        oauth.bearer_assertion(client.key, provider.issuer, provider.subject, endpoints.issuer)
    )
    if forgery_kind == "foreign-issuer":
        forged = jwt.encode(payload | {"iss": "https://elsewhere.idpkit.invalid"}, client.key.private_key,
                            algorithm=client.key.algorithm, headers={"kid": client.key.kid})  # fmt: skip
    else:
        forged = forgery.signed_with(payload, forgery.rogue_key(), kid=client.key.kid)
    _assert_refused(_exchange(endpoints, client, forged, tls_verify), client.client_id,
                    f"an assertion with a {forgery_kind}", endpoints.token)  # fmt: skip
