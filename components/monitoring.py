"""Alarms: the CIS CloudTrail alarms and the Keycloak service alarms, all to one encrypted SNS topic.

The catalogue of what is watched, with each alarm's runbook, is idpkit/constants/monitoring.py:
- CloudTrail (when the stack has its own trail): root use, IAM and KMS policy changes, keys disabled or
  scheduled for deletion, CloudTrail, bucket policy, security group and network ACL changes, console sign-in
  failures: metric filters on the trail's log group;
- Keycloak: unhealthy hosts in each target group, 5xx from the load balancer and from Keycloak, bursts of
  LOGIN_ERROR events (a metric filter on the event log group), failed scheduled signing key rotations (a
  metric filter on the Run Command output, and the scheduler's own dropped and failed invocations).

Every alarm's description names its runbook. The topic is encrypted with the stack's alerts key, accepts
publications only from this account's CloudWatch alarms and only over TLS; operators subscribe their on-call
channel to it (`aws sns subscribe`, docs/aws.md "Audit trail and alarms").
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

from idpkit.constants.monitoring import (
    ALARM_NAMESPACE,
    CIS_ALARMS,
    KEYCLOAK_5XX,
    LOAD_BALANCER_5XX,
    LOGIN_FAILURES,
    ROTATION_FAILURES,
    SCHEDULE_DROPPED,
    SCHEDULE_TARGET_ERRORS,
    UNHEALTHY_TARGETS,
    LogAlarm,
    ServiceAlarm,
    runbook_reference,
)


@dataclass(frozen=True)
class MonitoringArgs:
    """What the alarms watch and where they send notifications."""

    stack: str
    """The stack's name: alarm names and the metric namespace carry it."""
    account_id: str
    region: str
    alerts_key_arn: pulumi.Input[str]
    """Encrypts the alarm topic (KeyRing `keys["alerts"]`)."""
    trail_log_group_name: pulumi.Input[str] | None
    """The trail's log group; `None` when the account is covered by an organization trail."""
    event_log_group_name: pulumi.Input[str]
    """Keycloak's event log group."""
    command_log_group_name: pulumi.Input[str]
    """Run Command output of the scheduled rotation."""
    load_balancer_arn_suffix: pulumi.Input[str]
    target_group_arn_suffixes: Mapping[str, pulumi.Input[str]]
    """Label (e.g. `browser`) -> target group ARN suffix."""
    schedule_group_name: pulumi.Input[str]
    """The rotation schedule's group."""


