"""Passing and failing fixtures of the network, identity and monitoring rules (test_rules.py runs them).

Each failing fixture edits one setting of the compliant prod stack and names the resource the violation must
name; `(rule id, case name, stack, resource)`.
"""

from __future__ import annotations

import json
from typing import Any

from idpkit.constants.monitoring import CIS_ALARMS, LOGIN_FAILURES, SECRET_ROTATION_TAG
from idpkit.policy import StackResource
from idpkit.policy import resource_types as t
from tests.policy.compliant_monitoring import ACCOUNT, acl_entry, role, trust
from tests.policy.compliant_stack import (
    ACCESS_LOG_BUCKET,
    KEY_ARN,
    Stack,
    adding,
    edited,
    removing,
    setting,
    tls_only_policy,
)

Fixture = tuple[str, str, Stack, str]


def _schedule_edit(change: Any) -> Stack:
    def edit(props: dict[str, Any]) -> None:
        command = json.loads(props["target"]["input"])
        change(command)
        props["target"]["input"] = json.dumps(command)

    return edited("rotation-schedule", edit)


def _preferences_edit(**inputs: Any) -> Stack:
    def edit(props: dict[str, Any]) -> None:
        content = json.loads(props["content"])
        content["inputs"].update(inputs)
        props["content"] = json.dumps(content)

    return edited("session-preferences", edit)


def _trail_selectors(keep: Any) -> Stack:
    return edited(
        "trail", lambda p: p.update(advancedEventSelectors=[s for s in p["advancedEventSelectors"] if keep(s)])
    )


def _alarm_to_plain_topic() -> Stack:
    plain = f"arn:aws:sns:us-east-1:{ACCOUNT}:plain"
    stack = adding(StackResource(t.SNS_TOPIC, "plain-topic", {"arn": plain}, id=plain))
    alarm = stack["alarm-keycloak-5xx"]
    stack[alarm.name] = StackResource(alarm.type, alarm.name, {**alarm.props, "alarmActions": [plain]}, alarm.id)
    return stack


_FIRST_CIS = CIS_ALARMS[0]

PASSING: list[tuple[str, str, Stack]] = [
    (
        "AWS-VPC-003",
        "SSH denied before a wider allow from anywhere",
        setting(
            "private-acl",
            "ingress",
            value=[
                acl_entry(90, (22, 22), "0.0.0.0/0", action="deny"),
                acl_entry(95, (3389, 3389), "0.0.0.0/0", action="deny"),
                acl_entry(100, (0, 1023), "0.0.0.0/0"),
                acl_entry(110, (1024, 65535), "0.0.0.0/0"),
            ],
        ),
    ),
    (
        "AWS-IAM-001",
        "EC2 instance role without conditions",
        adding(role("plain-ec2", trust({"Service": "ec2.amazonaws.com"}))),
    ),
    (
        "AWS-SM-002",
        "documented exception",
        setting("bootstrap-admin", "tags", SECRET_ROTATION_TAG, value="exception:docs/aws.md"),
    ),
    ("AWS-MON-001", "stack without a trail of its own (organization trail)", removing("trail")),
]

