"""Sessions: automatic logoff (SSO and client sessions, remember-me) and logout that works."""

from __future__ import annotations

from collections.abc import Iterator

from idpkit.compliance import RuleMetadata, Severity
from idpkit.realm.limits import MAX_SSO_IDLE_SECONDS, MAX_SSO_SECONDS
from idpkit.realm.located import LoadedConfig
from idpkit.realm.rules.common import client_path, clients, realm_field, realm_settings
from idpkit.realm.rules.registry import rule


@rule(
    RuleMetadata(
        id="REALM-LOGOFF-001",
        title="Automatic logoff: SSO idle <= 15 min, SSO max <= 12 h, client sessions no longer, no remember-me",
        requirements=("HIPAA-164.312(a)(2)(iii)",),
        severity=Severity.HIGH,
        risk="An unattended clinical workstation keeps a PHI session open.",
        remediation="Lower realm.ssoSessionIdleTimeout/ssoSessionMaxLifespan; set rememberMe: false.",
    )
)
def _logoff(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    realm = realm_settings(loaded)
    idle, max_life = MAX_SSO_IDLE_SECONDS, MAX_SSO_SECONDS
    yield from realm_field(loaded, "ssoSessionIdleTimeout", lambda v: v <= idle, f"<= {idle} seconds")
    yield from realm_field(loaded, "ssoSessionMaxLifespan", lambda v: v <= max_life, f"<= {max_life} seconds")
    for name, bound in (
        ("clientSessionIdleTimeout", "ssoSessionIdleTimeout"),
        ("clientSessionMaxLifespan", "ssoSessionMaxLifespan"),
    ):
        value, ceiling = realm.get(name, 0), realm.get(bound, 0)
        if value and ceiling and value > ceiling:
            yield f"realm.{name}", f"is {value}; must not exceed {bound} ({ceiling})"
    # Keycloak refuses a client session lifetime above the realm's SSO one (HTTP 400, mid-apply).
    for client in clients(loaded.document):
        for name, bound in (
            ("client.session.idle.timeout", "ssoSessionIdleTimeout"),
            ("client.session.max.lifespan", "ssoSessionMaxLifespan"),
        ):
            value, ceiling = (client.attributes or {}).get(name), realm.get(bound, 0)
            if value is not None and (not value.isdigit() or (ceiling and int(value) > ceiling)):
                yield client_path(client, f'attributes["{name}"]'), f"is {value}; must not exceed {bound} ({ceiling})"
    if realm.get("rememberMe"):
        yield "realm.rememberMe", "is true; remember-me sessions defeat the automatic logoff"


@rule(
    RuleMetadata(
        id="REALM-LOGOUT-001",
        title="Clients do not depend on front-channel logout",
        requirements=("HIPAA-164.312(a)(2)(iii)",),
        severity=Severity.LOW,
        risk="Front-channel logout runs in hidden third-party iframes that browsers block, so application "
        "sessions can outlive the clinician's logout.",
        remediation="Set frontchannelLogout: false; applications end their sessions through back-channel "
        "logout or short sessions.",
    )
)
def _front_channel_logout(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    for client in clients(loaded.document):
        if client.standard_flow_enabled and client.frontchannel_logout is not False:
            yield client_path(client, "frontchannelLogout"), "must be false (browsers block front-channel logout)"
