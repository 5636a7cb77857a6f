"""JWT bearer grant (RFC 7523 §2.1) through the `smoke-assertions` identity provider.

smoke-jwt-bearer presents an assertion from https://smoke-assertions.idpkit.invalid, signed with its
own generated key (the provider's registered verifier), for the test user, and authenticates itself
with private_key_jwt. The assertion's `sub` is the test user's federated identity link to the provider,
as realm-config codifies it (fragments/smoke.yaml): Keycloak resolves the subject through that link.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable

import jwt
import requests
from jwt import PyJWKClient

from idpkit.realm import loader
from idpkit.smoke import oauth
from idpkit.smoke.checks import check

ASSERTION_ISSUER = "https://smoke-assertions.idpkit.invalid"
ASSERTION_PROVIDER = "smoke-assertions"
CLINICIAN = "smoke-clinician"


def _asserted_subject(stack_name: str) -> str:
    """The `sub` the assertion provider asserts for the test user: the user's codified link to it."""
    users = {user.key: user for user in loader.load(stack_name).document.users or []}
    links = (users[CLINICIAN].federated_identities or []) if CLINICIAN in users else []
    subject = next((link.user_id for link in links if link.identity_provider == ASSERTION_PROVIDER), None)
    assert subject, f"realm-config for {stack_name}: {CLINICIAN} has no federated identity link to {ASSERTION_PROVIDER}"
    return subject


@check(
    "SMOKE-JWTBEARER-001",
    "JWT bearer grant with a trusted issuer's assertion yields a valid token for the asserted user",
    requirements=("RFC9700-2.5", "RFC9700-2.3", "HIPAA-164.312(d)"),
    risk="A partner integration that cannot use the assertion grant falls back to shared accounts.",
    remediation="Link the asserted subject to a realm user (federated identity on the assertion provider) "
    "and keep the provider's verifier key, issuer and reuse settings.",
)
def test_jwt_bearer_grant_issues_a_valid_token(
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    http: requests.Session,
    jwks_client: PyJWKClient,
    expect: Callable[..., oauth.TokenExpectations],
    stack_name: str,
) -> None:
    client = clients["smoke-jwt-bearer"]
    subject = _asserted_subject(stack_name)
    assert client.key is not None, "smoke credentials: smoke-jwt-bearer has no generated key"
    now = int(time.time())
    assertion = jwt.encode(
        {"iss": ASSERTION_ISSUER, "sub": subject, "aud": endpoints.issuer, "iat": now, "exp": now + 60,
         "jti": str(uuid.uuid4())},
        client.key.private_key_pem, algorithm=client.key.algorithm, headers={"kid": client.key.kid},
    )  # fmt: skip
    response = http.post(
        endpoints.token,
        data={"grant_type": oauth.JWT_BEARER_GRANT, "assertion": assertion, "scope": "openid patient/Observation.rs"}
        | client.authentication(endpoints.issuer),
        timeout=15,
    )
    assert response.status_code == 200, (
        f"{endpoints.token}: smoke-jwt-bearer's assertion for {subject} ({CLINICIAN}) refused "
        f"({oauth.oauth_error(response)}: {response.json().get('error_description')})"
    )
    expectations = expect("smoke-jwt-bearer", scopes=frozenset({"patient/Observation.rs"}))
    oauth.validate_token(response.json()["access_token"], jwks_client, expectations)
