"""Environments: test identities stay out of production; overlays only tighten the baseline."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from idpkit.compliance import RuleMetadata, Severity
from idpkit.realm import secure_defaults
from idpkit.realm.located import LoadedConfig, item_path
from idpkit.realm.rules.common import client_path, clients, realm_settings
from idpkit.realm.rules.registry import rule
from idpkit.realm.secure_defaults import SecureDefault

NON_PROD = {"local", "dev", "staging"}


@rule(
    RuleMetadata(
        id="REALM-TESTDATA-001",
        title="Smoke-test users and generated test keys exist only in non-prod overlays",
        requirements=("HIPAA-164.312(a)(2)(i)", "HIPAA-164.312(d)"),
        severity=Severity.CRITICAL,
        risk="A shared test identity reaches production PHI.",
        remediation="Move users and kit.generatedJwk clients to a fragment that only non-prod overlays include.",
    )
)
def _test_data(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    if loaded.environment in NON_PROD:
        return
    for user in loaded.document.users or []:
        if user.service_account_client_id is None:
            yield item_path("users", user.key), "test users are not allowed in this environment"
    for client in clients(loaded.document):
        if client.kit and client.kit.generated_jwk:
            yield client_path(client, "kit"), "generated test keys are not allowed in this environment"


# Which way each realm setting tightens; an overlay moving one the other way needs an exception.
_LOWER_IS_TIGHTER = {
    "accessTokenLifespan",
    "accessCodeLifespan",
    "accessCodeLifespanLogin",
    "ssoSessionIdleTimeout",
    "ssoSessionMaxLifespan",
    "offlineSessionIdleTimeout",
    "offlineSessionMaxLifespan",
    "failureFactor",
    "refreshTokenMaxReuse",
    "oauth2DeviceCodeLifespan",
}
_ZERO_MEANS_INHERIT = {"clientSessionIdleTimeout", "clientSessionMaxLifespan"}
_HIGHER_IS_TIGHTER = {
    "waitIncrementSeconds",
    "maxFailureWaitSeconds",
    "eventsExpiration",
    "oauth2DevicePollingInterval",
}
_TRUE_IS_TIGHTER = {
    "bruteForceProtected",
    "revokeRefreshToken",
    "eventsEnabled",
    "adminEventsEnabled",
    "adminEventsDetailsEnabled",
    "offlineSessionMaxLifespanEnabled",
    "verifyEmail",
}
_FALSE_IS_TIGHTER = {"registrationAllowed", "rememberMe", "duplicateEmailsAllowed", "editUsernameAllowed"}
_SSL_ORDER = {"none": 0, "external": 1, "all": 2}


# Fields the secure-defaults catalogue holds: their direction follows from the secure and weaker values.
_CATALOGUED = {entry.field: entry for entry in secure_defaults.entries("realm") if "." not in entry.field}


def _away_from_secure(entry: SecureDefault, before: Any, after: Any) -> bool:
    secure, weaker = entry.secure_default, entry.weaker_value
    if isinstance(secure, int) and not isinstance(secure, bool):
        return bool((after - before) * (weaker - secure) > 0)
    return bool(before == secure and after != secure)


def _loosens(name: str, before: Any, after: Any) -> bool:
    loosened = False
    if name in _CATALOGUED:
        loosened = _away_from_secure(_CATALOGUED[name], before, after)
    elif name in _LOWER_IS_TIGHTER:
        loosened = after > before
    elif name in _ZERO_MEANS_INHERIT:
        loosened = (after == 0 and before != 0) or (before != 0 and after > before)
    elif name in _HIGHER_IS_TIGHTER:
        loosened = after < before
    elif name in _TRUE_IS_TIGHTER:
        loosened = before is True and after is not True
    elif name in _FALSE_IS_TIGHTER:
        loosened = before is False and after is not False
    elif name == "sslRequired":
        loosened = _SSL_ORDER[after] < _SSL_ORDER[before]
    return loosened


@rule(
    RuleMetadata(
        id="REALM-OVERLAY-001",
        title="Environment overlays only tighten realm settings unless an exception names it",
        requirements=("HIPAA-164.316(b)(2)", "HIPAA-164.312(a)(1)"),
        severity=Severity.MEDIUM,
        risk="An environment quietly runs with weaker settings than the reviewed baseline.",
        remediation="Revert the loosened setting or add an exception (rule, path, owner, reason, expires).",
    )
)
def _overlay(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    before = loaded.baseline.realm.model_dump(by_alias=True, exclude_none=True) if loaded.baseline.realm else {}
    after = realm_settings(loaded)
    # A field the baseline leaves out holds its catalogued secure default (declare or default).
    held = {name: entry.secure_default for name, entry in _CATALOGUED.items()}
    for name, value in after.items():
        was = before.get(name, held.get(name))
        if was is not None and was != value and _loosens(name, was, value):
            yield f"realm.{name}", f"loosens the baseline ({was!r} -> {value!r})"
