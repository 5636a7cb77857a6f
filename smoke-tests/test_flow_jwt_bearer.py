"""JWT bearer grant (RFC 7523 §2.1) through the identity provider the JWT bearer smoke client trusts.

smoke-jwt-bearer presents an assertion from its provider (realm-config: `oauth2.jwt.authorization.grant.idp`),
signed with its own generated key (the provider's registered verifier), for the test user, and
authenticates itself with private_key_jwt. The assertion's `sub` is the test user's federated identity
link to the provider, as realm-config codifies it (fragments/smoke.yaml): Keycloak resolves the
subject through that link.
"""

from __future__ import annotations

from collections.abc import Callable

from jwt import PyJWKClient

from idpkit.smoke import oauth
from idpkit.smoke.checks import check
from idpkit.smoke.identities import AssertionProvider, SmokeClient


@check(
    "SMOKE-JWTBEARER-001",
    "JWT bearer grant with a trusted issuer's assertion yields a valid token for the asserted user",
    requirements=("RFC9700-2.5", "RFC9700-2.3", "HIPAA-164.312(d)"),
    risk="A partner integration that cannot use the assertion grant falls back to shared accounts.",
    remediation="Link the asserted subject to a realm user (federated identity on the assertion provider) "
    "and keep the provider's verifier key, issuer and reuse settings.",
    claims=(
        'clients[*].attributes["oauth2.jwt.authorization.grant.*"]',
        "identityProviders[*].config.jwtAuthorizationGrantEnabled",
    ),
)
def test_jwt_bearer_grant_issues_a_valid_token(
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    jwt_bearer_client: SmokeClient,
    assertion_provider_of_clinician: AssertionProvider,
    tls_verify: str | bool,
    jwks_client: PyJWKClient,
    expect: Callable[..., oauth.TokenExpectations],
) -> None:
    client, provider = clients[jwt_bearer_client.client_id], assertion_provider_of_clinician
    assert client.key is not None, f"smoke credentials: {client.client_id} has no generated key"
    assertion = oauth.bearer_assertion(client.key, provider.issuer, provider.subject, endpoints.issuer)
    response = oauth.jwt_bearer_grant(endpoints, client, assertion, "openid patient/Observation.rs", verify=tls_verify)
    assert response.status_code == 200, (
        f"{endpoints.token}: {client.client_id}'s assertion for {provider.subject} refused "
        f"({oauth.oauth_error(response)}: {response.json().get('error_description')})"
    )
    expectations = expect(client.client_id, scopes=frozenset({"patient/Observation.rs"}))
    oauth.validate_token(response.json()["access_token"], jwks_client, expectations)
