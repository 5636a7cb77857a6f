"""Every rule, alone, against a passing and a failing fixture (one rule per test)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from idpkit.policy import RULES, Rule, StackResource, Violation, run_rules
from idpkit.policy import resource_types as t
from tests.policy import monitoring_cases, signing_cases
from tests.policy.compliant_stack import (
    ARTIFACT_BUCKET,
    KEY_ARN,
    Stack,
    adding,
    compliant_stack,
    edited,
    removing,
    setting,
    tls_only_policy,
)

RULES_BY_ID = {rule.metadata.id: rule for rule in RULES}


@dataclass(frozen=True)
class Case:
    rule_id: str
    name: str
    stack: Stack
    environment: str = "prod"
    resource: str = ""
    """Failing cases: the logical name the violation must name."""

    def violations(self) -> list[Violation]:
        return run_rules(self.stack.values(), self.environment, [RULES_BY_ID[self.rule_id]])


PASSING = [Case(rule.metadata.id, "compliant prod stack", compliant_stack()) for rule in RULES] + [
    Case(
        "AWS-KMS-001",
        "HMAC key without rotation",
        adding(
            StackResource(t.KMS_KEY, "mac", {"keyUsage": "GENERATE_VERIFY_MAC", "customerMasterKeySpec": "HMAC_256"})
        ),
    ),
    Case(
        "AWS-RDS-005",
        "dev database single-AZ, unprotected, 1-day backups",
        edited("db", lambda p: p.update(multiAz=False, deletionProtection=False, backupRetentionPeriod=1)),
        "dev",
    ),
    Case("AWS-LOG-002", "dev log group kept 30 days", setting("keycloak-logs", "retentionInDays", value=30), "dev"),
    Case(
        "AWS-S3-004",
        "staging bucket in GOVERNANCE for 30 days",
        setting("audit-lock", "rule", "defaultRetention", value={"mode": "GOVERNANCE", "days": 30}),
        "staging",
    ),
    Case(
        "AWS-SM-001",
        "database without a managed master password",
        edited("db", lambda p: p.update(manageMasterUserPassword=False, masterUserSecretKmsKeyId=None)),
    ),
]

FAILING = [
    Case(
        "AWS-KMS-001",
        "symmetric key without rotation",
        setting("data-key", "enableKeyRotation", value=False),
        resource="data-key",
    ),
    Case(
        "AWS-KMS-002",
        "key bypasses the lockout check",
        setting("data-key", "bypassPolicyLockoutSafetyCheck", value=True),
        resource="data-key",
    ),
    Case(
        "AWS-KMS-002",
        "key policy bypasses the lockout check",
        setting("data-key-policy", "bypassPolicyLockoutSafetyCheck", value=True),
        resource="data-key-policy",
    ),
    Case("AWS-RDS-001", "storage not encrypted", setting("db", "storageEncrypted", value=False), resource="db"),
    Case(
        "AWS-RDS-001", "storage on the AWS-managed key", setting("db", "kmsKeyId", value="alias/aws/rds"), resource="db"
    ),
    Case("AWS-RDS-001", "storage without a key id", removing("db", "kmsKeyId"), resource="db"),
    Case(
        "AWS-RDS-002",
        "Performance Insights on the default key",
        removing("db", "performanceInsightsKmsKeyId"),
        resource="db",
    ),
    Case("AWS-RDS-003", "public database", setting("db", "publiclyAccessible", value=True), resource="db"),
    Case(
        "AWS-RDS-004",
        "parameter group with rds.force_ssl=0",
        setting("db-params", "parameters", value=[{"name": "rds.force_ssl", "value": "0"}]),
        resource="db",
    ),
    Case("AWS-RDS-004", "default parameter group", removing("db", "parameterGroupName"), resource="db"),
    Case("AWS-RDS-004", "engine other than PostgreSQL", setting("db", "engine", value="mysql"), resource="db"),
    Case("AWS-RDS-005", "prod database single-AZ", setting("db", "multiAz", value=False), resource="db"),
    Case(
        "AWS-RDS-005",
        "prod database with 3-day backups",
        setting("db", "backupRetentionPeriod", value=3),
        resource="db",
    ),
    Case(
        "AWS-RDS-005",
        "prod database without deletion protection",
        setting("db", "deletionProtection", value=False),
        resource="db",
    ),
    Case(
        "AWS-EC2-001",
        "IMDSv1 allowed",
        setting("hosts", "metadataOptions", "httpTokens", value="optional"),
        resource="hosts",
    ),
    Case(
        "AWS-EC2-001",
        "hop limit 2",
        setting("hosts", "metadataOptions", "httpPutResponseHopLimit", value=2),
        resource="hosts",
    ),
    Case("AWS-EC2-002", "launch template with a key pair", setting("hosts", "keyName", value="ops"), resource="hosts"),
    Case(
        "AWS-EC2-003",
        "unencrypted root device",
        setting("hosts", "blockDeviceMappings", 0, "ebs", "encrypted", value="false"),
        resource="hosts",
    ),
    Case(
        "AWS-EC2-003",
        "root device on the default EBS key",
        removing("hosts", "blockDeviceMappings", 0, "ebs", "kmsKeyId"),
        resource="hosts",
    ),
    Case("AWS-EC2-003", "no block device mappings", removing("hosts", "blockDeviceMappings"), resource="hosts"),
    Case(
        "AWS-EC2-003",
        "unencrypted EBS volume",
        adding(StackResource(t.EBS_VOLUME, "scratch", {"size": 10})),
        resource="scratch",
    ),
    Case(
        "AWS-EC2-003",
        "instance without a root block device",
        adding(StackResource(t.EC2_INSTANCE, "bastion", {"metadataOptions": {}})),
        resource="bastion",
    ),
    Case(
        "AWS-NET-001",
        "inline SSH from the VPC",
        setting(
            "app-sg", "ingress", value=[{"protocol": "tcp", "fromPort": 22, "toPort": 22, "cidrBlocks": ["10.0.0.0/8"]}]
        ),
        resource="app-sg",
    ),
    Case(
        "AWS-NET-001",
        "all-protocol ingress rule",
        setting("app-from-alb", "ipProtocol", value="-1"),
        resource="app-from-alb",
    ),
    Case(
        "AWS-NET-001",
        "legacy rule over all TCP ports",
        adding(
            StackResource(
                t.SECURITY_GROUP_RULE,
                "wide",
                {
                    "type": "ingress",
                    "protocol": "tcp",
                    "fromPort": 0,
                    "toPort": 65535,
                    "securityGroupId": "sg-app",
                    "sourceSecurityGroupId": "sg-alb",
                },
            )
        ),
        resource="wide",
    ),
    Case(
        "AWS-NET-002",
        "world ingress to the hosts",
        setting("app-from-alb", "cidrIpv4", value="0.0.0.0/0"),
        resource="app-from-alb",
    ),
    Case(
        "AWS-NET-002",
        "world ingress to a port without a listener",
        edited("alb-m2m", lambda p: p.update(fromPort=9000, toPort=9000)),
        resource="alb-m2m",
    ),
    Case(
        "AWS-NET-002", "world ingress over a port range", setting("alb-http", "toPort", value=443), resource="alb-http"
    ),
    Case(
        "AWS-NET-002",
        "inline world ingress on a group without a load balancer",
        setting(
            "app-sg", "ingress", value=[{"protocol": "tcp", "fromPort": 443, "toPort": 443, "ipv6CidrBlocks": ["::/0"]}]
        ),
        resource="app-sg",
    ),
    Case(
        "AWS-ALB-001",
        "invalid headers passed through",
        setting("alb", "dropInvalidHeaderFields", value=False),
        resource="alb",
    ),
    Case("AWS-ALB-002", "no access logs", removing("alb", "accessLogs"), resource="alb"),
    Case(
        "AWS-ALB-003",
        "provider default TLS policy",
        setting("https", "sslPolicy", value="ELBSecurityPolicy-2016-08"),
        resource="https",
    ),
    Case("AWS-ALB-003", "TLS policy left unset", removing("m2m", "sslPolicy"), resource="m2m"),
    Case(
        "AWS-ALB-004",
        "port 80 forwards",
        setting("http", "defaultActions", value=[{"type": "forward", "targetGroupArn": "tg"}]),
        resource="http",
    ),
    Case(
        "AWS-ALB-004",
        "port 80 redirects to HTTP",
        setting("http", "defaultActions", 0, "redirect", "protocol", value="HTTP"),
        resource="http",
    ),
    Case(
        "AWS-ALB-005",
        "mTLS passthrough",
        setting("m2m", "mutualAuthentication", "mode", value="passthrough"),
        resource="m2m",
    ),
    Case(
        "AWS-ALB-005",
        "verify without a trust store",
        removing("m2m", "mutualAuthentication", "trustStoreArn"),
        resource="m2m",
    ),
    Case(
        "AWS-ALB-005",
        "expired client certificates accepted",
        setting("m2m", "mutualAuthentication", "ignoreClientCertificateExpiry", value=True),
        resource="m2m",
    ),
    Case(
        "AWS-ALB-006",
        "no listener verifies client certificates",
        setting("m2m", "mutualAuthentication", "mode", value="off"),
        resource="alb",
    ),
    Case("AWS-WAF-001", "load balancer without WAF", removing("waf"), resource="alb"),
    Case(
        "AWS-LOG-001", "log group on the default key", removing("keycloak-logs", "kmsKeyId"), resource="keycloak-logs"
    ),
    Case(
        "AWS-LOG-002", "log group never expires", removing("keycloak-logs", "retentionInDays"), resource="keycloak-logs"
    ),
    Case(
        "AWS-LOG-002",
        "prod log group kept one year",
        setting("keycloak-logs", "retentionInDays", value=365),
        resource="keycloak-logs",
    ),
    Case(
        "AWS-SM-001", "secret on the default key", removing("bootstrap-admin", "kmsKeyId"), resource="bootstrap-admin"
    ),
    Case(
        "AWS-SM-001",
        "RDS-managed master secret on the default key",
        removing("db", "masterUserSecretKmsKeyId"),
        resource="db",
    ),
    Case("AWS-TRAIL-001", "single-region trail", setting("trail", "isMultiRegionTrail", value=False), resource="trail"),
    Case("AWS-TRAIL-001", "no log file validation", removing("trail", "enableLogFileValidation"), resource="trail"),
    Case("AWS-TRAIL-001", "logging stopped", setting("trail", "enableLogging", value=False), resource="trail"),
    Case("AWS-TRAIL-002", "trail on SSE-S3", removing("trail", "kmsKeyId"), resource="trail"),
    Case(
        "AWS-S3-001",
        "audit bucket on SSE-S3",
        setting("audit-sse", "rules", 0, "applyServerSideEncryptionByDefault", value={"sseAlgorithm": "AES256"}),
        resource="audit",
    ),
    Case(
        "AWS-S3-001",
        "audit bucket on the AWS-managed S3 key",
        setting(
            "audit-sse",
            "rules",
            0,
            "applyServerSideEncryptionByDefault",
            "kmsMasterKeyId",
            value="arn:aws:kms:us-east-1:111122223333:alias/aws/s3",
        ),
        resource="audit",
    ),
    Case("AWS-S3-001", "bucket without an encryption configuration", removing("audit-sse"), resource="audit"),
    Case(
        "AWS-S3-001",
        "unreferenced bucket on SSE-S3 (treated as an audit bucket)",
        removing("keycloak-archive"),
        resource="artifacts",
    ),
    Case(
        "AWS-S3-005",
        "ALB log bucket on SSE-KMS",
        setting(
            "alb-logs-sse",
            "rules",
            0,
            "applyServerSideEncryptionByDefault",
            value={"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN},
        ),
        resource="alb-logs",
    ),
    Case(
        "AWS-S3-005",
        "ALB log bucket without an encryption configuration",
        removing("alb-logs-sse"),
        resource="alb-logs",
    ),
    Case("AWS-S3-002", "bucket without a public access block", removing("audit-pab"), resource="audit"),
    Case(
        "AWS-S3-002",
        "public policies allowed",
        setting("alb-logs-pab", "blockPublicPolicy", value=False),
        resource="alb-logs",
    ),
    Case("AWS-S3-003", "bucket without a policy", removing("audit-policy"), resource="audit"),
    Case(
        "AWS-S3-003",
        "policy denying only TLS requests",
        setting("audit-policy", "policy", value=tls_only_policy("x").replace('"false"', '"true"')),
        resource="audit",
    ),
    Case(
        "AWS-S3-003",
        "policy that allows instead of denies",
        setting("audit-policy", "policy", value=tls_only_policy("x").replace("Deny", "Allow")),
        resource="audit",
    ),
    Case("AWS-S3-004", "bucket without Object Lock", removing("audit-lock"), resource="audit"),
    Case(
        "AWS-S3-004",
        "artifact bucket that also receives CloudTrail logs",
        setting("trail", "s3BucketName", value=ARTIFACT_BUCKET),
        resource="artifacts",
    ),
    Case(
        "AWS-S3-004",
        "prod bucket in GOVERNANCE mode",
        setting("audit-lock", "rule", "defaultRetention", "mode", value="GOVERNANCE"),
        resource="audit",
    ),
    Case(
        "AWS-S3-004",
        "prod bucket locked one year",
        setting("audit-lock", "rule", "defaultRetention", value={"mode": "COMPLIANCE", "years": 1}),
        resource="audit",
    ),
    Case(
        "AWS-S3-004",
        "Object Lock without default retention",
        setting("alb-logs-lock", "rule", value={}),
        resource="alb-logs",
    ),
]


PASSING += [Case(rule_id, name, stack) for rule_id, name, stack in monitoring_cases.PASSING]
FAILING += [
    Case(rule_id, name, stack, resource=resource) for rule_id, name, stack, resource in monitoring_cases.FAILING
]
PASSING += [Case(rule_id, name, stack, environment) for rule_id, name, stack, environment in signing_cases.PASSING]
FAILING += [Case(rule_id, name, stack, resource=resource) for rule_id, name, stack, resource in signing_cases.FAILING]


def _case_id(case: Case) -> str:
    return f"{case.rule_id}: {case.name}"


@pytest.mark.parametrize("case", PASSING, ids=_case_id)
def test_rule_passes(case: Case) -> None:
    assert case.violations() == [], f"{case.rule_id} should accept the {case.name}"


@pytest.mark.parametrize("case", FAILING, ids=_case_id)
def test_rule_fails(case: Case) -> None:
    violations = case.violations()
    assert violations, f"{case.rule_id} should reject the {case.name}"
    expected = f"{case.rule_id} "
    for violation in violations:
        assert violation.message.startswith(expected), f"message does not name the rule: {violation.message}"
        assert f"'{case.resource}'" in violation.message, f"message does not name {case.resource}: {violation}"


def test_every_rule_has_a_passing_and_a_failing_fixture() -> None:
    rule_ids = {rule.metadata.id for rule in RULES}
    assert {case.rule_id for case in PASSING} == rule_ids
    assert {case.rule_id for case in FAILING} == rule_ids


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.metadata.id)
def test_passing_fixture_exercises_the_rule(rule: Rule) -> None:
    """The compliant stack holds resources each rule checks, so its passing is not vacuous."""
    types = {resource.type for resource in compliant_stack().values()}
    assert set(rule.types) & types, f"{rule.metadata.id}: the compliant stack has none of {rule.types}"


@pytest.mark.parametrize(
    ("rule_id", "stack", "urn"),
    [
        ("AWS-WAF-001", removing("waf"), f"urn:pulumi:prod::idpkit::{t.LOAD_BALANCERS[0]}::alb"),
        (
            "AWS-LOG-001",
            removing("keycloak-logs", "kmsKeyId"),
            f"urn:pulumi:prod::idpkit::{t.LOG_GROUP}::keycloak-logs",
        ),
    ],
    ids=["stack rule", "resource rule"],
)
def test_violation_carries_the_resource_urn(rule_id: str, stack: Stack, urn: str) -> None:
    assert [v.urn for v in run_rules(stack.values(), "prod", [RULES_BY_ID[rule_id]])] == [urn]
