"""Rules over the master realm's hardening, which the kit codifies in code rather than in realm-config.

Master holds the kit's admin client and every human administrator, so it is held to the PHI realm's class
(issue 17, item 4). What it shares with the PHI realm (brute force, events, logoff, the OTP policy) the
realm-config rules already hold; these rules hold the rest: how people sign in to master
(`idpkit.realm.master_authentication`), its own settings (`idpkit.realm.master_realm.MASTER_ONLY`) and the kit's
admin client (`idpkit.realm.bootstrap`). `realm validate`, `plan` and `apply` refuse a kit that breaks them before
any write; the review report names them as the rules enforcing master's rows, found by weakening each row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from idpkit.compliance import RuleMetadata, Severity
from idpkit.realm import master_authentication
from idpkit.realm.codified_settings import DELETE, weakenings
from idpkit.realm.loader import LoadedConfig
from idpkit.realm.located import ConfigError, Problem
from idpkit.realm.master_settings import (
    MASTER_ADMIN,
    MASTER_ADMIN_ROLES,
    MASTER_REALM,
    master_settings,
    master_source,
    shared_with_phi,
)
from idpkit.realm.model import AuthenticationFlow
from idpkit.realm.rules.authentication import (
    PASSWORD_AUTHENTICATORS,
    flow_requires,
    passwords_without_second_factor,
)


@dataclass(frozen=True)
class MasterHardening:
    """What the kit will hold master to: its settings by path (`master_settings`) and its sign-in flows."""

    settings: Mapping[str, Any]
    flows: tuple[AuthenticationFlow, ...]


MasterCheck = Callable[[MasterHardening], Iterator[tuple[str, str]]]
MASTER_RULES: list[tuple[RuleMetadata, MasterCheck]] = []

MAX_ACCESS_TOKEN_SECONDS = 300
MAX_ADMIN_SESSION_SECONDS = 3600
"""An administrator signs in for a task, not a shift."""
TLS_REQUIRED = frozenset({"external", "all"})
PRIVATE_KEY_AUTHENTICATORS = frozenset({"client-jwt", "client-x509"})
"""private_key_jwt and mutual TLS: no shared secret for the client that administers every realm."""
ADMIN_GRANTS_OFF = ("standardFlowEnabled", "implicitFlowEnabled", "directAccessGrantsEnabled")
ALLOWED_MASTER_ROLES: frozenset[str] = frozenset()
"""None: `admin` administers master itself, `create-realm` makes realms (whose creator administers them) at will;
the managed realm is created once, by a master administrator."""
SIGN_IN_BINDINGS = ("browserFlow", "directGrantFlow")


def master_rule(metadata: RuleMetadata) -> Callable[[MasterCheck], MasterCheck]:
    def register(check: MasterCheck) -> MasterCheck:
        MASTER_RULES.append((metadata, check))
        return check

    return register


def _positive_at_most(value: Any, limit: int) -> bool:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return False
    return 0 < number <= limit


def _without_break_glass_branch(flows: tuple[AuthenticationFlow, ...]) -> dict[str, AuthenticationFlow]:
    """The flows with the one named exception resolved: a CONDITIONAL sub-flow whose only condition is "the user
    does not hold the break-glass role" counts as REQUIRED (everyone else meets its code step)."""
    by_alias = {flow.alias: flow for flow in flows}
    resolved: dict[str, AuthenticationFlow] = {}
    for flow in flows:
        steps = [
            step.model_copy(update={"requirement": "REQUIRED"})
            if step.requirement == "CONDITIONAL" and _break_glass_branch(by_alias.get(step.flow or ""))
            else step
            for step in flow.executions
        ]
        resolved[flow.alias] = flow.model_copy(update={"executions": steps})
    return resolved


def _break_glass_branch(flow: AuthenticationFlow | None) -> bool:
    if flow is None:
        return False
    conditions = [e for e in flow.executions if (e.authenticator or "").startswith("conditional-")]
    return [(c.authenticator, c.requirement, c.config) for c in conditions] == [
        (
            "conditional-user-role",
            "REQUIRED",
            {"condUserRole": master_authentication.BREAK_GLASS_ROLE, "negate": "true"},
        )
    ]


@master_rule(
    RuleMetadata(
        id="MASTER-MFA-001",
        title="Every person who signs in to master gives a password and a one-time code, accepted once (the "
        "break-glass account's command-line login the one named exception)",
        requirements=("HIPAA-164.312(d)", "NIST-800-63B-4.2.1", "NIST-800-63B-5.1.4.2"),
        severity=Severity.CRITICAL,
        risk="A phished or guessed administrator password alone administers every realm, the PHI realm included.",
        remediation="Bind master's browserFlow and directGrantFlow to the flows of "
        "idpkit/realm/master_authentication.py, each password step followed by a REQUIRED one-time code, and keep "
        "otpPolicyCodeReusable false (idpkit/realm/master_realm.py).",
    )
)
def _master_sign_in(hardening: MasterHardening) -> Iterator[tuple[str, str]]:
    flows = _without_break_glass_branch(hardening.flows)
    for binding in SIGN_IN_BINDINGS:
        path = f"{MASTER_REALM}.{binding}"
        bound = hardening.settings.get(path)
        if bound not in flows or not flows[bound].top_level:
            yield path, f"is {bound!r}; must name a top-level flow of {master_authentication.SOURCE}"
            continue
        if not flow_requires(bound, flows, PASSWORD_AUTHENTICATORS, resuming=True):
            yield path, f"binds {bound}, through which a sign-in completes without a password"
        for where, message in passwords_without_second_factor(bound, flows):
            yield f"master.{where}", message
    reusable = f"{MASTER_REALM}.otpPolicyCodeReusable"
    if hardening.settings.get(reusable) is not False:
        yield reusable, f"is {hardening.settings.get(reusable)!r}; must be false: a code observed once is replayable"


