"""KMS keys, log buckets, CloudWatch log groups, CloudTrail, secrets."""

from __future__ import annotations

from typing import Any

import pytest
from aws_stack_graphs import describe, graphs, params, policy, related, stack_params

from components.log_archive import ELB_LOG_DELIVERY_SERVICE
from idpkit.aws_graph import Resource
from idpkit.constants.aws import HIPAA_RETENTION_DAYS

KEY = "aws:kms/key:Key"
BUCKET = "aws:s3/bucket:Bucket"
CRYPTO_ACTIONS = {"kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:CreateGrant", "kms:*"}


def statements(resource: Resource) -> dict[str, dict[str, Any]]:
    return {s.get("Sid", ""): s for s in policy(resource)["Statement"]}


@pytest.mark.parametrize(("stack", "key"), params(KEY))
def test_key_rotation_enabled(stack: str, key: Resource) -> None:
    assert key.inputs["enableKeyRotation"] is True, f"{describe(key)}: automatic rotation must be on"


@pytest.mark.parametrize(("stack", "key"), params(KEY))
def test_lockout_safety_check_never_bypassed(stack: str, key: Resource) -> None:
    assert key.inputs.get("bypassPolicyLockoutSafetyCheck") is not True, f"{describe(key)}: bypasses lockout check"


@pytest.mark.parametrize(("stack", "key"), params(KEY))
def test_administrators_cannot_use_the_key(stack: str, key: Resource) -> None:
    admin = statements(key)["KeyAdministration"]
    assert not CRYPTO_ACTIONS & set(admin["Action"]), f"{describe(key)}: administrators get cryptographic use"


@pytest.mark.parametrize(("stack", "key"), params(KEY))
def test_no_unconditional_account_wide_grant(stack: str, key: Resource) -> None:
    for sid, statement in statements(key).items():
        principal = statement["Principal"]
        if isinstance(principal, dict) and str(principal.get("AWS", "")).endswith(":root"):
            assert "Condition" in statement, f"{describe(key)}: {sid} grants the whole account unconditionally"
        assert statement["Action"] != "kms:*", f"{describe(key)}: {sid} allows kms:*"


@pytest.mark.parametrize(("stack", "key"), params(KEY, where=lambda r: r.name.endswith("-kms-logs")))
def test_logs_service_bound_by_encryption_context(stack: str, key: Resource) -> None:
    logs = statements(key)["CloudWatchLogs"]
    assert logs["Principal"] == {
        "Service": f"logs.{graphs()[stack].outputs['admin_credentials'].split(':')[3]}.amazonaws.com"
    }
    arns = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert arns and all(f"/idpkit/{stack}/" in a or f"idpkit-{stack}" in a for a in arns), (
        f"{describe(key)}: CloudWatch Logs may use the key only for this stack's groups"
    )


@pytest.mark.parametrize(
    ("stack", "key"), params(KEY, stacks=("staging", "prod"), where=lambda r: r.name.endswith("-kms-logs"))
)
def test_cloudtrail_bound_by_source_arn(stack: str, key: Resource) -> None:
    trail = statements(key)["CloudTrailEncrypt"]
    assert trail["Condition"]["StringEquals"]["aws:SourceArn"].endswith(f":trail/idpkit-{stack}-trail"), (
        f"{describe(key)}: CloudTrail may use the key only for this stack's trail"
    )


@pytest.mark.parametrize(("stack", "bucket"), params(BUCKET))
@pytest.mark.parametrize(
    "setting",
    [
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "aws:s3/bucketVersioning:BucketVersioning",
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "aws:s3/bucketOwnershipControls:BucketOwnershipControls",
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "aws:s3/bucketPolicy:BucketPolicy",
    ],
)
def test_bucket_has_setting(stack: str, bucket: Resource, setting: str) -> None:
    assert len(related(graphs()[stack], setting, "bucket", bucket.name)) == 1, f"{describe(bucket)}: no {setting}"


