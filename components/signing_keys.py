"""Realm signing keys on AWS: the encrypted key store, the rotation role, the signer role and the schedule.

With KMS signing (`kms_signing`, every shipped stack) the rotation creates each realm signing key in KMS
(non-exportable) and Keycloak signs through the kit's provider as the sign-only role `signer_role_name`; the
rotation role's own KMS rights stop at creating tagged signing keys and naming them (each key's policy,
idpkit.keys.kms_policy, grants the rest). KMS cannot rotate asymmetric keys, so `idpkit keys` rotates them,
keeping the rotation state (and, with imported keys, the key material) in a Secrets Manager secret encrypted
with the signing-material KMS key. The secret's resource policy lets only the rotation role read or write its
value, and every read is a `kms:Decrypt` through Secrets Manager that CloudTrail records against that role's session
(`idpkit-keys-rotation`). An EventBridge Scheduler schedule runs `idpkit keys rotate --stage auto` on
the Keycloak hosts through SSM Run Command, one host at a time: each run does only what is due
(resume a stage, retire after the passive window, rotate an old key) and nothing otherwise.

The rotation role has a fixed name (`rotation_role_name`), so the signing-material key policy, created
before the role, can name it (`aws:PrincipalArn`), and the hosts' instance role may assume exactly it. Its
trust rests on what the caller cannot choose: the scheduler only for this stack's schedule group
(`aws:SourceArn`), the hosts' role only with instance credentials delivered inside the stack's VPC
(`aws:Ec2InstanceSourceVPC`, so credentials copied off a host are useless) and, on the host, only root can
fetch those credentials (Keycloak's and HAProxy's users cannot reach instance metadata: idpkit/host/firewall.py).
The fixed session name it also requires only labels the sessions in CloudTrail.

Each run's output goes to the Run Command log group; a failed run writes ROTATION_FAILURE_MARKER to stderr,
which the stack's alarm counts (components/monitoring.py).
On the host the command reads the stack's outputs from `outputs_file` (written by the host's user data:
`admin_url` is Keycloak's loopback listener) and the key store and role from the environment
(`IDPKIT_OUTPUTS_FILE`, `IDPKIT_KEY_STORE`, `IDPKIT_KEYS_ROLE_ARN`).
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from idpkit.constants.aws import (
    PURPOSE_TAG_KEY,
    ROTATION_ROLE_PURPOSE,
    SIGNER_ROLE_PURPOSE,
    SIGNING_KEY_PURPOSE,
    SIGNING_KEY_SPECS,
    STACK_TAG_KEY,
)
from idpkit.constants.monitoring import ROTATION_FAILURE_MARKER, SECRET_ROTATION_TAG
from idpkit.host.kms_provider import SESSION_NAME as SIGNER_SESSION_NAME
from idpkit.keys.kms import ALIAS_PREFIX, SIGNER_ROLE_ENV, SIGNING_ENV
from idpkit.outputs import OUTPUTS_FILE_ENV

RUN_SHELL_SCRIPT = "AWS-RunShellScript"
SEND_COMMAND_TARGET = "arn:aws:scheduler:::aws-sdk:ssm:sendCommand"
SESSION_NAME = "idpkit-keys-rotation"
"""Matches idpkit.keys.store.ROTATION_SESSION_NAME: how CloudTrail names the rotation's sessions."""
RECOVERY_WINDOW_DAYS = 30
# Secret actions that touch the key material; management actions (describe, tag, policy) stay with IAM.
SECRET_DATA_ACTIONS = [
    "secretsmanager:GetSecretValue",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:RotateSecret",
]
_SCHEDULE = re.compile(r"^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(.+\))$")
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
# IAM role names: up to 64 characters.
_ROLE_NAME = re.compile(r"^[\w+=,.@-]{1,64}$")
KEY_STORE_ENV = "IDPKIT_KEY_STORE"
ROLE_ENV = "IDPKIT_KEYS_ROLE_ARN"
"""The envvars of `idpkit keys`' --key-store / --assume-role options (idpkit/cli/keys.py)."""


def rotation_role_name(component_name: str) -> str:
    """The name of the rotation role of the SigningKeys component called `component_name`."""
    return f"{component_name}-rotation"


