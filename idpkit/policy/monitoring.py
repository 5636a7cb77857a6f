"""The audit trail reaches people: CloudTrail in CloudWatch Logs, S3 data events, and alarms with runbooks.

The alarms the stack must have come from the catalogue the program declares them from
(idpkit/constants/monitoring.py), so a rule cannot pass on a filter pattern or metric the program no longer
uses.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

from idpkit.compliance import RuleMetadata, Severity
from idpkit.constants.aws import S3_OBJECT_RESOURCE_TYPE as S3_OBJECT
from idpkit.constants.monitoring import (
    CIS_ALARMS,
    KEYCLOAK_5XX,
    KEYCLOAK_EVENTS_LOGS,
    LOAD_BALANCER_5XX,
    LOG_CONTENT_TAG,
    LOGIN_FAILURES,
    ROTATION_FAILURE_MARKER,
    ROTATION_FAILURES,
    RUNBOOK_REFERENCE,
    SCHEDULE_DROPPED,
    SCHEDULE_TARGET_ERRORS,
    UNHEALTHY_TARGETS,
    LogAlarm,
    ServiceAlarm,
)
from idpkit.policy import resource_types as t
from idpkit.policy.audit import is_artifact_bucket
from idpkit.policy.core import (
    Environment,
    Res,
    Stack,
    customer_managed_key_problem,
    get,
    items,
    present,
    resource_rule,
    stack_rule,
)

SEND_COMMAND = "ssm:sendCommand"
_AUDIT = ("HIPAA-164.312(b)", "HIPAA-164.308(a)(1)(ii)(D)")


def _alarms_on(
    stack: Stack, namespace: str, metric: str, dimensions: Callable[[Res], bool] = lambda _a: True
) -> list[Res]:
    """The stack's alarms on `namespace`/`metric` that notify someone and whose dimensions pass `dimensions`."""
    return [
        alarm
        for alarm in stack.of_type((t.METRIC_ALARM,))
        if get(alarm.props, "namespace") == namespace
        and get(alarm.props, "metricName") == metric
        and items(alarm.props, "alarmActions")
        and dimensions(alarm)
    ]


def _log_alarm_problem(group: Res, stack: Stack, alarm: LogAlarm) -> str | None:
    """Why `group` lacks the metric filter and alarm of `alarm`, or None."""
    filters = [
        f
        for f in stack.referrers(group, (t.METRIC_FILTER,), "logGroupName")
        if " ".join(str(get(f.props, "pattern")).split()) == " ".join(alarm.pattern.split())
    ]
    if not filters:
        return f"log group '{group.name}' has no metric filter for {alarm.key} ({alarm.reference})"
    for metric_filter in filters:
        transformation = get(metric_filter.props, "metricTransformation") or {}
        if _alarms_on(stack, str(get(transformation, "namespace")), str(get(transformation, "name"))):
            return None
    return f"metric filter for {alarm.key} on '{group.name}' has no alarm that notifies anyone"


def _trail_log_group(trail: Res, stack: Stack) -> Res | None:
    def same_group(group: Res) -> Callable[[Any], bool]:
        arn = group.props.get("arn")
        return lambda value: bool(arn) and str(value).removesuffix(":*") == arn

    groups = [
        g for g in stack.of_type((t.LOG_GROUP,)) if stack.linked(trail, "cloudWatchLogsGroupArn", g, same_group(g))
    ]
    return groups[0] if groups else None


@resource_rule(
    RuleMetadata(
        id="AWS-TRAIL-003",
        title="CloudTrail also delivers to CloudWatch Logs",
        requirements=_AUDIT,
        severity=Severity.MEDIUM,
        risk="A trail only in S3 is read after the fact: nothing can alarm on root use, policy changes or key "
        "deletion while they happen.",
        remediation="Set cloud_watch_logs_group_arn (an encrypted log group of the stack, ':*') and "
        "cloud_watch_logs_role_arn (a role cloudtrail.amazonaws.com assumes for this trail only).",
    ),
    types=(t.TRAIL,),
)
def trail_to_cloudwatch(res: Res, _env: Environment) -> Iterator[str]:
    """CloudTrail trails set cloudWatchLogsGroupArn and cloudWatchLogsRoleArn."""
    for key in ("cloudWatchLogsGroupArn", "cloudWatchLogsRoleArn"):
        if not present(res.props, key):
            yield f"{key} is not set"


