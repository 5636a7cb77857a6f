"""The headline numbers and the verdict's reasons, shared by both renderers."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

from idpkit.review.model import Family, Review
from idpkit.review.traceability import Trace


@dataclass(frozen=True)
class Summary:
    rules: Counter[Family]
    settings: int
    enforced: int
    supporting: int
    descriptive: int
    gaps: int
    failing: int
    waived: int
    exceptions: int
    expired: int
    smoke: Counter[str] | None
    reasons: tuple[str, ...]


def summarize(review: Review, traces: list[Trace]) -> Summary:
    smoke = Counter(result.outcome for result in review.smoke_run.results) if review.smoke_run else None
    reasons = [
        f"{len(review.failing)} rule finding(s) are not waived by any exception" if review.failing else "",
        *(
            f"the exception to {e.rule_id} ({e.path}) owned by {e.owner} expired on {e.expires.isoformat()} "
            f"({e.file}): fix the setting or renew the exception"
            for e in review.expired
        ),
        f"{len(review.smoke_failures)} smoke test(s) failed in the latest run" if review.smoke_failures else "",
    ]
    return Summary(
        rules=Counter(rule.family for rule in review.rules),
        settings=len(traces),
        enforced=sum(1 for t in traces if t.setting.enforced_by),
        supporting=sum(1 for t in traces if not t.setting.enforced_by and t.setting.supported_rule),
        descriptive=sum(1 for t in traces if t.setting.descriptive),
        gaps=sum(1 for t in traces if t.gap),
        failing=len(review.failing),
        waived=len(review.findings) - len(review.failing),
        exceptions=len(review.exceptions),
        expired=len(review.expired),
        smoke=smoke,
        reasons=tuple(reason for reason in reasons if reason),
    )


def show(value: Any) -> str:
    """A setting's value as one short line."""
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(", ", ": "))