def signer_role_name(component_name: str) -> str:
    """The hosts' sign-only role: Keycloak's KMS credentials (assumed by a root-run refresher on each host)."""
    return f"{component_name}-signer"


def rotation_role_arn(account_id: str, component_name: str) -> str:
    """Its ARN, known before the role exists (the signing key policy and the host role need it first)."""
    return f"arn:aws:iam::{account_id}:role/{rotation_role_name(component_name)}"


def signer_role_arn(account_id: str, component_name: str) -> str:
    """The sign-only role's ARN, known before it exists (the host configuration and the host role name it)."""
    return f"arn:aws:iam::{account_id}:role/{signer_role_name(component_name)}"


@dataclass(frozen=True)
class SigningKeysArgs:
    """Inputs of the signing keys component."""

    environment: str
    """Stack name (`dev`, `staging`, `prod`): the `--stack` the scheduled command acts on."""
    account_id: str
    """The stack's 12-digit AWS account."""
    region: str
    """The stack's region (SSM documents, `kms:ViaService`)."""
    signing_key_arn: pulumi.Input[str]
    """ARN of the signing-material KMS key (KeyRing `keys["signing"]`); encrypts the key store secret."""
    host_role_arn: pulumi.Input[str]
    """Instance role of the Keycloak hosts: the scheduled command assumes the rotation role from it."""
    vpc_id: pulumi.Input[str]
    """The stack's VPC: the hosts' role may assume the rotation role only with credentials delivered there."""
    instance_tag_key: str
    """Tag key that marks Keycloak hosts (SSM targets and the `ssm:resourceTag` condition)."""
    instance_tag_value: str
    """Value of `instance_tag_key` on Keycloak hosts."""
    schedule_expression: str = "rate(1 day)"
    """How often the scheduled step runs (`rate(...)` or `cron(...)`); rotation itself happens every
    `rotation_days`, retirement once the passive window has elapsed."""
    rotation_days: int = 90
    """Age of the signing key at which the scheduled step starts a rotation (Keycloak: every 3-6 months)."""
    idpkit_command: str = "/opt/idpkit/bin/idpkit"
    """Path of the `idpkit` executable on the hosts (the venv the host's user data installs)."""
    outputs_file: str = "/etc/idpkit/outputs.json"
    """The stack outputs as seen from the host (written by the host's user data), `IDPKIT_OUTPUTS_FILE`."""
    command_log_group: str | None = None
    """CloudWatch log group for the Run Command output; `None` keeps it in SSM only."""
    kms_signing: bool = False
    """`True`: realm keys live in KMS (Keycloak signs through the kit's provider as the sign-only role
    `signer_role_name`); the rotation role creates and administers them. `False`: imported key material."""


