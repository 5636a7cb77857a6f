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
    executors: list[dict[str, Any]] = next(p for p in data["clientProfiles"] if p["name"] == "idpkit-phi-baseline")[
        "executors"
    ]
    return executors


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


def _service_account(data: dict[str, Any], client_id: str) -> dict[str, Any]:
    return next(u for u in data["users"] if u.get("serviceAccountClientId") == client_id)


def _user(data: dict[str, Any], username: str) -> dict[str, Any]:
    return next(u for u in data["users"] if u.get("username") == username)


def _overlay(change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    def apply(data: dict[str, Any]) -> None:
        data.setdefault("realm", {})
        change(data)

    return apply


def _flow(alias: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    return lambda data: next(f for f in data["authenticationFlows"] if f["alias"] == alias)


def _execution_requirement(alias: str, position: int, requirement: str) -> Callable[[dict[str, Any]], None]:
    return lambda data: _flow(alias)(data)["executions"][position].__setitem__("requirement", requirement)


def _required_action(alias: str, enabled: bool) -> Callable[[dict[str, Any]], None]:
    return lambda data: next(a for a in data["requiredActions"] if a["alias"] == alias).__setitem__("enabled", enabled)


# rule id -> (environment, file edited, edit, path the refusal must name)
VIOLATIONS: dict[str, tuple[str, str, Callable[[dict[str, Any]], None], str]] = {
    "REALM-TLS-001": ("prod", "base/realm.yaml", _realm("sslRequired", "external"), "realm.sslRequired"),
    "REALM-BRUTE-001": ("prod", "base/realm.yaml", _realm("bruteForceProtected", False), "realm.bruteForceProtected"),
    "REALM-LOCKOUT-001": ("prod", "base/realm.yaml", _realm("permanentLockout", False), "realm.permanentLockout"),
    "REALM-MFA-001": (
        "prod",
        "base/authentication.yaml",
        _execution_requirement("idpkit-browser-level-1", 2, "ALTERNATIVE"),
        "authenticationFlows[idpkit-browser-level-1].executions[1]",
    ),
    "REALM-MFA-002": (
        "prod",
        "base/authentication.yaml",
        _required_action("CONFIGURE_TOTP", False),
        "requiredActions[CONFIGURE_TOTP]",
    ),
    "REALM-OTP-001": ("prod", "base/authentication.yaml", _realm("otpPolicyPeriod", 120), "realm.otpPolicyPeriod"),
    "REALM-STEPUP-001": (
        "prod",
        "base/authentication.yaml",
        _execution_requirement("idpkit-browser-phi-write", 1, "DISABLED"),
        "clientScopes[patient/Observation.cu]",
    ),
    "REALM-LOA-001": (
        "prod",
        "base/authentication.yaml",
        lambda data: _flow("idpkit-browser-level-2")(data)["executions"][0]["config"].__setitem__(
            "loa-max-age", "3600"
        ),
        "authenticationFlows[idpkit-browser-level-2].executions[conditional-level-of-authentication].config.loa-max-age",
    ),
    "REALM-ACR-001": (
        "prod",
        "base/authentication.yaml",
        _realm("acrLoaMap", {"mfa": 1, "phishing-resistant": 1}),
        "realm.acrLoaMap.phishing-resistant",
    ),
    "REALM-WEBAUTHN-001": (
        "prod",
        "base/authentication.yaml",
        _realm("webAuthnPolicyUserVerificationRequirement", "preferred"),
        "realm.webAuthnPolicyUserVerificationRequirement",
    ),
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
    "REALM-SIG-002": (
        "prod",
        "base/clients.yaml",
        _client_attribute("phi-patient-app", "user.info.response.signature.alg", "PS384"),
        'clients[phi-patient-app].attributes["user.info.response.signature.alg"]',
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
    "REALM-DPOP-001": (
        "prod",
        "base/clients.yaml",
        _client_attribute("phi-bedside-device", "dpop.bound.access.tokens", "false"),
        'clients[phi-bedside-device].attributes["dpop.bound.access.tokens"]',
    ),
    "REALM-DPOP-002": (
        "prod",
        "base/clients.yaml",
        _client_attribute("phi-partner-exchange", "dpop.bound.access.tokens", "false"),
        'clients[phi-partner-exchange].attributes["dpop.bound.access.tokens"]',
    ),
    "REALM-PAR-001": (
        "prod",
        "base/clients.yaml",
        _client_attribute("phi-clinician-web", "require.pushed.authorization.requests", "false"),
        'clients[phi-clinician-web].attributes["require.pushed.authorization.requests"]',
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
    "REALM-HEADERS-001": (
        "prod",
        "base/realm.yaml",
        lambda data: data["realm"]["browserSecurityHeaders"].__setitem__(
            "xFrameOptions", "ALLOW-FROM https://x.example"
        ),
        "realm.browserSecurityHeaders.xFrameOptions",
    ),
    "REALM-CORS-001": (
        "prod",
        "base/clients.yaml",
        _client_field("phi-patient-app", "webOrigins", ["*"]),
        "clients[phi-patient-app].webOrigins[0]",
    ),
    "REALM-LOGOUT-001": (
        "prod",
        "base/clients.yaml",
        _client_field("phi-clinician-web", "frontchannelLogout", True),
        "clients[phi-clinician-web].frontchannelLogout",
    ),
    "REALM-OVERLAY-001": ("dev", "overlays/dev.yaml", _overlay(_realm("failureFactor", 4)), "realm.failureFactor"),
    "REALM-SMART-001": (
        "prod",
        "base/smart.yaml",
        lambda data: data["realm"]["smartConfiguration"]["grantTypesSupported"].append("password"),
        "realm.smartConfiguration.grantTypesSupported",
    ),
    "REALM-SVCROLE-001": (
        "prod",
        "base/service-accounts.yaml",
        lambda data: _service_account(data, "phi-backend")["realmRoles"].append("phi-conditions"),
        "users[service-account-phi-backend].realmRoles",
    ),
}


# Where a refusal points when the offending value comes from a file other than the one edited.
NAMED_FILE = {"REALM-TESTDATA-001": "fragments/smoke.yaml", "REALM-STEPUP-001": "base/scopes.yaml"}


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


def test_service_accounts_get_exactly_their_scopes_roles() -> None:
    """Least privilege as shipped: each machine client's service account holds its system scopes' roles."""
    for environment in loader.ENVIRONMENTS:
        document = loader.load(environment).document
        mapped = {m.client_scope: set(m.roles) for m in document.scope_mappings or []}
        accounts = {u.service_account_client_id: set(u.realm_roles or []) for u in document.users or []}
        for client in document.clients or []:
            if not client.service_accounts_enabled:
                continue
            needed: set[str] = set()
            for scope in client.default_client_scopes or []:
                needed |= mapped.get(scope, set())
            assert accounts.get(client.client_id) == needed, (
                f"{environment}: service account of {client.client_id} holds {accounts.get(client.client_id)}, "
                f"its default scopes need {needed}"
            )


def test_overlay_merges_a_service_account_by_its_client(tmp_path: Path) -> None:
    def narrow(data: dict[str, Any]) -> None:
        data["users"] = [{"serviceAccountClientId": "smoke-mtls", "realmRoles": ["phi-observations"]}]

    edit(scratch_project(tmp_path), "overlays/staging.yaml", narrow)
    loaded = loader.load("staging", tmp_path / "realm-config")
    accounts = [u for u in loaded.document.users or [] if u.service_account_client_id == "smoke-mtls"]
    assert [u.realm_roles for u in accounts] == [["phi-observations"]], "overlay did not merge into the entry"
    assert loaded.file_of("users[service-account-smoke-mtls].realmRoles") == "realm-config/overlays/staging.yaml"


# (file edited, edit, rule, path the refusal must name)
BAD_USERS: dict[str, tuple[str, Callable[[dict[str, Any]], None], str, str]] = {
    "service account with a profile field": (
        "base/service-accounts.yaml",
        lambda data: _service_account(data, "phi-backend").__setitem__("email", "x@example.invalid"),
        "SCHEMA",
        "users[service-account-phi-backend]",
    ),
    "user without a name": (
        "fragments/smoke.yaml",
        lambda data: _user(data, "smoke-clinician").pop("username"),
        "SCHEMA",
        "users[0]",
    ),
    "user posing as a service account": (
        "fragments/smoke.yaml",
        lambda data: _user(data, "smoke-clinician").__setitem__("username", "service-account-smoke-web"),
        "SCHEMA",
        "users[service-account-smoke-web]",
    ),
    "service account of a client without one": (
        "base/service-accounts.yaml",
        lambda data: _service_account(data, "phi-backend").__setitem__("serviceAccountClientId", "phi-api"),
        "REFERENCE",
        "users[service-account-phi-api].serviceAccountClientId",
    ),
    "link to an undeclared provider": (
        "fragments/smoke.yaml",
        lambda data: _user(data, "smoke-clinician")["federatedIdentities"][0].__setitem__("identityProvider", "nope"),
        "REFERENCE",
        "users[smoke-clinician].federatedIdentities[nope].identityProvider",
    ),
    "subject linked to two users": (
        "fragments/smoke.yaml",
        lambda data: data["users"].append(
            {
                "username": "smoke-twin",
                "federatedIdentities": [{"identityProvider": "smoke-assertions", "userId": "smoke-clinician"}],
            }
        ),
        "REFERENCE",
        "users[smoke-twin].federatedIdentities[smoke-assertions].userId",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_USERS))
def test_bad_user_entry_is_refused_naming_file_and_path(case: str, tmp_path: Path) -> None:
    file, change, rule_id, path = BAD_USERS[case]
    edit(scratch_project(tmp_path), file, change)
    problems = _refusal(tmp_path, "staging").problems
    assert [(p.file, p.path, p.rule) for p in problems] == [(f"realm-config/{file}", path, rule_id)], (
        f"{case}: unexpected refusal {[str(p) for p in problems]}"
    )


def _public_policy(data: dict[str, Any]) -> dict[str, Any]:
    policy: dict[str, Any] = next(p for p in data["clientPolicies"] if p["name"] == "idpkit-phi-public-clients")
    return policy


def _public_condition(data: dict[str, Any]) -> dict[str, Any]:
    configuration: dict[str, Any] = _public_policy(data)["conditions"][0]["configuration"]
    return configuration


# Ways a realm-config leaves public clients without the DPoP policy while every public client still declares
# bound tokens: only the policy binds a public client created later, so each is refused on its own.
UNBOUND_PUBLIC_POLICIES: dict[str, Callable[[dict[str, Any]], None]] = {
    "policy-disabled": lambda data: _public_policy(data).__setitem__("enabled", False),
    "executor-removed": lambda data: next(p for p in data["clientProfiles"] if p["name"] == "idpkit-phi-public")[
        "executors"
    ].clear(),
    "condition-on-confidential": lambda data: _public_condition(data).__setitem__("type", ["confidential"]),
    "condition-negated": lambda data: _public_condition(data).__setitem__("is-negative-logic", True),
    "condition-type-not-a-list": lambda data: _public_condition(data).__setitem__("type", "public"),
}


@pytest.mark.parametrize("change", list(UNBOUND_PUBLIC_POLICIES))
def test_public_clients_without_the_dpop_policy_are_refused(change: str, tmp_path: Path) -> None:
    edit(scratch_project(tmp_path), "base/client-policies.yaml", UNBOUND_PUBLIC_POLICIES[change])
    problems = _refusal(tmp_path, "prod").problems
    assert any(p.rule == "REALM-DPOP-001" and p.path == "clientPolicies" for p in problems), (
        f"REALM-DPOP-001: {change} left public clients' tokens unbound for clients created later, yet was not "
        f"refused: {[str(p) for p in problems]}"
    )


def test_realm_without_the_par_policy_is_refused(tmp_path: Path) -> None:
    """Per-client PAR flags do not bind clients created later: the realm-wide executor is required too."""
    edit(scratch_project(tmp_path), "base/client-policies.yaml", _drop_executor("secure-par-content"))
    problems = _refusal(tmp_path, "prod").problems
    assert any(p.rule == "REALM-PAR-001" and p.path == "clientPolicies" for p in problems), (
        f"REALM-PAR-001: without secure-par-content, unpushed requests of clients created later would be taken, yet "
        f"the realm was not refused: {[str(p) for p in problems]}"
    )
