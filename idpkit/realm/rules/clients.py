"""Clients: how they authenticate, what their tokens are bound to, what roles they carry."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from idpkit.compliance import RuleMetadata, Severity
from idpkit.realm.located import LoadedConfig, item_path
from idpkit.realm.rules.common import (
    attribute,
    client_path,
    clients,
    is_machine,
    listed,
    obtains_person_tokens,
    policy_executors,
    require_executor,
)
from idpkit.realm.rules.registry import rule

ASYMMETRIC_AUTHENTICATORS = {"client-jwt", "client-x509"}
CERT_BOUND = "tls.client.certificate.bound.access.tokens"
DPOP_BOUND = "dpop.bound.access.tokens"
PAR_REQUIRED = "require.pushed.authorization.requests"
PUBLIC = "public"
X509_REGEX = "x509.allow.regex.pattern.comparison"
X509_CA_DN = "x509.casubjectdn"


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
        allowed = listed(configuration.get("allowed-client-authenticators"))
        return bool(allowed) and set(allowed) <= ASYMMETRIC_AUTHENTICATORS

    yield from require_executor(loaded.document, "secure-client-authenticator", strict)
    for client in clients(loaded.document):
        if not client.public_client and client.client_authenticator_type not in ASYMMETRIC_AUTHENTICATORS:
            yield (
                client_path(client, "clientAuthenticatorType"),
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
            or (c.condition == "grant-type" and "client_credentials" in listed(c.configuration.get("grant_types")))
            for c in conditions
        )

    if "holder-of-key-enforcer" not in policy_executors(loaded.document, on_client_credentials):
        yield "clientPolicies", "no enabled policy on the client_credentials grant applies holder-of-key-enforcer"
    for client in clients(loaded.document):
        if is_machine(client) and attribute(client, CERT_BOUND) != "true":
            yield client_path(client, f'attributes["{CERT_BOUND}"]'), "must be 'true' for a service-account client"


def _binds_public_clients(conditions: list[Any]) -> bool:
    """Whether a policy's conditions cover every public client (a negated access-type condition covers none)."""
    return any(
        c.condition == "any-client"
        or (
            c.condition == "client-access-type"
            and PUBLIC in listed(c.configuration.get("type"))
            and c.configuration.get("is-negative-logic") is not True
        )
        for c in conditions
    )


@rule(
    RuleMetadata(
        id="REALM-DPOP-001",
        title="Public clients get DPoP-bound access and refresh tokens, including ones created later",
        requirements=("RFC9700-2.2.1", "RFC9700-2.2.2", "FAPI2-SP-5.3.3", "HIPAA-164.312(e)(1)"),
        severity=Severity.HIGH,
        risk="A public client holds no secret: its bearer tokens, once leaked (browser storage, logs, a lost "
        "device), read PHI from anywhere, and its refresh token mints more for as long as the session lives.",
        remediation="Apply dpop-bind-enforcer through an enabled policy on client-access-type public (or any-client); "
        f"set {DPOP_BOUND}: 'true' on every public client.",
    )
)
def _dpop(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    if "dpop-bind-enforcer" not in policy_executors(loaded.document, _binds_public_clients):
        yield "clientPolicies", "no enabled policy on public clients applies dpop-bind-enforcer"
    for client in clients(loaded.document):
        if client.public_client and attribute(client, DPOP_BOUND) != "true":
            yield client_path(client, f'attributes["{DPOP_BOUND}"]'), "must be 'true' for a public client"


@rule(
    RuleMetadata(
        id="REALM-DPOP-002",
        title="Confidential clients that obtain a person's tokens (code flow, device, JWT bearer) bind them with DPoP",
        requirements=("RFC9700-2.2.1", "RFC9449", "FAPI2-SP-5.3.3", "HIPAA-164.312(e)(1)"),
        severity=Severity.HIGH,
        risk="A clinician's bearer token that leaks from a web app's session store, log or proxy reads PHI from "
        "anywhere until it expires: no plain bearer token may carry a person's PHI scopes.",
        remediation=f"Set {DPOP_BOUND}: 'true' on every confidential client with standardFlowEnabled, the device "
        "grant or the JWT bearer grant (client-credentials clients are certificate-bound instead, REALM-HOK-001).",
    )
)
def _dpop_for_people(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    for client in clients(loaded.document):
        if client.public_client or not obtains_person_tokens(client):
            continue
        if attribute(client, DPOP_BOUND) != "true":
            yield client_path(client, f'attributes["{DPOP_BOUND}"]'), "must be 'true' for a client that obtains a "
            "person's tokens"


@rule(
    RuleMetadata(
        id="REALM-PAR-001",
        title="Every authorization request is pushed first (PAR), for every client, including ones created later",
        requirements=("RFC9126", "FAPI2-SP-PAR", "RFC9700-2.1", "HIPAA-164.312(e)(1)"),
        severity=Severity.HIGH,
        risk="A request built in the browser can be read and altered there (scopes, redirect, PKCE challenge) and is "
        "accepted from a client that never authenticated; PAR sends it back channel, authenticated, and the browser "
        "carries only a one-time reference.",
        remediation="Apply secure-par-content through an any-client policy; set "
        f"{PAR_REQUIRED}: 'true' on every client with standardFlowEnabled.",
    )
)
def _pushed_requests(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    yield from require_executor(loaded.document, "secure-par-content")
    for client in clients(loaded.document):
        if client.standard_flow_enabled and attribute(client, PAR_REQUIRED) != "true":
            yield client_path(client, f'attributes["{PAR_REQUIRED}"]'), "must be 'true' for a code-flow client"


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
    for client in clients(loaded.document):
        if client.client_authenticator_type != "client-x509":
            continue
        if attribute(client, X509_REGEX) != "false":
            yield client_path(client, f'attributes["{X509_REGEX}"]'), "must be 'false' (exact subject DN)"
        if not attribute(client, X509_CA_DN):
            yield client_path(client, f'attributes["{X509_CA_DN}"]'), "must name the client CA's subject DN"


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
    for client in clients(loaded.document):
        if client.full_scope_allowed is not False:
            yield client_path(client, "fullScopeAllowed"), "must be false"


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
    for client in clients(loaded.document):
        if client.public_client and client.standard_flow_enabled and not client.consent_required:
            yield client_path(client, "consentRequired"), "must be true for a public client"


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
    declared = {c.client_id: c for c in clients(document)}
    for user in document.users or []:
        client = declared.get(user.service_account_client_id or "")
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
