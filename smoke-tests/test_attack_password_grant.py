"""Resource owner password credentials (RFC 9700 §2.4): refused even with the user's real password."""

from __future__ import annotations

from typing import Any

import pytest

from idpkit.smoke import oauth
from idpkit.smoke.checks import check

pytestmark = pytest.mark.usefixtures("code_flow_controls")


@check(
    "SMOKE-ROPC-001",
    "grant_type=password is refused, even with valid user credentials",
    requirements=("RFC9700-2.4", "HIPAA-164.312(d)"),
    risk="ROPC hands the clinician's password to the client and bypasses MFA, consent and brute-force pacing.",
    remediation="directAccessGrantsEnabled false on every client; reject-ropc-grant client policy.",
    claims=("clients[*].directAccessGrantsEnabled",),
)
@pytest.mark.parametrize("client_id", ["smoke-spa", "smoke-web"])
def test_password_grant_is_refused(
    client_id: str,
    clients: dict[str, oauth.Client],
    smoke_credentials: dict[str, Any],
    endpoints: oauth.Endpoints,
    tls_verify: str | bool,
) -> None:
    # The real password: a refusal must come from the grant policy, not from a failed login.
    password = smoke_credentials["users"]["smoke-clinician"]["password"]
    data = {"grant_type": "password", "username": "smoke-clinician", "password": password, "scope": "openid"}
    # A public client proves its DPoP key: the refusal must be the grant's, not a missing proof's.
    response = oauth.token_request(endpoints, clients[client_id], data, verify=tls_verify)
    assert (response.status_code, oauth.oauth_error(response)) == (400, "unauthorized_client"), (
        f"{endpoints.token}: {client_id} password grant: expected 400 unauthorized_client, "
        f"got {response.status_code} {oauth.oauth_error(response)}"
    )
    assert oauth.issued_tokens(response) == set(), f"{endpoints.token}: {client_id} got tokens via the password grant"
