"""Setting -> rule -> requirement -> smoke check: the traceability table and requirement coverage.

The rule of a setting comes from code (`idpkit.realm.codified_settings`, `aws_settings`). Two small hand-written
tables cover what code cannot say, each entry a path pattern (`*` matches anything) with a reason;
tests keep them honest (every entry matches a shipped setting, no entry shadows a rule that
already enforces the setting):

- `SUPPORTING`: settings that switch on or configure the mechanism a rule secures, where any value
  is acceptable to the rule (turning a grant off is never a weakening, so no rule refuses it).
- `DESCRIPTIVE`: names and labels, which are not security controls.

A realm setting is proven by the smoke checks whose tests claim it (`idpkit.smoke.checks`): by
observed behaviour, or by a config read where nothing observable shows it (marked so). AWS
settings are read by the policy rules from the Pulumi program's resource graph: config reads too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from idpkit.compliance import REQUIREMENTS
from idpkit.review.model import Family, Review, Rule, Setting
from idpkit.smoke.checks import claimed, matches

SUPPORTING: dict[str, tuple[str, str]] = {
    "clients[*].standardFlowEnabled": ("REALM-PKCE-001", "the code flow that PKCE protects"),
    "clients[*].serviceAccountsEnabled": ("REALM-HOK-001", "the client credentials grant that must be cert-bound"),
    'clients[*].attributes["oauth2.device.authorization.grant.enabled"]': (
        "REALM-AUD-001",
        "a token-obtaining grant, so the audience scope is required",
    ),
    'clients[*].attributes["oauth2.jwt.authorization.grant.*"]': (
        "REALM-AUD-001",
        "a token-obtaining grant (and its trusted issuer), so the audience scope is required",
    ),
    'clients[*].attributes["use.jwks.*"]': ("REALM-CLIENTAUTH-001", "where the private_key_jwt public key is read"),
    'clients[*].attributes["x509.subjectdn"]': ("REALM-X509-001", "the exact certificate subject the rule requires"),
    "clients[*].optionalClientScopes": ("REALM-SCOPE-001", "the only scopes (and roles) the client may request"),
    "realm.maxTemporaryLockouts": ("REALM-BRUTE-001", "turns repeated lockouts into a permanent one"),
    "realm.eventsListeners": ("REALM-EVENTS-001", "jboss-logging feeds events to the 6-year log pipeline"),
    "authenticationFlows[*].executions[*].requirement": (
        "REALM-MFA-001",
        "a step of the browser flow the rule walks; a change it does not refuse leaves every way through as strict "
        "(the SSO cookie, the choice between a factor the person has and one they enrol)",
    ),
}
DESCRIPTIVE: dict[str, str] = {
    "realm.realm": "the realm's name",
    "realm.displayName": "the name on the login page",
    "realm.enabled": "whether the realm is in service",
}
_EXECUTOR_CONFIGURATION = re.compile(r"^(clientProfiles\[[^]]+\]\.executors\[[^]]+\])\.configuration\.")


def supporting(path: str, enforced: dict[str, tuple[str, ...]]) -> str | None:
    """The rule a non-enforced setting serves: from `SUPPORTING`, or for an executor's configuration
    the rule that requires the executor."""
    for pattern, (rule_id, _why) in SUPPORTING.items():
        if matches(pattern, path):
            return rule_id
    if (executor := _EXECUTOR_CONFIGURATION.match(path)) and enforced.get(executor.group(1)):
        return enforced[executor.group(1)][0]
    return None


def descriptive(path: str) -> bool:
    return any(matches(pattern, path) for pattern in DESCRIPTIVE)


@dataclass(frozen=True)
class Trace:
    setting: Setting
    rules: tuple[Rule, ...]
    """Enforcing rules, or the supported rule."""
    requirements: tuple[str, ...]
    """The rules' requirements; for a setting no rule covers, those of the checks proving it."""
    proofs: tuple[Rule, ...]
    """Smoke checks whose tests claim the setting (realm): its live proof."""

    @property
    def gap(self) -> bool:
        return not self.setting.descriptive and not self.requirements

    @property
    def behavioural(self) -> tuple[Rule, ...]:
        return tuple(check for check in self.proofs if check.config_read is None)

    @property
    def config_reads(self) -> tuple[Rule, ...]:
        return tuple(check for check in self.proofs if check.config_read is not None)

    @property
    def unproven(self) -> bool:
        """A realm setting no smoke check observes or reads (AWS settings are read by the policy rules)."""
        return self.setting.family is Family.REALM and not self.setting.descriptive and not self.proofs


def trace(review: Review) -> list[Trace]:
    by_id = {rule.metadata.id: rule for rule in review.rules}
    traces = []
    for setting in review.settings:
        ids = setting.enforced_by or ((setting.supported_rule,) if setting.supported_rule else ())
        rules = tuple(by_id[rule_id] for rule_id in ids if rule_id in by_id)
        proofs = _proofs(review, setting) if setting.family is Family.REALM else ()
        requirements = _ordered(ref for rule in rules or proofs for ref in rule.metadata.requirements)
        traces.append(Trace(setting, rules, requirements, proofs))
    return traces


def _proofs(review: Review, setting: Setting) -> tuple[Rule, ...]:
    return tuple(check for check in review.smoke_checks if claimed(check.claims, setting.path))


@dataclass(frozen=True)
class Coverage:
    requirement: str
    text: str
    settings: int
    rules: tuple[str, ...]
    checks: tuple[str, ...]


def coverage(review: Review, traces: list[Trace]) -> list[Coverage]:
    """Per requirement of the catalog: how many settings, which rules and which smoke checks serve it."""
    return [
        Coverage(
            ref,
            text,
            sum(1 for t in traces if ref in t.requirements),
            tuple(
                r.metadata.id for r in review.rules if r.family is not Family.SMOKE and ref in r.metadata.requirements
            ),
            tuple(r.metadata.id for r in review.rules if r.family is Family.SMOKE and ref in r.metadata.requirements),
        )
        for ref, text in REQUIREMENTS.items()
    ]


def _ordered(refs: Iterable[str]) -> tuple[str, ...]:
    order = list(REQUIREMENTS)
    return tuple(sorted(set(refs), key=order.index))
