"""An S3 bucket with every protection the kit's buckets share.

pulumi-aws 7 models each bucket setting as its own resource; this component declares all of them, so
no bucket of the kit can miss one: owner-enforced ownership (no ACLs), all public access blocked,
versioning, default encryption, optional Object Lock, a lifecycle, and a TLS-only bucket policy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

# Stands for the bucket's own ARN inside `policy_statements` (the ARN is unknown until creation).
BUCKET_ARN = "${bucket}"
STORAGE_CLASSES = ("STANDARD_IA", "INTELLIGENT_TIERING", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE")


@dataclass(frozen=True)
class HardenedBucketArgs:
    """How one bucket differs from the others."""

    purpose: str
    """Short description stored in the `purpose` tag, e.g. `audit logs`."""
    kms_key_arn: pulumi.Input[str] | None
    """Customer-managed KMS key for SSE-KMS (with S3 bucket keys); `None` selects SSE-S3 and is only
    for writers that cannot use KMS (ALB access logs) or public material (the artifacts)."""
    lock_mode: Literal["COMPLIANCE", "GOVERNANCE"] | None = None
    """Object Lock default retention mode; `None` (default) leaves Object Lock off."""
    lock_days: int = 0
    """Object Lock default retention in days; required (> 0) with `lock_mode`."""
    transitions: Sequence[tuple[int, str]] = ()
    """(days, storage class) lifecycle transitions of current versions; default none."""
    noncurrent_expiration_days: int | None = None
    """Delete replaced versions after this many days; `None` (default) keeps them. Not allowed with a lock."""
    expiration_days: int | None = None
    """Expire objects this many days after they were written (then their versions a day later); `None`
    (default) keeps them. For buckets that cannot have Object Lock; not allowed with a lock."""
    policy_statements: pulumi.Input[Sequence[Any]] = field(default_factory=list)
    """Extra bucket policy statements (service principals), `BUCKET_ARN` standing for the bucket's ARN;
    the TLS-only deny is always added."""


class HardenedBucket(pulumi.ComponentResource):
    """A private, versioned, encrypted S3 bucket that refuses plain-HTTP requests."""

    bucket: aws.s3.Bucket
    policy: aws.s3.BucketPolicy

    def __init__(self, name: str, args: HardenedBucketArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("idpkit:aws:HardenedBucket", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)

        self.bucket = aws.s3.Bucket(
            f"{name}-bucket",
            # Object Lock can only be turned on when the bucket is created.
            object_lock_enabled=args.lock_mode is not None,
            force_destroy=False,
            tags={"purpose": args.purpose},
            opts=child,
        )
        bucket_id = self.bucket.id
        aws.s3.BucketOwnershipControls(
            f"{name}-ownership",
            bucket=bucket_id,
            # No ACLs: access is decided by IAM and the bucket policy only.
            rule={"object_ownership": "BucketOwnerEnforced"},
            opts=child,
        )
        public_access = aws.s3.BucketPublicAccessBlock(
            f"{name}-public-access",
            bucket=bucket_id,
            # HIPAA 164.312(a)(1): PHI-adjacent logs are never public.
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            opts=child,
        )
        versioning = aws.s3.BucketVersioning(
            f"{name}-versioning",
            bucket=bucket_id,
            # HIPAA 164.312(c)(1) integrity: overwrites keep the earlier version.
            versioning_configuration={"status": "Enabled"},
            opts=child,
        )
        aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-encryption",
            bucket=bucket_id,
            rules=[_encryption_rule(args.kms_key_arn)],
            opts=child,
        )
        if args.lock_mode is not None:
            aws.s3.BucketObjectLockConfiguration(
                f"{name}-object-lock",
                bucket=bucket_id,
                object_lock_enabled="Enabled",
                # HIPAA 164.316(b)(2)(i) retention and 164.312(c)(1) integrity: WORM storage.
                rule={"default_retention": {"mode": args.lock_mode, "days": args.lock_days}},
                opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
            )
        aws.s3.BucketLifecycleConfiguration(
            f"{name}-lifecycle",
            bucket=bucket_id,
            rules=[_lifecycle_rule(args)],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[versioning]),
        )
        self.policy = aws.s3.BucketPolicy(
            f"{name}-policy",
            bucket=bucket_id,
            policy=pulumi.Output.all(self.bucket.arn, args.policy_statements).apply(
                lambda values: _policy_document(values[0], values[1])
            ),
            # A policy is rejected while public access settings are being applied.
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access]),
        )
        self.register_outputs({"bucket": self.bucket.bucket, "arn": self.bucket.arn})


def _validate(args: HardenedBucketArgs) -> None:
    if args.lock_mode is not None and args.lock_days <= 0:
        raise ValueError("lock_days: must be > 0 when lock_mode is set")
    if args.lock_mode is None and args.lock_days:
        raise ValueError("lock_days: set lock_mode too, or leave lock_days at 0")
    if args.lock_mode is not None and (args.noncurrent_expiration_days is not None or args.expiration_days):
        raise ValueError("noncurrent_expiration_days/expiration_days: locked versions cannot expire early")
    if args.expiration_days is not None and args.expiration_days < 1:
        raise ValueError("expiration_days: must be >= 1")
    for days, storage_class in args.transitions:
        if days < 1 or storage_class not in STORAGE_CLASSES:
            raise ValueError(f"transitions: ({days}, {storage_class!r}) needs days >= 1 and one of {STORAGE_CLASSES}")


def _encryption_rule(kms_key_arn: pulumi.Input[str] | None) -> dict[str, Any]:
    if kms_key_arn is None:
        return {"apply_server_side_encryption_by_default": {"sse_algorithm": "AES256"}}
    # HIPAA 164.312(a)(2)(iv): encryption at rest with a customer-managed key; bucket keys cut KMS calls.
    return {
        "apply_server_side_encryption_by_default": {"sse_algorithm": "aws:kms", "kms_master_key_id": kms_key_arn},
        "bucket_key_enabled": True,
    }


def _lifecycle_rule(args: HardenedBucketArgs) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "id": "retention",
        "status": "Enabled",
        "filter": {"prefix": ""},
        "abort_incomplete_multipart_upload": {"days_after_initiation": 7},
        "transitions": [{"days": days, "storage_class": storage_class} for days, storage_class in args.transitions],
    }
    if args.noncurrent_expiration_days is not None:
        rule["noncurrent_version_expiration"] = {"noncurrent_days": args.noncurrent_expiration_days}
    if args.expiration_days is not None:
        rule["expiration"] = {"days": args.expiration_days}
        rule["noncurrent_version_expiration"] = {"noncurrent_days": 1}
    return rule


def _policy_document(bucket_arn: str, statements: Sequence[Any]) -> str:
    deny_plain_http = {
        # HIPAA 164.312(e)(1) transmission security: refuse every request without TLS.
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [bucket_arn, f"{bucket_arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    extra = json.loads(json.dumps(list(statements)).replace(BUCKET_ARN, bucket_arn))
    return json.dumps({"Version": "2012-10-17", "Statement": [deny_plain_http, *extra]})
