"""Security rules for the merged realm document, each with the metadata reviewers read.

A rule yields findings (path + reason); a finding is waived only by an unexpired exception in the
configuration, and waived findings stay visible in reports. Rules run before any API call.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from idpkit.compliance import RuleMetadata, Severity
from idpkit.realm.limits import (
    MAX_ACCESS_TOKEN_SECONDS,
    MAX_CODE_SECONDS,
    MAX_FAILURE_FACTOR,
    MAX_SSO_IDLE_SECONDS,
    MAX_SSO_SECONDS,
    MIN_EVENTS_RETENTION_SECONDS,
    MIN_HSTS_SECONDS,
    MIN_PASSWORD_HISTORY,
    MIN_PASSWORD_LENGTH,
)
from idpkit.realm.loader import ConfigError, LoadedConfig, Problem, item_path
from idpkit.realm.model import Client, ClientProfile, Executor, RealmDocument, RuleException

SAFE_SIGNATURE_ALGORITHMS = {"PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
ASYMMETRIC_AUTHENTICATORS = {"client-jwt", "client-x509"}
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
AUDIENCE_MAPPER = "oidc-audience-mapper"
DEVICE_GRANT = "oauth2.device.authorization.grant.enabled"
JWT_GRANT = "oauth2.jwt.authorization.grant.enabled"
CERT_BOUND = "tls.client.certificate.bound.access.tokens"
X509_REGEX = "x509.allow.regex.pattern.comparison"
X509_CA_DN = "x509.casubjectdn"
NON_PROD = {"local", "dev", "staging"}


@dataclass(frozen=True)
class Finding:
    """One violation of one rule at one place of the merged document."""

    rule: RuleMetadata
    path: str
    message: str


@dataclass(frozen=True)
class Waiver:
    """A finding that an unexpired exception allows; reports show it."""

    finding: Finding
    exception: RuleException


Check = Callable[[LoadedConfig], Iterator[tuple[str, str]]]
RULES: list[tuple[RuleMetadata, Check]] = []


def rule(metadata: RuleMetadata) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        RULES.append((metadata, check))
        return check

    return register


def rule_ids() -> list[str]:
    return [metadata.id for metadata, _ in RULES]


def evaluate(loaded: LoadedConfig, today: dt.date | None = None) -> list[Waiver]:
    """Raise ConfigError for unwaived findings or expired exceptions; return the waivers in force."""
    today = today or dt.date.today()
    exceptions = loaded.document.exceptions or []
    problems: list[Problem] = []
    for index, exception in enumerate(exceptions):
        if exception.expires < today:
            problems.append(
                Problem(
                    loaded.file_of(f"exceptions[{index}]"),
                    f"exceptions[{index}]",
                    EXPIRED_EXCEPTION.id,
                    f"exception to {exception.rule} owned by {exception.owner} expired on {exception.expires}",
                )
            )
    waivers: list[Waiver] = []
    for metadata, check in RULES:
        for path, message in check(loaded):
            finding = Finding(metadata, path, message)
            match = next(
                (
                    e
                    for e in exceptions
                    if e.rule == metadata.id and e.expires >= today and fnmatch.fnmatchcase(path, e.path)
                ),
                None,
            )
            if match:
                waivers.append(Waiver(finding, match))
            else:
                problems.append(Problem(loaded.file_of(path), path, metadata.id, message))
    if problems:
        raise ConfigError(problems)
    return waivers


EXPIRED_EXCEPTION = RuleMetadata(
    id="REALM-EXC-001",
    title="Exceptions to realm rules carry an owner, a reason and an expiry that has not passed",
    requirements=("HIPAA-164.316(b)(2)",),
    severity=Severity.HIGH,
    risk="A temporary loosening silently becomes permanent.",
    remediation="Fix the loosened setting, or renew the exception with a new expiry and reason.",
)


def _realm(loaded: LoadedConfig) -> dict[str, Any]:
    realm = loaded.document.realm
    return realm.model_dump(by_alias=True, exclude_none=True) if realm else {}


def _clients(document: RealmDocument) -> list[Client]:
    return document.clients or []


def _client_path(client: Client, field: str) -> str:
    return f"{item_path('clients', client.client_id)}.{field}"


def _attribute(client: Client, name: str) -> str | None:
    return (client.attributes or {}).get(name)


def _is_machine(client: Client) -> bool:
    return bool(client.service_accounts_enabled)


def _obtains_tokens(client: Client) -> bool:
    return bool(
        client.standard_flow_enabled
        or client.service_accounts_enabled
        or _attribute(client, DEVICE_GRANT) == "true"
        or _attribute(client, JWT_GRANT) == "true"
    )


def _realm_field(
    loaded: LoadedConfig, name: str, ok: Callable[[Any], bool], expectation: str
) -> Iterator[tuple[str, str]]:
    value = _realm(loaded).get(name)
    if value is None or not ok(value):
        yield f"realm.{name}", f"is {value!r}; must be {expectation}"


def _any_client_executors(document: RealmDocument) -> dict[str, Executor]:
    """Executors of the profiles that enabled `any-client` policies apply to every client."""
    return _policy_executors(document, lambda conditions: any(c.condition == "any-client" for c in conditions))


def _policy_executors(document: RealmDocument, applies: Callable[[list[Any]], bool]) -> dict[str, Executor]:
    profiles: dict[str, ClientProfile] = {p.name: p for p in document.client_profiles or []}
    executors: dict[str, Executor] = {}
    for policy in document.client_policies or []:
        if policy.enabled and applies(policy.conditions):
            for name in policy.profiles:
                for executor in profiles[name].executors if name in profiles else []:
                    executors.setdefault(executor.executor, executor)
    return executors


def _require_executor(
    document: RealmDocument, name: str, configured: Callable[[dict[str, Any]], bool] = lambda _c: True
) -> Iterator[tuple[str, str]]:
    executor = _any_client_executors(document).get(name)
    if executor is None:
        yield "clientPolicies", f"no enabled any-client policy applies a profile with the {name} executor"
    elif not configured(executor.configuration):
        yield "clientProfiles", f"the {name} executor is configured too loosely: {executor.configuration}"


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
    yield from _realm_field(loaded, "sslRequired", lambda v: v == "all", "'all'")


@rule(
    RuleMetadata(
        id="REALM-BRUTE-001",
        title="Brute-force protection locks accounts after at most 5 failures",
        requirements=("HIPAA-164.312(d)", "NIST-800-63B-5.1.1"),
        severity=Severity.HIGH,
        risk="Passwords can be guessed online.",
        remediation="Set realm.bruteForceProtected: true and realm.failureFactor <= 5.",
    )
)
def _brute_force(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    yield from _realm_field(loaded, "bruteForceProtected", lambda v: v is True, "true")
    yield from _realm_field(loaded, "failureFactor", lambda v: v <= MAX_FAILURE_FACTOR, f"<= {MAX_FAILURE_FACTOR}")


_POLICY_TERM = re.compile(r"(\w+)(?:\(([^)]*)\))?")


@rule(
    RuleMetadata(
        id="REALM-PWD-001",
        title="Password policy: length >= 12, argon2, history >= 5, not the user name or e-mail",
        requirements=("NIST-800-63B-5.1.1", "HIPAA-164.312(d)"),
        severity=Severity.HIGH,
        risk="Weak, reused or cheaply hashed passwords.",
        remediation="Set realm.passwordPolicy to include length(12) hashAlgorithm(argon2) passwordHistory(5) "
        "notUsername notEmail.",
    )
)
def _password(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    policy = _realm(loaded).get("passwordPolicy") or ""
    terms = {name: argument for name, argument in _POLICY_TERM.findall(policy) if name != "and"}
    path = "realm.passwordPolicy"
    if not terms.get("length", "").isdigit() or int(terms["length"]) < MIN_PASSWORD_LENGTH:
        yield path, f"needs length({MIN_PASSWORD_LENGTH}) or more"
    if terms.get("hashAlgorithm") != "argon2":
        yield path, "needs hashAlgorithm(argon2)"
    if not terms.get("passwordHistory", "").isdigit() or int(terms["passwordHistory"]) < MIN_PASSWORD_HISTORY:
        yield path, f"needs passwordHistory({MIN_PASSWORD_HISTORY}) or more"
    for term in ("notUsername", "notEmail"):
        if term not in terms:
            yield path, f"needs {term}"


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
    yield from _realm_field(loaded, "accessTokenLifespan", lambda v: v <= limit, f"<= {limit} seconds")
    for client in _clients(loaded.document):
        value = _attribute(client, "access.token.lifespan")
        if value is not None and (not value.isdigit() or int(value) > limit):
            yield _client_path(client, 'attributes["access.token.lifespan"]'), f"is {value}; must be <= {limit}"


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
    yield from _realm_field(loaded, "accessCodeLifespan", lambda v: v <= MAX_CODE_SECONDS, f"<= {MAX_CODE_SECONDS}")


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
    realm = _realm(loaded)
    idle, max_life = MAX_SSO_IDLE_SECONDS, MAX_SSO_SECONDS
    yield from _realm_field(loaded, "ssoSessionIdleTimeout", lambda v: v <= idle, f"<= {idle} seconds")
    yield from _realm_field(loaded, "ssoSessionMaxLifespan", lambda v: v <= max_life, f"<= {max_life} seconds")
    for name, bound in (
        ("clientSessionIdleTimeout", "ssoSessionIdleTimeout"),
        ("clientSessionMaxLifespan", "ssoSessionMaxLifespan"),
    ):
        value, ceiling = realm.get(name, 0), realm.get(bound, 0)
        if value and ceiling and value > ceiling:
            yield f"realm.{name}", f"is {value}; must not exceed {bound} ({ceiling})"
    if realm.get("rememberMe"):
        yield "realm.rememberMe", "is true; remember-me sessions defeat the automatic logoff"


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
    yield from _realm_field(loaded, "revokeRefreshToken", lambda v: v is True, "true")
    yield from _realm_field(loaded, "refreshTokenMaxReuse", lambda v: v == 0, "0")


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
    realm = _realm(loaded)
    for name in ("defaultDefaultClientScopes", "defaultOptionalClientScopes"):
        if name not in realm:
            yield f"realm.{name}", "must be set so that clients created later get no offline_access"
        elif "offline_access" in realm[name]:
            yield f"realm.{name}", "contains offline_access; grant it per client instead"
    yield from _realm_field(loaded, "offlineSessionMaxLifespanEnabled", lambda v: v is True, "true")
    for client in _clients(loaded.document):
        if "offline_access" in (client.default_client_scopes or []):
            yield _client_path(client, "defaultClientScopes"), "offline_access must be optional, not default"


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
    yield from _realm_field(loaded, "defaultSignatureAlgorithm", lambda v: v in {"PS256", "ES256"}, "PS256 or ES256")
    for client in _clients(loaded.document):
        for name, value in (client.attributes or {}).items():
            if name.endswith((".signed.response.alg", ".signing.alg")) and value not in SAFE_SIGNATURE_ALGORITHMS:
                yield _client_path(client, f'attributes["{name}"]'), f"is {value}; allowed: PS*/ES*/EdDSA"


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
        yield from _realm_field(loaded, name, lambda v: v is True, "true")
    retention = MIN_EVENTS_RETENTION_SECONDS
    yield from _realm_field(loaded, "eventsExpiration", lambda v: v >= retention, f">= {retention} seconds")
    missing = REQUIRED_EVENT_TYPES - set(_realm(loaded).get("enabledEventTypes") or [])
    if missing:
        yield "realm.enabledEventTypes", f"lacks {', '.join(sorted(missing))}"


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
    yield from _require_executor(loaded.document, "pkce-enforcer", lambda c: c.get("auto-configure") is True)
    for client in _clients(loaded.document):
        if client.standard_flow_enabled and _attribute(client, "pkce.code.challenge.method") != "S256":
            yield _client_path(client, 'attributes["pkce.code.challenge.method"]'), "must be S256"


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
    yield from _require_executor(loaded.document, "reject-implicit-grant")
    for client in _clients(loaded.document):
        if client.implicit_flow_enabled:
            yield _client_path(client, "implicitFlowEnabled"), "must be false"


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
    yield from _require_executor(loaded.document, "reject-ropc-grant")
    for client in _clients(loaded.document):
        if client.direct_access_grants_enabled:
            yield _client_path(client, "directAccessGrantsEnabled"), "must be false"


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
    yield from _require_executor(
        loaded.document,
        "secure-redirect-uris-enforcer",
        lambda c: (
            not any(c.get(flag) for flag in ("allow-http-scheme", "allow-wildcard-context-path", "allow-open-redirect"))
        ),
    )
    for client in _clients(loaded.document):
        for index, uri in enumerate(client.redirect_uris or []):
            if problem := _redirect_problem(uri):
                yield _client_path(client, f"redirectUris[{index}]"), f"{uri!r} {problem}"
        logout = _attribute(client, "post.logout.redirect.uris")
        for uri in (logout or "").split("##"):
            if uri and uri != "+" and (problem := _redirect_problem(uri)):
                yield _client_path(client, 'attributes["post.logout.redirect.uris"]'), f"{uri!r} {problem}"


@rule(
    RuleMetadata(
        id="REALM-CLIENTAUTH-001",
        title="Confidential clients authenticate with private_key_jwt or mTLS, never shared secrets",
        requirements=("RFC9700-2.5", "FAPI2-SP-5.3.2", "HIPAA-164.312(d)"),
        severity=Severity.HIGH,
        risk="Client secrets leak and are replayed.",
        remediation="Apply secure-client-authenticator (client-jwt, client-x509) through an any-client policy; set "
        "clientAuthenticatorType accordingly.",
    )
)
def _client_auth(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    def strict(configuration: dict[str, Any]) -> bool:
        allowed = configuration.get("allowed-client-authenticators") or []
        return bool(allowed) and set(allowed) <= ASYMMETRIC_AUTHENTICATORS

    yield from _require_executor(loaded.document, "secure-client-authenticator", strict)
    for client in _clients(loaded.document):
        if not client.public_client and client.client_authenticator_type not in ASYMMETRIC_AUTHENTICATORS:
            yield (
                _client_path(client, "clientAuthenticatorType"),
                (f"is {client.client_authenticator_type!r}; must be client-jwt or client-x509"),
            )


@rule(
    RuleMetadata(
        id="REALM-HOK-001",
        title="Machine clients (client credentials) get certificate-bound access tokens",
        requirements=("RFC9700-2.2.1", "RFC8705", "FAPI2-SP-5.3.3"),
        severity=Severity.HIGH,
        risk="A leaked machine token is usable from anywhere.",
        remediation="Apply holder-of-key-enforcer through a policy on the client_credentials grant; set "
        "tls.client.certificate.bound.access.tokens: 'true' on service-account clients.",
    )
)
def _holder_of_key(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    def on_client_credentials(conditions: list[Any]) -> bool:
        return any(
            c.condition == "any-client"
            or (c.condition == "grant-type" and "client_credentials" in (c.configuration.get("grant_types") or []))
            for c in conditions
        )

    if "holder-of-key-enforcer" not in _policy_executors(loaded.document, on_client_credentials):
        yield "clientPolicies", "no enabled policy on the client_credentials grant applies holder-of-key-enforcer"
    for client in _clients(loaded.document):
        if _is_machine(client) and _attribute(client, CERT_BOUND) != "true":
            yield _client_path(client, f'attributes["{CERT_BOUND}"]'), "must be 'true' for a service-account client"


@rule(
    RuleMetadata(
        id="REALM-X509-001",
        title="Mutual-TLS clients name their exact certificate subject and issuing CA",
        requirements=("RFC8705", "HIPAA-164.312(d)", "FAPI2-SP-5.3.2"),
        severity=Severity.HIGH,
        risk="A subject-DN regex, or no issuer check, lets another trusted certificate authenticate as the client.",
        remediation="Set x509.subjectdn to the exact DN, x509.allow.regex.pattern.comparison: 'false' and "
        "x509.casubjectdn to the client CA's DN.",
    )
)
def _x509(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    for client in _clients(loaded.document):
        if client.client_authenticator_type != "client-x509":
            continue
        if _attribute(client, X509_REGEX) != "false":
            yield _client_path(client, f'attributes["{X509_REGEX}"]'), "must be 'false' (exact subject DN)"
        if not _attribute(client, X509_CA_DN):
            yield _client_path(client, f'attributes["{X509_CA_DN}"]'), "must name the client CA's subject DN"


@rule(
    RuleMetadata(
        id="REALM-SCOPE-001",
        title="Clients carry only the roles their scopes map (fullScopeAllowed: false)",
        requirements=("RFC9700-2.3", "HIPAA-164.312(a)(1)"),
        severity=Severity.HIGH,
        risk="Tokens carry every role of the user, far beyond what the client needs.",
        remediation="Set fullScopeAllowed: false; map roles to client scopes.",
    )
)
def _full_scope(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    for client in _clients(loaded.document):
        if client.full_scope_allowed is not False:
            yield _client_path(client, "fullScopeAllowed"), "must be false"


@rule(
    RuleMetadata(
        id="REALM-CONSENT-001",
        title="Public (third-party) apps ask the user for consent",
        requirements=("HIPAA-164.312(a)(1)", "SMART-2.2-SCOPES"),
        severity=Severity.MEDIUM,
        risk="Users cannot see or refuse what PHI an app reaches.",
        remediation="Set consentRequired: true on public clients.",
    )
)
def _consent(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    for client in _clients(loaded.document):
        if client.public_client and client.standard_flow_enabled and not client.consent_required:
            yield _client_path(client, "consentRequired"), "must be true for a public client"


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
    for client in _clients(loaded.document):
        if _obtains_tokens(client) and not audience_scopes & set(client.default_client_scopes or []):
            yield _client_path(client, "defaultClientScopes"), "lacks an audience scope"


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
    for client in _clients(loaded.document):
        if client.kit and client.kit.generated_jwk:
            yield _client_path(client, "kit"), "generated test keys are not allowed in this environment"


@rule(
    RuleMetadata(
        id="REALM-SVCROLE-001",
        title="Service accounts hold only the roles their client's scopes map",
        requirements=("HIPAA-164.312(a)(1)", "RFC9700-2.3", "SMART-2.2-BACKEND"),
        severity=Severity.HIGH,
        risk="A machine client holds PHI roles beyond its scopes: one more scope, or fullScopeAllowed, hands a "
        "backend access to other PHI categories of every patient.",
        remediation="Grant a service account (users[].serviceAccountClientId) only realm roles that scopeMappings "
        "map to one of its client's default or optional scopes.",
    )
)
def _service_account_roles(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    document = loaded.document
    mapped = {m.client_scope: set(m.roles) for m in document.scope_mappings or []}
    clients = {c.client_id: c for c in _clients(document)}
    for user in document.users or []:
        client = clients.get(user.service_account_client_id or "")
        if client is None:  # a test user, or a dangling name (refused by the loader)
            continue
        scopes = [*(client.default_client_scopes or []), *(client.optional_client_scopes or [])]
        allowed: set[str] = set()
        for scope in scopes:
            allowed |= mapped.get(scope, set())
        for role in user.realm_roles or []:
            if role not in allowed:
                yield (
                    f"{item_path('users', user.key)}.realmRoles",
                    f"{role!r} is not mapped by any scope of {client.client_id} ({', '.join(scopes) or 'none'})",
                )


# Which way each realm setting tightens; an overlay moving one the other way needs an exception.
_LOWER_IS_TIGHTER = {
    "accessTokenLifespan",
    "accessCodeLifespan",
    "accessCodeLifespanUserAction",
    "accessCodeLifespanLogin",
    "ssoSessionIdleTimeout",
    "ssoSessionMaxLifespan",
    "offlineSessionIdleTimeout",
    "offlineSessionMaxLifespan",
    "failureFactor",
    "refreshTokenMaxReuse",
    "oauth2DeviceCodeLifespan",
    "maxDeltaTimeSeconds",
}
_ZERO_MEANS_INHERIT = {"clientSessionIdleTimeout", "clientSessionMaxLifespan"}
_HIGHER_IS_TIGHTER = {
    "waitIncrementSeconds",
    "maxFailureWaitSeconds",
    "minimumQuickLoginWaitSeconds",
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


def _loosens(name: str, before: Any, after: Any) -> bool:
    loosened = False
    if name in _LOWER_IS_TIGHTER:
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
    headers = _realm(loaded).get("browserSecurityHeaders") or {}
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
    for client in _clients(loaded.document):
        for index, origin in enumerate(client.web_origins or []):
            if origin == "+":
                continue
            parts = urlsplit(origin)
            if "*" in origin or parts.scheme != "https" or parts.path or parts.query or not parts.hostname:
                yield f"{_client_path(client, 'webOrigins')}[{index}]", f"{origin!r} is not an exact https origin"


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
    for client in _clients(loaded.document):
        if client.standard_flow_enabled and client.frontchannel_logout is not False:
            yield _client_path(client, "frontchannelLogout"), "must be false (browsers block front-channel logout)"


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
    after = _realm(loaded)
    for name, value in after.items():
        if name in before and before[name] != value and _loosens(name, before[name], value):
            yield f"realm.{name}", f"loosens the baseline ({before[name]!r} -> {value!r})"
