"""Customer-managed KMS keys, one per purpose, with key policies that keep administrators and users apart.

Administrators (`administrator_arns`) manage a key but cannot use it; users reach a key only through
the AWS service that needs it (`kms:ViaService`), or as a named service principal bound to this
stack's resources by encryption context / source ARN. There is no "allow the account everything"
statement, and the policy lockout safety check stays on.

The alerts key lets CloudWatch encrypt what its alarms publish to the stack's SNS topic; the sessions key
encrypts Session Manager session data end to end between the operator's client and the host's agent, which
call KMS themselves (IAM decides who may start or serve a session).

The signing-material key is narrower still: it encrypts only the realm signing key store, so its one
user is the key rotation role (`signing_user_arns`, matched on `aws:PrincipalArn` because the role is
created after the key), through Secrets Manager only; explicit denies keep every other principal,
administrators included, and every direct KMS call away from its cryptographic operations.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

PURPOSES = ("alerts", "database", "ebs", "logs", "secrets", "sessions", "signing")
"""One key each: the alarm topic, RDS, EBS, log storage, Secrets Manager, Session Manager session data, and
the realm signing key store."""

# Key management without any cryptographic use (kms:CreateGrant is deliberately absent: a grant is a use).
ADMIN_ACTIONS = [
    "kms:CancelKeyDeletion",
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:DescribeKey",
    "kms:DisableKey",
    "kms:DisableKeyRotation",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListAliases",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:PutKeyPolicy",
    "kms:RevokeGrant",
    "kms:RotateKeyOnDemand",
    "kms:ScheduleKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:UpdateAlias",
    "kms:UpdateKeyDescription",
]
USE_ACTIONS = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
# What Secrets Manager needs on behalf of the rotation role: GetSecretValue decrypts, PutSecretValue
# generates a data key.
SIGNING_USE_ACTIONS = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
# Every cryptographic operation (and grants, which delegate them): denied to all but the rotation role.
CRYPTO_ACTIONS = [
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "kms:ReEncrypt*",
    "kms:CreateGrant",
]


@dataclass(frozen=True)
class KeyRingArgs:
    """Who administers and who uses the stack's keys."""

    account_id: str
    """The stack's 12-digit AWS account."""
    region: str
    """The stack's region; service principals and `kms:ViaService` values are regional."""
    administrator_arns: Sequence[str]
    """IAM roles/users allowed to manage (not use) the keys; must include the role Pulumi deploys with,
    or the first update after creation cannot change the key policy."""
    log_group_prefixes: Sequence[str]
    """Log group name prefixes (e.g. `/idpkit/prod/`) whose `aws:logs:arn` encryption context may use
    the logs key."""
    trail_name: str | None
    """Name of the stack's CloudTrail trail, or `None` when the stack has no trail."""
    signing_user_arns: Sequence[str]
    """IAM role ARNs allowed to use the signing-material key (through Secrets Manager only): the signing
    key rotation role (`components.signing_keys.rotation_role_arn`). Plain ARNs, not outputs: the roles
    are created after the key, so the policy matches them on `aws:PrincipalArn`."""


