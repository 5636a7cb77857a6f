"""What a review holds: plain records that both renderers read."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from idpkit.compliance import RuleMetadata


class Family(StrEnum):
    """Where a rule or setting lives."""

    REALM = "realm"
    AWS = "aws"
    SMOKE = "smoke"


@dataclass(frozen=True)
class Rule:
    """A realm rule, an AWS policy rule or a smoke check, listed uniformly."""

    family: Family
    metadata: RuleMetadata
    tests: tuple[str, ...] = ()
    """Smoke checks only: the test node ids that prove the check."""
    claims: tuple[str, ...] = ()
    """Smoke checks only: the setting paths (patterns) its tests observe."""
    config_read: str | None = None
    """Smoke checks only: why the check reads settings back instead of observing behaviour (None: behavioural)."""


@dataclass(frozen=True)
class Setting:
    """One codified security setting of the reviewed stack."""

    family: Family
    path: str
    """Realm: the path rules report (`realm.sslRequired`, `clients[phi-web].attributes["…"]`).
    AWS: `<resource name>.<input path>`."""
    value: Any
    source: str
    """Realm: the file that set it. AWS: the resource type."""
    enforced_by: tuple[str, ...]
    """Rule ids that refuse a weakened value (realm) or read the value (AWS)."""
    supported_rule: str | None = None
    """A rule whose mechanism the setting configures without the rule checking its value."""
    descriptive: bool = False
    """A name or label, not a security control."""


@dataclass(frozen=True)
class Finding:
    """A rule violation (or a waived one) in the reviewed stack."""

    family: Family
    rule_id: str
    subject: str
    message: str
    waived_by: ExceptionEntry | None = None


@dataclass(frozen=True)
class ExceptionEntry:
    """A realm-config exception (named, owned, expiring permission to break one rule)."""

    rule_id: str
    path: str
    owner: str
    reason: str
    expires: dt.date
    file: str

    def expired(self, today: dt.date) -> bool:
        return self.expires < today


@dataclass(frozen=True)
class SmokeResult:
    check: str
    test: str
    flow: str
    outcome: str
    """passed, failed, skipped, or not_applicable (a credential realm-config excuses for the environment)."""
    reason: str = ""
    """Why the test was skipped or not applicable."""


@dataclass(frozen=True)
class NotApplicableEntry:
    """A smoke-suite credential the environment's realm-config declares it does without."""

    credential: str
    owner: str
    reason: str
    file: str


class Verdict(StrEnum):
    PASS = "PASS"  # noqa: S105 - a verdict, not a password
    FAIL = "FAIL"
    INCOMPLETE = "INCOMPLETE"
    """Nothing fails, but something is not proven: no smoke run, skipped or unrun checks, unproven settings."""


@dataclass(frozen=True)
class SmokeRun:
    """The latest recorded run of the smoke suite against the stack."""

    path: str
    recorded: dt.datetime
    seconds: float
    results: tuple[SmokeResult, ...]


@dataclass(frozen=True)
class EnvironmentRow:
    """One setting compared across environments; `values` holds one entry per environment (None: unset)."""

    family: Family
    path: str
    values: dict[str, Any]

    @property
    def differs(self) -> bool:
        return len({repr(value) for value in self.values.values()}) > 1


@dataclass(frozen=True)
class SigningKeyLocation:
    """Where a stack's realm signing key lives (idpkit.review.signing_key)."""

    where: str
    exportable: bool
    """Whether the private key exists outside a key service (database, memory, disk): who holds those holds it."""
    detail: str

    def __str__(self) -> str:
        held = "private key exportable" if self.exportable else "non-exportable"
        return f"{self.where} ({held}): {self.detail}"


@dataclass
class Review:
    stack: str
    environment: str
    generated: dt.datetime
    today: dt.date
    rules: list[Rule]
    settings: list[Setting]
    findings: list[Finding]
    exceptions: list[ExceptionEntry]
    smoke_run: SmokeRun | None
    realm_environments: tuple[str, ...]
    aws_environments: tuple[str, ...]
    environment_rows: list[EnvironmentRow] = field(default_factory=list)
    aws_note: str | None = None
    signing_keys: dict[str, SigningKeyLocation | None] = field(default_factory=dict)
    """Per stack (this one and the others), where its realm signing key lives; `None`: not known (a local
    stack never brought up)."""
    """Why the AWS section is empty (e.g. the local stack), or None."""
    not_applicable: list[NotApplicableEntry] = field(default_factory=list)

    @property
    def failing(self) -> list[Finding]:
        return [finding for finding in self.findings if finding.waived_by is None]

    @property
    def expired(self) -> list[ExceptionEntry]:
        return [entry for entry in self.exceptions if entry.expired(self.today)]

    @property
    def smoke_failures(self) -> list[SmokeResult]:
        return [result for result in self.smoke_run.results if result.outcome == "failed"] if self.smoke_run else []

    @property
    def smoke_checks(self) -> list[Rule]:
        return [rule for rule in self.rules if rule.family is Family.SMOKE]
