"""Transport: TLS everywhere, browser security headers, exact CORS origins."""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from idpkit.compliance import RuleMetadata, Severity
from idpkit.realm.limits import MIN_HSTS_SECONDS
from idpkit.realm.located import LoadedConfig
from idpkit.realm.rules.common import client_path, clients, realm_field, realm_settings
from idpkit.realm.rules.registry import rule


@rule(
    RuleMetadata(
        id="REALM-TLS-001",
        title="The realm requires TLS for every request (sslRequired: all)",
        requirements=("HIPAA-164.312(e)(1)", "HIPAA-164.312(e)(2)(ii)"),
        severity=Severity.CRITICAL,
        risk="Tokens and credentials could travel in clear text.",
        remediation="Set realm.sslRequired: all.",
    )
)
def _tls(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    yield from realm_field(loaded, "sslRequired", lambda v: v == "all", "'all'")


@rule(
    RuleMetadata(
        id="REALM-HEADERS-001",
        title="Login pages cannot be framed and are HTTPS-only (X-Frame-Options, CSP frame-ancestors, HSTS)",
        requirements=("RFC9700-4.16", "HIPAA-164.312(e)(1)"),
        severity=Severity.MEDIUM,
        risk="Login pages framed by another site (clickjacking) or reached over plain HTTP.",
        remediation="Set realm.browserSecurityHeaders xFrameOptions: DENY, contentSecurityPolicy with "
        "frame-ancestors 'none', strictTransportSecurity max-age >= 31536000.",
    )
)
def _headers(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    headers = realm_settings(loaded).get("browserSecurityHeaders") or {}
    path = "realm.browserSecurityHeaders"
    if headers.get("xFrameOptions") not in {"DENY", "SAMEORIGIN"}:
        yield f"{path}.xFrameOptions", "must be DENY or SAMEORIGIN"
    if "frame-ancestors 'none'" not in headers.get("contentSecurityPolicy", ""):
        yield f"{path}.contentSecurityPolicy", "must include frame-ancestors 'none'"
    max_age = re.search(r"max-age=(\d+)", headers.get("strictTransportSecurity", ""))
    if not max_age or int(max_age.group(1)) < MIN_HSTS_SECONDS:
        yield f"{path}.strictTransportSecurity", f"must set max-age >= {MIN_HSTS_SECONDS}"


@rule(
    RuleMetadata(
        id="REALM-CORS-001",
        title="Browser clients allow CORS only from exact https origins",
        requirements=("RFC9700-2.6", "HIPAA-164.312(e)(1)"),
        severity=Severity.MEDIUM,
        risk="A wildcard or plain-http origin lets any (or an unencrypted) web page call the token and userinfo "
        "endpoints with the user's browser.",
        remediation="List each app's origin exactly (https://host[:port]) in webOrigins, or '+' for the redirect "
        "URIs' origins; never '*'.",
    )
)
def _cors(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    for client in clients(loaded.document):
        for index, origin in enumerate(client.web_origins or []):
            if origin == "+":
                continue
            parts = urlsplit(origin)
            if "*" in origin or parts.scheme != "https" or parts.path or parts.query or not parts.hostname:
                yield f"{client_path(client, 'webOrigins')}[{index}]", f"{origin!r} is not an exact https origin"
