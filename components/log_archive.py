"""Audit log storage: CloudTrail, load balancer logs and Keycloak logs, encrypted and write-once.

- audit bucket: SSE-KMS (logs key) + bucket keys, Object Lock, CloudTrail's multi-region trail (all
  management events, read and write, KMS included: every decrypt is recorded).
- ALB log bucket: SSE-S3, because ALB log delivery supports nothing else; same lock and TLS rules.
- CloudWatch log groups (Keycloak server, Keycloak events, WAF, RDS), encrypted with the logs key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.hardened_bucket import BUCKET_ARN, HardenedBucket, HardenedBucketArgs

# Regions opened before August 2022 deliver ALB logs from a regional ELB account; later regions use the
# log delivery service principal (ELB docs, "Attach a policy to your S3 bucket").
LEGACY_ELB_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "af-south-1",
        "ap-east-1",
        "ap-south-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-southeast-1",
        "ap-southeast-2",
        "ca-central-1",
        "eu-central-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "eu-south-1",
        "eu-north-1",
        "me-south-1",
        "sa-east-1",
        "us-gov-west-1",
        "us-gov-east-1",
    }
)
ELB_LOG_DELIVERY_SERVICE = "logdelivery.elasticloadbalancing.amazonaws.com"
ACCESS_LOG_PREFIX = "access"
CONNECTION_LOG_PREFIX = "connection"
CLOUDTRAIL_PREFIX = "cloudtrail"


@dataclass(frozen=True)
class LogArchiveArgs:
    """Retention and ownership of the stack's logs."""

    account_id: str
    """The stack's account (log delivery paths)."""
    region: str
    """The stack's region (ELB log delivery principal)."""
    logs_key_arn: pulumi.Input[str]
    """KMS key for the audit bucket, CloudTrail and CloudWatch log groups."""
    lock_mode: Literal["COMPLIANCE", "GOVERNANCE"]
    """Object Lock mode of both buckets; COMPLIANCE in prod (HIPAA 164.316(b)(2))."""
    lock_days: int
    """Object Lock retention in days (> 0)."""
    log_retention_days: int
    """CloudWatch Logs retention, one of CloudWatch's accepted values."""
    log_group_prefix: str
    """Prefix of the Keycloak log group names, e.g. `/idpkit/prod/`; must start and end with '/'."""
    waf_log_group_name: str
    """WAF log group name; WAF requires the `aws-waf-logs-` prefix."""
    rds_log_group_names: Sequence[str]
    """RDS log export groups, created here so that they are encrypted and retained."""
    trail_name: str | None
    """Name of the trail to create, or `None` when an organization trail covers the account."""


