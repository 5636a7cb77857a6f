"""The headline numbers and the verdict with its reasons, shared by both renderers and the command.

FAIL when a rule finding is not waived, an exception has expired or a smoke test failed.
INCOMPLETE when nothing fails but something is not proven: no smoke run is recorded, tests were
skipped (other than those realm-config declares not applicable to the environment), tests of the
suite did not run at all in the latest run, or a realm setting is proven by no smoke check.
PASS only otherwise.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from idpkit.review.model import Family, Review, Verdict
from idpkit.review.traceability import Trace

SKIPPED, NOT_APPLICABLE = "skipped", "not_applicable"
_LISTED = 8


@dataclass(frozen=True)
class Summary:
    rules: Counter[Family]
    settings: int
    enforced: int
    supporting: int
    descriptive: int
    gaps: int
    behavioural: int
    """Realm settings a smoke check proves by behaviour."""
    config_read: int
    """Realm settings proven only by reading them back."""
    unproven: int
    failing: int
    waived: int
    exceptions: int
    expired: int
    smoke: Counter[str] | None
    never_ran: tuple[str, ...]
    """Tests of the suite the latest run did not include."""
    verdict: Verdict
    reasons: tuple[str, ...]
    """Why the verdict is not PASS."""


def summarize(review: Review, traces: list[Trace]) -> Summary:
    run = review.smoke_run
    smoke = Counter(result.outcome for result in run.results) if run else None
    recorded = {result.test for result in run.results} if run else set()
    never_ran = tuple(test for check in review.smoke_checks for test in check.tests if run and test not in recorded)
    skipped = sorted({r.check for r in run.results if r.outcome == SKIPPED}) if run else []
    unproven = [t.setting.path for t in traces if t.unproven]
    failures = [
        f"{len(review.failing)} rule finding(s) are not waived by any exception" if review.failing else "",
        *(
            f"the exception to {e.rule_id} ({e.path}) owned by {e.owner} expired on {e.expires.isoformat()} "
            f"({e.file}): fix the setting or renew the exception"
            for e in review.expired
        ),
        f"{len(review.smoke_failures)} smoke test(s) failed in the latest run" if review.smoke_failures else "",
    ]
    gaps = [
        "no smoke run is recorded for this stack: nothing is proven on the running realm" if run is None else "",
        f"{smoke[SKIPPED]} smoke test(s) were skipped without a not-applicable declaration ({_few(skipped)})"
        if smoke and smoke[SKIPPED]
        else "",
        f"{len(never_ran)} smoke test(s) of the suite did not run in the latest run ({_few(never_ran)}); "
        f"`idpkit smoke --stack {review.stack} --complete` runs them all"
        if never_ran
        else "",
        f"{len(unproven)} realm setting(s) are proven by no smoke check ({_few(unproven)})" if unproven else "",
    ]
    reasons = tuple(reason for reason in (*failures, *gaps) if reason)
    verdict = Verdict.FAIL if any(failures) else Verdict.INCOMPLETE if reasons else Verdict.PASS
    realm = [t for t in traces if t.setting.family is Family.REALM and not t.setting.descriptive]
    return Summary(
        rules=Counter(rule.family for rule in review.rules),
        settings=len(traces),
        enforced=sum(1 for t in traces if t.setting.enforced_by),
        supporting=sum(1 for t in traces if not t.setting.enforced_by and t.setting.supported_rule),
        descriptive=sum(1 for t in traces if t.setting.descriptive),
        gaps=sum(1 for t in traces if t.gap),
        behavioural=sum(1 for t in realm if t.behavioural),
        config_read=sum(1 for t in realm if t.proofs and not t.behavioural),
        unproven=len(unproven),
        failing=len(review.failing),
        waived=len(review.findings) - len(review.failing),
        exceptions=len(review.exceptions),
        expired=len(review.expired),
        smoke=smoke,
        never_ran=never_ran,
        verdict=verdict,
        reasons=reasons,
    )


def _few(items: list[str] | tuple[str, ...]) -> str:
    shown = ", ".join(items[:_LISTED])
    return shown + (f" and {len(items) - _LISTED} more" if len(items) > _LISTED else "")


def show(value: Any) -> str:
    """A setting's value as one short line."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(", ", ": "))