@master_rule(
    RuleMetadata(
        id="MASTER-SESSION-001",
        title=f"Master refuses clear HTTP from public addresses; its access tokens live at most "
        f"{MAX_ACCESS_TOKEN_SECONDS} s and an administrator's session at most {MAX_ADMIN_SESSION_SECONDS // 60} min",
        requirements=("HIPAA-164.312(e)(1)", "HIPAA-164.312(a)(2)(iii)", "RFC9700-2.3"),
        severity=Severity.HIGH,
        risk="Administrator credentials and tokens travel in clear text, or an administrator's session and tokens "
        "outlive the task they were opened for.",
        remediation=f"In idpkit/realm/master_realm.py keep sslRequired external (or all), accessTokenLifespan <= "
        f"{MAX_ACCESS_TOKEN_SECONDS} and ssoSessionMaxLifespan <= {MAX_ADMIN_SESSION_SECONDS}.",
    )
)
def _master_session(hardening: MasterHardening) -> Iterator[tuple[str, str]]:
    settings = hardening.settings
    tls = f"{MASTER_REALM}.sslRequired"
    if settings.get(tls) not in TLS_REQUIRED:
        yield tls, f"is {settings.get(tls)!r}; must be one of {sorted(TLS_REQUIRED)}"
    for field, limit in (("accessTokenLifespan", MAX_ACCESS_TOKEN_SECONDS),
                         ("ssoSessionMaxLifespan", MAX_ADMIN_SESSION_SECONDS)):  # fmt: skip
        path = f"{MASTER_REALM}.{field}"
        if not _positive_at_most(settings.get(path), limit):
            yield path, f"is {settings.get(path)!r}; must be between 1 and {limit} seconds"


@master_rule(
    RuleMetadata(
        id="MASTER-ADMIN-001",
        title="The kit's admin client authenticates with a private key, runs no browser or password grant, gets "
        f"tokens of at most {MAX_ACCESS_TOKEN_SECONDS} s, and holds no master role (not even create-realm)",
        requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(d)", "RFC9700-2.5", "RFC9700-2.3"),
        severity=Severity.CRITICAL,
        risk="The credential every kit command runs with administers master itself, or leaks as a shared secret "
        "or through a user-facing grant: whoever holds it owns every realm.",
        remediation="In idpkit/realm/bootstrap.py keep ADMIN_CLIENT's clientAuthenticatorType client-jwt, its "
        "browser, implicit and password grants off, access.token.lifespan <= 300, and PRIVILEGES' master realm "
        "roles empty.",
    )
)
def _kit_admin(hardening: MasterHardening) -> Iterator[tuple[str, str]]:
    settings = hardening.settings
    authenticator = f"{MASTER_ADMIN}.clientAuthenticatorType"
    if settings.get(authenticator) not in PRIVATE_KEY_AUTHENTICATORS:
        yield authenticator, f"is {settings.get(authenticator)!r}; must be one of {sorted(PRIVATE_KEY_AUTHENTICATORS)}"
    for field in ADMIN_GRANTS_OFF:
        path = f"{MASTER_ADMIN}.{field}"
        if settings.get(path) is not False:
            yield path, f"is {settings.get(path)!r}; must be false"
    lifespan = f'{MASTER_ADMIN}.attributes["access.token.lifespan"]'
    if not _positive_at_most(settings.get(lifespan), MAX_ACCESS_TOKEN_SECONDS):
        yield lifespan, f"is {settings.get(lifespan)!r}; must be between 1 and {MAX_ACCESS_TOKEN_SECONDS} seconds"
    extra = sorted(set(settings.get(MASTER_ADMIN_ROLES) or []) - ALLOWED_MASTER_ROLES)
    if extra:
        yield MASTER_ADMIN_ROLES, f"holds {extra}; the kit admin holds no master realm role"


def codified(loaded: LoadedConfig) -> MasterHardening:
    """What the kit holds master to for this environment's realm-config."""
    return MasterHardening(master_settings(loaded), master_authentication.FLOWS)


def findings(hardening: MasterHardening) -> dict[str, set[tuple[str, str]]]:
    """Rule id -> (path, message) of every violation."""
    return {metadata.id: set(check(hardening)) for metadata, check in MASTER_RULES}


def evaluate(loaded: LoadedConfig) -> None:
    """Raise ConfigError, naming the file that codifies each offending setting, when master's hardening breaks a
    rule. Not waivable: these settings are the kit's, not an environment's."""
    problems = [
        Problem(_file(loaded, path), path, rule_id, message)
        for rule_id, found in findings(codified(loaded)).items()
        for path, message in sorted(found)
    ]
    if problems:
        raise ConfigError(problems)


def _file(loaded: LoadedConfig, path: str) -> str:
    if path.startswith("master.authenticationFlows"):
        return master_authentication.SOURCE
    shared = shared_with_phi(path)
    return loaded.file_of(shared) if shared else master_source(path)


def enforcing_rules(hardening: MasterHardening) -> dict[str, tuple[str, ...]]:
    """Master setting path -> ids of the rules that refuse a weakened value, found by trying weakenings."""
    before = findings(hardening)
    enforced: dict[str, tuple[str, ...]] = {}
    for path, value in hardening.settings.items():
        fired: set[str] = set()
        for weakened in weakenings(value):
            settings = {p: v for p, v in hardening.settings.items() if p != path}
            if weakened is not DELETE:
                settings[path] = weakened
            after = findings(MasterHardening(settings, hardening.flows))
            fired |= {rule_id for rule_id, found in after.items() if found - before[rule_id]}
        enforced[path] = tuple(sorted(fired))
    return enforced
