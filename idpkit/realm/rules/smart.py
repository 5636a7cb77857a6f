"""SMART App Launch v2 discovery: what `realm.smartConfiguration` advertises, the realm must honour."""

from __future__ import annotations

from collections.abc import Iterator

from idpkit.compliance import RuleMetadata, Severity
from idpkit.realm.builtins import CLIENT_SCOPES
from idpkit.realm.located import LoadedConfig
from idpkit.realm.model import SmartConfiguration
from idpkit.realm.rules.clients import ASYMMETRIC_AUTHENTICATORS
from idpkit.realm.rules.common import client_path, clients, listed, require_executor
from idpkit.realm.rules.registry import rule

FIELD = "realm.smartConfiguration"
REFUSED_GRANTS = frozenset({"implicit", "password"})
"""Grants the realm's client policies reject (REALM-IMPLICIT-001, REALM-ROPC-001): never advertised."""
SECRET_METHODS = frozenset({"client_secret_basic", "client_secret_post", "client_secret_jwt"})
UNSUPPORTED_CAPABILITIES = {
    "launch-ehr": "Keycloak has no EHR launch (`launch` parameter, launch context hand-off)",
    "context-ehr-patient": "Keycloak has no EHR launch",
    "context-ehr-encounter": "Keycloak has no EHR launch",
    "context-standalone-encounter": "the realm has no encounter context source",
    "context-passthrough-banner": "Keycloak cannot return `need_patient_banner` in the token response",
    "context-passthrough-style": "Keycloak cannot return `smart_style_url` in the token response",
    "permission-v1": "the realm's scopes use SMART v2 syntax (`.rs`, `.cu`), not v1 (`.read`, `.write`)",
}
"""Capabilities this realm cannot honour whatever its settings, and why."""
SCOPE_PREFIX_CAPABILITIES = {"permission-patient": "patient/", "permission-user": "user/"}
SCOPE_CAPABILITIES = {
    "permission-offline": "offline_access",
    "sso-openid-connect": "openid",
    "context-standalone-patient": "launch/patient",
}
"""Capabilities that need a scope advertised (and declared)."""
ASK_ONLY_SCOPES = frozenset({"fhirUser", "launch/patient"})
"""Identity and launch-context scopes: an app gets them only by asking (never a default scope)."""
PROTOCOL_SCOPES = frozenset({"openid"})
"""Scopes the server answers without a client scope behind them."""


def _secrets_refused(loaded: LoadedConfig) -> bool:
    def strict(configuration: dict[str, object]) -> bool:
        allowed = listed(configuration.get("allowed-client-authenticators"))
        return bool(allowed) and set(allowed) <= ASYMMETRIC_AUTHENTICATORS

    return not any(require_executor(loaded.document, "secure-client-authenticator", strict))


def _unhonoured_capabilities(loaded: LoadedConfig, smart: SmartConfiguration) -> Iterator[tuple[str, str]]:
    if "client-public" in smart.capabilities and not any(c.public_client for c in clients(loaded.document)):
        yield f"{FIELD}.capabilities", "advertises client-public; no declared client is public"
    for capability in smart.capabilities:
        if capability in UNSUPPORTED_CAPABILITIES:
            yield f"{FIELD}.capabilities", f"advertises {capability}: {UNSUPPORTED_CAPABILITIES[capability]}"
    for needing_prefix, prefix in SCOPE_PREFIX_CAPABILITIES.items():
        if needing_prefix in smart.capabilities and not any(s.startswith(prefix) for s in smart.scopes_supported):
            yield f"{FIELD}.capabilities", f"advertises {needing_prefix}; no {prefix}* scope is in scopesSupported"
    for needing_scope, scope in SCOPE_CAPABILITIES.items():
        if needing_scope in smart.capabilities and scope not in smart.scopes_supported:
            yield f"{FIELD}.capabilities", f"advertises {needing_scope}; scopesSupported lacks {scope!r}"


def _default_identity_scopes(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    realm = loaded.document.realm
    defaults = {"realm.defaultDefaultClientScopes": (realm.default_default_client_scopes if realm else None) or []}
    defaults |= {client_path(c, "defaultClientScopes"): c.default_client_scopes or [] for c in clients(loaded.document)}
    for path, scopes in defaults.items():
        for scope in sorted(ASK_ONLY_SCOPES.intersection(scopes)):
            yield path, f"makes {scope!r} a default scope: apps get the person's identity or patient unasked"


@rule(
    RuleMetadata(
        id="REALM-SMART-001",
        title="The realm publishes a SMART App Launch v2 configuration that advertises only what it honours",
        requirements=("SMART-2.2-DISCOVERY", "SMART-2.2-CAPABILITIES", "RFC9700-2.1.2"),
        severity=Severity.MEDIUM,
        risk="SMART apps pick grants, client authentication and scopes from the discovery document: an "
        "advertised grant the realm refuses breaks them, one it should refuse (implicit, password, client "
        "secrets) invites apps to use a weaker flow, and a missing document leaves them guessing.",
        remediation="Declare realm.smartConfiguration (realm-config/base/smart.yaml) listing only capabilities, "
        "grants, authentication methods and scopes the realm supports and smoke-tests/test_smart.py proves.",
    )
)
def _smart_configuration(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    realm = loaded.document.realm
    smart: SmartConfiguration | None = realm.smart_configuration if realm else None
    if smart is None:
        yield FIELD, "is not set; SMART apps need the realm's /.well-known/smart-configuration"
        return
    declared_scopes = {scope.name for scope in loaded.document.client_scopes or []} | CLIENT_SCOPES | PROTOCOL_SCOPES
    for grant in sorted(REFUSED_GRANTS.intersection(smart.grant_types_supported)):
        yield f"{FIELD}.grantTypesSupported", f"advertises {grant!r}, which the realm's client policies refuse"
    if _secrets_refused(loaded):
        for method in sorted(SECRET_METHODS.intersection(smart.token_endpoint_auth_methods_supported)):
            yield (
                f"{FIELD}.tokenEndpointAuthMethodsSupported",
                f"advertises {method!r}; the realm refuses client secrets",
            )
        if "client-confidential-symmetric" in smart.capabilities:
            yield f"{FIELD}.capabilities", "advertises client-confidential-symmetric; the realm refuses client secrets"
    yield from _unhonoured_capabilities(loaded, smart)
    yield from _default_identity_scopes(loaded)
    for scope in smart.scopes_supported:
        if scope not in declared_scopes:
            yield f"{FIELD}.scopesSupported", f"advertises {scope!r}, which is not a client scope of the realm"
