"""The mutants of mutation mode, derived from the catalogues: one weakened setting each.

- Realm rules (`idpkit.realm.rules.RULES`): `WEAKENINGS` names, per hardened setting, the value
  that weakens it; a setting's mutant counts for the rules that refuse the weakened document
  (found by running them, offline, on every environment's realm-config), and every rule must be
  refused by at least one mutant.
- Client policies (realm-config/base/client-policies.yaml): every executor an enabled policy
  applies is removed in one mutant, and each of its options is flipped in another; every enabled
  policy is switched off in one more.
- The JWT bearer identity provider's limits, and the master realm's settings and kit administration client.
- What every user holds (`idpkit.realm.kinds.default_roles`): each realm role realm-config declares that
  gates a scope a login without step-up can ask for, granted through the realm's default role in one mutant.
- The secure defaults of undeclared fields (`idpkit.realm.secure_defaults`): each entry that a hand-made
  change can weaken, and that no client policy guards, weakened on the smoke object that shows it
  (`SHOWN_ON`), or listed with the reason no smoke object can (`NOT_SHOWN`).

A mutant changes exactly one setting of the live realm, named by its path as reviews name it
(`idpkit.smoke.live` reads and writes it); it is killed only by a test of a check claiming that path.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from pydantic import ValidationError

from idpkit.outputs import LOCAL_STACK
from idpkit.realm import builtins, codified_settings, loader, master_rules, master_settings, secure_defaults
from idpkit.realm.loader import LIST_KEYS, LoadedConfig, child_path, item_name, item_path
from idpkit.realm.model import RealmDocument
from idpkit.realm.rules import RULES
from idpkit.realm.rules.events import REQUIRED_EVENT_TYPES
from idpkit.realm.secure_defaults import SecureDefault
from idpkit.smoke import codified, live

_POLICY_TERM = re.compile(r"(\w+)(?:\(([^)]*)\))?")
OFFLINE = "offline_access"
AUDIENCE_SCOPE = "phi-api-audience"
WIDEST_SCOPE = "system/*.rs"
HOSTILE_ORIGIN = secure_defaults.HOSTILE_ORIGIN
DEFAULT_ROLES = f"realm.{live.DefaultRoles.FIELD}"
FHIR_USER_SCOPE = "fhirUser"
"""SMART's identity scope: its claim only when asked for (a default scope hands it to every app unasked)."""
LAUNCH_PATIENT = "launch/patient"
"""SMART's patient launch context scope: a patient id only when asked for."""
UNDECLARED_SCOPE = "user/*.cruds"
"""A scope no realm-config declares, the widest SMART v2 user scope: what an advertisement must never invent."""
FLOWS = "authenticationFlows"
UNDECLARED_USER = "mutant-shared-login"
"""A human user no realm-config declares: the live shape of test data where it does not belong."""


class Family(StrEnum):
    RULE = "realm rule"
    CODIFIED = "codified setting"
    """A setting realm-config codifies that no realm rule checks (a check still claims it)."""
    EXECUTOR = "client-policy executor"
    OPTION = "executor option"
    POLICY = "client policy"
    PROVIDER = "identity provider"
    MASTER = "master realm"
    DEFAULT_GRANT = "granted to every user"
    SECURE_DEFAULT = "secure default"


