"""What the stack alarms on, and which runbook each alarm sends the on-call engineer to.

The Pulumi program declares these metric filters and alarms (components/monitoring.py) and the policy rules
require each of them (idpkit/policy/monitoring.py); both read this catalogue, so neither can drift from it.
Every alarm's description names its runbook (`runbook_reference`), and runbooks/README.md maps the alarm
names back to the same runbooks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

RUNBOOK_REFERENCE = re.compile(r"runbooks/[a-z0-9-]+\.md")
"""How an alarm description names its runbook (a path from the repository root)."""

ALARM_NAMESPACE = "idpkit"
"""CloudWatch namespace of the metrics the stack's metric filters publish (dimension `stack`)."""

LOG_CONTENT_TAG = "idpkit:logs"
"""Tags each of the stack's log groups with what it holds: the monitoring rules find Keycloak's events by it."""
KEYCLOAK_EVENTS_LOGS = "keycloak-events"
"""LOG_CONTENT_TAG value of the group that receives Keycloak's login and admin events."""

ROTATION_FAILURE_MARKER = "idpkit-scheduled-rotation-failed"
"""Written to stderr by the scheduled signing key rotation when it fails (whatever the cause: the kit, the
shell, a missing binary), so the Run Command output log group can count failures."""

SECRET_ROTATION_TAG = "idpkit:rotation"  # noqa: S105  # a tag key
"""Every Secrets Manager secret declares how it is rotated: `<kind>:<document>`, the document a runbook or
docs/aws.md (whose "Secrets and their rotation" table describes each secret)."""
SECRET_ROTATION_KINDS = ("scheduled", "procedure", "exception")
"""`scheduled`: a schedule of the stack rotates it; `procedure`: an operator procedure does (on expiry, use or
compromise); `exception`: it is not rotated, and the document says why."""


def runbook_reference(runbook: str) -> str:
    """The text an alarm description carries to name `runbook` (a file in runbooks/)."""
    return f"Runbook: runbooks/{runbook}"


@dataclass(frozen=True)
class LogAlarm:
    """An alarm on a metric that a metric filter counts from a log group."""

    key: str
    """Short name: the metric's name and the alarm name's suffix."""
    title: str
    reference: str
    """The control it implements (CIS AWS Foundations Benchmark section, AWS Security Hub control, HIPAA)."""
    pattern: str
    """CloudWatch Logs filter pattern."""
    runbook: str
    threshold: int = 1
    """Matching events per period that raise the alarm."""
    period_seconds: int = 300


_IAM_POLICY_EVENTS = (
    "DeleteGroupPolicy", "DeleteRolePolicy", "DeleteUserPolicy", "PutGroupPolicy", "PutRolePolicy", "PutUserPolicy",
    "CreatePolicy", "DeletePolicy", "CreatePolicyVersion", "DeletePolicyVersion", "AttachRolePolicy",
    "DetachRolePolicy", "AttachUserPolicy", "DetachUserPolicy", "AttachGroupPolicy", "DetachGroupPolicy",
)  # fmt: skip
_SECURITY_GROUP_EVENTS = (
    "AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupEgress", "RevokeSecurityGroupIngress",
    "RevokeSecurityGroupEgress", "CreateSecurityGroup", "DeleteSecurityGroup",
)  # fmt: skip
_NACL_EVENTS = (
    "CreateNetworkAcl", "CreateNetworkAclEntry", "DeleteNetworkAcl", "DeleteNetworkAclEntry",
    "ReplaceNetworkAclEntry", "ReplaceNetworkAclAssociation",
)  # fmt: skip
_TRAIL_EVENTS = ("CreateTrail", "UpdateTrail", "DeleteTrail", "StartLogging", "StopLogging", "PutEventSelectors")
_BUCKET_POLICY_EVENTS = (
    "PutBucketAcl", "PutBucketPolicy", "PutBucketCors", "PutBucketLifecycle", "PutBucketReplication",
    "DeleteBucketPolicy", "DeleteBucketCors", "DeleteBucketLifecycle", "DeleteBucketReplication",
)  # fmt: skip


def _any_event(names: tuple[str, ...], source: str | None = None) -> str:
    events = " || ".join(f"($.eventName = {name})" for name in names)
    return f"{{ ($.eventSource = {source}) && ({events}) }}" if source else f"{{ {events} }}"


SECURITY_RUNBOOK = "aws-security-alarm.md"