def _covers(selectors: Sequence[Mapping[str, Any]], bucket_arn: str) -> bool:
    """Whether an advanced selector records data events on the bucket's objects, reads and writes alike."""
    for selector in selectors:
        fields = {get(f, "field"): f for f in items(selector, "fieldSelectors")}
        if get(fields.get("eventCategory", {}), "equals") != ["Data"]:
            continue
        if S3_OBJECT not in (get(fields.get("resources.type", {}), "equals") or []) or "readOnly" in fields:
            continue
        arn_field = fields.get("resources.ARN")
        prefixes = [*(get(arn_field, "startsWiths") or []), *(get(arn_field, "equals") or [])] if arn_field else [""]
        if any(f"{bucket_arn}/".startswith(prefix) for prefix in prefixes):
            return True
    return False


def _legacy_covers(selectors: Sequence[Mapping[str, Any]], bucket_arn: str) -> bool:
    return any(
        get(selector, "readWriteType") in (None, "All")
        and any(
            get(resource, "type") == S3_OBJECT
            and any(f"{bucket_arn}/".startswith(str(value)) for value in get(resource, "values") or [])
            for resource in items(selector, "dataResources")
        )
        for selector in selectors
    )


@stack_rule(
    RuleMetadata(
        id="AWS-TRAIL-004",
        title="CloudTrail records S3 data events for the audit and artifact buckets",
        requirements=(*_AUDIT, "HIPAA-164.312(c)(1)"),
        severity=Severity.MEDIUM,
        risk="Management events do not show who read the audit records or replaced what the hosts install: "
        "tampering with either leaves no trace.",
        remediation="Add advanced event selectors (eventCategory Data, resources.type AWS::S3::Object, "
        "resources.ARN starting with '<bucket ARN>/') for the audit bucket (minus CloudTrail's own PutObject) "
        "and every artifact bucket.",
    ),
    subjects=(t.TRAIL,),
)
def trail_data_events(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Each trail records object-level reads and writes (S3 data events) of the bucket it delivers to and of
    every deployment-artifact bucket of the stack, through advanced or classic event selectors."""
    buckets = stack.targets(res, "s3BucketName", t.BUCKETS)
    buckets += [b for b in stack.of_type(t.BUCKETS) if is_artifact_bucket(b, stack) and b not in buckets]
    for bucket in buckets:
        arn = str(bucket.props.get("arn") or f"arn:aws:s3:::{bucket.props.get('bucket')}")

        def covered(_value: Any, arn: str = arn) -> bool:
            return _covers(items(res.props, "advancedEventSelectors"), arn) or _legacy_covers(
                items(res.props, "eventSelectors"), arn
            )

        if not (
            stack.linked(res, "advancedEventSelectors", bucket, covered)
            or stack.linked(res, "eventSelectors", bucket, covered)
        ):
            yield f"does not record S3 data events for bucket '{bucket.name}'"


@stack_rule(
    RuleMetadata(
        id="AWS-MON-001",
        title="The trail's log group has the CIS metric filters and alarms",
        requirements=(*_AUDIT, "HIPAA-164.308(a)(6)(ii)"),
        severity=Severity.MEDIUM,
        risk="Root use, a changed IAM or key policy, a key scheduled for deletion, a stopped trail or an opened "
        "security group would be noticed at the next audit, not when it happens.",
        remediation="For each entry of CIS_ALARMS (idpkit/constants/monitoring.py) add an "
        "aws.cloudwatch.LogMetricFilter on the trail's log group and an aws.cloudwatch.MetricAlarm on its "
        "metric with alarm_actions.",
    ),
    subjects=(t.TRAIL,),
)
def trail_cis_alarms(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Every trail delivers to a log group of the stack that has, for each CIS alarm of the kit's catalogue
    (root use, IAM policy, CloudTrail, KMS key disable/deletion and key policy, bucket policy, security group
    and network ACL changes, console sign-in failures), a metric filter with the catalogue's pattern and an
    alarm on its metric that notifies someone."""
    group = _trail_log_group(res, stack)
    if group is None:
        yield "does not deliver to a log group of the stack, so no CIS alarm can watch it"
        return
    for alarm in CIS_ALARMS:
        if problem := _log_alarm_problem(group, stack, alarm):
            yield problem


@resource_rule(
    RuleMetadata(
        id="AWS-SNS-001",
        title="SNS topics are encrypted with a customer-managed key",
        requirements=("HIPAA-164.312(a)(2)(iv)",),
        severity=Severity.MEDIUM,
        risk="Alarm notifications name principals, resources and addresses; unencrypted or AWS-managed-key "
        "topics cannot take publications from CloudWatch under a key policy the kit controls.",
        remediation="Set kms_master_key_id to a customer-managed key whose policy lets cloudwatch.amazonaws.com "
        "use it.",
    ),
    types=(t.SNS_TOPIC,),
)
def topic_encrypted(res: Res, _env: Environment) -> Iterator[str]:
    """SNS topics set kmsMasterKeyId to a customer-managed key (not alias/aws/sns)."""
    if problem := customer_managed_key_problem(res.props, "kmsMasterKeyId"):
        yield problem


@stack_rule(
    RuleMetadata(
        id="AWS-MON-002",
        title="Every alarm notifies an encrypted SNS topic of the stack",
        requirements=("HIPAA-164.308(a)(6)(ii)", "HIPAA-164.312(a)(2)(iv)"),
        severity=Severity.MEDIUM,
        risk="An alarm without an action changes colour in a console nobody watches.",
        remediation="Set alarm_actions to the stack's alarm topic (encrypted with the alerts key).",
    ),
    subjects=(t.METRIC_ALARM,),
)
def alarm_notifies(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """CloudWatch alarms name at least one SNS topic of the stack in alarmActions, and every topic they name
    is encrypted with a customer-managed key."""
    topics = stack.targets(res, "alarmActions", (t.SNS_TOPIC,))
    if not topics:
        yield "alarmActions names no SNS topic of the stack"
    for topic in topics:
        if customer_managed_key_problem(topic.props, "kmsMasterKeyId"):
            yield f"notifies topic '{topic.name}', which is not encrypted with a customer-managed key"


@resource_rule(
    RuleMetadata(
        id="AWS-MON-003",
        title="Every alarm names its runbook",
        requirements=("HIPAA-164.308(a)(6)(ii)",),
        severity=Severity.LOW,
        risk="An on-call engineer woken by an alarm without a runbook improvises the response to an incident "
        "on PHI systems.",
        remediation="End the alarm description with 'Runbook: runbooks/<file>.md' (idpkit.constants.monitoring"
        ".runbook_reference).",
    ),
    types=(t.METRIC_ALARM,),
)
def alarm_names_runbook(res: Res, _env: Environment) -> Iterator[str]:
    """CloudWatch alarms' alarmDescription names a runbook as runbooks/<file>.md."""
    if not RUNBOOK_REFERENCE.search(str(get(res.props, "alarmDescription") or "")):
        yield "alarmDescription names no runbook (runbooks/<file>.md)"


def _dimension_is(alarm: Res, stack: Stack, dimension: str, resource: Res) -> bool:
    suffix = resource.props.get("arnSuffix")
    return stack.linked(
        alarm,
        "dimensions",
        resource,
        lambda dimensions: bool(suffix) and isinstance(dimensions, Mapping) and dimensions.get(dimension) == suffix,
    )


def _service_alarm_problem(stack: Stack, alarm: ServiceAlarm, resource: Res) -> str | None:
    if _alarms_on(stack, alarm.namespace, alarm.metric, lambda a: _dimension_is(a, stack, alarm.dimension, resource)):
        return None
    return f"has no alarm on {alarm.namespace} {alarm.metric} ({alarm.title})"


@stack_rule(
    RuleMetadata(
        id="AWS-MON-004",
        title="Unhealthy Keycloak hosts and 5xx responses raise alarms",
        requirements=("HIPAA-164.308(a)(6)(ii)", "HIPAA-164.312(b)"),
        severity=Severity.MEDIUM,
        risk="A failing identity provider stops every clinician login and every backend token: without alarms "
        "the first report comes from users.",
        remediation="Alarm on UnHealthyHostCount per target group and on HTTPCode_ELB_5XX_Count and "
        "HTTPCode_Target_5XX_Count per load balancer (dimensions: their ARN suffixes).",
    ),
    subjects=(*t.LOAD_BALANCERS, *t.TARGET_GROUPS),
)
def service_alarms(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Every target group has an alarm on its UnHealthyHostCount, and every application load balancer alarms
    on its own 5xx (HTTPCode_ELB_5XX_Count) and its targets' (HTTPCode_Target_5XX_Count); each alarm names
    the resource by its ARN suffix and notifies someone."""
    if res.type in t.TARGET_GROUPS:
        expected: tuple[ServiceAlarm, ...] = (UNHEALTHY_TARGETS,)
    elif (get(res.props, "loadBalancerType") or "application") == "application":
        expected = (LOAD_BALANCER_5XX, KEYCLOAK_5XX)
    else:
        expected = ()
    for alarm in expected:
        if problem := _service_alarm_problem(stack, alarm, res):
            yield problem


@stack_rule(
    RuleMetadata(
        id="AWS-MON-005",
        title="Bursts of failed logins raise an alarm",
        requirements=("HIPAA-164.308(a)(5)(ii)(C)", "HIPAA-164.312(b)"),
        severity=Severity.MEDIUM,
        risk="Password spraying and credential stuffing show up as LOGIN_ERROR events; unwatched, the first "
        "sign is an account takeover.",
        remediation="Add the LOGIN_FAILURES metric filter (idpkit/constants/monitoring.py) on the Keycloak event "
        "log group and an alarm on its metric.",
    ),
    subjects=(t.LOG_GROUP,),
)
def login_failure_alarm(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Every log group tagged idpkit:logs=keycloak-events (Keycloak's login and admin events) has the
    LOGIN_ERROR metric filter of the kit's catalogue and an alarm on its metric that notifies someone."""
    tags = get(res.props, "tags")
    holds_events = isinstance(tags, Mapping) and tags.get(LOG_CONTENT_TAG) == KEYCLOAK_EVENTS_LOGS
    if holds_events and (problem := _log_alarm_problem(res, stack, LOGIN_FAILURES)):
        yield problem


def _send_command_input(schedule: Res) -> Mapping[str, Any] | None:
    target = get(schedule.props, "target") or {}
    if SEND_COMMAND not in str(get(target, "arn") or ""):
        return None
    try:
        loaded = json.loads(str(get(target, "input") or "{}"))
    except json.JSONDecodeError:
        return {}
    return loaded if isinstance(loaded, Mapping) else {}


@stack_rule(
    RuleMetadata(
        id="AWS-MON-006",
        title="Scheduled Run Command jobs log their output and their failures raise alarms",
        requirements=("HIPAA-164.312(b)", "HIPAA-164.308(a)(6)(ii)"),
        severity=Severity.MEDIUM,
        risk="A signing key rotation that fails every night on the hosts, or a schedule that cannot send its "
        "command, goes unnoticed until the key is long overdue.",
        remediation="Set CloudWatchOutputConfig in the schedule's SendCommand input to a log group of the stack, "
        "make the command write ROTATION_FAILURE_MARKER on failure, and alarm on the ROTATION_FAILURES filter "
        "and on the schedule group's InvocationDroppedCount and TargetErrorCount.",
    ),
    subjects=(t.SCHEDULE,),
)
def scheduled_command_alarms(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Every EventBridge Scheduler schedule that sends an SSM Run Command: the command's output goes to a log
    group of the stack, its script reports a failure with the kit's marker, that log group has the rotation
    failure filter and alarm, and the schedule's group has alarms on dropped invocations and target errors."""
    command = _send_command_input(res)
    if command is None:
        return
    output = command.get("CloudWatchOutputConfig") or {}
    group_name = output.get("CloudWatchLogGroupName")
    groups = [g for g in stack.of_type((t.LOG_GROUP,)) if group_name and get(g.props, "name") == group_name]
    if not output.get("CloudWatchOutputEnabled") or not groups:
        yield "its Run Command output does not go to a log group of the stack (CloudWatchOutputConfig)"
    script = "\n".join(str(line) for line in (command.get("Parameters") or {}).get("commands") or [])
    if ROTATION_FAILURE_MARKER not in script:
        yield f"its command does not report failures with {ROTATION_FAILURE_MARKER!r}"
    for group in groups:
        if problem := _log_alarm_problem(group, stack, ROTATION_FAILURES):
            yield problem
    schedule_group = get(res.props, "groupName") or "default"
    for alarm in (SCHEDULE_DROPPED, SCHEDULE_TARGET_ERRORS):

        def on_group(candidate: Res, dimension: str = alarm.dimension) -> bool:
            return bool((get(candidate.props, "dimensions") or {}).get(dimension) == schedule_group)

        if not _alarms_on(stack, alarm.namespace, alarm.metric, on_group):
            yield f"schedule group {schedule_group!r} has no alarm on {alarm.namespace} {alarm.metric}"


RULES = (
    trail_to_cloudwatch,
    trail_data_events,
    trail_cis_alarms,
    topic_encrypted,
    alarm_notifies,
    alarm_names_runbook,
    service_alarms,
    login_failure_alarm,
    scheduled_command_alarms,
)