@dataclass(frozen=True)
class Mutant:
    setting: str
    """The weakened setting's path (`idpkit.smoke.live`)."""
    codified: Any
    """Its codified value (`live.ABSENT`: unset, Keycloak's default applies)."""
    weakened: Any
    """Its value in the mutant (`live.ABSENT`: removed)."""
    family: Family
    rules: tuple[str, ...] = ()
    """Realm rules that refuse the weakened realm-config (offline): the rules this mutant proves the checks of."""
    held: SecureDefault | None = None
    """A secure default: written by `idpkit.realm.weakenings` on `target`, undone by `realm apply`."""
    target: str = ""
    """The object a secure default is weakened on (the realm, a client or a client scope)."""

    @property
    def change(self) -> str:
        """What the mutant changes, briefly: `300 -> 3600`, `- LOGIN`, `+ offline_access`."""
        if isinstance(self.weakened, list) and isinstance(self.codified, list | None):
            before, after = set(map(_item, self.codified or [])), set(map(_item, self.weakened))
            if self.held is not None:  # a secure default's weaker value is added to the live list
                after |= before
            return " ".join([*(f"+ {v}" for v in sorted(after - before)), *(f"- {v}" for v in sorted(before - after))])
        if self.setting == "realm.passwordPolicy":
            before, after = set(_terms(self.codified)), set(_terms(self.weakened))
            return " ".join([*(f"- {t}" for t in sorted(before - after)), *(f"+ {t}" for t in sorted(after - before))])
        weakened = "(removed)" if self.weakened is live.ABSENT and self.codified is not live.ABSENT else None
        return f"{shown(self.codified)} -> {weakened or shown(self.weakened)}"

    @property
    def name(self) -> str:
        return f"{self.setting}: {self.change}"


def shown(value: Any) -> str:
    if value is live.ABSENT:
        return "(unset)"
    if value == "":
        return '""'
    return value if isinstance(value, str) else json.dumps(value, separators=(",", ":"))


def _item(value: Any) -> str:
    """A list item as a change names it: a mapper by its name and kind, anything else as text."""
    if isinstance(value, dict):
        return f"{value.get('name')} ({value.get('protocolMapper')})"
    return str(value)


def _terms(policy: Any) -> list[str]:
    return [f"{n}({a})" if a else n for n, a in _POLICY_TERM.findall(str(policy or "")) if n != "and"]


# --- realm rules: the weakened value of each hardened setting -----------------------------------------------

Weakening = Callable[[Any], Iterator[Any]]


def _value(weak: Any) -> Weakening:
    def weaken(_codified: Any) -> Iterator[Any]:
        yield weak

    return weaken


def _times(factor: int) -> Weakening:
    def weaken(codified_value: Any) -> Iterator[Any]:
        yield int(codified_value) * factor

    return weaken


def _with(extra: str) -> Weakening:
    def weaken(codified_value: Any) -> Iterator[Any]:
        yield sorted({*(codified_value or []), extra})

    return weaken


def _without(item: str) -> Weakening:
    def weaken(codified_value: Any) -> Iterator[Any]:
        yield sorted(set(codified_value or []) - {item})

    return weaken


# How each password-policy term is weakened (None: the term is dropped).
_TERM_WEAKENINGS: dict[str, str | None] = {
    "length": "length(8)",
    "hashAlgorithm": "hashAlgorithm(pbkdf2-sha256)",
    "passwordHistory": "passwordHistory(1)",
}


def _password_policy_terms(policy: str) -> Iterator[str]:
    """One weaker policy per term: that term weakened (or dropped), the others kept."""
    terms = _terms(policy)
    for index, term in enumerate(terms):
        weaker = _TERM_WEAKENINGS.get(term.split("(", 1)[0])
        yield " and ".join([*terms[:index], *([weaker] if weaker else []), *terms[index + 1 :]])


def _event_types(codified_value: Any) -> Iterator[Any]:
    for required in sorted(REQUIRED_EVENT_TYPES & set(codified_value or [])):
        yield [event_type for event_type in codified_value if event_type != required]


def _blank(_codified: Any) -> Iterator[Any]:
    yield ""