class Monitoring(pulumi.ComponentResource):
    """The alarm topic, the metric filters and the alarms."""

    topic: aws.sns.Topic
    alarms: list[aws.cloudwatch.MetricAlarm]

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__("idpkit:aws:Monitoring", name, {}, opts)
        self._name, self._args = name, args
        self._child = pulumi.ResourceOptions(parent=self)
        self._namespace = f"{ALARM_NAMESPACE}/{args.stack}"
        self.topic = aws.sns.Topic(
            f"{name}-alarms",
            name=f"idpkit-{args.stack}-alarms",
            # HIPAA 164.312(a)(2)(iv): alarm notifications name resources and principals.
            kms_master_key_id=args.alerts_key_arn,
            opts=self._child,
        )
        aws.sns.TopicPolicy(
            f"{name}-alarms",
            arn=self.topic.arn,
            policy=self.topic.arn.apply(lambda arn: json.dumps(_topic_policy(arn, args))),
            opts=self._child,
        )
        self.alarms = []
        if args.trail_log_group_name is not None:
            for trail_alarm in CIS_ALARMS:
                self._log_alarm(trail_alarm, args.trail_log_group_name)
        self._log_alarm(LOGIN_FAILURES, args.event_log_group_name)
        self._log_alarm(ROTATION_FAILURES, args.command_log_group_name)
        for label, suffix in args.target_group_arn_suffixes.items():
            self._service_alarm(
                UNHEALTHY_TARGETS,
                {"TargetGroup": suffix, "LoadBalancer": args.load_balancer_arn_suffix},
                label,
            )
        for errors_alarm in (LOAD_BALANCER_5XX, KEYCLOAK_5XX):
            self._service_alarm(errors_alarm, {"LoadBalancer": args.load_balancer_arn_suffix})
        for schedule_alarm in (SCHEDULE_DROPPED, SCHEDULE_TARGET_ERRORS):
            self._service_alarm(schedule_alarm, {"ScheduleGroup": args.schedule_group_name})
        self.register_outputs({"topic_arn": self.topic.arn})

    def _log_alarm(self, alarm: LogAlarm, log_group_name: pulumi.Input[str]) -> None:
        aws.cloudwatch.LogMetricFilter(
            f"{self._name}-{alarm.key}",
            name=f"idpkit-{self._args.stack}-{alarm.key}",
            log_group_name=log_group_name,
            pattern=alarm.pattern,
            metric_transformation={"name": alarm.key, "namespace": self._namespace, "value": "1", "default_value": "0"},
            opts=self._child,
        )
        self._alarm(
            alarm.key,
            f"{alarm.title} ({alarm.reference}). {runbook_reference(alarm.runbook)}",
            namespace=self._namespace,
            metric=alarm.key,
            statistic="Sum",
            threshold=alarm.threshold,
            period=alarm.period_seconds,
            evaluation_periods=1,
            dimensions={},
        )

    def _service_alarm(self, alarm: ServiceAlarm, dimensions: dict[str, pulumi.Input[str]], label: str = "") -> None:
        key = f"{alarm.key}-{label}" if label else alarm.key
        self._alarm(
            key,
            f"{alarm.title}{f' ({label})' if label else ''}. {runbook_reference(alarm.runbook)}",
            namespace=alarm.namespace,
            metric=alarm.metric,
            statistic=alarm.statistic,
            threshold=alarm.threshold,
            period=alarm.period_seconds,
            evaluation_periods=alarm.evaluation_periods,
            dimensions=dimensions,
        )

    def _alarm(
        self,
        key: str,
        description: str,
        *,
        namespace: str,
        metric: str,
        statistic: str,
        threshold: int,
        period: int,
        evaluation_periods: int,
        dimensions: dict[str, pulumi.Input[str]],
    ) -> None:
        self.alarms.append(
            aws.cloudwatch.MetricAlarm(
                f"{self._name}-{key}",
                name=f"idpkit-{self._args.stack}-{key}",
                alarm_description=description,
                namespace=namespace,
                metric_name=metric,
                statistic=statistic,
                dimensions=dimensions or None,
                period=period,
                evaluation_periods=evaluation_periods,
                threshold=threshold,
                comparison_operator="GreaterThanOrEqualToThreshold",
                # No data is no event (quiet trails, an idle hour): only matching events raise the alarm.
                treat_missing_data="notBreaching",
                alarm_actions=[self.topic.arn],
                ok_actions=[self.topic.arn],
                opts=self._child,
            )
        )


def _topic_policy(topic_arn: str, args: MonitoringArgs) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "AccountManagesSubscriptions",
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{args.account_id}:root"},
                "Action": [
                    "sns:GetTopicAttributes",
                    "sns:ListSubscriptionsByTopic",
                    "sns:Subscribe",
                    "sns:Unsubscribe",
                ],
                "Resource": topic_arn,
            },
            {
                # Only this account's alarms publish (confused-deputy guard).
                "Sid": "CloudWatchAlarmsPublish",
                "Effect": "Allow",
                "Principal": {"Service": "cloudwatch.amazonaws.com"},
                "Action": "sns:Publish",
                "Resource": topic_arn,
                "Condition": {
                    "ArnLike": {"aws:SourceArn": f"arn:aws:cloudwatch:{args.region}:{args.account_id}:alarm:*"},
                    "StringEquals": {"aws:SourceAccount": args.account_id},
                },
            },
            {
                "Sid": "DenyInsecureTransport",
                "Effect": "Deny",
                "Principal": "*",
                "Action": ["sns:Publish", "sns:Subscribe"],
                "Resource": topic_arn,
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            },
        ],
    }
