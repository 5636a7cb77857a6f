"""Audit records: CloudWatch retention, CloudTrail, and the S3 buckets that keep logs immutable."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from idpkit.compliance import RuleMetadata, Severity
from idpkit.constants.aws import HIPAA_RETENTION_DAYS, HIPAA_RETENTION_YEARS
from idpkit.policy import resource_types as t
from idpkit.policy.core import (
    Environment,
    Res,
    Stack,
    as_list,
    customer_managed_key_problem,
    get,
    is_true,
    items,
    policy_document,
    present,
    resource_rule,
    stack_rule,
)

# Keycloak events, WAF and RDS logs are kept only in CloudWatch, so the log group is the audit record,
# not a cache of it: six years in prod, like the Object Lock of the audit buckets (HIPAA 164.316(b)(2)).
MIN_PROD_LOG_RETENTION_DAYS = HIPAA_RETENTION_DAYS
MIN_PROD_OBJECT_LOCK_YEARS = HIPAA_RETENTION_YEARS


@resource_rule(
    RuleMetadata(
        id="AWS-LOG-002",
        title="Log groups have a retention period (>= 6 years in prod)",
        requirements=("HIPAA-164.312(b)", "HIPAA-164.316(b)(2)"),
        severity=Severity.MEDIUM,
        risk="An unset retention keeps identifiers forever with no disposal decision; a short one in "
        "prod deletes the evidence before an incident is noticed.",
        remediation=f"Set retention_in_days; in prod at least {MIN_PROD_LOG_RETENTION_DAYS} (six years).",
    ),
    types=(t.LOG_GROUP,),
)
def log_group_retention(res: Res, env: Environment) -> Iterator[str]:
    """CloudWatch log groups set retentionInDays (0 or unset means never expire); in prod it is at
    least 2192 days (six years). Non-prod stacks may keep logs for any explicit period."""
    retention = get(res.props, "retentionInDays")
    if not isinstance(retention, int | float) or retention <= 0:
        yield "retentionInDays is not set (logs would never expire)"
    elif env is Environment.PROD and retention < MIN_PROD_LOG_RETENTION_DAYS:
        yield f"retentionInDays is {retention}, below {MIN_PROD_LOG_RETENTION_DAYS} in prod"


@resource_rule(
    RuleMetadata(
        id="AWS-TRAIL-001",
        title="CloudTrail is multi-region, logging, and validates log file integrity",
        requirements=("HIPAA-164.312(b)", "HIPAA-164.312(c)(1)"),
        severity=Severity.HIGH,
        risk="A single-region trail misses API calls in other regions (where an attacker would work); "
        "without digest validation, deleted or edited log files go unnoticed.",
        remediation="Set is_multi_region_trail=True, enable_log_file_validation=True, and keep enable_logging true.",
    ),
    types=(t.TRAIL,),
)
def trail_integrity(res: Res, _env: Environment) -> Iterator[str]:
    """CloudTrail trails set isMultiRegionTrail=true and enableLogFileValidation=true, and do not set
    enableLogging=false."""
    if not is_true(get(res.props, "isMultiRegionTrail")):
        yield "isMultiRegionTrail is not true"
    if not is_true(get(res.props, "enableLogFileValidation")):
        yield "enableLogFileValidation is not true"
    if get(res.props, "enableLogging") is False:
        yield "enableLogging is false"


def _is_alb_log_bucket(bucket: Res, stack: Stack) -> bool:
    return any(stack.referrers(bucket, t.LOAD_BALANCERS, prop) for prop in ("accessLogs", "connectionLogs"))


def _is_access_log_bucket(bucket: Res, stack: Stack) -> bool:
    """A bucket S3 server access logging delivers to (which supports neither SSE-KMS nor Object Lock)."""
    return bool(stack.referrers(bucket, t.BUCKET_LOGGING, "targetBucket"))


def _is_sse_s3_log_bucket(bucket: Res, stack: Stack) -> bool:
    """A log bucket whose AWS writer cannot use KMS: load balancer logs, S3 server access logs."""
    return _is_alb_log_bucket(bucket, stack) or _is_access_log_bucket(bucket, stack)


def is_artifact_bucket(bucket: Res, stack: Stack) -> bool:
    """A deployment-artifact bucket: the stack uploads its objects itself (public material such as the
    Keycloak distribution and CA bundles, re-creatable from source) and no log source writes to it.

    Every other bucket, including one nothing references yet, is treated as an audit-log bucket, so
    an unclassified bucket gets the stricter rules.
    """
    receives_logs = _is_sse_s3_log_bucket(bucket, stack) or stack.referrers(bucket, (t.TRAIL,), "s3BucketName")
    return bool(stack.referrers(bucket, t.BUCKET_OBJECTS, "bucket")) and not receives_logs


def _sse_defaults(bucket: Res, stack: Stack) -> list[Mapping[str, Any]] | None:
    """The default-encryption settings of the bucket's SSE configurations; None without any."""
    configurations = stack.referrers(bucket, t.BUCKET_SSE, "bucket")
    if not configurations:
        return None
    return [
        get(rule, "applyServerSideEncryptionByDefault") or {}
        for configuration in configurations
        for rule in items(configuration.props, "rules") or [{}]
    ]