WEAKENINGS: dict[str, Weakening] = {
    "realm.sslRequired": _value("external"),
    "realm.bruteForceProtected": _value(False),
    "realm.failureFactor": _times(6),
    "realm.waitIncrementSeconds": _value(1),
    "realm.maxFailureWaitSeconds": _value(30),
    "realm.permanentLockout": _value(False),
    "realm.maxTemporaryLockouts": _times(5),
    "realm.passwordPolicy": _password_policy_terms,
    "realm.accessTokenLifespan": _value(3600),
    "realm.accessCodeLifespan": _value(600),
    "realm.accessCodeLifespanLogin": _value(7200),
    "realm.ssoSessionIdleTimeout": _value(3600),
    "realm.ssoSessionMaxLifespan": _value(259200),
    "realm.rememberMe": _value(True),
    "realm.offlineSessionIdleTimeout": _value(2000000),
    "realm.offlineSessionMaxLifespanEnabled": _value(False),
    "realm.offlineSessionMaxLifespan": _value(31536000),
    "realm.revokeRefreshToken": _value(False),
    "realm.refreshTokenMaxReuse": _value(5),
    "realm.defaultSignatureAlgorithm": lambda _v: iter(("RS256", "HS256")),
    "realm.oauth2DeviceCodeLifespan": _value(3600),
    "realm.oauth2DevicePollingInterval": _value(1),
    "realm.browserFlow": _value("browser"),
    "realm.otpPolicyPeriod": _value(120),
    "realm.otpPolicyLookAheadWindow": _value(10),
    "realm.webAuthnPolicyUserVerificationRequirement": _value("discouraged"),
    "requiredActions[CONFIGURE_TOTP].enabled": _value(False),
    "realm.registrationAllowed": _value(True),
    "realm.duplicateEmailsAllowed": _value(True),
    "realm.editUsernameAllowed": _value(True),
    "realm.browserSecurityHeaders.*": _blank,
    "realm.eventsEnabled": _value(False),
    "realm.eventsExpiration": _value(60),
    "realm.eventsListeners": _value([]),
    "realm.enabledEventTypes": _event_types,
    "realm.adminEventsEnabled": _value(False),
    "realm.adminEventsDetailsEnabled": _value(False),
    "realm.defaultDefaultClientScopes": _with(OFFLINE),
    "realm.defaultOptionalClientScopes": _with(OFFLINE),
    "realm.smartConfiguration.capabilities": _with("client-confidential-symmetric"),
    "realm.smartConfiguration.grantTypesSupported": _with("password"),
    "realm.smartConfiguration.tokenEndpointAuthMethodsSupported": _with("client_secret_basic"),
    "realm.smartConfiguration.scopesSupported": _with(UNDECLARED_SCOPE),
    'clients[smoke-backend].attributes["token.endpoint.auth.signing.alg"]': _value("RS256"),
    'clients[smoke-backend].attributes["tls.client.certificate.bound.access.tokens"]': _value("false"),
    'clients[smoke-mtls].attributes["tls.client.certificate.bound.access.tokens"]': _value("false"),
    'clients[smoke-mtls].attributes["x509.allow.regex.pattern.comparison"]': _value("true"),
    'clients[smoke-mtls].attributes["x509.casubjectdn"]': _value(live.ABSENT),
    "clients[smoke-spa].fullScopeAllowed": _value(True),
    "clients[smoke-spa].consentRequired": _value(False),
    "clients[smoke-spa].webOrigins": _with("*"),
    "clients[smoke-spa].defaultClientScopes": lambda v: iter(
        (*_without(AUDIENCE_SCOPE)(v), *_with(OFFLINE)(v), *_with(FHIR_USER_SCOPE)(v), *_with(LAUNCH_PATIENT)(v))
    ),
    "clients[smoke-spa].optionalClientScopes": _with(WIDEST_SCOPE),
    'clients[smoke-web].attributes["dpop.bound.access.tokens"]': _value("false"),
    'clients[smoke-jwt-bearer].attributes["dpop.bound.access.tokens"]': _value("false"),
    "clients[smoke-web].redirectUris": _with(f"{HOSTILE_ORIGIN}/callback"),
    "clients[smoke-web].frontchannelLogout": _value(True),
    "users[service-account-smoke-backend].realmRoles": _with("phi-conditions"),
    f"users[{UNDECLARED_USER}]": _value(True),
}
"""Settings Keycloak refuses to weaken have no entry: client session lifetimes above the SSO session's, and
client flags that an any-client executor auto-configures back or refuses (PKCE, implicit, password grant,
redirect URIs, client authenticator), public clients' `dpop.bound.access.tokens`, which the public-client
policy's dpop-bind-enforcer switches back on, and `require.pushed.authorization.requests`, which changes nothing
while secure-par-content refuses every unpushed request; their executors' and policies' mutants stand for them."""