@pytest.mark.parametrize(("stack", "bucket"), params(BUCKET))
def test_bucket_blocks_public_access(stack: str, bucket: Resource) -> None:
    (block,) = related(graphs()[stack], "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "bucket", bucket.name)
    flags = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert all(block.inputs[flag] is True for flag in flags), f"{describe(bucket)}: public access not fully blocked"


@pytest.mark.parametrize(("stack", "bucket"), params(BUCKET))
def test_bucket_requires_tls(stack: str, bucket: Resource) -> None:
    (bucket_policy,) = related(graphs()[stack], "aws:s3/bucketPolicy:BucketPolicy", "bucket", bucket.name)
    deny = statements(bucket_policy)["DenyInsecureTransport"]
    assert deny["Effect"] == "Deny" and deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}, (
        f"{describe(bucket)}: the bucket policy must deny plain HTTP"
    )


@pytest.mark.parametrize(("stack", "bucket"), params(BUCKET, where=lambda r: "-logs-audit-" in r.name))
def test_audit_bucket_uses_kms_with_bucket_keys(stack: str, bucket: Resource) -> None:
    (sse,) = related(
        graphs()[stack],
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "bucket",
        bucket.name,
    )
    (rule,) = sse.inputs["rules"]
    default = rule["applyServerSideEncryptionByDefault"]
    assert default["sseAlgorithm"] == "aws:kms" and default["kmsMasterKeyId"].endswith("-kms-logs"), (
        f"{describe(bucket)}: audit logs must use the logs customer-managed key"
    )
    assert rule["bucketKeyEnabled"] is True, f"{describe(bucket)}: bucket keys off"


@pytest.mark.parametrize(("stack", "bucket"), params(BUCKET, where=lambda r: "-logs-alb-" in r.name))
def test_alb_log_bucket_uses_sse_s3_and_elb_delivery(stack: str, bucket: Resource) -> None:
    graph = graphs()[stack]
    (sse,) = related(
        graph,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "bucket",
        bucket.name,
    )
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256", (
        f"{describe(bucket)}: ALB log delivery supports SSE-S3 only"
    )
    (bucket_policy,) = related(graph, "aws:s3/bucketPolicy:BucketPolicy", "bucket", bucket.name)
    principal = statements(bucket_policy)["ElbLogDelivery"]["Principal"]
    assert principal in ({"AWS": "arn:aws:iam::127311923021:root"}, {"Service": ELB_LOG_DELIVERY_SERVICE}), (
        f"{describe(bucket)}: unexpected ELB log delivery principal {principal}"
    )


@pytest.mark.parametrize(
    ("stack", "lock"), params("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration", stacks=("prod",))
)
def test_prod_logs_locked_in_compliance_mode_for_six_years(stack: str, lock: Resource) -> None:
    retention = lock.inputs["rule"]["defaultRetention"]
    assert retention["mode"] == "COMPLIANCE", f"{describe(lock)}: prod logs need COMPLIANCE Object Lock"
    assert retention["days"] >= HIPAA_RETENTION_DAYS, f"{describe(lock)}: HIPAA 164.316(b)(2) needs six years"


def is_access_log_bucket(bucket: Resource) -> bool:
    return "-logs-access-" in bucket.name


@pytest.mark.parametrize("stack", stack_params())
def test_audit_and_alb_log_buckets_are_locked(stack: str) -> None:
    graph = graphs()[stack]
    locked = {
        lock.inputs["bucket"]
        for lock in graph.of_type("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration")
    }
    log_buckets = {b.name for b in graph.of_type(BUCKET) if "-logs-" in b.name and not is_access_log_bucket(b)}
    assert log_buckets and log_buckets == locked, f"{stack}: Object Lock on {locked}, log buckets {log_buckets}"
    assert all(b.inputs["objectLockEnabled"] for b in graph.of_type(BUCKET) if b.name in log_buckets)


