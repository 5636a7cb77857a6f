"""Security rules for the merged realm document, split by concern; importing this package registers them all.

`RULES` (metadata + check) is what `realm validate`/`apply` obey and what the review report lists.
"""

from __future__ import annotations

from idpkit.realm.rules import (
    accounts,
    authentication,
    clients,
    environments,
    events,
    policies,
    sessions,
    smart,
    step_up,
    tokens,
    transport,
)
from idpkit.realm.rules.registry import EXPIRED_EXCEPTION, RULES, Check, Finding, Waiver, evaluate, rule, rule_ids

CONCERNS = (
    transport,
    accounts,
    authentication,
    step_up,
    tokens,
    sessions,
    events,
    policies,
    clients,
    smart,
    environments,
)
"""The rule modules, in the order their rules are listed."""

__all__ = ["CONCERNS", "EXPIRED_EXCEPTION", "RULES", "Check", "Finding", "Waiver", "evaluate", "rule", "rule_ids"]