# --- client policies: derived from realm-config -------------------------------------------------------------

# Non-boolean executor options, and how each weakens; boolean options are flipped.
OPTION_WEAKENINGS: dict[str, Callable[[Any], Any]] = {
    "allowed-client-authenticators": lambda value: [*value, "client-secret"],
    "default-client-authenticator": lambda _value: "client-secret",
}


def _policy_mutants(loaded: LoadedConfig, found: dict[str, Any]) -> Iterator[Mutant]:
    document = loaded.document
    applied = {name for policy in document.client_policies or [] if policy.enabled for name in policy.profiles}
    for profile in document.client_profiles or []:
        if profile.name not in applied:
            continue
        for executor in profile.executors:
            path = item_path(f"{item_path('clientProfiles', profile.name)}.executors", executor.executor)
            yield Mutant(path, "applied", live.ABSENT, Family.EXECUTOR)
            for option, value in executor.configuration.items():
                weaken = OPTION_WEAKENINGS.get(option)
                if weaken is None and not isinstance(value, bool):
                    raise ValueError(f"{path}: no weakening known for option {option!r}; add it to OPTION_WEAKENINGS")
                weak = (not value) if weaken is None else weaken(value)
                yield Mutant(child_path(f"{path}.configuration", option), value, weak, Family.OPTION)
    for policy in document.client_policies or []:
        if policy.enabled:
            path = f"{item_path('clientPolicies', policy.name)}.enabled"
            yield Mutant(path, found.get(path), False, Family.POLICY)


PROVIDER_WEAKENINGS: dict[str, str] = {
    "jwtAuthorizationGrantAssertionReuseAllowed": "true",
    "jwtAuthorizationGrantMaxAllowedAssertionExpiration": "3600",
    "jwtAuthorizationGrantAssertionSignatureAlg": "RS256",
}
SMOKE_PROVIDER = "smoke-assertions"


def _provider_mutants(found: dict[str, Any]) -> Iterator[Mutant]:
    for key, weak in PROVIDER_WEAKENINGS.items():
        path = f"{item_path('identityProviders', SMOKE_PROVIDER)}.config.{key}"
        if path in found:
            yield Mutant(path, found[path], weak, Family.PROVIDER)


# Where each secure default of a client or client scope shows: the smoke object the claiming check exercises.
SHOWN_ON: dict[tuple[str, str], str] = {
    ("client", "serviceAccountsEnabled"): "smoke-web",
    ("client", "authorizationServicesEnabled"): "smoke-backend",
    ("client", "attributes.oauth2.device.authorization.grant.enabled"): "smoke-web",
    ("client", "attributes.oidc.ciba.grant.enabled"): "smoke-web",
    ("client", "attributes.standard.token.exchange.enabled"): "smoke-web",
    ("client", "attributes.oauth2.jwt.authorization.grant.enabled"): "smoke-web",
    ("client", "attributes.client_credentials.use_refresh_token"): "smoke-backend",
    ("client", "attributes.access.token.lifespan"): "smoke-web",
    ("client", "attributes.exclude.issuer.from.auth.response"): "smoke-spa",
    ("client", "attributes.acr.loa.map"): "smoke-spa",
    ("client", "attributes.token.endpoint.auth.signing.max.exp"): "smoke-backend",
    ("client", "attributes.client.offline.session.idle.timeout"): "smoke-spa",
    ("client", "attributes.client.offline.session.max.lifespan"): "smoke-spa",
    ("client", "attributes.oauth2.device.code.lifespan"): "smoke-device",
    ("client", "attributes.access.token.signed.response.alg"): "smoke-web",
    ("client", "attributes.id.token.signed.response.alg"): "smoke-web",
    ("client", "attributes.backchannel.logout.url"): "smoke-web",
    ("client", "webOrigins"): "smoke-web",
    ("client", "frontchannelLogout"): "smoke-backend",
    ("client", "protocolMappers"): "smoke-web",
    ("clientScope", "protocolMappers"): "patient/Patient.rs",
    ("clientScope", "scopeMappings.realm"): "phi-api-audience",
}
NOT_SHOWN: dict[tuple[str, str], str] = {
    ("client", "publicClient"): "every confidential smoke client declares it",
    ("client", "attributes.x509.allow.regex.pattern.comparison"): "every mTLS client declares it; it changes nothing "
    "on any other client",
    ("client", "attributes.post.logout.redirect.uris"): "every code-flow smoke client declares it; other clients "
    "have no logout redirect",
    ("client", "redirectUris"): "every code-flow smoke client declares it (a hostile URI added to a declared list "
    "is a codified-setting mutant); other clients have no browser flow",
    ("client", "fullScopeAllowed"): "every client declares it",
    ("client", "defaultClientScopes"): "every client declares it",
    ("client", "optionalClientScopes"): "every client declares it",
}
"""Entries that a hand-made change can weaken and no client policy guards, but no smoke object leaves undeclared
where it has an effect: the declared value's mutants (codified-setting family) stand for them."""