@pytest.mark.parametrize(("stack", "bucket"), params(BUCKET, where=is_access_log_bucket))
def test_access_log_bucket_receives_the_audit_bucket_logs_and_keeps_them(stack: str, bucket: Resource) -> None:
    """S3 server access logging refuses SSE-KMS and a default Object Lock retention: SSE-S3, and nobody deletes."""
    graph = graphs()[stack]
    (logging,) = graph.of_type("aws:s3/bucketLogging:BucketLogging")
    assert logging.inputs["targetBucket"] == bucket.id and "-logs-audit-" in logging.inputs["bucket"], (
        f"{describe(bucket)}: must receive the audit bucket's server access logs"
    )
    (sse,) = related(
        graph,
        "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
        "bucket",
        bucket.name,
    )
    assert sse.inputs["rules"][0]["applyServerSideEncryptionByDefault"]["sseAlgorithm"] == "AES256"
    (bucket_policy,) = related(graph, "aws:s3/bucketPolicy:BucketPolicy", "bucket", bucket.name)
    deny = statements(bucket_policy)["NobodyDeletesAccessLogs"]
    assert (deny["Effect"], deny["Principal"], sorted(deny["Action"])) == (
        "Deny",
        "*",
        ["s3:DeleteObject", "s3:DeleteObjectVersion"],
    ), f"{describe(bucket)}: no principal may delete an access log object or version"
    delivery = statements(bucket_policy)["S3ServerAccessLogDelivery"]
    (audit,) = [b for b in graph.of_type(BUCKET) if "-logs-audit-" in b.name]
    assert delivery["Condition"]["ArnEquals"] == {"aws:SourceArn": audit.outputs["arn"]}, (
        f"{describe(bucket)}: only the audit bucket's logging may deliver here"
    )


@pytest.mark.parametrize(("stack", "group"), params("aws:cloudwatch/logGroup:LogGroup"))
def test_log_group_encrypted_and_retained(stack: str, group: Resource) -> None:
    assert group.inputs["kmsKeyId"].endswith("-kms-logs"), f"{describe(group)}: not encrypted with the logs key"
    assert group.inputs.get("retentionInDays"), f"{describe(group)}: retention not set"


@pytest.mark.parametrize(("stack", "group"), params("aws:cloudwatch/logGroup:LogGroup", stacks=("prod",)))
def test_prod_log_retention_six_years(stack: str, group: Resource) -> None:
    assert group.inputs["retentionInDays"] >= HIPAA_RETENTION_DAYS, f"{describe(group)}: HIPAA six-year retention"


@pytest.mark.parametrize(("stack", "trail"), params("aws:cloudtrail/trail:Trail"))
def test_cloudtrail_multi_region_validated_encrypted(stack: str, trail: Resource) -> None:
    assert trail.inputs["isMultiRegionTrail"] is True, f"{describe(trail)}: must be multi-region"
    assert trail.inputs["enableLogFileValidation"] is True, f"{describe(trail)}: log file validation off"
    assert trail.inputs["kmsKeyId"].endswith("-kms-logs"), f"{describe(trail)}: not KMS-encrypted"
    assert "-logs-audit-" in trail.inputs["s3BucketName"], f"{describe(trail)}: must write to the audit bucket"


def test_prod_has_a_trail() -> None:
    assert graphs()["prod"].of_type("aws:cloudtrail/trail:Trail"), "prod: no CloudTrail trail"


@pytest.mark.parametrize(("stack", "secret"), params("aws:secretsmanager/secret:Secret"))
def test_secret_uses_a_customer_managed_key(stack: str, secret: Resource) -> None:
    assert "-kms-secrets" in secret.inputs["kmsKeyId"] or "-kms-signing" in secret.inputs["kmsKeyId"], (
        f"{describe(secret)}: secrets must be encrypted with the secrets or signing key"
    )


@pytest.mark.parametrize(("stack", "version"), params("aws:secretsmanager/secretVersion:SecretVersion"))
def test_secret_values_are_pulumi_secrets(stack: str, version: Resource) -> None:
    assert version.inputs["secretString"] == {"__secret__": True}, f"{describe(version)}: value not marked secret"
