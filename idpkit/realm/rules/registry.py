"""The realm rule registry: each rule is a check plus the metadata reviewers read.

A rule yields findings (path + reason); a finding is waived only by an unexpired exception in the
configuration, and waived findings stay visible in reports. Rules run before any API call.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from idpkit.compliance import RuleMetadata, Severity
from idpkit.realm.located import ConfigError, LoadedConfig, Problem
from idpkit.realm.model import RuleException


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