class LogArchive(pulumi.ComponentResource):
    """Log buckets, CloudWatch log groups and the CloudTrail trail."""

    audit_bucket: HardenedBucket
    alb_log_bucket: HardenedBucket
    server_log_group: aws.cloudwatch.LogGroup
    event_log_group: aws.cloudwatch.LogGroup
    waf_log_group: aws.cloudwatch.LogGroup
    rds_log_groups: list[aws.cloudwatch.LogGroup]

    def __init__(self, name: str, args: LogArchiveArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("idpkit:aws:LogArchive", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        trail_arn = (
            f"arn:aws:cloudtrail:{args.region}:{args.account_id}:trail/{args.trail_name}" if args.trail_name else None
        )
        self.audit_bucket = HardenedBucket(
            f"{name}-audit",
            HardenedBucketArgs(
                purpose="audit logs (CloudTrail)",
                kms_key_arn=args.logs_key_arn,
                lock_mode=args.lock_mode,
                lock_days=args.lock_days,
                transitions=[(90, "GLACIER_IR"), (365, "DEEP_ARCHIVE")],
                policy_statements=_cloudtrail_statements(trail_arn, args.account_id) if trail_arn else [],
            ),
            opts=child,
        )
        self.alb_log_bucket = HardenedBucket(
            f"{name}-alb",
            HardenedBucketArgs(
                purpose="load balancer access and connection logs",
                # ALB log delivery supports SSE-S3 only; SSE-KMS silently stops delivery.
                kms_key_arn=None,
                lock_mode=args.lock_mode,
                lock_days=args.lock_days,
                transitions=[(30, "STANDARD_IA"), (90, "GLACIER_IR"), (365, "DEEP_ARCHIVE")],
                policy_statements=_elb_statements(args),
            ),
            opts=child,
        )
        self.server_log_group = self._log_group(f"{name}-keycloak", f"{args.log_group_prefix}keycloak", args)
        self.event_log_group = self._log_group(f"{name}-events", f"{args.log_group_prefix}keycloak-events", args)
        self.waf_log_group = self._log_group(f"{name}-waf", args.waf_log_group_name, args)
        self.rds_log_groups = [
            self._log_group(f"{name}-rds-{group.rsplit('/', 1)[-1]}", group, args) for group in args.rds_log_group_names
        ]
        if args.trail_name is not None:
            aws.cloudtrail.Trail(
                f"{name}-trail",
                name=args.trail_name,
                s3_bucket_name=self.audit_bucket.bucket.bucket,
                s3_key_prefix=CLOUDTRAIL_PREFIX,
                # HIPAA 164.312(b) audit controls, all regions; 164.312(c)(1) integrity via digest files.
                is_multi_region_trail=True,
                include_global_service_events=True,
                enable_log_file_validation=True,
                kms_key_id=args.logs_key_arn,
                enable_logging=True,
                # Every management event, reads included, and no excluded event source: each kms:Decrypt
                # of the signing key store (and every other key) is recorded, with the caller's session.
                event_selectors=[
                    aws.cloudtrail.TrailEventSelectorArgs(read_write_type="All", include_management_events=True)
                ],
                opts=pulumi.ResourceOptions(parent=self, depends_on=[self.audit_bucket.policy]),
            )
        self.register_outputs(
            {
                "audit_bucket": self.audit_bucket.bucket.bucket,
                "alb_log_bucket": self.alb_log_bucket.bucket.bucket,
            }
        )

    def _log_group(self, resource_name: str, group_name: str, args: LogArchiveArgs) -> aws.cloudwatch.LogGroup:
        return aws.cloudwatch.LogGroup(
            resource_name,
            name=group_name,
            # HIPAA 164.312(a)(2)(iv) encryption and 164.316(b)(2) retention of audit records.
            kms_key_id=args.logs_key_arn,
            retention_in_days=args.log_retention_days,
            opts=pulumi.ResourceOptions(parent=self),
        )


def _validate(args: LogArchiveArgs) -> None:
    if not (args.log_group_prefix.startswith("/") and args.log_group_prefix.endswith("/")):
        raise ValueError(f"log_group_prefix: {args.log_group_prefix!r} must start and end with '/'")
    if not args.waf_log_group_name.startswith("aws-waf-logs-"):
        raise ValueError(f"waf_log_group_name: {args.waf_log_group_name!r} must start with 'aws-waf-logs-'")
    if args.lock_days <= 0:
        raise ValueError("lock_days: must be > 0")


def _cloudtrail_statements(trail_arn: str, account_id: str) -> list[Any]:
    return [
        {
            "Sid": "CloudTrailAclCheck",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:GetBucketAcl",
            "Resource": BUCKET_ARN,
            "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
        },
        {
            "Sid": "CloudTrailWrite",
            "Effect": "Allow",
            "Principal": {"Service": "cloudtrail.amazonaws.com"},
            "Action": "s3:PutObject",
            "Resource": f"{BUCKET_ARN}/{CLOUDTRAIL_PREFIX}/AWSLogs/{account_id}/*",
            "Condition": {"StringEquals": {"aws:SourceArn": trail_arn, "s3:x-amz-acl": "bucket-owner-full-control"}},
        },
    ]


def _elb_statements(args: LogArchiveArgs) -> list[Any]:
    principal: dict[str, Any]
    if args.region in LEGACY_ELB_REGIONS:
        principal = {"AWS": aws.elb.get_service_account_output(region=args.region).arn}
    else:
        principal = {"Service": ELB_LOG_DELIVERY_SERVICE}
    return [
        {
            "Sid": "ElbLogDelivery",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:PutObject",
            "Resource": [
                f"{BUCKET_ARN}/{prefix}/AWSLogs/{args.account_id}/*"
                for prefix in (ACCESS_LOG_PREFIX, CONNECTION_LOG_PREFIX)
            ],
        }
    ]