class SigningKeys(pulumi.ComponentResource):
    """Key store secret, its resource policy, the rotation role and the rotation schedule."""

    secret: aws.secretsmanager.Secret
    secret_policy: aws.secretsmanager.SecretPolicy
    rotation_role: aws.iam.Role
    rotation_policy: aws.iam.RolePolicy
    schedule_group: aws.scheduler.ScheduleGroup
    schedule: aws.scheduler.Schedule
    signer_role: aws.iam.Role | None

    def __init__(self, name: str, args: SigningKeysArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        _validate(args)
        if not _ROLE_NAME.match(rotation_role_name(name)):
            raise ValueError(f"name: {name!r} gives the invalid IAM role name {rotation_role_name(name)!r}")
        super().__init__("idpkit:aws:SigningKeys", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.secret = aws.secretsmanager.Secret(
            f"{name}-store",
            description=f"idpkit {args.environment}: realm signing key material and rotation state (written by idpkit)",
            # HIPAA 164.312(a)(2)(iv): customer-managed key, used only through Secrets Manager.
            kms_key_id=args.signing_key_arn,
            recovery_window_in_days=RECOVERY_WINDOW_DAYS,
            # The schedule below rotates the keys it holds.
            tags={"purpose": "signing-keys", SECRET_ROTATION_TAG: "scheduled:runbooks/signing-key-rotation.md"},
            opts=child,
        )
        self.rotation_role = aws.iam.Role(
            f"{name}-rotation",
            # Fixed: the signing key policy and the host role name it before it exists.
            name=rotation_role_name(name),
            description=f"idpkit {args.environment}: realm signing key rotation (the only user of the key store)",
            assume_role_policy=pulumi.Output.all(args.host_role_arn, args.vpc_id).apply(
                lambda values: json.dumps(_trust_policy(args, values[0], values[1], name))
            ),
            max_session_duration=3600,
            tags={PURPOSE_TAG_KEY: ROTATION_ROLE_PURPOSE, STACK_TAG_KEY: args.environment},
            opts=child,
        )
        self.signer_role = None
        if args.kms_signing:
            # No identity policy: each key's own policy grants this role Sign/GetPublicKey (idpkit.keys.kms_policy).
            self.signer_role = aws.iam.Role(
                f"{name}-signer",
                name=signer_role_name(name),
                description=f"idpkit {args.environment}: Keycloak signs realm tokens with KMS (Sign only)",
                assume_role_policy=pulumi.Output.all(args.host_role_arn, args.vpc_id).apply(
                    lambda values: json.dumps(_signer_trust_policy(values[0], values[1]))
                ),
                max_session_duration=3600,
                tags={PURPOSE_TAG_KEY: SIGNER_ROLE_PURPOSE, STACK_TAG_KEY: args.environment},
                opts=child,
            )
        self.rotation_policy = aws.iam.RolePolicy(
            f"{name}-rotation",
            role=self.rotation_role.id,
            policy=pulumi.Output.all(self.secret.arn, args.signing_key_arn).apply(
                lambda values: json.dumps(_rotation_policy(args, values[0], values[1]))
            ),
            opts=child,
        )
        self.secret_policy = aws.secretsmanager.SecretPolicy(
            f"{name}-store",
            secret_arn=self.secret.arn,
            block_public_policy=True,
            policy=self.rotation_role.arn.apply(lambda role_arn: json.dumps(_secret_policy(role_arn))),
            opts=child,
        )
        # Its own group: the role's trust names it, and the scheduler's metrics for it are the rotation's alone.
        self.schedule_group = aws.scheduler.ScheduleGroup(f"{name}-schedules", name=name, opts=child)
        self.schedule = aws.scheduler.Schedule(
            f"{name}-rotation",
            group_name=self.schedule_group.name,
            description=f"idpkit {args.environment}: scheduled signing key rotation step",
            schedule_expression=args.schedule_expression,
            schedule_expression_timezone="UTC",
            flexible_time_window=aws.scheduler.ScheduleFlexibleTimeWindowArgs(mode="OFF"),
            state="ENABLED",
            target=aws.scheduler.ScheduleTargetArgs(
                arn=SEND_COMMAND_TARGET,
                role_arn=self.rotation_role.arn,
                input=pulumi.Output.all(self.secret.arn, self.rotation_role.arn).apply(
                    lambda values: json.dumps(_send_command(args, values[0], values[1], name))
                ),
                retry_policy=aws.scheduler.ScheduleTargetRetryPolicyArgs(
                    maximum_retry_attempts=2, maximum_event_age_in_seconds=3600
                ),
            ),
            opts=child,
        )
        self.register_outputs({
            "secret_arn": self.secret.arn,
            "rotation_role_arn": self.rotation_role.arn,
            "schedule_arn": self.schedule.arn,
            "schedule_group": self.schedule_group.name,
        })  # fmt: skip


def schedule_group_arn(region: str, account_id: str, component_name: str) -> str:
    """The ARN of the schedule group of the SigningKeys component called `component_name`."""
    return f"arn:aws:scheduler:{region}:{account_id}:schedule-group/{component_name}"


def rotation_command(args: SigningKeysArgs, secret_arn: str, role_arn: str, component_name: str = "") -> str:
    """The shell command each scheduled run executes on a Keycloak host: the host's outputs file, the key
    store and the rotation role through the environment `idpkit keys` reads, then the auto stage (with
    KMS signing: the region and the sign-only role every new key's policy names)."""
    environment = {OUTPUTS_FILE_ENV: args.outputs_file, KEY_STORE_ENV: secret_arn, ROLE_ENV: role_arn}
    if args.kms_signing:
        environment |= {
            SIGNING_ENV: "kms",
            "AWS_REGION": args.region,
            SIGNER_ROLE_ENV: signer_role_arn(args.account_id, component_name),
        }
    return " ".join([
        *(f"{variable}={shlex.quote(value)}" for variable, value in environment.items()),
        shlex.quote(args.idpkit_command), "keys", "rotate", "--stage", "auto",
        "--stack", shlex.quote(args.environment), "--every", str(args.rotation_days), "--json",
    ])  # fmt: skip


def _validate(args: SigningKeysArgs) -> None:
    if not _NAME.match(args.environment):
        raise ValueError(f"environment: {args.environment!r} must be 1-32 letters, digits, '-' or '_'")
    if not re.fullmatch(r"\d{12}", args.account_id):
        raise ValueError(f"account_id: {args.account_id!r} must be a 12-digit AWS account id")
    if not re.fullmatch(r"[a-z]{2}(-[a-z]+)+-\d", args.region):
        raise ValueError(f"region: {args.region!r} is not an AWS region name")
    if not args.instance_tag_key or not args.instance_tag_value:
        raise ValueError("instance_tag_key/instance_tag_value: both are required to target only Keycloak hosts")
    if not _SCHEDULE.match(args.schedule_expression):
        raise ValueError(f"schedule_expression: {args.schedule_expression!r} must be rate(...) or cron(...)")
    if not 1 <= args.rotation_days <= 365:
        raise ValueError(f"rotation_days: {args.rotation_days} must be between 1 and 365")
    if not args.idpkit_command.startswith("/"):
        raise ValueError(f"idpkit_command: {args.idpkit_command!r} must be an absolute path")
    if not args.outputs_file.startswith("/"):
        raise ValueError(f"outputs_file: {args.outputs_file!r} must be an absolute path")
    if args.command_log_group is not None and not re.fullmatch(r"[\w./#-]{1,512}", args.command_log_group):
        raise ValueError(f"command_log_group: {args.command_log_group!r} is not a CloudWatch log group name")


def _trust_policy(args: SigningKeysArgs, host_role_arn: str, vpc_id: str, component_name: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # Only this stack's schedule group in this account (confused-deputy guard).
                "Sid": "SchedulerSendsTheCommand",
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": args.account_id},
                    "ArnEquals": {"aws:SourceArn": schedule_group_arn(args.region, args.account_id, component_name)},
                },
            },
            {
                # Access rests on where the caller's credentials were delivered: an instance in the stack's VPC
                # (a key the caller cannot set). The fixed session name only labels the sessions, so CloudTrail
                # shows every key store read as the rotation, never as the host.
                "Sid": "HostRunsTheRotation",
                "Effect": "Allow",
                "Principal": {"AWS": host_role_arn},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:Ec2InstanceSourceVPC": vpc_id, "sts:RoleSessionName": SESSION_NAME}
                },
            },
        ],
    }


