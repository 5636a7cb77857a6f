"""The rule model: metadata catalog, environment resolution, and preview-time unknowns."""

from __future__ import annotations

import json

import pytest
from pulumi_policy import (
    EnforcementLevel,
    ReportViolation,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from idpkit.compliance import REQUIREMENTS
from idpkit.policy import RULES, Environment, Rule, StackResource, policies, resolve_environment
from idpkit.policy import resource_types as t
from idpkit.policy.runner import policy_resource, resource_args, stack_args
from tests.policy.compliant_stack import compliant_stack

RULES_BY_ID = {rule.metadata.id: rule for rule in RULES}


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.metadata.id)
def test_rule_has_metadata_from_the_catalog(rule: Rule) -> None:
    metadata = rule.metadata
    assert metadata.id.startswith("AWS-"), metadata.id
    assert metadata.title and metadata.risk and metadata.remediation, f"{metadata.id} lacks reviewer text"
    unknown = [ref for ref in metadata.requirements if ref not in REQUIREMENTS]
    assert metadata.requirements and not unknown, f"{metadata.id}: unknown requirements {unknown}"
    assert len(rule.doc) > 40, f"{metadata.id} needs a documentation string"


def test_rule_ids_are_unique() -> None:
    ids = [rule.metadata.id for rule in RULES]
    assert len(ids) == len(set(ids))


def test_policies_are_mandatory_and_carry_the_metadata() -> None:
    built = policies()
    assert [policy.name for policy in built] == [rule.metadata.id for rule in RULES]
    for policy, rule in zip(built, RULES, strict=True):
        expected = StackValidationPolicy if rule.scope == "stack" else ResourceValidationPolicy
        assert isinstance(policy, expected), policy.name
        assert policy.enforcement_level is EnforcementLevel.MANDATORY, policy.name
        assert policy.description == rule.doc
        assert policy.remediation_steps == rule.metadata.remediation
        assert policy.tags == list(rule.metadata.requirements)


@pytest.mark.parametrize(
    ("config", "stack_config", "stack", "expected"),
    [
        ({"environment": "dev"}, {"idpkit:environment": "prod"}, "prod", Environment.DEV),
        ({}, {"idpkit:environment": "staging"}, "prod", Environment.STAGING),
        ({}, {}, "acme/dev", Environment.DEV),
        ({}, {}, "prod-eu", Environment.PROD),
        ({}, {}, "", Environment.PROD),
        ({"environment": "qa"}, {}, "dev", Environment.PROD),
    ],
    ids=[
        "policy config wins",
        "stack config",
        "stack name",
        "unknown name is prod",
        "nothing is prod",
        "invalid config is prod",
    ],
)
def test_environment_resolution(
    monkeypatch: pytest.MonkeyPatch,
    config: dict[str, str],
    stack_config: dict[str, str],
    stack: str,
    expected: Environment,
) -> None:
    monkeypatch.setenv("PULUMI_CONFIG", json.dumps(stack_config))
    monkeypatch.setenv("PULUMI_STACK", stack)
    assert resolve_environment(config) is expected


def _recorder(messages: list[str]) -> ReportViolation:
    def report(message: str, _urn: str | None = None) -> None:
        messages.append(message)

    return report


def _collect(rule_id: str, args: object) -> list[str]:
    messages: list[str] = []
    RULES_BY_ID[rule_id].validate(args, _recorder(messages))
    return messages


def test_unknown_key_arn_counts_as_a_customer_managed_key() -> None:
    """During preview a key created in the same stack has no ARN yet: set, not missing."""
    group = StackResource(t.LOG_GROUP, "logs", {"kmsKeyId": UNKNOWN_STRING_VALUE, "retentionInDays": 30})
    assert _collect("AWS-LOG-001", resource_args(group, "prod")) == []


def test_unknown_setting_defers_the_check_to_the_update() -> None:
    """pulumi_policy reports UnknownValueError as "can't run during preview" (advisory)."""
    template = StackResource(t.EC2_LAUNCH_TEMPLATE, "hosts", {"metadataOptions": {"httpTokens": UNKNOWN_STRING_VALUE}})
    with pytest.raises(UnknownValueError):
        _collect("AWS-EC2-001", resource_args(template, "prod"))


def _preview_args(resources: list[StackResource], depends_on: dict[str, dict[str, str]]) -> StackValidationArgs:
    """Stack args as in a first preview: ids unknown, references known only as property dependencies."""
    by_name = {r.name: policy_resource(r, "prod") for r in resources}
    for name, props in depends_on.items():
        by_name[name].property_dependencies = {prop: [by_name[target]] for prop, target in props.items()}
    return StackValidationArgs(list(by_name.values()), config={"environment": "prod"})


def test_preview_correlates_bucket_settings_by_property_dependency() -> None:
    bucket = StackResource(t.BUCKETS[0], "audit", {"bucket": UNKNOWN_STRING_VALUE})
    block = StackResource(
        t.BUCKET_PUBLIC_ACCESS_BLOCK[0],
        "audit-pab",
        {"bucket": UNKNOWN_STRING_VALUE}
        | dict.fromkeys(("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets"), True),
    )
    other = StackResource(t.BUCKETS[0], "other", {"bucket": UNKNOWN_STRING_VALUE})
    args = _preview_args([bucket, block, other], {"audit-pab": {"bucket": "audit"}})
    assert _collect("AWS-S3-002", args) == ["AWS-S3-002 aws:s3/bucket:Bucket 'other': has no public access block"]


def test_unknown_policy_document_still_reports_the_other_buckets() -> None:
    """One bucket's unknown policy (it embeds the bucket ARN) must not hide another's violation."""
    audit = StackResource(t.BUCKETS[0], "audit", {"bucket": UNKNOWN_STRING_VALUE})
    policy = StackResource(
        t.BUCKET_POLICY[0], "audit-policy", {"bucket": UNKNOWN_STRING_VALUE, "policy": UNKNOWN_STRING_VALUE}
    )
    bare = StackResource(t.BUCKETS[0], "bare", {"bucket": "known-name"})
    args = _preview_args([audit, policy, bare], {"audit-policy": {"bucket": "audit"}})
    messages: list[str] = []
    with pytest.raises(UnknownValueError):
        RULES_BY_ID["AWS-S3-003"].validate(args, _recorder(messages))
    assert messages == [
        "AWS-S3-003 aws:s3/bucket:Bucket 'bare': has no bucket policy denying requests with aws:SecureTransport = false"
    ]


def test_runner_passes_the_environment_to_every_rule() -> None:
    stack = compliant_stack()
    assert stack_args(stack.values(), "dev").get_config() == {"environment": "dev"}
    assert resource_args(stack["db"], "staging").get_config() == {"environment": "staging"}
