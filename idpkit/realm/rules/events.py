"""Events: what is recorded for audit and for how long."""

from __future__ import annotations

from collections.abc import Iterator

from idpkit.compliance import RuleMetadata, Severity
from idpkit.realm.limits import MIN_EVENTS_RETENTION_SECONDS
from idpkit.realm.located import LoadedConfig
from idpkit.realm.rules.common import realm_field, realm_settings
from idpkit.realm.rules.registry import rule

REQUIRED_EVENT_TYPES = {
    "LOGIN",
    "LOGIN_ERROR",
    "CODE_TO_TOKEN",
    "CODE_TO_TOKEN_ERROR",
    "REFRESH_TOKEN",
    "REFRESH_TOKEN_ERROR",
    "REVOKE_GRANT",
    "REVOKE_GRANT_ERROR",
    "CLIENT_LOGIN",
    "CLIENT_LOGIN_ERROR",
    "LOGOUT",
    "LOGOUT_ERROR",
}


@rule(
    RuleMetadata(
        id="REALM-EVENTS-001",
        title="User and admin events (with details) are recorded, kept >= 30 days, covering required types",
        requirements=("HIPAA-164.312(b)", "HIPAA-164.316(b)(2)"),
        severity=Severity.HIGH,
        risk="Logins, token use and configuration changes cannot be audited.",
        remediation="Enable events and admin events with details, set eventsExpiration, list the required types.",
    )
)
def _events(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    for name in ("eventsEnabled", "adminEventsEnabled", "adminEventsDetailsEnabled"):
        yield from realm_field(loaded, name, lambda v: v is True, "true")
    retention = MIN_EVENTS_RETENTION_SECONDS
    yield from realm_field(loaded, "eventsExpiration", lambda v: v >= retention, f">= {retention} seconds")
    missing = REQUIRED_EVENT_TYPES - set(realm_settings(loaded).get("enabledEventTypes") or [])
    if missing:
        yield "realm.enabledEventTypes", f"lacks {', '.join(sorted(missing))}"
