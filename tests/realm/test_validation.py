"""Offline: the shipped files pass, and every security rule refuses an insecure file before any API call."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from idpkit.compliance import REQUIREMENTS
from idpkit.realm import loader, rules, schema
from idpkit.realm.loader import ConfigError
from tests.realm.helpers import edit, scratch_project


def _client(data: dict[str, Any], client_id: str) -> dict[str, Any]:
    return next(c for c in data["clients"] if c["clientId"] == client_id)


def _executors(data: dict[str, Any]) -> list[dict[str, Any]]:
    return next(p for p in data["clientProfiles"] if p["name"] == "idpkit-phi-baseline")["executors"]


def _drop_executor(name: str) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        executors = _executors(data)
        executors[:] = [e for e in executors if e["executor"] != name]

    return change


def _realm(field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: data["realm"].__setitem__(field, value)


def _client_field(client_id: str, field: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda data: _client(data, client_id).__setitem__(field, value)


def _client_attribute(client_id: str, name: str, value: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: _client(data, client_id)["attributes"].__setitem__(name, value)


def _overlay(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        data.setdefault("realm", {})
        change(data)

    return apply


# rule id -> (environment, file edited, edit, path the refusal must name)
VIOLATIONS: dict[str, tuple[str, str, Callable[[dict[str, Any]], None], str]] = {
    "REALM-TLS-001": ("prod", "base/realm.yaml", _realm("sslRequired", "external"), "realm.sslRequired"),
    "REALM-BRUTE-001": ("prod", "base/realm.yaml", _realm("bruteForceProtected", False), "realm.bruteForceProtected"),
    "REALM-PWD-001": (
        "prod",
        "base/realm.yaml",
        _realm("passwordPolicy", "length(8) and hashAlgorithm(argon2)"),
        "realm.passwordPolicy",
    ),
    "REALM-TOKEN-001": ("prod", "base/realm.yaml", _realm("accessTokenLifespan", 3600), "realm.accessTokenLifespan"),
    "REALM-CODE-001": ("prod", "base/realm.yaml", _realm("accessCodeLifespan", 600), "realm.accessCodeLifespan"),
    "REALM-LOGOFF-001": (
        "prod",
        "base/realm.yaml",
        _realm("ssoSessionIdleTimeout", 7200),
        "realm.ssoSessionIdleTimeout",
    ),
    "REALM-REFRESH-001": ("prod", "base/realm.yaml", _realm("refreshTokenMaxReuse", 3), "realm.refreshTokenMaxReuse"),
    "REALM-OFFLINE-001": (
        "prod",
        "base/realm.yaml",
        _realm("defaultOptionalClientScopes", ["offline_access"]),
        "realm.defaultOptionalClientScopes",
    ),
    "REALM-SIG-001": (
        "prod",
        "base/realm.yaml",
        _realm("defaultSignatureAlgorithm", "HS256"),
        "realm.defaultSignatureAlgorithm",
    ),
    "REALM-EVENTS-001": (
        "prod",
        "base/events.yaml",
        _realm("adminEventsDetailsEnabled", False),
        "realm.adminEventsDetailsEnabled",
    ),
    "REALM-PKCE-001": (
        "prod",
        "base/clients.yaml",
        _client_attribute("phi-patient-app", "pkce.code.challenge.method", "plain"),
        'clients[phi-patient-app].attributes["pkce.code.challenge.method"]',
    ),
    "REALM-IMPLICIT-001": (
        "prod",
        "base/clients.yaml",
        _client_field("phi-patient-app", "implicitFlowEnabled", True),
        "clients[phi-patient-app].implicitFlowEnabled",
    ),
    "REALM-ROPC-001": ("prod", "base/client-policies.yaml", _drop_executor("reject-ropc-grant"), "clientPolicies"),
    "REALM-REDIRECT-001": (
        "prod",
        "base/clients.yaml",
        _client_field("phi-clinician-web", "redirectUris", ["https://clinician.example.org/*"]),
        "clients[phi-clinician-web].redirectUris[0]",
    ),
    "REALM-CLIENTAUTH-001": (
        "prod",
        "base/clients.yaml",
        _client_field("phi-backend", "clientAuthenticatorType", "client-secret"),
        "clients[phi-backend].clientAuthenticatorType",
    ),
    "REALM-HOK-001": (
        "prod",
        "base/clients.yaml",
        _client_attribute("phi-backend", "tls.client.certificate.bound.access.tokens", "false"),
        'clients[phi-backend].attributes["tls.client.certificate.bound.access.tokens"]',
    ),
    "REALM-X509-001": (
        "prod",
        "base/clients.yaml",
        _client_attribute("phi-mtls-backend", "x509.allow.regex.pattern.comparison", "true"),
        'clients[phi-mtls-backend].attributes["x509.allow.regex.pattern.comparison"]',
    ),
    "REALM-SCOPE-001": (
        "prod",
        "base/clients.yaml",
        _client_field("phi-clinician-web", "fullScopeAllowed", True),
        "clients[phi-clinician-web].fullScopeAllowed",
    ),
    "REALM-CONSENT-001": (
        "prod",
        "base/clients.yaml",
        _client_field("phi-patient-app", "consentRequired", False),
        "clients[phi-patient-app].consentRequired",
    ),
    "REALM-AUD-001": (
        "prod",
        "base/clients.yaml",
        _client_field("phi-backend", "defaultClientScopes", ["system/Observation.rs"]),
        "clients[phi-backend].defaultClientScopes",
    ),
    "REALM-TESTDATA-001": (
        "prod",
        "overlays/prod.yaml",
        lambda data: data.__setitem__("includes", ["smoke.yaml"]),
        "users[smoke-clinician]",
    ),
    "REALM-OVERLAY-001": ("dev", "overlays/dev.yaml", _overlay(_realm("failureFactor", 4)), "realm.failureFactor"),
}


# Where a refusal points when the offending value comes from a file other than the one edited.
NAMED_FILE = {"REALM-TESTDATA-001": "fragments/smoke.yaml"}


def _refusal(project: Path, environment: str) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        rules.evaluate(loader.load(environment, project / "realm-config"))
    return caught.value


@pytest.mark.parametrize("environment", loader.ENVIRONMENTS)
def test_shipped_configuration_is_valid(environment: str) -> None:
    rules.evaluate(loader.load(environment))


def test_every_rule_has_a_refusal_test_and_known_requirements() -> None:
    assert set(rules.rule_ids()) == set(VIOLATIONS), "each realm rule needs exactly one refusal case"
    for metadata, _check in rules.RULES:
        assert all(ref in REQUIREMENTS for ref in metadata.requirements), f"{metadata.id}: unknown requirement"


@pytest.mark.parametrize("rule_id", sorted(VIOLATIONS))
def test_insecure_file_is_refused_naming_file_path_and_rule(rule_id: str, tmp_path: Path) -> None:
    environment, file, change, path = VIOLATIONS[rule_id]
    if rule_id == "REALM-OVERLAY-001":  # a tightening first, to prove only loosening is refused
        edit(scratch_project(tmp_path), "base/realm.yaml", _realm("failureFactor", 3))
    else:
        scratch_project(tmp_path)
    edit(tmp_path, file, change)
    problems = _refusal(tmp_path, environment).problems
    matching = [p for p in problems if p.rule == rule_id and p.path == path]
    assert matching, f"{rule_id}: expected a refusal at {path}, got {[str(p) for p in problems]}"
    named = NAMED_FILE.get(rule_id, file)
    assert matching[0].file == f"realm-config/{named}", f"{rule_id}: refusal names {matching[0].file}, not {named}"


def test_schema_error_names_file_and_path(tmp_path: Path) -> None:
    edit(
        scratch_project(tmp_path),
        "base/clients.yaml",
        _client_field("phi-backend", "clientAuthenticatorType", "client-password"),
    )
    problems = _refusal(tmp_path, "prod").problems
    assert [(p.file, p.path, p.rule) for p in problems] == [
        ("realm-config/base/clients.yaml", "clients[phi-backend].clientAuthenticatorType", "SCHEMA")
    ], f"SCHEMA: unexpected refusal {[str(p) for p in problems]}"


def test_expired_exception_is_refused(tmp_path: Path) -> None:
    def expire(data: dict[str, Any]) -> None:
        data["exceptions"][0]["expires"] = dt.date(2020, 1, 1)

    edit(scratch_project(tmp_path), "overlays/local.yaml", expire)
    problems = _refusal(tmp_path, "local").problems
    assert any(p.rule == "REALM-EXC-001" and p.file == "realm-config/overlays/local.yaml" for p in problems), (
        f"REALM-EXC-001: expired exception not refused: {[str(p) for p in problems]}"
    )


def test_exception_waives_only_its_rule_and_is_reported() -> None:
    waivers = rules.evaluate(loader.load("local"))
    assert {(w.finding.rule.id, w.finding.path) for w in waivers} == {
        ("REALM-EVENTS-001", "realm.eventsExpiration"),
        ("REALM-OVERLAY-001", "realm.eventsExpiration"),
    }


def test_exported_json_schema_is_current() -> None:
    shipped = json.loads(schema.default_path().read_text())
    assert shipped == schema.json_schema(), "realm-config schema is stale: run `idpkit realm schema`"