def weakenable(entry: SecureDefault) -> bool:
    """A secure default a single hand-made change weakens (a guarded one needs its executor removed first)."""
    return entry.weakens and not entry.guarded_by


def _held_mutants(loaded: LoadedConfig) -> Iterator[Mutant]:
    held = codified.held_settings(loaded)
    realm_name = (loaded.document.realm.realm if loaded.document.realm else None) or ""
    for entry in filter(weakenable, secure_defaults.CATALOGUE):
        key = (entry.kind, entry.field)
        if key in NOT_SHOWN:
            continue
        target = realm_name if entry.kind == "realm" else SHOWN_ON.get(key)
        if target is None:
            raise ValueError(f"secure default {entry.kind}.{entry.field}: name the smoke object that shows it "
                             "(SHOWN_ON) or why none can (NOT_SHOWN)")  # fmt: skip
        owner = "realm" if entry.kind == "realm" else item_path(f"{entry.kind}s", target)
        path = codified.field_path(owner, entry)
        if path not in held:
            raise ValueError(f"{path}: realm-config declares it, so its secure default cannot be shown there")
        yield Mutant(path, entry.secure_default, entry.weaker_value, Family.SECURE_DEFAULT, held=entry, target=target)


MASTER_REALM_WEAKENINGS: dict[str, Weakening] = {
    "sslRequired": _value("none"),  # master codifies `external`, the PHI realm's weakening
    # The login event master's checks provoke (a wrong password); the PHI realm's checks show the others.
    "enabledEventTypes": _without("LOGIN_ERROR"),
    # Keycloak's own direct-grant flow asks a code only of a person who already has one.
    "directGrantFlow": _value("direct grant"),
    "otpPolicyCodeReusable": _value(True),
}
"""Master realm fields weakened otherwise than the PHI realm's same field (`WEAKENINGS`)."""


def master_weakening(field: str) -> Weakening | None:
    """How master's `field` is weakened: as the PHI realm's same field unless `MASTER_REALM_WEAKENINGS` says
    otherwise; None, as in the PHI realm, for a field no single change weakens (the one-time code's digits)."""
    return MASTER_REALM_WEAKENINGS.get(field) or WEAKENINGS.get(f"realm.{field}")


def _master_mutants(loaded: LoadedConfig) -> Iterator[Mutant]:
    realm_prefix = f"{master_settings.MASTER_REALM}."
    for path, value in master_settings.master_settings(loaded).items():
        if path.startswith(realm_prefix):
            field = path.removeprefix(realm_prefix)
            if (weaken := master_weakening(field)) is not None:
                yield from (Mutant(path, value, weak, Family.MASTER) for weak in weaken(value))
        elif path == master_settings.MASTER_ADMIN_ROLES:
            yield from (Mutant(path, value, sorted([*value, role]), Family.MASTER) for role in MASTER_ROLES_GRANTED)
        else:
            yield Mutant(path, value, _weaker_master_admin(path, value), Family.MASTER)


