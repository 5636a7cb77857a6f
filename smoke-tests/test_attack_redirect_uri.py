"""Redirect URI attacks (RFC 9700 §2.1, §4.1): only the exact registered URI is accepted.

Keycloak must show its own error page (400, no Location) instead of redirecting: a redirect to an
unregistered URI would carry the code or at least the error to the attacker.
"""

from __future__ import annotations

import pytest

from idpkit.smoke import oauth
from idpkit.smoke.checks import check

pytestmark = pytest.mark.usefixtures("code_flow_controls")
REGISTERED = "https://127.0.0.1:8765/callback"
VARIANTS = {
    "added-query": f"{REGISTERED}?next=https://attacker.example",
    "trailing-slash": f"{REGISTERED}/",
    "case": "https://127.0.0.1:8765/Callback",
    "sub-path": f"{REGISTERED}/attacker",
    "dot-segment": "https://127.0.0.1:8765/callback/../callback",
    "other-port": "https://127.0.0.1:8766/callback",
    "no-port": "https://127.0.0.1/callback",
    "wildcard": "https://127.0.0.1:8765/*",
    "http-scheme": "http://127.0.0.1:8765/callback",
    "other-host": "https://attacker.example/callback",
    "userinfo-confusion": "https://127.0.0.1:8765@attacker.example/callback",
    "fragment": f"{REGISTERED}#attacker",
}


@check(
    "SMOKE-REDIRECT-001",
    "Only the exact registered redirect URI is accepted; variants get an error page, no redirect",
    requirements=("RFC9700-2.1", "RFC9700-4.2", "HIPAA-164.312(a)(1)"),
    risk="A loosely matched redirect URI sends authorization codes (and the PHI they unlock) to an attacker.",
    remediation="Register exact redirect URIs only (no wildcards); secure-redirect-uris-enforcer client policy.",
    claims=("clients[*].redirectUris",),
)
@pytest.mark.parametrize("client_id", ["smoke-spa", "smoke-web"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_unregistered_redirect_uri_is_refused(
    variant: str,
    client_id: str,
    clinician_browser: oauth.UserAgent,
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
) -> None:
    params = oauth.authorization_params(client_id, VARIANTS[variant], "openid", oauth.Pkce.generate())
    result = clinician_browser.authorize(endpoints, clients[client_id], params)
    assert not result.redirected, f"{endpoints.authorization}: {client_id} redirected to a {variant} redirect_uri"
    assert result.status == 400, (
        f"{endpoints.authorization}: {client_id} {variant} redirect_uri answered {result.status}"
    )
