"""Realm-wide client policies: PKCE, no implicit or password grant, exact https redirect URIs."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlsplit

from idpkit.compliance import RuleMetadata, Severity
from idpkit.realm.located import LoadedConfig
from idpkit.realm.rules.common import attribute, client_path, clients, require_executor
from idpkit.realm.rules.registry import rule


@rule(
    RuleMetadata(
        id="REALM-PKCE-001",
        title="PKCE with S256 is enforced for every client, including ones created later",
        requirements=("RFC9700-2.1.1", "RFC9700-4.8", "SMART-2.2-PKCE", "FAPI2-SP-5.2.2"),
        severity=Severity.CRITICAL,
        risk="Authorization codes can be injected or stolen and redeemed.",
        remediation="Apply pkce-enforcer (auto-configure) through an any-client policy; set "
        "pkce.code.challenge.method: S256 on code-flow clients.",
    )
)
def _pkce(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    yield from require_executor(loaded.document, "pkce-enforcer", lambda c: c.get("auto-configure") is True)
    for client in clients(loaded.document):
        if client.standard_flow_enabled and attribute(client, "pkce.code.challenge.method") != "S256":
            yield client_path(client, 'attributes["pkce.code.challenge.method"]'), "must be S256"


@rule(
    RuleMetadata(
        id="REALM-IMPLICIT-001",
        title="The implicit grant is rejected for every client",
        requirements=("RFC9700-2.1.2",),
        severity=Severity.HIGH,
        risk="Tokens in URL fragments leak through history, referrers and logs.",
        remediation="Apply reject-implicit-grant through an any-client policy; set implicitFlowEnabled: false.",
    )
)
def _implicit(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    yield from require_executor(loaded.document, "reject-implicit-grant")
    for client in clients(loaded.document):
        if client.implicit_flow_enabled:
            yield client_path(client, "implicitFlowEnabled"), "must be false"


@rule(
    RuleMetadata(
        id="REALM-ROPC-001",
        title="The resource owner password credentials grant is rejected for every client",
        requirements=("RFC9700-2.4",),
        severity=Severity.HIGH,
        risk="Clients handle user passwords and bypass MFA and brute-force protection.",
        remediation="Apply reject-ropc-grant through an any-client policy; set directAccessGrantsEnabled: false.",
    )
)
def _ropc(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    yield from require_executor(loaded.document, "reject-ropc-grant")
    for client in clients(loaded.document):
        if client.direct_access_grants_enabled:
            yield client_path(client, "directAccessGrantsEnabled"), "must be false"


def _redirect_problem(uri: str) -> str | None:
    if "*" in uri:
        return "contains a wildcard"
    parts = urlsplit(uri)
    if parts.scheme == "https" and parts.hostname:
        return None
    # Keycloak's enforcer accepts http loopback only with allow-http-scheme, which opens http for
    # every host; loopback redirects therefore use https too.
    return "must be https (loopback included)"


@rule(
    RuleMetadata(
        id="REALM-REDIRECT-001",
        title="Redirect URIs are exact: no wildcards, https only",
        requirements=("RFC9700-2.1", "RFC9700-4.2"),
        severity=Severity.CRITICAL,
        risk="Codes and tokens are delivered to attacker-controlled URIs.",
        remediation="List exact https redirect URIs; apply secure-redirect-uris-enforcer through an any-client policy.",
    )
)
def _redirects(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    yield from require_executor(
        loaded.document,
        "secure-redirect-uris-enforcer",
        lambda c: (
            not any(c.get(flag) for flag in ("allow-http-scheme", "allow-wildcard-context-path", "allow-open-redirect"))
        ),
    )
    for client in clients(loaded.document):
        for index, uri in enumerate(client.redirect_uris or []):
            if problem := _redirect_problem(uri):
                yield client_path(client, f"redirectUris[{index}]"), f"{uri!r} {problem}"
        logout = attribute(client, "post.logout.redirect.uris")
        for uri in (logout or "").split("##"):
            if uri and uri != "+" and (problem := _redirect_problem(uri)):
                yield client_path(client, 'attributes["post.logout.redirect.uris"]'), f"{uri!r} {problem}"
