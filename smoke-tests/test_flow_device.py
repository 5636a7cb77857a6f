"""Device authorization grant (RFC 8628), approved by the test user on the verification page."""

from __future__ import annotations

from collections.abc import Callable

import requests
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
)
def test_device_grant_approved_by_the_user(
    endpoints: oauth.Endpoints,
    clinician_browser: oauth.UserAgent,
    http: requests.Session,
    jwks_client: PyJWKClient,
    expect: Callable[..., oauth.TokenExpectations],
) -> None:
    # The pkce-enforcer policy covers the device authorization request too.
    pkce = oauth.Pkce.generate()
    started = http.post(
        endpoints.device_authorization,
        data={"client_id": "smoke-device", "scope": SCOPE} | pkce.authorization_params,
        timeout=15,
    )
    assert started.status_code == 200, f"{endpoints.device_authorization}: smoke-device refused ({started.status_code})"
    device = started.json()
    approval = clinician_browser.open(device["verification_uri_complete"])
    assert approval.status == 200, f"{device['verification_uri']}: approval ended with {approval.status}"
    response = http.post(
        endpoints.token,
        data={"grant_type": oauth.DEVICE_CODE_GRANT, "client_id": "smoke-device"}
        | {"device_code": device["device_code"], "code_verifier": pkce.verifier},
        timeout=15,
    )
    assert response.status_code == 200, (
        f"{endpoints.token}: smoke-device's approved device code refused ({oauth.oauth_error(response)})"
    )
    expectations = expect("smoke-device", scopes=frozenset({"patient/Observation.rs"}))
    oauth.validate_token(response.json()["access_token"], jwks_client, expectations)
