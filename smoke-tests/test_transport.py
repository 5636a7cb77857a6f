"""Transport and the browser-facing surface: TLS 1.2+, no plain HTTP, anti-framing, no CORS, admin kept off.

Everything goes through the outputs contract (base_url, m2m_url, issuer), so the same checks run
against the local front door and an AWS load balancer. Login pages are requested for Keycloak's
built-in `account-console` client, which every realm has, production included.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
import requests

from idpkit.compliance import Severity
from idpkit.outputs import StackOutputs
from idpkit.smoke import oauth, tls_probe
from idpkit.smoke.checks import check

PUBLIC_LISTENERS = ("base_url", "m2m_url")
LEGACY_VERSIONS = (ssl.TLSVersion.TLSv1, ssl.TLSVersion.TLSv1_1)
LOGIN_CLIENT = "account-console"
FOREIGN_ORIGIN = "https://attacker.example"
ADMIN_PATHS = (
    "/admin/",
    "/admin/master/console/",
    "/admin/realms",
    "/admin/realms/{realm}",
    "/admin/realms/{realm}/users",
    "/realms/master",
    "/realms/master/.well-known/openid-configuration",
    "/realms/master/protocol/openid-connect/token",
)
# Both are how the front door says "not here"; anything else means the path reached a server that serves it.
NOT_SERVED = (403, 404)
SAFE_FRAME_ANCESTORS = ("'none'", "'self'")
SAFE_FRAME_OPTIONS = ("DENY", "SAMEORIGIN")
MIN_HSTS_SECONDS = 31536000  # one year (RFC 6797 §11.2 practice; BCP 195 §3.4)


def _address(outputs: StackOutputs, listener: str) -> tuple[str, int]:
    parts = urlsplit(getattr(outputs, listener))
    assert parts.hostname, f"{listener}: {getattr(outputs, listener)!r} has no host"
    return parts.hostname, parts.port or 443


@pytest.fixture(scope="module")
def legacy_tls_server() -> Iterator[tuple[str, int]]:
    """The control: a local server that does accept TLS < 1.2."""
    with tls_probe.legacy_tls_server() as address:
        yield address


def _login_page_params(outputs: StackOutputs, endpoints: oauth.Endpoints) -> dict[str, str]:
    """A login page's query: an authorization request of the built-in login client, pushed first (the realm takes
    no other kind)."""
    client = oauth.Client.public(LOGIN_CLIENT, f"{outputs.issuer}/account/")
    params = oauth.authorization_params(client.client_id, client.redirect_uri or "", "openid", oauth.Pkce.generate())
    return oauth.push(endpoints, client, params, verify=outputs.tls_verify).authorization_params


@pytest.fixture(scope="module")
def login_page(outputs: StackOutputs, endpoints: oauth.Endpoints, http: requests.Session) -> requests.Response:
    endpoint = endpoints.authorization
    response = http.get(endpoint, params=_login_page_params(outputs, endpoints), timeout=15)
    assert response.status_code == 200, f"{endpoint}: login page answered {response.status_code}"
    assert "<form" in response.text, f"{endpoint}: the answer is not a login form"
    return response


def _frame_ancestors(csp: str) -> list[str] | None:
    for directive in csp.split(";"):
        name, _, sources = directive.strip().partition(" ")
        if name.lower() == "frame-ancestors":
            return sources.split()
    return None


@pytest.mark.parametrize("version", LEGACY_VERSIONS, ids=lambda v: v.name)
@check("SMOKE-TLS-000", "Control: the legacy client really speaks TLS 1.0/1.1",
       requirements=("RFC9325-BCP195",), severity=Severity.LOW,
       risk="Without this control, a client unable to offer old TLS would make the refusal checks pass vacuously.",
       remediation="Run the suite with an OpenSSL that can still be asked for TLS 1.0/1.1 at @SECLEVEL=0.")  # fmt: skip
def test_control_legacy_client_speaks_old_tls(legacy_tls_server: tuple[str, int], version: ssl.TLSVersion) -> None:
    agreed = tls_probe.negotiate(*legacy_tls_server, tls_probe.client_context(version))
    assert agreed == version.name.replace("_", "."), (
        f"control server: the {version.name} client could not connect; the TLS < 1.2 refusal checks are void"
    )


@pytest.mark.parametrize("version", LEGACY_VERSIONS, ids=lambda v: v.name)
@pytest.mark.parametrize("listener", PUBLIC_LISTENERS)
@check("SMOKE-TLS-001", "TLS below 1.2 is refused on every public listener",
       requirements=("RFC9325-BCP195", "FAPI2-SP-5.2.1", "HIPAA-164.312(e)(2)(ii)"), severity=Severity.HIGH,
       risk="TLS 1.0/1.1 lack modern AEAD suites and are open to downgrade attacks on PHI in transit.",
       remediation="nginx ssl_protocols TLSv1.2 TLSv1.3; ALB policy ELBSecurityPolicy-TLS13-1-2-*.")  # fmt: skip
def test_legacy_tls_is_refused(outputs: StackOutputs, listener: str, version: ssl.TLSVersion) -> None:
    host, port = _address(outputs, listener)
    agreed = tls_probe.negotiate(host, port, tls_probe.client_context(version))
    assert agreed is None, f"{listener} {host}:{port}: accepted a {agreed} handshake; TLS < 1.2 must be refused"


@pytest.mark.parametrize("listener", PUBLIC_LISTENERS)
@check("SMOKE-TLS-002", "TLS 1.2 is accepted on every public listener (the refusal above is not an outage)",
       requirements=("RFC9325-BCP195", "FAPI2-SP-5.2.1"), severity=Severity.MEDIUM,
       risk="A listener that refuses TLS 1.2 locks out clients, and would make the legacy refusal check meaningless.",
       remediation="Keep TLS 1.2 with the BCP 195 ECDHE+AEAD suites enabled next to TLS 1.3.")  # fmt: skip
def test_tls12_is_accepted(outputs: StackOutputs, listener: str) -> None:
    host, port = _address(outputs, listener)
    agreed = tls_probe.negotiate(host, port, tls_probe.client_context(ssl.TLSVersion.TLSv1_2))
    assert agreed == "TLSv1.2", f"{listener} {host}:{port}: refused a TLS 1.2 handshake"


@pytest.mark.parametrize("port_of", ["listener port", "port 80"])
@pytest.mark.parametrize("listener", PUBLIC_LISTENERS)
@check("SMOKE-TLS-003", "Plain HTTP never serves Keycloak content",
       requirements=("HIPAA-164.312(e)(1)", "HIPAA-164.312(e)(2)(ii)"), severity=Severity.CRITICAL,
       risk="Credentials, codes and tokens sent over plain HTTP can be read and altered on the network.",
       remediation="No HTTP listener; or one that only redirects to https:// (never proxies to Keycloak).")  # fmt: skip
def test_plain_http_is_refused(outputs: StackOutputs, listener: str, port_of: str) -> None:
    host, port = _address(outputs, listener)
    url = f"http://{host}:{port if port_of == 'listener port' else 80}/realms/{outputs.realm}"
    try:
        response = requests.get(url, timeout=5, allow_redirects=False)
    except requests.ConnectionError:
        return  # refused, reset or filtered: nothing is served
    if response.is_redirect:
        location = response.headers.get("Location", "")
        assert location.startswith("https://"), f"{url}: plain HTTP redirects to {location!r}, not to https://"
        return
    assert response.status_code >= 400, f"{url}: plain HTTP answered {response.status_code}"
    assert outputs.realm not in response.text, f"{url}: served Keycloak content over plain HTTP"


@check("SMOKE-BROWSER-001", "Login pages forbid framing (CSP frame-ancestors or X-Frame-Options)",
       requirements=("RFC9700-4.16",), severity=Severity.HIGH,
       risk="A login page inside an attacker's frame can be overlaid to capture clicks and credentials (clickjacking).",
       remediation="browserSecurityHeaders: CSP frame-ancestors 'none', xFrameOptions DENY.")  # fmt: skip
def test_login_page_forbids_framing(login_page: requests.Response) -> None:
    ancestors = _frame_ancestors(login_page.headers.get("Content-Security-Policy", ""))
    frame_options = login_page.headers.get("X-Frame-Options", "").strip().upper()
    csp_safe = ancestors is not None and set(ancestors) <= set(SAFE_FRAME_ANCESTORS)
    assert csp_safe or frame_options in SAFE_FRAME_OPTIONS, (
        f"{login_page.url.split('?')[0]}: login page can be framed "
        f"(CSP frame-ancestors {ancestors}, X-Frame-Options {frame_options or 'absent'!r})"
    )


@check("SMOKE-BROWSER-002", "Login pages send HSTS for at least a year",
       requirements=("HIPAA-164.312(e)(1)", "RFC9325-BCP195"), severity=Severity.MEDIUM,
       risk="Without HSTS, a first visit over http:// can be stripped of TLS by an on-path attacker.",
       remediation="Strict-Transport-Security max-age >= 31536000 at the front door.")  # fmt: skip
def test_login_page_sends_hsts(login_page: requests.Response) -> None:
    header = login_page.headers.get("Strict-Transport-Security", "")
    max_age = next(
        (int(part.split("=", 1)[1]) for part in header.split(";") if part.strip().lower().startswith("max-age=")), 0
    )
    assert max_age >= MIN_HSTS_SECONDS, (
        f"{login_page.url.split('?')[0]}: Strict-Transport-Security {header or 'absent'!r}, max-age below one year"
    )


@check("SMOKE-BROWSER-003", "Login pages offer no 'remember me'",
       requirements=("HIPAA-164.312(a)(2)(iii)",), severity=Severity.MEDIUM,
       risk="Remembered sessions outlive the 15-minute automatic logoff on shared clinical workstations.",
       remediation="Realm setting rememberMe: false.",
       claims=("realm.rememberMe",))  # fmt: skip
def test_login_page_offers_no_remember_me(login_page: requests.Response) -> None:
    assert 'name="rememberMe"' not in login_page.text, (
        f"{login_page.url.split('?')[0]}: login page offers 'remember me'; sessions must end with inactivity"
    )


@check("SMOKE-BROWSER-006", "Login pages offer no password reset by e-mail",
       requirements=("HIPAA-164.312(d)",), severity=Severity.MEDIUM,
       risk="A forgot-password link lets whoever reads a clinician's mailbox take over the PHI account.",
       remediation="resetPasswordAllowed: false (its secure default); the identity team resets passwords.",
       claims=("realm.resetPasswordAllowed",))  # fmt: skip
def test_login_page_offers_no_password_reset(login_page: requests.Response) -> None:
    assert "login-actions/reset-credentials" not in login_page.text, (
        f"{login_page.url.split('?')[0]}: login page links a password reset by e-mail"
    )


@check("SMOKE-BROWSER-004", "Self-registration is disabled",
       requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(a)(2)(i)"), severity=Severity.HIGH,
       risk="Anyone could create an account in the PHI realm and obtain tokens for its clients.",
       remediation="registrationAllowed: false; the organisation provisions accounts.",
       claims=("realm.registrationAllowed",))  # fmt: skip
def test_self_registration_is_disabled(
    outputs: StackOutputs, endpoints: oauth.Endpoints, http: requests.Session
) -> None:
    endpoint = f"{outputs.issuer}/protocol/openid-connect/registrations"
    response = http.get(endpoint, params=_login_page_params(outputs, endpoints), timeout=15)
    assert 'name="password-confirm"' not in response.text, (
        f"{endpoint}: serves a registration form ({response.status_code}); self-registration must be off"
    )


@pytest.mark.parametrize("method", ["GET", "OPTIONS"])
@check("SMOKE-BROWSER-005", "The authorization endpoint answers no CORS request",
       requirements=("RFC9700-2.6",), severity=Severity.MEDIUM,
       risk="CORS on the authorization endpoint lets scripts on other origins read login pages and responses.",
       remediation="No CORS headers on the authorization endpoint (Keycloak default; none at the proxy).")  # fmt: skip
def test_authorization_endpoint_has_no_cors(
    outputs: StackOutputs, endpoints: oauth.Endpoints, http: requests.Session, method: str
) -> None:
    endpoint = endpoints.authorization
    headers = {"Origin": FOREIGN_ORIGIN, "Access-Control-Request-Method": "GET"}
    params = _login_page_params(outputs, endpoints)
    response = http.request(method, endpoint, params=params, headers=headers, timeout=15)
    allowed = response.headers.get("Access-Control-Allow-Origin")
    assert allowed is None, f"{method} {endpoint} from {FOREIGN_ORIGIN}: Access-Control-Allow-Origin {allowed!r}"


@pytest.mark.parametrize("path", ADMIN_PATHS)
@check("SMOKE-ADMIN-001", "The admin console, admin API and master realm are not served on the public listener",
       requirements=("HIPAA-164.312(a)(1)",), severity=Severity.CRITICAL,
       risk="A public admin surface exposes full control of the identity provider to password guessing and exploits.",
       remediation="Serve /admin, /realms/master only on admin_url; 404 them at the edge.")  # fmt: skip
def test_admin_is_not_served_publicly(outputs: StackOutputs, http: requests.Session, path: str) -> None:
    url = outputs.base_url + path.format(realm=outputs.realm)
    response = http.get(url, timeout=15, allow_redirects=False)
    assert response.status_code in NOT_SERVED, f"{url}: answered {response.status_code}; admin must not be public"