class KeyRing(pulumi.ComponentResource):
    """The stack's KMS keys (`keys[purpose]`) and the Auto Scaling service-linked role the EBS key admits."""

    keys: dict[str, aws.kms.Key]
    autoscaling_role: aws.iam.ServiceLinkedRole

    def __init__(self, name: str, args: KeyRingArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        super().__init__("idpkit:aws:KeyRing", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        # A dedicated Auto Scaling role: a CMK-encrypted launch template needs the role named in the key
        # policy, and the account's default role may not exist yet.
        self.autoscaling_role = aws.iam.ServiceLinkedRole(
            f"{name}-autoscaling",
            aws_service_name="autoscaling.amazonaws.com",
            custom_suffix=name,
            description=f"Auto Scaling for {name}; the only principal allowed to use the EBS key",
            opts=child,
        )
        self.keys = {}
        for purpose in PURPOSES:
            policy = self.autoscaling_role.arn.apply(
                lambda role_arn, purpose=purpose: json.dumps(
                    {"Version": "2012-10-17", "Statement": _statements(purpose, args, role_arn)}
                )
            )
            key = aws.kms.Key(
                f"{name}-{purpose}",
                description=f"{name}: {purpose}",
                key_usage="ENCRYPT_DECRYPT",
                customer_master_key_spec="SYMMETRIC_DEFAULT",
                # HIPAA 164.312(a)(2)(iv): yearly automatic rotation of every symmetric key.
                enable_key_rotation=True,
                rotation_period_in_days=365,
                deletion_window_in_days=30,
                policy=policy,
                # The lockout safety check stays on: a policy that locks out its administrators is refused.
                bypass_policy_lockout_safety_check=False,
                tags={"purpose": purpose},
                opts=child,
            )
            aws.kms.Alias(
                f"{name}-{purpose}-alias", name=f"alias/{name}-{purpose}", target_key_id=key.key_id, opts=child
            )
            self.keys[purpose] = key
        self.register_outputs({purpose: key.arn for purpose, key in self.keys.items()})


def _validate(args: KeyRingArgs) -> None:
    if not args.administrator_arns:
        raise ValueError("administrator_arns: at least one key administrator is required")
    if not args.log_group_prefixes:
        raise ValueError("log_group_prefixes: at least one log group prefix is required")
    for prefix in args.log_group_prefixes:
        if "*" in prefix:
            raise ValueError(f"log_group_prefixes: {prefix!r} must not contain wildcards")
    if not args.signing_user_arns:
        raise ValueError("signing_user_arns: the signing key rotation role is required")
    for arn in args.signing_user_arns:
        if not arn.startswith(f"arn:aws:iam::{args.account_id}:role/") or "*" in arn:
            raise ValueError(f"signing_user_arns: {arn!r} must be a role ARN of account {args.account_id}")


def _statements(purpose: str, args: KeyRingArgs, autoscaling_role_arn: str) -> list[dict[str, Any]]:
    account_root = f"arn:aws:iam::{args.account_id}:root"
    statements: list[dict[str, Any]] = [
        {
            "Sid": "KeyAdministration",
            "Effect": "Allow",
            "Principal": {"AWS": list(args.administrator_arns)},
            "Action": ADMIN_ACTIONS,
            "Resource": "*",
        }
    ]
    if purpose == "database":
        statements += _via_service(account_root, args, "rds", [*USE_ACTIONS, "kms:CreateGrant", "kms:ListGrants"])
    elif purpose == "secrets":
        # Instance roles and operators still need an IAM policy naming this key; the key policy only
        # confines every use to Secrets Manager.
        statements += _via_service(account_root, args, "secretsmanager", [*USE_ACTIONS, "kms:CreateGrant"])
    elif purpose == "signing":
        statements += _signing_statements(account_root, args)
    elif purpose == "ebs":
        statements += [
            {
                "Sid": "AutoScalingUse",
                "Effect": "Allow",
                "Principal": {"AWS": autoscaling_role_arn},
                "Action": USE_ACTIONS,
                "Resource": "*",
            },
            {
                "Sid": "AutoScalingAttachPersistentResources",
                "Effect": "Allow",
                "Principal": {"AWS": autoscaling_role_arn},
                "Action": "kms:CreateGrant",
                "Resource": "*",
                "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}},
            },
        ]
    elif purpose == "logs":
        statements += _logs_statements(account_root, args)
    elif purpose == "alerts":
        statements += [
            {
                # CloudWatch alarms publish to the encrypted topic: the publishing service encrypts (AWS SNS docs,
                # "encrypted topics and AWS service event sources"); the topic policy binds it to this account.
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
            },
            *_via_service(account_root, args, "sns", ["kms:Decrypt", "kms:GenerateDataKey*", "kms:DescribeKey"]),
        ]
    elif purpose == "sessions":
        statements.append(
            {
                # Session Manager clients and agents call KMS directly (no kms:ViaService): the operator's role
                # generates the session's data key, the host's instance role decrypts it. IAM names who.
                "Sid": "SessionManagerParticipants",
                "Effect": "Allow",
                "Principal": {"AWS": account_root},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:CallerAccount": args.account_id}},
            }
        )
    return statements


def _via_service(account_root: str, args: KeyRingArgs, service: str, actions: list[str]) -> list[dict[str, Any]]:
    return [
        {
            "Sid": f"UseVia{service.capitalize()}",
            "Effect": "Allow",
            "Principal": {"AWS": account_root},
            "Action": actions,
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"{service}.{args.region}.amazonaws.com",
                    "kms:CallerAccount": args.account_id,
                }
            },
        }
    ]


