"""Step-up by level of authentication (RFC 9470): the acr levels the browser flow implements, the phishing-resistant
level a PHI write demands, and the minimum a client may require."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

from idpkit.compliance import RuleMetadata, Severity
from idpkit.realm.kinds.realm import ACR_LOA_ATTRIBUTE
from idpkit.realm.located import LoadedConfig, item_path, step_path
from idpkit.realm.model import AuthenticationFlow
from idpkit.realm.rules.authentication import LEVEL_CONDITION, PASSWORD_AUTHENTICATORS, SECOND_FACTORS, flow_requires
from idpkit.realm.rules.common import attribute, client_path, clients, realm_settings
from idpkit.realm.rules.registry import rule

PHISHING_RESISTANT = frozenset({"webauthn-authenticator", "webauthn-authenticator-passwordless"})
"""Authenticators bound to the site's origin and to the person (WebAuthn with user verification: REALM-WEBAUTHN-001)."""
FIRST_FACTORS = PASSWORD_AUTHENTICATORS | {"webauthn-authenticator-passwordless"}
"""What identifies a person at the lowest level: a password, or a passkey on its own (itself two factors)."""
LEVEL_OPTION, MAX_AGE_OPTION = "loa-condition-level", "loa-max-age"
MAX_TOP_LEVEL_AGE = 300
"""The phishing-resistant level, reached for a PHI write, is asked again after five minutes."""
SCOPE_CONDITION, SCOPE_OPTION = "conditional-client-scope", "client_scope"
MINIMUM_ACR = "minimum.acr.value"
"""The client attribute with which a client requires a level whatever it asks for."""
CLIENT_ACR_LOA_MAP = ACR_LOA_ATTRIBUTE
"""The client attribute that replaces the realm's acr map for that client (Keycloak names it as the realm's)."""
_SMART_SCOPE = re.compile(r"^(?P<context>patient|user)/(?P<resource>[A-Za-z]+|\*)\.(?P<permissions>[a-z*]+)$")
_WRITES = re.compile(r"^(write|\*|c?r?u?d?s?)$")


def writes_phi(scope: str) -> bool:
    """A SMART scope a person's app asks to create, update or delete PHI with (v2 `c`/`u`/`d`, v1 `write`/`*`)."""
    match = _SMART_SCOPE.match(scope)
    if match is None or not _WRITES.match(permissions := match["permissions"]):
        return False
    return permissions in {"write", "*"} or bool(set(permissions) & set("cud"))


def _tree(alias: str, flows: dict[str, AuthenticationFlow]) -> list[AuthenticationFlow]:
    """Flow `alias` and every sub-flow it reaches through enabled steps."""
    found: dict[str, AuthenticationFlow] = {}
    pending = [alias]
    while pending:
        flow = flows.get(pending.pop(0))
        if flow is None or flow.alias in found:
            continue
        found[flow.alias] = flow
        pending += [e.flow for e in flow.executions if e.flow and e.requirement != "DISABLED"]
    return list(found.values())


def _conditioned(flows: dict[str, AuthenticationFlow], bound: str, authenticator: str) -> dict[str, AuthenticationFlow]:
    """The sub-flows of the bound browser flow that run on an enabled condition `authenticator`, by the option
    value the condition tests, when they are CONDITIONAL steps of their parent."""
    tree = _tree(bound, flows)
    conditional = {e.flow for flow in tree for e in flow.executions if e.requirement == "CONDITIONAL" and e.flow}
    found: dict[str, AuthenticationFlow] = {}
    for flow in tree:
        if flow.alias not in conditional:
            continue
        for step in flow.executions:
            config = step.config or {}
            if (
                step.authenticator == authenticator
                and step.requirement != "DISABLED"
                and config.get("negate") != "true"
            ):
                option = LEVEL_OPTION if authenticator == LEVEL_CONDITION else SCOPE_OPTION
                found[str(config.get(option, ""))] = flow
    return found


