"""Revocation (RFC 7009): a revoked refresh token is reported inactive by introspection.

Keycloak lets a client introspect only tokens in its audience: smoke-web (private_key_jwt) can
introspect its own refresh token, not an access token addressed to phi-api.
"""

from __future__ import annotations

from collections.abc import Callable

import requests

from idpkit.smoke import oauth
from idpkit.smoke.checks import check


@check(
    "SMOKE-REVOKE-001",
    "A revoked refresh token is inactive at introspection and refused for refresh",
    requirements=("RFC7009", "RFC9700-4.14", "HIPAA-164.312(a)(1)"),
    risk="Tokens that survive revocation keep PHI access open after a device is lost or a user leaves.",
    remediation="Keep the revocation endpoint enabled; resource servers introspect or use short-lived tokens.",
)
def test_revoked_refresh_token_is_inactive(
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    http: requests.Session,
) -> None:
    web = clients["smoke-web"]
    grant = oauth.sign_in(new_user_agent(), endpoints, web, "openid")
    refresh_token = grant.tokens["refresh_token"]

    def introspect() -> dict[str, object]:
        data = {"token": refresh_token, "token_type_hint": "refresh_token"} | web.authentication(endpoints.issuer)
        response = http.post(endpoints.introspection, data=data, timeout=15)
        assert response.status_code == 200, f"{endpoints.introspection}: smoke-web refused ({response.status_code})"
        body: dict[str, object] = response.json()
        return body

    assert introspect().get("active") is True, f"{endpoints.introspection}: smoke-web's fresh refresh token inactive"
    revoked = http.post(
        endpoints.revocation,
        data={"token": refresh_token, "token_type_hint": "refresh_token"} | web.authentication(endpoints.issuer),
        timeout=15,
    )
    assert revoked.status_code == 200, f"{endpoints.revocation}: smoke-web's revocation refused ({revoked.status_code})"
    assert introspect().get("active") is False, (
        f"{endpoints.introspection}: smoke-web's revoked refresh token still active (RFC 7009 §2.2)"
    )