def _signing_statements(account_root: str, args: KeyRingArgs) -> list[dict[str, Any]]:
    """Only the rotation role, only through Secrets Manager; administrators manage but never use the key."""
    secrets_manager = f"secretsmanager.{args.region}.amazonaws.com"
    users = list(args.signing_user_arns)
    return [
        {
            "Sid": "RotationRoleUseViaSecretsManager",
            "Effect": "Allow",
            "Principal": {"AWS": account_root},
            "Action": SIGNING_USE_ACTIONS,
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": secrets_manager,
                    "kms:CallerAccount": args.account_id,
                    "aws:PrincipalArn": users,
                }
            },
        },
        {
            # Whatever an IAM policy or a future key policy statement grants: nobody else decrypts.
            "Sid": "DenyUseByAnyOtherPrincipal",
            "Effect": "Deny",
            "Principal": "*",
            "Action": CRYPTO_ACTIONS,
            "Resource": "*",
            "Condition": {"StringNotEquals": {"aws:PrincipalArn": users}},
        },
        {
            # Not even the rotation role calls KMS directly: every decrypt is a Secrets Manager read.
            "Sid": "DenyUseOutsideSecretsManager",
            "Effect": "Deny",
            "Principal": "*",
            "Action": CRYPTO_ACTIONS,
            "Resource": "*",
            "Condition": {"StringNotEquals": {"kms:ViaService": secrets_manager}},
        },
    ]


def _logs_statements(account_root: str, args: KeyRingArgs) -> list[dict[str, Any]]:
    log_group_arns = [
        f"arn:aws:logs:{args.region}:{args.account_id}:log-group:{prefix}*" for prefix in args.log_group_prefixes
    ]
    statements: list[dict[str, Any]] = [
        {
            # CloudWatch Logs may use the key only for this stack's log groups.
            "Sid": "CloudWatchLogs",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{args.region}.amazonaws.com"},
            "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "Resource": "*",
            "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": log_group_arns}},
        },
        {
            # Auditors read the SSE-KMS audit bucket through S3; IAM decides who they are.
            "Sid": "AuditReadViaS3",
            "Effect": "Allow",
            "Principal": {"AWS": account_root},
            "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"s3.{args.region}.amazonaws.com",
                    "kms:CallerAccount": args.account_id,
                }
            },
        },
    ]
    if args.trail_name is not None:
        trail_arn = f"arn:aws:cloudtrail:{args.region}:{args.account_id}:trail/{args.trail_name}"
        statements += [
            {
                # HIPAA 164.312(b): CloudTrail encrypts the trail's log files, for this trail only.
                "Sid": "CloudTrailEncrypt",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:GenerateDataKey*",
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceArn": trail_arn},
                    "StringLike": {
                        "kms:EncryptionContext:aws:cloudtrail:arn": f"arn:aws:cloudtrail:*:{args.account_id}:trail/*"
                    },
                },
            },
            {
                "Sid": "CloudTrailDescribe",
                "Effect": "Allow",
                "Principal": {"Service": "cloudtrail.amazonaws.com"},
                "Action": "kms:DescribeKey",
                "Resource": "*",
                "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
            },
        ]
    return statements