MASTER_ROLES_GRANTED = ("admin", "create-realm")
"""The master roles a weakened kit admin holds, one per mutant: administering master, creating realms at will."""


def _weaker_master_admin(path: str, value: Any) -> Any:
    """The kit admin's client weakened: a client secret instead of a signed assertion, a flow switched on, a token
    lifespan 30 times longer."""
    if path.endswith(".clientAuthenticatorType"):
        return "client-secret"
    return (not value) if isinstance(value, bool) else str(int(value) * 30)


def _acr_mutants(loaded: LoadedConfig) -> Iterator[Mutant]:
    """Each acr but the lowest lowered to the level below it (its name then claims a login that did less; the
    lowest has no level below: Keycloak's level 0 changes no login, nor the acr a token carries)."""
    mapping = (loaded.document.realm.acr_loa_map if loaded.document.realm else None) or {}
    levels = sorted(set(mapping.values()))
    for acr, level in mapping.items():
        if level > levels[0]:
            below = max(other for other in levels if other < level)
            yield Mutant(child_path("realm.acrLoaMap", acr), level, below, Family.RULE)


def _flow_step_mutants(loaded: LoadedConfig, configs: list[tuple[LoadedConfig, Findings]]) -> Iterator[Mutant]:
    """Each REQUIRED or CONDITIONAL step of the realm's flows switched off, where the flow rules find the flow weaker
    for it (a factor, a level, a step-up or an enrolment gone). Switching off the others only makes more run: a
    condition whose sub-flow then never runs, where its complement then always does."""
    for flow in loaded.document.authentication_flows or []:
        for step in flow.executions:
            if step.requirement in ("REQUIRED", "CONDITIONAL"):
                steps = f"{item_path(FLOWS, flow.alias)}.executions"
                path = f"{item_path(steps, step.authenticator or step.flow or '')}.requirement"
                if rules := refusing_rules(configs, path, "DISABLED"):
                    yield Mutant(path, step.requirement, "DISABLED", Family.RULE, rules)


def _default_grant_mutants(loaded: LoadedConfig) -> Iterator[Mutant]:
    """Each declared role that gates a scope a login without step-up can ask for (a role gating only step-up
    scopes shows only through a WebAuthn login, which the smoke suite does not drive yet)."""
    built_in = sorted(builtins.DEFAULT_ROLE_COMPOSITES)
    shown = {role for roles in codified.role_gated_scopes(loaded).values() for role in roles}
    for role in loaded.document.roles or []:
        if role.name in shown:
            yield Mutant(DEFAULT_ROLES, built_in, sorted([*built_in, role.name]), Family.DEFAULT_GRANT)


# --- the whole catalogue ---------------------------------------------------------------------------------


def mutants(loaded: LoadedConfig | None = None) -> list[Mutant]:
    """Every mutant for the local stack's realm-config, each with the realm rules that refuse it."""
    loaded = loaded or loader.load(LOCAL_STACK)
    found = codified.settings(loaded)
    configs = [(config, _findings(config)) for config in map(loader.load, loader.ENVIRONMENTS)]
    derived: list[Mutant] = []
    declared = {setting.path for setting in codified_settings.settings(loaded)}
    for pattern, weaken in WEAKENINGS.items():
        for path in _matching(pattern, found):
            # An undeclared realm setting is held to its secure default: that catalogue's mutants weaken it.
            if path.startswith("realm.") and path not in declared:
                continue
            derived += [Mutant(path, found.get(path), weak, Family.RULE) for weak in weaken(found.get(path))]
    derived += [
        *_policy_mutants(loaded, found),
        *_provider_mutants(found),
        *_master_mutants(loaded),
        *_acr_mutants(loaded),
        *_flow_step_mutants(loaded, configs),
        *_held_mutants(loaded),
        *_default_grant_mutants(loaded),
    ]
    refused = [dataclasses.replace(m, rules=refusing_rules(configs, m.setting, m.weakened)) for m in derived]
    return [
        dataclasses.replace(m, family=Family.CODIFIED) if m.family is Family.RULE and not m.rules else m
        for m in refused
    ]