CIS_ALARMS: tuple[LogAlarm, ...] = (
    LogAlarm(
        "root-account-use",
        "The account's root user was used",
        "CIS AWS 4.3 / Security Hub CloudWatch.1",
        '{ $.userIdentity.type = "Root" && $.userIdentity.invokedBy NOT EXISTS && $.eventType != "AwsServiceEvent" }',
        SECURITY_RUNBOOK,
    ),
    LogAlarm(
        "iam-policy-changes",
        "An IAM policy was created, changed, attached or detached",
        "CIS AWS 4.4 / Security Hub CloudWatch.4",
        _any_event(_IAM_POLICY_EVENTS),
        SECURITY_RUNBOOK,
    ),
    LogAlarm(
        "cloudtrail-changes",
        "A CloudTrail trail was created, changed, stopped or deleted",
        "CIS AWS 4.5 / Security Hub CloudWatch.5",
        _any_event(_TRAIL_EVENTS),
        SECURITY_RUNBOOK,
    ),
    LogAlarm(
        "console-sign-in-failures",
        "Failed AWS console sign-ins",
        "CIS AWS 4.6 / Security Hub CloudWatch.6",
        '{ ($.eventName = ConsoleLogin) && ($.errorMessage = "Failed authentication") }',
        SECURITY_RUNBOOK,
    ),
    LogAlarm(
        "kms-key-disabled-or-deletion-scheduled",
        "A KMS key was disabled or scheduled for deletion",
        "CIS AWS 4.7 / Security Hub CloudWatch.7",
        _any_event(("DisableKey", "ScheduleKeyDeletion"), "kms.amazonaws.com"),
        SECURITY_RUNBOOK,
    ),
    LogAlarm(
        "kms-key-policy-changes",
        "A KMS key policy was replaced",
        "HIPAA 164.312(a)(2)(iv): who can decrypt ePHI changed",
        _any_event(("PutKeyPolicy",), "kms.amazonaws.com"),
        SECURITY_RUNBOOK,
    ),
    LogAlarm(
        "s3-bucket-policy-changes",
        "An S3 bucket policy, ACL, CORS, lifecycle or replication setting changed",
        "CIS AWS 4.8 / Security Hub CloudWatch.8",
        _any_event(_BUCKET_POLICY_EVENTS, "s3.amazonaws.com"),
        SECURITY_RUNBOOK,
    ),
    LogAlarm(
        "security-group-changes",
        "A security group or one of its rules changed",
        "CIS AWS 4.10 / Security Hub CloudWatch.10",
        _any_event(_SECURITY_GROUP_EVENTS),
        SECURITY_RUNBOOK,
    ),
    LogAlarm(
        "network-acl-changes",
        "A network ACL or one of its entries changed",
        "CIS AWS 4.11 / Security Hub CloudWatch.11",
        _any_event(_NACL_EVENTS),
        SECURITY_RUNBOOK,
    ),
)
"""CloudTrail metric filters on the trail's log group, each with an alarm (HIPAA 164.312(b), 164.308(a)(6)(ii))."""

LOGIN_FAILURES = LogAlarm(
    "keycloak-login-failures",
    "Burst of failed user logins (LOGIN_ERROR events)",
    "HIPAA 164.308(a)(5)(ii)(C) log-in monitoring",
    # `type="LOGIN_ERROR"` in Keycloak's event log line; the one-character wildcard stands for the quote, which a
    # CloudWatch regular expression cannot contain, and keeps CLIENT_LOGIN_ERROR out.
    "%type=.LOGIN_ERROR%",
    "brute-force-lockout.md",
    threshold=50,
)
"""On the Keycloak event log group."""

ROTATION_FAILURES = LogAlarm(
    "signing-key-rotation-failed",
    "The scheduled signing key rotation failed on a host",
    "RFC 9700 / kit: signing keys rotated every 90 days",
    f'"{ROTATION_FAILURE_MARKER}"',
    "signing-key-rotation.md",
    period_seconds=3600,
)
"""On the Run Command output log group of the scheduled rotation."""


@dataclass(frozen=True)
class ServiceAlarm:
    """An alarm on a metric an AWS service publishes about one of the stack's resources."""

    key: str
    title: str
    namespace: str
    metric: str
    dimension: str
    """The dimension naming the resource (its ARN suffix or name)."""
    statistic: str
    threshold: int
    runbook: str
    period_seconds: int = 60
    evaluation_periods: int = 5


OUTAGE_RUNBOOK = "idp-outage-triage.md"

UNHEALTHY_TARGETS = ServiceAlarm(
    "unhealthy-targets", "A Keycloak host fails its health check", "AWS/ApplicationELB", "UnHealthyHostCount",
    "TargetGroup", "Maximum", 1, OUTAGE_RUNBOOK, evaluation_periods=3,
)  # fmt: skip
LOAD_BALANCER_5XX = ServiceAlarm(
    "load-balancer-5xx", "The load balancer answers 5xx (no healthy host, timeouts)", "AWS/ApplicationELB",
    "HTTPCode_ELB_5XX_Count", "LoadBalancer", "Sum", 10, OUTAGE_RUNBOOK,
)  # fmt: skip
KEYCLOAK_5XX = ServiceAlarm(
    "keycloak-5xx", "Keycloak answers 5xx", "AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", "Sum",
    10, OUTAGE_RUNBOOK,
)  # fmt: skip
SCHEDULE_DROPPED = ServiceAlarm(
    "rotation-schedule-dropped", "The rotation schedule could not send its command", "AWS/Scheduler",
    "InvocationDroppedCount", "ScheduleGroup", "Sum", 1, ROTATION_FAILURES.runbook, period_seconds=3600,
    evaluation_periods=1,
)  # fmt: skip
SCHEDULE_TARGET_ERRORS = ServiceAlarm(
    "rotation-schedule-errors", "SSM refused the rotation schedule's command", "AWS/Scheduler", "TargetErrorCount",
    "ScheduleGroup", "Sum", 1, ROTATION_FAILURES.runbook, period_seconds=3600, evaluation_periods=1,
)  # fmt: skip
