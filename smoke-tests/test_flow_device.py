"""Device authorization grant (RFC 8628), approved by the test user on the verification page."""

from __future__ import annotations

from collections.abc import Callable

from jwt import PyJWKClient

from idpkit.smoke import oauth
from idpkit.smoke.checks import check

SCOPE = "openid patient/Observation.rs"


@check(
    "SMOKE-DEVICE-001",
    "Device grant approved by the user yields a valid, audience-restricted token",
    requirements=("RFC9700-2.1.1", "RFC9700-2.3", "HIPAA-164.312(d)"),
    risk="Bedside devices without a working device flow end up with shared accounts or long-lived secrets.",
    remediation="Keep oauth2.device.authorization.grant.enabled on the device client, with PKCE "
    "and the audience scope.",
    claims=('clients[*].attributes["oauth2.device.authorization.grant.enabled"]',),
)
def test_device_grant_approved_by_the_user(
    endpoints: oauth.Endpoints,
    clinician_browser: oauth.UserAgent,
    clients: dict[str, oauth.Client],
    tls_verify: str | bool,
    jwks_client: PyJWKClient,
    expect: Callable[..., oauth.TokenExpectations],
) -> None:
    response = oauth.device_grant(clinician_browser, endpoints, clients["smoke-device"], SCOPE, verify=tls_verify)
    assert response.status_code == 200, (
        f"{endpoints.token}: smoke-device's approved device code refused ({oauth.oauth_error(response)})"
    )
    expectations = expect("smoke-device", scopes=frozenset({"patient/Observation.rs"}))
    oauth.validate_token(response.json()["access_token"], jwks_client, expectations)
