"""The network, identity and monitoring part of the compliant prod stack (compliant_stack.py adds it).

The alarms are generated from the kit's catalogue (idpkit/constants/monitoring.py), as the program declares
them, so the passing fixture holds exactly what the rules require and no hand-copied pattern.
"""

from __future__ import annotations

import json
from typing import Any

from idpkit.constants.aws import S3_OBJECT_RESOURCE_TYPE, SESSION_PREFERENCES_DOCUMENT
from idpkit.constants.monitoring import (
    CIS_ALARMS,
    KEYCLOAK_5XX,
    LOAD_BALANCER_5XX,
    LOG_CONTENT_TAG,
    LOGIN_FAILURES,
    ROTATION_FAILURE_MARKER,
    ROTATION_FAILURES,
    SCHEDULE_DROPPED,
    SCHEDULE_TARGET_ERRORS,
    SECRET_ROTATION_TAG,
    UNHEALTHY_TARGETS,
    LogAlarm,
    ServiceAlarm,
    runbook_reference,
)
from idpkit.policy import StackResource
from idpkit.policy import resource_types as t

ACCOUNT = "111122223333"
REGION = "us-east-1"
VPC_ID = "vpc-0a1b2c3d"
DEFAULT_ACL = "acl-default0"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:idpkit-prod-alarms"
TG_SUFFIX = "targetgroup/idpkit-prod-web/73e2d6bc24d8a067"
LB_SUFFIX = "app/idpkit-prod/50dc6c495c0c9188"
SCHEDULE_GROUP = "idpkit-prod-signing"
SIGNING_SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:idpkit-prod-signing-store-AbCdEf"


