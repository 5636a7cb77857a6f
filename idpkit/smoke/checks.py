"""Requirement metadata for smoke tests, kept next to each test: what a check proves, and which settings.

    @check("SMOKE-PKCE-002", "Authorization request with `plain` PKCE is refused",
           requirements=("RFC9700-2.1.1", "SMART-2.2-PKCE"), risk="...", remediation="...",
           claims=('clients[*].attributes["pkce.code.challenge.method"]',))
    def test_plain_pkce_is_refused(...): ...

`claims` names the hardened settings whose behaviour the check observes, as the review report names
settings (`realm.failureFactor`, `clients[*].webOrigins`, `clientProfiles[*].executors[pkce-enforcer]`;
`*` matches anything). Mutation mode weakens one setting at a time and counts it killed only when a
test of a check claiming that setting fails; the review shows, for every setting, the checks that
claim it. A parametrized case may narrow its check's claims to the setting it exercises
(`pytest.param(..., marks=claims("realm.passwordPolicy"))`).

`config_read` marks a check that reads a setting back through the admin API because no behaviour
shows it (its value is the reason); reviews and mutation reports show such checks as config reads.

The plugin refuses to collect a smoke test without a check, and `idpkit smoke --catalog FILE
--collect-only` writes every check for the review report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest

from idpkit.compliance import RuleMetadata, Severity


@dataclass(frozen=True)
class SmokeCheck:
    """One smoke check: its requirement metadata, the settings it proves and how it observes them."""

    metadata: RuleMetadata
    claims: tuple[str, ...] = ()
    """Setting path patterns whose behaviour the check observes."""
    config_read: str | None = None
    """Why the check reads configuration back instead of observing behaviour; None for behavioural checks."""


def check(
    check_id: str,
    title: str,
    *,
    requirements: tuple[str, ...],
    risk: str,
    remediation: str,
    severity: Severity = Severity.HIGH,
    claims: tuple[str, ...] = (),
    config_read: str | None = None,
) -> pytest.MarkDecorator:
    """Mark a smoke test as the proof of one check (requirement references validated on import)."""
    metadata = RuleMetadata(
        id=check_id, title=title, requirements=requirements, severity=severity, risk=risk, remediation=remediation
    )
    if config_read is not None and not config_read.strip():
        raise ValueError(f"{check_id}: a config read names why no behaviour can be observed")
    return pytest.mark.proves(SmokeCheck(metadata, claims, config_read))


def claims(*settings: str) -> pytest.MarkDecorator:
    """Narrow one parametrized case to the settings it exercises (each within its check's claims)."""
    return pytest.mark.claims(*settings)


def matches(pattern: str, path: str) -> bool:
    """Whether a setting path matches a claim pattern (`*` matches any run of characters)."""
    return re.fullmatch(".*".join(re.escape(part) for part in pattern.split("*")), path) is not None


def claimed(patterns: tuple[str, ...] | list[str], path: str) -> bool:
    return any(matches(pattern, path) for pattern in patterns)