FAILING: list[Fixture] = [
    (
        "AWS-VPC-001",
        "flow log of rejected traffic only",
        setting("flow-log", "trafficType", value="REJECT"),
        "flow-log",
    ),
    ("AWS-VPC-001", "CloudWatch flow log without a role", removing("flow-log", "iamRoleArn"), "flow-log"),
    ("AWS-VPC-002", "VPC without a flow log", removing("flow-log"), "vpc"),
    (
        "AWS-VPC-002",
        "flow log to a group outside the stack",
        setting("flow-log", "logDestination", value=f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:elsewhere"),
        "vpc",
    ),
    (
        "AWS-VPC-003",
        "ACL allowing all traffic from anywhere",
        setting("private-acl", "ingress", value=[acl_entry(100, (0, 0), "0.0.0.0/0", protocol="-1")]),
        "private-acl",
    ),
    (
        "AWS-VPC-003",
        "ACL allowing all traffic to anywhere over IPv6",
        setting(
            "private-acl",
            "egress",
            value=[{**acl_entry(100, (0, 0), "", protocol="-1"), "cidrBlock": None, "ipv6CidrBlock": "::/0"}],
        ),
        "private-acl",
    ),
    (
        "AWS-VPC-003",
        "RDP inside an ephemeral range open to anywhere",
        setting("private-acl", "ingress", 1, value=acl_entry(200, (1024, 65535), "0.0.0.0/0")),
        "private-acl",
    ),
    (
        "AWS-VPC-003",
        "SSH allowed before the deny",
        setting(
            "private-acl",
            "ingress",
            value=[acl_entry(90, (0, 1023), "0.0.0.0/0"), acl_entry(100, (22, 22), "0.0.0.0/0", action="deny")],
        ),
        "private-acl",
    ),
    (
        "AWS-VPC-003",
        "default ACL left allowing everything",
        setting("default-acl", "ingress", value=[acl_entry(100, (0, 0), "0.0.0.0/0", protocol="all")]),
        "default-acl",
    ),
    (
        "AWS-VPC-003",
        "standalone entry admitting SSH from anywhere",
        adding(
            StackResource(
                t.NETWORK_ACL_RULE,
                "ssh-entry",
                {
                    "ruleNumber": 50,
                    "egress": False,
                    "ruleAction": "allow",
                    "protocol": "tcp",
                    "fromPort": 22,
                    "toPort": 22,
                    "cidrBlock": "0.0.0.0/0",
                },
            )
        ),
        "ssh-entry",
    ),
    ("AWS-VPC-004", "default ACL not managed", removing("default-acl"), "vpc"),
    (
        "AWS-VPC-004",
        "default ACL with entries",
        setting("default-acl", "egress", value=[acl_entry(100, (443, 443), "10.0.0.0/8")]),
        "vpc",
    ),
    ("AWS-VPC-004", "subnet left on the default ACL", setting("private-acl", "subnetIds", value=[]), "vpc"),
    (
        "AWS-IAM-001",
        "trust resting on a session name the caller chooses",
        adding(
            role(
                "session-name-only",
                trust(
                    {"AWS": f"arn:aws:iam::{ACCOUNT}:role/host-role"}, {"StringEquals": {"sts:RoleSessionName": "x"}}
                ),
            )
        ),
        "session-name-only",
    ),
    (
        "AWS-IAM-001",
        "service principal open to other accounts",
        adding(role("open-deputy", trust({"Service": "vpc-flow-logs.amazonaws.com"}))),
        "open-deputy",
    ),
    ("AWS-IAM-001", "any principal", adding(role("anyone", trust({"AWS": "*"}))), "anyone"),
    ("AWS-SM-002", "secret without a rotation declaration", removing("bootstrap-admin", "tags"), "bootstrap-admin"),
    (
        "AWS-SM-002",
        "declaration without a document",
        setting("bootstrap-admin", "tags", SECRET_ROTATION_TAG, value="procedure"),
        "bootstrap-admin",
    ),
    ("AWS-SM-002", "scheduled secret no schedule acts on", removing("rotation-schedule"), "signing-store"),
    ("AWS-SSM-001", "no Session Manager preferences", removing("session-preferences"), "hosts"),
    ("AWS-SSM-001", "sessions on the AWS-managed key", _preferences_edit(kmsKeyId=""), "hosts"),
    ("AWS-SSM-001", "sessions logged outside the stack", _preferences_edit(cloudWatchLogGroupName="/other"), "hosts"),
    (
        "AWS-SSM-001",
        "session log group may be unencrypted",
        _preferences_edit(cloudWatchEncryptionEnabled=False),
        "hosts",
    ),
    ("AWS-TRAIL-003", "trail only in S3", removing("trail", "cloudWatchLogsGroupArn"), "trail"),
    ("AWS-TRAIL-004", "no data events", _trail_selectors(lambda s: s["name"] == "management"), "trail"),
    ("AWS-TRAIL-004", "audit bucket reads unrecorded", _trail_selectors(lambda s: s["name"] != "audit"), "trail"),
    (
        "AWS-TRAIL-004",
        "artifact writes only",
        edited(
            "trail",
            lambda p: p["advancedEventSelectors"][1]["fieldSelectors"].append(
                {"field": "readOnly", "equals": ["false"]}
            ),
        ),
        "trail",
    ),
    ("AWS-MON-001", f"no {_FIRST_CIS.key} filter", removing(f"filter-{_FIRST_CIS.key}"), "trail"),
    ("AWS-MON-001", f"{_FIRST_CIS.key} filter without an alarm", removing(f"alarm-{_FIRST_CIS.key}"), "trail"),
    (
        "AWS-MON-001",
        "pattern that drifted from the catalogue",
        setting(f"filter-{_FIRST_CIS.key}", "pattern", value='{ $.userIdentity.type = "Root" }'),
        "trail",
    ),
    ("AWS-MON-001", "trail not in CloudWatch Logs", removing("trail", "cloudWatchLogsGroupArn"), "trail"),
    ("AWS-SNS-001", "unencrypted topic", removing("alarms", "kmsMasterKeyId"), "alarms"),
    (
        "AWS-SNS-001",
        "topic on the AWS-managed key",
        setting("alarms", "kmsMasterKeyId", value="alias/aws/sns"),
        "alarms",
    ),
    (
        "AWS-MON-002",
        "alarm without actions",
        setting("alarm-keycloak-5xx", "alarmActions", value=[]),
        "alarm-keycloak-5xx",
    ),
    ("AWS-MON-002", "alarm to an unencrypted topic", _alarm_to_plain_topic(), "alarm-keycloak-5xx"),
    (
        "AWS-MON-003",
        "alarm without a runbook",
        setting("alarm-keycloak-5xx", "alarmDescription", value="Keycloak answers 5xx"),
        "alarm-keycloak-5xx",
    ),
    ("AWS-MON-004", "no unhealthy-host alarm", removing("alarm-unhealthy-targets"), "web"),
    (
        "AWS-MON-004",
        "unhealthy-host alarm on another target group",
        setting("alarm-unhealthy-targets", "dimensions", "TargetGroup", value="targetgroup/other/1"),
        "web",
    ),
    ("AWS-MON-004", "no load balancer 5xx alarm", removing("alarm-load-balancer-5xx"), "alb"),
    ("AWS-MON-005", "no login failure alarm", removing(f"alarm-{LOGIN_FAILURES.key}"), "keycloak-events"),
    ("AWS-MON-005", "no login failure filter", removing(f"filter-{LOGIN_FAILURES.key}"), "keycloak-events"),
    (
        "AWS-MON-006",
        "rotation output not logged",
        _schedule_edit(lambda c: c.pop("CloudWatchOutputConfig")),
        "rotation-schedule",
    ),
    (
        "AWS-MON-006",
        "rotation failures not marked",
        _schedule_edit(lambda c: c["Parameters"].update(commands=c["Parameters"]["commands"][:1])),
        "rotation-schedule",
    ),
    (
        "AWS-MON-006",
        "dropped invocations not alarmed",
        removing("alarm-rotation-schedule-dropped"),
        "rotation-schedule",
    ),
    ("AWS-S3-006", "audit bucket without access logging", removing("audit-access-logging"), "audit"),
    (
        "AWS-S3-006",
        "audit bucket logging to itself",
        setting("audit-access-logging", "targetBucket", value="idpkit-prod-audit"),
        "audit",
    ),
    (
        "AWS-S3-004",
        "access log bucket whose objects can be deleted",
        setting("access-logs-policy", "policy", value=tls_only_policy(ACCESS_LOG_BUCKET)),
        "access-logs",
    ),
    (
        "AWS-S3-005",
        "access log bucket on SSE-KMS",
        setting(
            "access-logs-sse",
            "rules",
            0,
            "applyServerSideEncryptionByDefault",
            value={"sseAlgorithm": "aws:kms", "kmsMasterKeyId": KEY_ARN},
        ),
        "access-logs",
    ),
    ("AWS-RDS-006", "Enhanced Monitoring off", setting("db", "monitoringInterval", value=0), "db"),
    (
        "AWS-RDS-006",
        "monitoring role RDS cannot assume",
        setting("monitoring-role", "assumeRolePolicy", value=trust({"Service": "ec2.amazonaws.com"})),
        "db",
    ),
    ("AWS-RDS-007", "Performance Insights off", setting("db", "performanceInsightsEnabled", value=False), "db"),
]
