"""Audit log storage: CloudTrail, load balancer logs, Keycloak, network and operator logs, encrypted and
write-once.

- audit bucket: SSE-KMS (logs key) + bucket keys, Object Lock; CloudTrail writes here (components/audit_trail.py).
  Its server access logs go to the access log bucket, so every read of the audit records is on record twice
  (S3 data events in CloudTrail, and S3's own access log).
- ALB log bucket: SSE-S3, because ALB log delivery supports nothing else; same lock and TLS rules.
- access log bucket: SSE-S3 and no Object Lock default retention, because S3 server access log delivery
  supports neither; instead its policy denies deleting any object version to every principal, and its
  lifecycle expires the logs after the audit retention.
- CloudWatch log groups, encrypted with the logs key and retained for `log_retention_days`: Keycloak server
  and events, WAF, RDS, VPC flow logs, the trail's copy, Session Manager sessions, Run Command output.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pulumi
import pulumi_aws as aws

from components.hardened_bucket import BUCKET_ARN, HardenedBucket, HardenedBucketArgs
from idpkit.constants.monitoring import KEYCLOAK_EVENTS_LOGS, LOG_CONTENT_TAG

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
S3_LOG_DELIVERY_SERVICE = "logging.s3.amazonaws.com"
ACCESS_LOG_PREFIX = "access"
CONNECTION_LOG_PREFIX = "connection"
CLOUDTRAIL_PREFIX = "cloudtrail"
AUDIT_ACCESS_LOG_PREFIX = "audit-bucket/"


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
    """Log buckets and CloudWatch log groups (the trail itself: components/audit_trail.py)."""

    audit_bucket: HardenedBucket
    alb_log_bucket: HardenedBucket
    access_log_bucket: HardenedBucket
    server_log_group: aws.cloudwatch.LogGroup
    event_log_group: aws.cloudwatch.LogGroup
    waf_log_group: aws.cloudwatch.LogGroup
    rds_log_groups: list[aws.cloudwatch.LogGroup]
    flow_log_group: aws.cloudwatch.LogGroup
    session_log_group: aws.cloudwatch.LogGroup
    command_log_group: aws.cloudwatch.LogGroup
    command_log_group_name: str
    """Known before the group exists: the rotation schedule's command input names it."""
    trail_log_group: aws.cloudwatch.LogGroup | None

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
        self.access_log_bucket = HardenedBucket(
            f"{name}-access",
            HardenedBucketArgs(
                purpose="S3 server access logs of the audit bucket",
                # S3 server access log delivery supports SSE-S3 only, and no default Object Lock retention.
                kms_key_arn=None,
                expiration_days=args.lock_days,
                policy_statements=self.audit_bucket.bucket.arn.apply(
                    lambda audit_arn: _access_log_statements(audit_arn, args.account_id)
                ),
            ),
            opts=child,
        )
        aws.s3.BucketLogging(
            f"{name}-audit-access-logging",
            bucket=self.audit_bucket.bucket.id,
            target_bucket=self.access_log_bucket.bucket.id,
            target_prefix=AUDIT_ACCESS_LOG_PREFIX,
            target_object_key_format={"partitioned_prefix": {"partition_date_source": "EventTime"}},
            opts=pulumi.ResourceOptions(parent=self, depends_on=[self.access_log_bucket.policy]),
        )
        prefix = args.log_group_prefix
        self.server_log_group = self._log_group(f"{name}-keycloak", f"{prefix}keycloak", "keycloak-server", args)
        self.event_log_group = self._log_group(f"{name}-events", f"{prefix}keycloak-events", KEYCLOAK_EVENTS_LOGS, args)
        self.waf_log_group = self._log_group(f"{name}-waf", args.waf_log_group_name, "waf", args)
        self.rds_log_groups = [
            self._log_group(f"{name}-rds-{group.rsplit('/', 1)[-1]}", group, "rds", args)
            for group in args.rds_log_group_names
        ]
        self.flow_log_group = self._log_group(f"{name}-flow-logs", f"{prefix}vpc-flow-logs", "vpc-flow-logs", args)
        self.session_log_group = self._log_group(
            f"{name}-sessions", f"{prefix}session-manager", "session-manager", args
        )
        self.command_log_group_name = f"{prefix}run-command"
        self.command_log_group = self._log_group(
            f"{name}-run-command", self.command_log_group_name, "run-command", args
        )
        self.trail_log_group = (
            self._log_group(f"{name}-trail", f"{prefix}cloudtrail", "cloudtrail", args) if args.trail_name else None
        )
        self.register_outputs(
            {
                "audit_bucket": self.audit_bucket.bucket.bucket,
                "alb_log_bucket": self.alb_log_bucket.bucket.bucket,
                "access_log_bucket": self.access_log_bucket.bucket.bucket,
            }
        )

    def _log_group(
        self, resource_name: str, group_name: str, content: str, args: LogArchiveArgs
    ) -> aws.cloudwatch.LogGroup:
        return aws.cloudwatch.LogGroup(
            resource_name,
            name=group_name,
            # HIPAA 164.312(a)(2)(iv) encryption and 164.316(b)(2) retention of audit records.
            kms_key_id=args.logs_key_arn,
            retention_in_days=args.log_retention_days,
            tags={LOG_CONTENT_TAG: content},
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


def _access_log_statements(audit_bucket_arn: str, account_id: str) -> list[Any]:
    return [
        {
            "Sid": "S3ServerAccessLogDelivery",
            "Effect": "Allow",
            "Principal": {"Service": S3_LOG_DELIVERY_SERVICE},
            "Action": "s3:PutObject",
            "Resource": f"{BUCKET_ARN}/{AUDIT_ACCESS_LOG_PREFIX}*",
            "Condition": {
                "ArnEquals": {"aws:SourceArn": audit_bucket_arn},
                "StringEquals": {"aws:SourceAccount": account_id},
            },
        },
        {
            # No Object Lock here (S3 server access logging refuses a default retention): nobody deletes a log
            # object or version; the lifecycle expires them after the audit retention.
            "Sid": "NobodyDeletesAccessLogs",
            "Effect": "Deny",
            "Principal": "*",
            "Action": ["s3:DeleteObject", "s3:DeleteObjectVersion"],
            "Resource": f"{BUCKET_ARN}/*",
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