def _signer_trust_policy(host_role_arn: str, vpc_id: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                # Like the rotation role: only with instance credentials delivered in the stack's VPC (on the host,
                # only root reaches them); the fixed session name labels the refresher's sessions in CloudTrail.
                "Sid": "HostRefresherAssumes",
                "Effect": "Allow",
                "Principal": {"AWS": host_role_arn},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:Ec2InstanceSourceVPC": vpc_id, "sts:RoleSessionName": SIGNER_SESSION_NAME}
                },
            }
        ],
    }


def _kms_administration(args: SigningKeysArgs) -> list[dict[str, Any]]:
    """The rotation role creates SIGN_VERIFY keys of the two JWS key specs, tagged for its stack, never bypassing
    KMS's lockout check, and names them by its stack's aliases. Everything else it does to a key (describe, read
    the public key, disable, schedule deletion, point an alias at it), the key's own policy grants it, and only
    on the keys it created (idpkit.keys.kms_policy): those policies have no account statement, so no IAM policy
    reaches them."""
    alias = f"arn:aws:kms:{args.region}:{args.account_id}:{ALIAS_PREFIX}{args.environment}-*"
    return [
        {
            "Sid": "CreateSigningKeys",
            "Effect": "Allow",
            "Action": ["kms:CreateKey", "kms:TagResource"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:KeyUsage": "SIGN_VERIFY",
                    "kms:KeySpec": list(SIGNING_KEY_SPECS.values()),
                    f"aws:RequestTag/{PURPOSE_TAG_KEY}": SIGNING_KEY_PURPOSE,
                    f"aws:RequestTag/{STACK_TAG_KEY}": args.environment,
                },
                "ForAllValues:StringEquals": {"aws:TagKeys": [PURPOSE_TAG_KEY, STACK_TAG_KEY]},
                "Bool": {"kms:BypassPolicyLockoutSafetyCheck": "false"},
            },
        },
        {
            "Sid": "SigningKeyAliases",
            "Effect": "Allow",
            "Action": ["kms:CreateAlias", "kms:UpdateAlias"],
            "Resource": alias,
        },
        {"Sid": "ListAliases", "Effect": "Allow", "Action": "kms:ListAliases", "Resource": "*"},
    ]


