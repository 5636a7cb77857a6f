"""Recording which inputs the policy rules read must not change what the rules decide."""

from __future__ import annotations

import pytest

from idpkit.policy import RULES, run_rules
from idpkit.review.aws_settings import stack_resources
from idpkit.review.collect import AWS_ENVIRONMENTS, aws_evaluations, aws_graphs


@pytest.mark.parametrize("stack", AWS_ENVIRONMENTS)
def test_recording_reads_leaves_the_violations_unchanged(stack: str) -> None:
    plain = run_rules(stack_resources(aws_graphs()[stack]), stack, RULES)
    recorded = [violation for violation, _resource in aws_evaluations()[stack].violations]
    assert sorted(map(repr, recorded)) == sorted(map(repr, plain))


@pytest.mark.parametrize("rule_id", [rule.metadata.id for rule in RULES])
def test_rule_reads_a_prod_property_or_finds_its_subject_missing(rule_id: str) -> None:
    evaluation = aws_evaluations()["prod"]
    read = any(rule_id in setting.rules for setting in evaluation.settings)
    reported = any(violation.rule_id == rule_id for violation, _ in evaluation.violations)
    assert read or reported, f"{rule_id} neither read a property of the prod stack nor reported a violation"