def log_group_arn(name: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"


def log_group(logical: str, name: str, key_arn: str, content: str) -> StackResource:
    return StackResource(
        t.LOG_GROUP,
        logical,
        {
            "name": name,
            "arn": log_group_arn(name),
            "kmsKeyId": key_arn,
            "retentionInDays": 2192,
            "tags": {LOG_CONTENT_TAG: content},
        },
        id=name,
    )


def trust(principal: dict[str, Any], condition: dict[str, Any] | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def role(logical: str, document: str) -> StackResource:
    arn = f"arn:aws:iam::{ACCOUNT}:role/{logical}"
    return StackResource(t.IAM_ROLE, logical, {"assumeRolePolicy": document, "arn": arn, "name": logical}, id=logical)


def _alarm(
    logical: str, alarm: LogAlarm | ServiceAlarm, namespace: str, metric: str, **dimensions: str
) -> StackResource:
    props: dict[str, Any] = {
        "namespace": namespace,
        "metricName": metric,
        "alarmActions": [TOPIC_ARN],
        "alarmDescription": f"{alarm.title}. {runbook_reference(alarm.runbook)}",
    }
    if dimensions:
        props["dimensions"] = dimensions
    return StackResource(t.METRIC_ALARM, logical, props)


def log_alarm(group_name: str, alarm: LogAlarm) -> list[StackResource]:
    """The metric filter of `alarm` on `group_name` and the alarm on its metric."""
    namespace = "idpkit/prod"
    return [
        StackResource(
            t.METRIC_FILTER,
            f"filter-{alarm.key}",
            {
                "logGroupName": group_name,
                "pattern": alarm.pattern,
                "metricTransformation": {"name": alarm.key, "namespace": namespace, "value": "1"},
            },
        ),
        _alarm(f"alarm-{alarm.key}", alarm, namespace, alarm.key),
    ]


def service_alarm(alarm: ServiceAlarm, **dimensions: str) -> StackResource:
    return _alarm(f"alarm-{alarm.key}", alarm, alarm.namespace, alarm.metric, **dimensions)


def rotation_schedule(secret_arn: str) -> StackResource:
    command = {
        "DocumentName": "AWS-RunShellScript",
        "CloudWatchOutputConfig": {
            "CloudWatchLogGroupName": "/idpkit/prod/run-command",
            "CloudWatchOutputEnabled": True,
        },
        "Parameters": {
            "commands": [
                f"IDPKIT_KEY_STORE={secret_arn} /opt/idpkit/bin/idpkit keys rotate --stage auto",
                f'status=$?; [ "$status" -eq 0 ] || echo "{ROTATION_FAILURE_MARKER}" >&2; exit "$status"',
            ]
        },
    }
    return StackResource(
        t.SCHEDULE,
        "rotation-schedule",
        {
            "groupName": SCHEDULE_GROUP,
            "target": {"arn": "arn:aws:scheduler:::aws-sdk:ssm:sendCommand", "input": json.dumps(command)},
        },
    )


def session_preferences(key_arn: str) -> StackResource:
    inputs = {
        "kmsKeyId": key_arn,
        "cloudWatchLogGroupName": "/idpkit/prod/session-manager",
        "cloudWatchEncryptionEnabled": True,
        "runAsEnabled": False,
    }
    return StackResource(
        t.SSM_DOCUMENT,
        "session-preferences",
        {
            "name": SESSION_PREFERENCES_DOCUMENT,
            "documentType": "Session",
            "content": json.dumps({"schemaVersion": "1.0", "sessionType": "Standard_Stream", "inputs": inputs}),
        },
    )


def acl_entry(
    number: int, port: tuple[int, int], cidr: str, protocol: str = "6", action: str = "allow"
) -> dict[str, Any]:
    return {
        "ruleNo": number,
        "action": action,
        "protocol": protocol,
        "fromPort": port[0],
        "toPort": port[1],
        "cidrBlock": cidr,
    }


def monitoring_resources(key_arn: str) -> list[StackResource]:
    """VPC, ACLs, flow log, roles, the trail's log group, alarms, schedule and session preferences."""
    flow_group, trail_group, events_group = (
        "/idpkit/prod/vpc-flow-logs",
        "/idpkit/prod/cloudtrail",
        "/idpkit/prod/keycloak-events",
    )
    resources = [
        StackResource(t.VPC, "vpc", {"cidrBlock": "10.40.0.0/16", "defaultNetworkAclId": DEFAULT_ACL}, id=VPC_ID),
        StackResource(t.SUBNET, "subnet-private-a", {"vpcId": VPC_ID, "cidrBlock": "10.40.64.0/20"}, id="subnet-0aa"),
        StackResource(
            t.NETWORK_ACL,
            "private-acl",
            {
                "vpcId": VPC_ID,
                "subnetIds": ["subnet-0aa"],
                "ingress": [
                    acl_entry(100, (8443, 8443), "10.40.0.0/18"),
                    acl_entry(200, (32768, 65535), "0.0.0.0/0"),
                ],
                "egress": [acl_entry(100, (443, 443), "0.0.0.0/0")],
            },
            id="acl-0private",
        ),
        StackResource(t.DEFAULT_NETWORK_ACL, "default-acl", {"defaultNetworkAclId": DEFAULT_ACL}, id=DEFAULT_ACL),
        log_group("flow-logs", flow_group, key_arn, "vpc-flow-logs"),
        role(
            "flow-log-role",
            trust({"Service": "vpc-flow-logs.amazonaws.com"}, {"StringEquals": {"aws:SourceAccount": ACCOUNT}}),
        ),
        StackResource(
            t.FLOW_LOG,
            "flow-log",
            {
                "vpcId": VPC_ID,
                "trafficType": "ALL",
                "logDestinationType": "cloud-watch-logs",
                "logDestination": log_group_arn(flow_group),
                "iamRoleArn": f"arn:aws:iam::{ACCOUNT}:role/flow-log-role",
            },
        ),
        role("host-role", trust({"Service": "ec2.amazonaws.com"})),
        role(
            "monitoring-role",
            trust({"Service": "monitoring.rds.amazonaws.com"}, {"StringEquals": {"aws:SourceAccount": ACCOUNT}}),
        ),
        log_group("trail-logs", trail_group, key_arn, "cloudtrail"),
        log_group("keycloak-events", events_group, key_arn, "keycloak-events"),
        log_group("run-command", "/idpkit/prod/run-command", key_arn, "run-command"),
        log_group("sessions", "/idpkit/prod/session-manager", key_arn, "session-manager"),
        StackResource(t.SNS_TOPIC, "alarms", {"kmsMasterKeyId": key_arn, "arn": TOPIC_ARN}, id=TOPIC_ARN),
        StackResource(
            t.TARGET_GROUPS[0],
            "web",
            {"arnSuffix": TG_SUFFIX, "arn": f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:{TG_SUFFIX}"},
        ),
        StackResource(
            t.SECRETS_MANAGER_ENTRY,
            "signing-store",
            {
                "kmsKeyId": key_arn,
                "arn": SIGNING_SECRET_ARN,
                "tags": {SECRET_ROTATION_TAG: "scheduled:runbooks/signing-key-rotation.md"},
            },
            id=SIGNING_SECRET_ARN,
        ),
        rotation_schedule(SIGNING_SECRET_ARN),
        session_preferences(key_arn),
        service_alarm(UNHEALTHY_TARGETS, TargetGroup=TG_SUFFIX, LoadBalancer=LB_SUFFIX),
        service_alarm(LOAD_BALANCER_5XX, LoadBalancer=LB_SUFFIX),
        service_alarm(KEYCLOAK_5XX, LoadBalancer=LB_SUFFIX),
        service_alarm(SCHEDULE_DROPPED, ScheduleGroup=SCHEDULE_GROUP),
        service_alarm(SCHEDULE_TARGET_ERRORS, ScheduleGroup=SCHEDULE_GROUP),
        *log_alarm(events_group, LOGIN_FAILURES),
        *log_alarm("/idpkit/prod/run-command", ROTATION_FAILURES),
    ]
    for alarm in CIS_ALARMS:
        resources += log_alarm(trail_group, alarm)
    return resources


def data_event_selectors(audit_bucket_arn: str, artifact_bucket_arn: str) -> list[dict[str, Any]]:
    def objects_of(arn: str) -> list[dict[str, Any]]:
        return [
            {"field": "eventCategory", "equals": ["Data"]},
            {"field": "resources.type", "equals": [S3_OBJECT_RESOURCE_TYPE]},
            {"field": "resources.ARN", "startsWiths": [f"{arn}/"]},
        ]

    return [
        {"name": "management", "fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}]},
        {"name": "artifacts", "fieldSelectors": objects_of(artifact_bucket_arn)},
        {
            "name": "audit",
            "fieldSelectors": [*objects_of(audit_bucket_arn), {"field": "eventName", "notEquals": ["PutObject"]}],
        },
    ]