def _rotation_policy(args: SigningKeysArgs, secret_arn: str, key_arn: str) -> dict[str, Any]:
    kms_statements = _kms_administration(args) if args.kms_signing else []
    return {
        "Version": "2012-10-17",
        "Statement": [
            *kms_statements,
            {
                "Sid": "KeyStore",
                "Effect": "Allow",
                "Action": [
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:DescribeSecret",
                ],
                "Resource": secret_arn,
            },
            {
                "Sid": "KeyStoreEncryption",
                "Effect": "Allow",
                "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
                "Resource": key_arn,
                "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{args.region}.amazonaws.com"}},
            },
            {
                "Sid": "RunOnKeycloakHosts",
                "Effect": "Allow",
                "Action": "ssm:SendCommand",
                "Resource": f"arn:aws:ec2:{args.region}:{args.account_id}:instance/*",
                "Condition": {"StringEquals": {f"ssm:resourceTag/{args.instance_tag_key}": args.instance_tag_value}},
            },
            {
                "Sid": "RunShellScriptDocument",
                "Effect": "Allow",
                "Action": "ssm:SendCommand",
                "Resource": f"arn:aws:ssm:{args.region}::document/{RUN_SHELL_SCRIPT}",
            },
        ],
    }


def _secret_policy(rotation_role_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyTheRotationRoleTouchesKeyMaterial",
                "Effect": "Deny",
                "Principal": "*",
                "Action": SECRET_DATA_ACTIONS,
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalArn": rotation_role_arn}},
            },
            {
                "Sid": "RotationRoleReadsAndWrites",
                "Effect": "Allow",
                "Principal": {"AWS": rotation_role_arn},
                "Action": [
                    "secretsmanager:GetSecretValue",
                    "secretsmanager:PutSecretValue",
                    "secretsmanager:DescribeSecret",
                ],
                "Resource": "*",
            },
        ],
    }


def _report_failure() -> str:
    """The script's second line: a failure of the first, whatever failed, leaves the marker in stderr, and the
    script keeps its exit status (Run Command's own verdict)."""
    return (
        f'status=$?; if [ "$status" -ne 0 ]; then echo "{ROTATION_FAILURE_MARKER} exit=$status" >&2; fi; exit "$status"'
    )


def _send_command(args: SigningKeysArgs, secret_arn: str, role_arn: str, component_name: str = "") -> dict[str, Any]:
    command: dict[str, Any] = {
        "DocumentName": RUN_SHELL_SCRIPT,
        "Targets": [{"Key": f"tag:{args.instance_tag_key}", "Values": [args.instance_tag_value]}],
        # One host at a time: the first does what is due, the rest find nothing to do (every stage is idempotent).
        "MaxConcurrency": "1",
        "MaxErrors": "0",
        "TimeoutSeconds": 600,
        "Comment": f"idpkit {args.environment}: scheduled signing key rotation step",
        "Parameters": {
            "commands": [rotation_command(args, secret_arn, role_arn, component_name), _report_failure()],
            "executionTimeout": ["900"],
        },
    }
    if args.command_log_group:
        command["CloudWatchOutputConfig"] = {
            "CloudWatchLogGroupName": args.command_log_group,
            "CloudWatchOutputEnabled": True,
        }
    return command