@stack_rule(
    RuleMetadata(
        id="AWS-S3-001",
        title="Audit-log buckets use SSE-KMS with a customer-managed key",
        requirements=("HIPAA-164.312(a)(2)(iv)",),
        severity=Severity.HIGH,
        risk="With SSE-S3 anyone holding s3:GetObject reads the audit records; a customer key adds a key "
        "policy gate and a CloudTrail record of every decrypt.",
        remediation="Add an aws.s3.BucketServerSideEncryptionConfiguration with sse_algorithm='aws:kms' "
        "and kms_master_key_id set to the kit's key (ALB and S3 access log buckets are the exception: "
        "AWS-S3-005).",
    ),
    subjects=t.BUCKETS,
)
def bucket_sse_kms(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Every audit-log bucket except those AWS log delivery writes without KMS support (load balancer logs,
    S3 server access logs) has a server-side encryption configuration whose rules all use aws:kms (or
    aws:kms:dsse) with a customer-managed kmsMasterKeyId. Deployment-artifact buckets (objects uploaded by
    the stack, no log source) are exempt."""
    if _is_sse_s3_log_bucket(res, stack) or is_artifact_bucket(res, stack):
        return
    defaults = _sse_defaults(res, stack)
    if defaults is None:
        yield "has no server-side encryption configuration (S3 would default to SSE-S3)"
        return
    for default in defaults:
        algorithm = get(default, "sseAlgorithm")
        if algorithm not in ("aws:kms", "aws:kms:dsse"):
            yield f"default encryption is {algorithm!r}, not aws:kms"
        elif problem := customer_managed_key_problem(default, "kmsMasterKeyId"):
            yield problem


@stack_rule(
    RuleMetadata(
        id="AWS-S3-005",
        title="Load balancer and S3 access log buckets use SSE-S3",
        requirements=("HIPAA-164.312(b)", "HIPAA-164.312(a)(2)(iv)"),
        severity=Severity.MEDIUM,
        risk="Elastic Load Balancing and S3 server access logging cannot deliver to an SSE-KMS bucket: the "
        "logs silently stop.",
        remediation="Give those log buckets a BucketServerSideEncryptionConfiguration with "
        "sse_algorithm='AES256' (and no KMS key).",
    ),
    subjects=t.BUCKETS,
)
def alb_log_bucket_sse_s3(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Buckets that receive load balancer access or connection logs, or S3 server access logs, declare
    SSE-S3 (AES256) default encryption, because those deliveries do not support SSE-KMS."""
    if not _is_sse_s3_log_bucket(res, stack):
        return
    defaults = _sse_defaults(res, stack)
    if defaults is None:
        yield "receives AWS log deliveries but declares no server-side encryption configuration"
        return
    for default in defaults:
        algorithm = get(default, "sseAlgorithm")
        if algorithm != "AES256":
            yield f"receives AWS log deliveries but default encryption is {algorithm!r}, not AES256"


_PUBLIC_ACCESS_FLAGS = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")


@stack_rule(
    RuleMetadata(
        id="AWS-S3-002",
        title="Buckets block all public access",
        requirements=("HIPAA-164.312(a)(1)",),
        severity=Severity.CRITICAL,
        risk="One permissive ACL or policy statement would publish audit logs to the internet.",
        remediation="Add an aws.s3.BucketPublicAccessBlock with all four flags true.",
    ),
    subjects=t.BUCKETS,
)
def bucket_public_access_blocked(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Every bucket has a public access block with blockPublicAcls, blockPublicPolicy, ignorePublicAcls
    and restrictPublicBuckets all true."""
    blocks = stack.referrers(res, t.BUCKET_PUBLIC_ACCESS_BLOCK, "bucket")
    if not blocks:
        yield "has no public access block"
    for block in blocks:
        missing = [flag for flag in _PUBLIC_ACCESS_FLAGS if not is_true(get(block.props, flag))]
        if missing:
            yield f"public access block '{block.name}' does not set {', '.join(missing)}"


def _denies_insecure_transport(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    principals = as_list(principal.get("AWS") if isinstance(principal, Mapping) else principal)
    actions = as_list(statement.get("Action"))
    condition = statement.get("Condition")
    secure_transport = (
        as_list(condition.get("Bool", {}).get("aws:SecureTransport")) if isinstance(condition, Mapping) else []
    )
    return (
        statement.get("Effect") == "Deny"
        and "*" in principals
        and bool({"s3:*", "*"} & set(actions))
        and any(str(value).lower() == "false" for value in secure_transport)
    )


def _statements(document: object) -> list[Mapping[str, Any]]:
    return [s for s in as_list(policy_document(document).get("Statement")) if isinstance(s, Mapping)]


@stack_rule(
    RuleMetadata(
        id="AWS-S3-003",
        title="Bucket policies deny requests without TLS",
        requirements=("HIPAA-164.312(e)(1)", "HIPAA-164.312(e)(2)(ii)"),
        severity=Severity.HIGH,
        risk="S3 still accepts plain-HTTP requests; log objects and presigned URLs could travel unencrypted.",
        remediation="Attach a bucket policy with a Deny statement for Principal '*', Action 's3:*' and "
        "Condition Bool aws:SecureTransport = false.",
    ),
    subjects=t.BUCKETS,
)
def bucket_tls_only(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Every bucket has a bucket policy with a statement denying s3:* to every principal when
    aws:SecureTransport is false."""
    policies = stack.referrers(res, t.BUCKET_POLICY, "bucket")
    if not any(
        _denies_insecure_transport(statement)
        for policy in policies
        for statement in _statements(get(policy.props, "policy"))
    ):
        yield "has no bucket policy denying requests with aws:SecureTransport = false"


def _retention_years(retention: Mapping[str, Any]) -> float:
    # Object Lock takes either years or days, never both.
    return float(get(retention, "years") or 0) or float(get(retention, "days") or 0) / 365.25


def _denies_deletion(statement: Mapping[str, Any]) -> bool:
    principal = statement.get("Principal")
    principals = as_list(principal.get("AWS") if isinstance(principal, Mapping) else principal)
    actions = set(as_list(statement.get("Action")))
    deletes = {"s3:DeleteObject", "s3:DeleteObjectVersion"} <= actions or bool({"s3:*", "s3:Delete*", "*"} & actions)
    return statement.get("Effect") == "Deny" and "*" in principals and deletes and not statement.get("Condition")


@stack_rule(
    RuleMetadata(
        id="AWS-S3-004",
        title="Audit-log buckets have Object Lock (COMPLIANCE, >= 6 years in prod)",
        requirements=("HIPAA-164.312(c)(1)", "HIPAA-164.312(b)", "HIPAA-164.316(b)(2)"),
        severity=Severity.HIGH,
        risk="Without Object Lock an intruder or an operator with s3:DeleteObject can erase the audit trail "
        "of their own actions; GOVERNANCE mode can be bypassed with one permission.",
        remediation="Create the bucket with object_lock_enabled=True and add a "
        "BucketObjectLockConfiguration default retention: COMPLIANCE for 6 years in prod, GOVERNANCE "
        "elsewhere so non-prod stacks remain deletable.",
    ),
    subjects=t.BUCKETS,
)
def bucket_object_lock(res: Res, stack: Stack, env: Environment) -> Iterator[str]:
    """Every audit-log bucket has an Object Lock configuration with a default retention rule; in prod the
    mode is COMPLIANCE and the period at least six years. Non-prod stacks may use GOVERNANCE and any
    period. S3 server access log buckets, which S3 refuses to deliver to with a default retention, instead
    have a bucket policy denying every principal s3:DeleteObject and s3:DeleteObjectVersion. Deployment-artifact
    buckets (objects uploaded by the stack, no log source) are exempt."""
    if is_artifact_bucket(res, stack):
        return
    if _is_access_log_bucket(res, stack):
        policies = stack.referrers(res, t.BUCKET_POLICY, "bucket")
        if not any(_denies_deletion(st) for policy in policies for st in _statements(get(policy.props, "policy"))):
            yield "receives S3 server access logs but no bucket policy denies deleting them to every principal"
        return
    configurations = stack.referrers(res, t.BUCKET_OBJECT_LOCK, "bucket")
    if not configurations:
        yield "has no Object Lock configuration"
    for configuration in configurations:
        retention = get(configuration.props, "rule", "defaultRetention")
        if not isinstance(retention, Mapping):
            yield f"Object Lock configuration '{configuration.name}' has no default retention"
            continue
        mode = get(retention, "mode")
        years = _retention_years(retention)
        if mode not in ("COMPLIANCE", "GOVERNANCE") or years <= 0:
            yield f"Object Lock default retention is {mode!r} for {years:.2f} years"
        elif env is Environment.PROD and (mode != "COMPLIANCE" or years < MIN_PROD_OBJECT_LOCK_YEARS):
            yield (
                f"Object Lock default retention is {mode} for {years:.2f} years; prod needs COMPLIANCE "
                f"for at least {MIN_PROD_OBJECT_LOCK_YEARS} years"
            )


@stack_rule(
    RuleMetadata(
        id="AWS-S3-006",
        title="Buckets that receive CloudTrail logs have server access logging into another bucket",
        requirements=("HIPAA-164.312(b)", "HIPAA-164.308(a)(1)(ii)(D)"),
        severity=Severity.MEDIUM,
        risk="Reads of the audit records (by an insider covering tracks, or an attacker learning what is "
        "watched) must be on record outside the bucket being read, in S3's own access log as well as in "
        "CloudTrail data events.",
        remediation="Add an aws.s3.BucketLogging with bucket set to the audit bucket and target_bucket set to a "
        "separate SSE-S3 bucket of the stack.",
    ),
    subjects=t.BUCKETS,
)
def audit_bucket_access_logging(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Every bucket a CloudTrail trail of the stack writes to has a BucketLogging whose targetBucket is a
    different bucket declared by the stack."""
    if not stack.referrers(res, (t.TRAIL,), "s3BucketName"):
        return
    configurations = stack.referrers(res, t.BUCKET_LOGGING, "bucket")
    if not configurations:
        yield "receives CloudTrail logs but has no server access logging"
    for configuration in configurations:
        if not present(configuration.props, "targetBucket"):
            yield f"server access logging '{configuration.name}' names no target bucket"
            continue
        targets = stack.targets(configuration, "targetBucket", t.BUCKETS)
        if not targets or res in targets:
            yield f"server access logging '{configuration.name}' does not write to another bucket of the stack"


RULES = (
    log_group_retention,
    trail_integrity,
    bucket_sse_kms,
    alb_log_bucket_sse_s3,
    bucket_public_access_blocked,
    bucket_tls_only,
    bucket_object_lock,
    audit_bucket_access_logging,
)