def _phishing_resistant(flow: AuthenticationFlow, flows: dict[str, AuthenticationFlow]) -> bool:
    return flow_requires(flow.alias, flows, PHISHING_RESISTANT)


def _bound_browser_flow(loaded: LoadedConfig) -> tuple[str, dict[str, AuthenticationFlow]]:
    flows = {flow.alias: flow for flow in loaded.document.authentication_flows or []}
    return str(realm_settings(loaded).get("browserFlow") or ""), flows


def stepped_up_scopes(loaded: LoadedConfig) -> set[str]:
    """Client scopes for which the bound browser flow demands a phishing-resistant step-up."""
    bound, flows = _bound_browser_flow(loaded)
    stepped_up = _conditioned(flows, bound, SCOPE_CONDITION)
    return {scope for scope, flow in stepped_up.items() if _phishing_resistant(flow, flows)}


@rule(
    RuleMetadata(
        id="REALM-STEPUP-001",
        title="Every scope that writes PHI for a person demands a WebAuthn step-up in the browser flow, SSO "
        "session or not",
        requirements=("HIPAA-164.312(d)", "NIST-800-63B-4.3.1", "RFC9470"),
        severity=Severity.HIGH,
        risk="A phished password and one-time code (or a hijacked SSO session) are enough to write into a "
        "patient's record.",
        remediation="For each patient/ or user/ client scope with c, u or d permissions, add to realm.browserFlow "
        "a CONDITIONAL sub-flow: conditional-client-scope naming the scope, then a REQUIRED "
        "webauthn-authenticator (realm-config/base/authentication.yaml, idpkit-browser-phi-write).",
    )
)
def _phi_writes_step_up(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    bound = realm_settings(loaded).get("browserFlow") or "the browser flow"
    stepped_up = stepped_up_scopes(loaded)
    for scope in loaded.document.client_scopes or []:
        if writes_phi(scope.name) and scope.name not in stepped_up:
            yield (
                item_path("clientScopes", scope.name),
                (
                    f"writes PHI, but {bound} has no CONDITIONAL sub-flow on {SCOPE_CONDITION} naming it that requires "
                    f"{' or '.join(sorted(PHISHING_RESISTANT))}"
                ),
            )


@rule(
    RuleMetadata(
        id="REALM-ACR-001",
        title="Each acr of realm.acrLoaMap names its own level, which the browser flow implements; a client's "
        "minimum acr is one of them and its own map lowers none",
        requirements=("HIPAA-164.312(d)", "NIST-800-63B-4.3.1", "RFC9470"),
        severity=Severity.HIGH,
        risk="A token claims a level of authentication its login never reached, or a client's minimum is silently "
        "ignored.",
        remediation="Map each acr to a distinct level >= 1 (realm.acrLoaMap), give realm.browserFlow a CONDITIONAL "
        f"sub-flow on {LEVEL_CONDITION} per level, and set clients' {MINIMUM_ACR} only to a mapped acr; a client's "
        f"own {CLIENT_ACR_LOA_MAP} must not map an acr lower.",
    )
)
def _acr_levels(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    mapping = loaded.document.realm.acr_loa_map if loaded.document.realm else None
    if not mapping:
        yield "realm.acrLoaMap", "must map each acr the realm issues to a level (tokens carry acr: RFC 9470)"
        return
    bound, flows = _bound_browser_flow(loaded)
    levels = _conditioned(flows, bound, LEVEL_CONDITION)
    for acr, level in mapping.items():
        path = f"realm.acrLoaMap.{acr}"
        if level < 1:
            yield path, f"is {level}; levels of authentication start at 1 (0 is Keycloak's floor, below any login)"
        elif [other for other, mapped in mapping.items() if mapped == level and other != acr]:
            yield path, f"is {level}, a level another acr names too: a token's acr must tell the levels apart"
        elif str(level) not in levels:
            yield path, f"is {level}, but {bound or 'the browser flow'} has no {LEVEL_CONDITION} sub-flow for it"
    for client in clients(loaded.document):
        minimum = attribute(client, MINIMUM_ACR)
        if minimum is not None and minimum not in mapping:
            yield (
                client_path(client, f'attributes["{MINIMUM_ACR}"]'),
                f"is {minimum!r}, not an acr of realm.acrLoaMap ({', '.join(sorted(mapping))})",
            )
        if (own := attribute(client, CLIENT_ACR_LOA_MAP)) is not None and _lowers(own, mapping):
            yield (
                client_path(client, f'attributes["{CLIENT_ACR_LOA_MAP}"]'),
                f"maps an acr of realm.acrLoaMap lower than the realm does, or is no JSON object of levels: {own!r}",
            )


def _lowers(text: str, mapping: dict[str, int]) -> bool:
    """Whether a client's own acr map (it replaces the realm's for that client) maps a realm acr lower, or cannot
    be read as one."""
    try:
        own = json.loads(text)
    except ValueError:
        return True
    if not isinstance(own, dict) or not all(type(level) is int for level in own.values()):
        return True
    return any(acr in own and own[acr] < level for acr, level in mapping.items())


@rule(
    RuleMetadata(
        id="REALM-LOA-001",
        title="The browser flow's lowest level takes a first and a second factor, its highest WebAuthn, and no "
        f"level stays valid longer than the SSO session (the highest at most {MAX_TOP_LEVEL_AGE} s)",
        requirements=("HIPAA-164.312(d)", "NIST-800-63B-4.2.1", "NIST-800-63B-4.3.1", "RFC9470"),
        severity=Severity.HIGH,
        risk="A login reaches the MFA level without a password or a second factor, the phishing-resistant level "
        "without WebAuthn, or a level reached once keeps standing for hours after the person left.",
        remediation=f"In each {LEVEL_CONDITION} sub-flow of realm.browserFlow: the lowest level REQUIRES a password "
        "(or a passkey) and a second factor, the highest a webauthn-authenticator; loa-max-age <= "
        f"realm.ssoSessionMaxLifespan, <= {MAX_TOP_LEVEL_AGE} for the highest.",
    )
)
def _level_flows(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    mapping = (loaded.document.realm.acr_loa_map if loaded.document.realm else None) or {}
    bound, flows = _bound_browser_flow(loaded)
    levels = {
        int(level): flow for level, flow in _conditioned(flows, bound, LEVEL_CONDITION).items() if level.isdigit()
    }
    mapped = [level for level in sorted(set(mapping.values())) if level in levels]
    if not mapped:
        return
    lowest, top = levels[mapped[0]], levels[mapped[-1]]
    for factors, kind in ((FIRST_FACTORS, "a first factor (password or passkey)"), (SECOND_FACTORS, "a second factor")):
        if not flow_requires(lowest.alias, flows, factors):
            yield (
                f"{item_path('authenticationFlows', lowest.alias)}.executions",
                (f"implements the lowest level ({mapped[0]}) without {kind} in every way through it"),
            )
    if not _phishing_resistant(top, flows):
        yield (
            f"{item_path('authenticationFlows', top.alias)}.executions",
            (
                f"implements the highest level ({mapped[-1]}) without a REQUIRED "
                f"{' or '.join(sorted(PHISHING_RESISTANT))}"
            ),
        )
    session = realm_settings(loaded).get("ssoSessionMaxLifespan")
    for level in mapped:
        limit = MAX_TOP_LEVEL_AGE if level == mapped[-1] else session
        step = next(e for e in levels[level].executions if e.authenticator == LEVEL_CONDITION)
        age = (step.config or {}).get(MAX_AGE_OPTION, "")
        if limit is not None and not (age.isdigit() and int(age) <= int(limit)):
            yield (
                f"{step_path(levels[level].alias, LEVEL_CONDITION)}.config.{MAX_AGE_OPTION}",
                (f"is {age!r}; level {level} must be re-asked within {limit} s"),
            )
