"""The stack's CloudTrail trail: every management event, S3 data events of the stack's own buckets, to the
audit bucket and to CloudWatch Logs (HIPAA 164.312(b)).

- Management events, read and write, with no excluded event source: every `kms:Decrypt` of the signing key
  store (and of every other key) is recorded with the caller's session.
- S3 data events for the artifacts bucket (who fetched or replaced what the hosts install) and the audit
  bucket (who read or tried to alter the audit records). CloudTrail's own deliveries into the audit bucket
  (`PutObject`) are left out, or each delivery would record an event that needs another delivery.
- A copy of the trail goes to an encrypted CloudWatch log group, where the CIS metric filters and their
  alarms watch it (components/monitoring.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from components.log_archive import CLOUDTRAIL_PREFIX
from idpkit.constants.aws import S3_OBJECT_RESOURCE_TYPE as S3_OBJECT


@dataclass(frozen=True)
class AuditTrailArgs:
    """Where the trail writes and which buckets' data events it records."""

    account_id: str
    region: str
    trail_name: str
    """Fixed, so the logs key and the audit bucket policy name the trail before it exists."""
    logs_key_arn: pulumi.Input[str]
    """Encrypts the trail's log files."""
    audit_bucket: pulumi.Input[str]
    """The audit bucket's name (Object Lock, SSE-KMS)."""
    audit_bucket_arn: pulumi.Input[str]
    audit_bucket_policy: pulumi.Resource
    """CloudTrail checks its write access when the trail is created."""
    artifact_bucket_arns: Sequence[pulumi.Input[str]]
    """Buckets whose object reads and writes are recorded as data events."""
    log_group_arn: pulumi.Input[str]
    """The encrypted log group that receives the trail's copy."""


class AuditTrail(pulumi.ComponentResource):
    """The trail and the role it delivers to CloudWatch Logs with."""

    trail: aws.cloudtrail.Trail

    def __init__(self, name: str, args: AuditTrailArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("idpkit:aws:AuditTrail", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        trail_arn = f"arn:aws:cloudtrail:{args.region}:{args.account_id}:trail/{args.trail_name}"
        role = aws.iam.Role(
            f"{name}-cloudwatch",
            description="idpkit: CloudTrail delivery to the stack's trail log group",
            assume_role_policy=json.dumps(_trust(trail_arn, args.account_id)),
            opts=child,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-cloudwatch",
            role=role.id,
            policy=pulumi.Output.from_input(args.log_group_arn).apply(lambda arn: json.dumps(_delivery(arn))),
            opts=child,
        )
        self.trail = aws.cloudtrail.Trail(
            f"{name}-trail",
            name=args.trail_name,
            s3_bucket_name=args.audit_bucket,
            s3_key_prefix=CLOUDTRAIL_PREFIX,
            # HIPAA 164.312(b) audit controls, all regions; 164.312(c)(1) integrity via digest files.
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            kms_key_id=args.logs_key_arn,
            enable_logging=True,
            cloud_watch_logs_group_arn=pulumi.Output.from_input(args.log_group_arn).apply(lambda arn: f"{arn}:*"),
            cloud_watch_logs_role_arn=role.arn,
            advanced_event_selectors=pulumi.Output.all(args.audit_bucket_arn, *args.artifact_bucket_arns).apply(
                lambda arns: _selectors(arns[0], arns[1:])
            ),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[args.audit_bucket_policy, policy]),
        )
        self.register_outputs({"trail_arn": self.trail.arn})


def _trust(trail_arn: str, account_id: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "sts:AssumeRole",
                # Confused-deputy guard: only this stack's trail delivers with this role.
                "Condition": {"StringEquals": {"aws:SourceArn": trail_arn, "aws:SourceAccount": account_id}},
            }
        ],
    }


def _delivery(log_group_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "DeliverToTheTrailLogGroup",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                "Resource": f"{log_group_arn}:log-stream:*",
            }
        ],
    }


def _selectors(audit_bucket_arn: str, artifact_bucket_arns: Sequence[str]) -> list[dict[str, Any]]:
    def objects_of(arn: str) -> list[dict[str, Any]]:
        return [
            {"field": "eventCategory", "equals": ["Data"]},
            {"field": "resources.type", "equals": [S3_OBJECT]},
            {"field": "resources.ARN", "starts_withs": [f"{arn}/"]},
        ]

    return [
        {"name": "Every management event", "field_selectors": [{"field": "eventCategory", "equals": ["Management"]}]},
        *(
            {"name": f"Objects of {arn.rsplit(':', 1)[-1]}", "field_selectors": objects_of(arn)}
            for arn in artifact_bucket_arns
        ),
        {
            "name": "Audit records: every read and change but CloudTrail's own deliveries",
            "field_selectors": [
                *objects_of(audit_bucket_arn),
                {"field": "eventName", "not_equals": ["PutObject"]},
            ],
        },
    ]