def _matching(pattern: str, found: dict[str, Any]) -> list[str]:
    """The codified settings a pattern names; a concrete path names itself, codified or not (it is then unset)."""
    if "*" not in pattern:
        return [pattern]
    regex = re.compile(".*".join(re.escape(part) for part in pattern.split("*")))
    return [path for path in found if regex.fullmatch(path)]


# --- which realm rules refuse a weakened setting (offline) -------------------------------------------------


Findings = dict[str, set[tuple[str, str]]]


def refusing_rules(configs: list[tuple[LoadedConfig, Findings]], path: str, value: Any) -> tuple[str, ...]:
    """Rules that report a new finding once `path` is `value`, in any environment declaring its object
    (each environment's realm-config with the findings it has as codified)."""
    if path.startswith(live.MASTER_PREFIX):
        return _refusing_master_rules(configs, path, value)
    fired: set[str] = set()
    for loaded, before in configs:
        raw = loaded.document.model_dump(by_alias=True, exclude_none=True, mode="json")
        edited = _edit(copy.deepcopy(raw), path, value)
        if edited is None:
            continue
        try:
            document = RealmDocument.model_validate(edited)
        except ValidationError:
            continue
        after = _findings(dataclasses.replace(loaded, document=document))
        fired |= {rule_id for rule_id, findings in after.items() if findings - before.get(rule_id, set())}
    return tuple(sorted(fired))


def _findings(loaded: LoadedConfig) -> Findings:
    return {metadata.id: set(check(loaded)) for metadata, check in RULES}


def _refusing_master_rules(configs: list[tuple[LoadedConfig, Findings]], path: str, value: Any) -> tuple[str, ...]:
    """The master rules that refuse master's `path` at `value`; for a setting master takes from the PHI realm,
    also the realm rules that refuse the PHI realm's value so weakened (where the weakening would be made)."""
    shared = master_settings.shared_with_phi(path)
    fired = set(refusing_rules(configs, shared, value)) if shared else set()
    for loaded, _ in configs:
        hardening = master_rules.codified(loaded)
        settings = {p: v for p, v in hardening.settings.items() if p != path}
        if value is not live.ABSENT:
            settings[path] = value
        before = master_rules.findings(hardening)
        after = master_rules.findings(master_rules.MasterHardening(settings, hardening.flows))
        fired |= {rule_id for rule_id, found in after.items() if found - before[rule_id]}
    return tuple(sorted(fired))


def _name(list_key: str, item: Any) -> str | None:
    if list_key == "executors" and isinstance(item, dict):
        return item.get("executor")
    if list_key == "executions" and isinstance(item, dict):
        return item.get("authenticator") or item.get("flow")
    return item_name(list_key, item)


def _edit(raw: dict[str, Any], path: str, value: Any) -> dict[str, Any] | None:
    """`raw` with `path` set to `value` (None when the path's object is not in this document)."""
    if path.startswith(live.MASTER_PREFIX):
        return None
    parts = live.segments(path)
    if parts[0] == "users" and len(parts) == 2:
        username = parts[1][1:-1]
        users = raw.setdefault("users", [])
        if value:
            users.append({"username": username, "enabled": True})
        else:
            raw["users"] = [user for user in users if item_name("users", user) != username]
        return raw
    node: Any = raw
    list_key = ""
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        if part.startswith("["):
            name = part[1:-1]
            found = next((item for item in node if _name(list_key, item) == name), None)
            if found is None:
                return None
            if last:  # an executor: removed (written back unchanged otherwise)
                if value is live.ABSENT:
                    node.remove(found)
                return raw
            node = found
            continue
        if last:
            if value is live.ABSENT:
                node.pop(part, None)
            else:
                node[part] = value
            return raw
        following = parts[index + 1]
        node = node.setdefault(part, [] if following.startswith("[") else {})
        list_key = part if part in LIST_KEYS or part in ("executors", "executions") else ""
    return raw
