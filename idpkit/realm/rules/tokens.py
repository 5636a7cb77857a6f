"""Tokens: lifetimes, refresh rotation, offline access, signature algorithms, audience."""

from __future__ import annotations

from collections.abc import Iterator

from idpkit.compliance import RuleMetadata, Severity
from idpkit.constants.aws import SIGNING_KEY_SPECS
from idpkit.constants.keycloak import REALM_SIGNED_TOKEN_ATTRIBUTES
from idpkit.realm.limits import MAX_ACCESS_TOKEN_SECONDS, MAX_CODE_SECONDS
from idpkit.realm.located import LoadedConfig
from idpkit.realm.rules.common import attribute, client_path, clients, obtains_tokens, realm_field, realm_settings
from idpkit.realm.rules.registry import rule

SAFE_SIGNATURE_ALGORITHMS = {"PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
AUDIENCE_MAPPER = "oidc-audience-mapper"


@rule(
    RuleMetadata(
        id="REALM-TOKEN-001",
        title="Access tokens live at most 300 seconds (realm and every client)",
        requirements=("SMART-2.2-BACKEND", "RFC9700-2.3"),
        severity=Severity.HIGH,
        risk="A leaked access token stays usable for long.",
        remediation="Set realm.accessTokenLifespan and any client access.token.lifespan to <= 300.",
    )
)
def _access_token(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    limit = MAX_ACCESS_TOKEN_SECONDS
    yield from realm_field(loaded, "accessTokenLifespan", lambda v: v <= limit, f"<= {limit} seconds")
    for client in clients(loaded.document):
        value = attribute(client, "access.token.lifespan")
        if value is not None and (not value.isdigit() or int(value) > limit):
            yield client_path(client, 'attributes["access.token.lifespan"]'), f"is {value}; must be <= {limit}"


@rule(
    RuleMetadata(
        id="REALM-CODE-001",
        title="Authorization codes live at most 60 seconds",
        requirements=("FAPI2-SP-5.2.2", "RFC9700-4.5"),
        severity=Severity.MEDIUM,
        risk="A stolen code can be redeemed later.",
        remediation="Set realm.accessCodeLifespan <= 60.",
    )
)
def _code(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    yield from realm_field(loaded, "accessCodeLifespan", lambda v: v <= MAX_CODE_SECONDS, f"<= {MAX_CODE_SECONDS}")


@rule(
    RuleMetadata(
        id="REALM-REFRESH-001",
        title="Refresh tokens rotate and a reused one revokes the session",
        requirements=("RFC9700-2.2.2", "RFC9700-4.14"),
        severity=Severity.HIGH,
        risk="A stolen refresh token can be replayed alongside the legitimate client.",
        remediation="Set realm.revokeRefreshToken: true and realm.refreshTokenMaxReuse: 0.",
    )
)
def _refresh(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    yield from realm_field(loaded, "revokeRefreshToken", lambda v: v is True, "true")
    yield from realm_field(loaded, "refreshTokenMaxReuse", lambda v: v == 0, "0")


@rule(
    RuleMetadata(
        id="REALM-OFFLINE-001",
        title="Offline tokens only for clients that list offline_access; offline sessions capped",
        requirements=("RFC9700-4.14", "HIPAA-164.312(a)(2)(iii)"),
        severity=Severity.MEDIUM,
        risk="Every client could mint long-lived offline tokens.",
        remediation="Keep offline_access out of realm default scopes; set offlineSessionMaxLifespanEnabled: true.",
    )
)
def _offline(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    realm = realm_settings(loaded)
    for name in ("defaultDefaultClientScopes", "defaultOptionalClientScopes"):
        if name not in realm:
            yield f"realm.{name}", "must be set so that clients created later get no offline_access"
        elif "offline_access" in realm[name]:
            yield f"realm.{name}", "contains offline_access; grant it per client instead"
    yield from realm_field(loaded, "offlineSessionMaxLifespanEnabled", lambda v: v is True, "true")
    for client in clients(loaded.document):
        if "offline_access" in (client.default_client_scopes or []):
            yield client_path(client, "defaultClientScopes"), "offline_access must be optional, not default"


@rule(
    RuleMetadata(
        id="REALM-SIG-001",
        title="Tokens are signed with PS256/ES256-class algorithms, never HS* or none",
        requirements=("FAPI2-SP-5.4", "HIPAA-164.312(c)(1)"),
        severity=Severity.HIGH,
        risk="Symmetric or absent signatures let anyone holding the key (or no key) forge tokens.",
        remediation="Set realm.defaultSignatureAlgorithm: PS256 (or ES256) and no HS*/none/RS* client overrides.",
    )
)
def _signature(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    yield from realm_field(loaded, "defaultSignatureAlgorithm", lambda v: v in {"PS256", "ES256"}, "PS256 or ES256")
    for client in clients(loaded.document):
        for name, value in (client.attributes or {}).items():
            if name.endswith((".signed.response.alg", ".signing.alg")) and value not in SAFE_SIGNATURE_ALGORITHMS:
                yield client_path(client, f'attributes["{name}"]'), f"is {value}; allowed: PS*/ES*/EdDSA"


@rule(
    RuleMetadata(
        id="REALM-SIG-002",
        title="Clients get tokens signed only with algorithms the kit keeps keys for (PS256, ES256)",
        requirements=("FAPI2-SP-5.4", "HIPAA-164.312(c)(1)"),
        severity=Severity.HIGH,
        risk="For any other algorithm Keycloak signs with a key it generates itself (`fallback-<alg>`): its private "
        "half sits in Keycloak's database, even on a stack that signs inside KMS, and no rotation ever replaces it.",
        remediation=f"Use {' or '.join(SIGNING_KEY_SPECS)} in every client's token algorithm attribute, or leave it "
        "unset (the realm's algorithm applies).",
    )
)
def _kit_signed(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    """Clients only: REALM-SIG-001 already holds the realm's own algorithm to these two."""
    allowed = " or ".join(SIGNING_KEY_SPECS)
    for client in clients(loaded.document):
        for name in REALM_SIGNED_TOKEN_ATTRIBUTES:
            value = attribute(client, name)
            if value is not None and value not in SIGNING_KEY_SPECS:
                yield client_path(client, f'attributes["{name}"]'), f"is {value}; the kit keeps keys for {allowed}"


@rule(
    RuleMetadata(
        id="REALM-AUD-001",
        title="Every token-obtaining client gets an audience-restricting scope",
        requirements=("RFC9700-2.3",),
        severity=Severity.HIGH,
        risk="Tokens are accepted by resource servers they were not meant for.",
        remediation="Give the client a default client scope with an oidc-audience-mapper.",
    )
)
def _audience(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    audience_scopes = {
        scope.name
        for scope in loaded.document.client_scopes or []
        if any(m.protocol_mapper == AUDIENCE_MAPPER for m in scope.protocol_mappers or [])
    }
    for client in clients(loaded.document):
        if obtains_tokens(client) and not audience_scopes & set(client.default_client_scopes or []):
            yield client_path(client, "defaultClientScopes"), "lacks an audience scope"
