"""Keycloak's own browser security headers on the realm's login pages, as realm-config sets (or holds) them.

Observed on Keycloak's listener (admin_url), where the realm's settings are all that decides them:
the front door adds some of these headers itself (HSTS), which would hide a weakened realm setting.
What the public listener sends is checked by test_transport.py. One case per codified header.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
import requests

from idpkit.keycloak_admin import AdminApi
from idpkit.outputs import StackOutputs
from idpkit.realm import loader
from idpkit.smoke import codified, oauth
from idpkit.smoke.checks import check, claims

# Keycloak's realm fields (BrowserSecurityHeaders) and the response headers they set.
HEADERS = {
    "contentSecurityPolicy": "Content-Security-Policy",
    "contentSecurityPolicyReportOnly": "Content-Security-Policy-Report-Only",
    "xFrameOptions": "X-Frame-Options",
    "xContentTypeOptions": "X-Content-Type-Options",
    "xRobotsTag": "X-Robots-Tag",
    "xXSSProtection": "X-XSS-Protection",
    "strictTransportSecurity": "Strict-Transport-Security",
    "referrerPolicy": "Referrer-Policy",
}
LOGIN_CLIENT = "account-console"
PREFIX = "realm.browserSecurityHeaders."


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One case per header realm-config declares or holds to its secure default."""
    if "field" in metafunc.fixturenames:
        found = codified.settings(loader.load(metafunc.config.getoption("--stack")))
        headers = sorted((path.removeprefix(PREFIX), value) for path, value in found.items() if path.startswith(PREFIX))
        metafunc.parametrize(
            ("field", "value"), [pytest.param(f, v, id=f, marks=claims(f"{PREFIX}{f}")) for f, v in headers]
        )


@pytest.fixture(scope="module")
def keycloak_login_page(outputs: StackOutputs, realm_admin: AdminApi, endpoints: oauth.Endpoints) -> requests.Response:
    """The realm's login page straight from Keycloak (admin_url reaches Keycloak's own listener), for a request
    pushed through the public listener (one realm, one store of pushed requests)."""
    del realm_admin  # asked for its credential check: admin_url is reachable only where the admin API is
    client = oauth.Client.public(LOGIN_CLIENT, f"{outputs.issuer}/account/")
    request = oauth.authorization_params(client.client_id, client.redirect_uri or "", "openid", oauth.Pkce.generate())
    params = oauth.push(endpoints, client, request, verify=outputs.tls_verify).authorization_params
    keycloak = outputs.admin_url.rstrip("/")
    url = f"{keycloak}/realms/{outputs.realm}/protocol/openid-connect/auth"
    browser = requests.Session()
    response = browser.get(url, params=params, verify=outputs.admin_tls_verify, timeout=oauth.TIMEOUT,
                           allow_redirects=False)  # fmt: skip
    if response.is_redirect:  # a pushed request is opened by a redirect to the login page on the public hostname
        page = urlsplit(response.headers["Location"])
        response = browser.get(f"{keycloak}{page.path}?{page.query}", verify=outputs.admin_tls_verify,
                               timeout=oauth.TIMEOUT, allow_redirects=False)  # fmt: skip
    assert response.status_code == 200 and "kc-form-login" in response.text, (
        f"{url}: no login page ({response.status_code})"
    )
    return response


@check(
    "SMOKE-HEADERS-001",
    "Keycloak sends each browser security header realm-config sets, with its codified value",
    requirements=("RFC9700-4.16", "HIPAA-164.312(e)(1)"),
    risk="A weakened realm header (framing allowed, HSTS dropped) goes unnoticed wherever the front door does not "
    "add its own, and on any listener that does not.",
    remediation="realm.browserSecurityHeaders as codified (base/realm.yaml) or held (idpkit/realm/secure_defaults.py).",
    claims=("realm.browserSecurityHeaders.*",),
)
def test_keycloak_sends_the_codified_header(field: str, value: str, keycloak_login_page: requests.Response) -> None:
    header = HEADERS.get(field)
    assert header, f"realm.browserSecurityHeaders.{field}: no known response header; add it to {__name__}"
    sent = keycloak_login_page.headers.get(header)
    assert sent == value, f"Keycloak login page: {header} is {sent!r}, realm-config sets {value!r}"
