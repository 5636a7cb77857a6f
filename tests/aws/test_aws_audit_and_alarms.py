"""The audit trail and who it reaches: CloudTrail in CloudWatch Logs, data events, alarms with runbooks,
Session Manager logging, secret rotation declarations and database monitoring, in every stack."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from aws_stack_graphs import describe, graphs, params, policy, stack_params

from idpkit.aws_graph import Resource, StackGraph
from idpkit.constants.aws import SESSION_PREFERENCES_DOCUMENT
from idpkit.constants.monitoring import CIS_ALARMS, RUNBOOK_REFERENCE, SECRET_ROTATION_TAG

PROJECT = Path(__file__).resolve().parents[2]
ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
TRAIL = "aws:cloudtrail/trail:Trail"
SECRET = "aws:secretsmanager/secret:Secret"


def one(graph: StackGraph, type_token: str, suffix: str) -> Resource:
    (found,) = [r for r in graph.of_type(type_token) if r.name.endswith(suffix)]
    return found


def key_arn(graph: StackGraph, purpose: str) -> str:
    return str(one(graph, "aws:kms/key:Key", f"-kms-{purpose}").outputs["arn"])


# --- CloudTrail ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "trail"), params(TRAIL))
def test_trail_delivers_to_its_log_group_with_a_role_only_it_assumes(stack: str, trail: Resource) -> None:
    graph = graphs()[stack]
    group = one(graph, "aws:cloudwatch/logGroup:LogGroup", "-logs-trail")
    assert trail.inputs["cloudWatchLogsGroupArn"] == f"{group.outputs['arn']}:*", f"{describe(trail)}: wrong group"
    (role,) = [
        r for r in graph.of_type("aws:iam/role:Role") if r.outputs["arn"] == trail.inputs["cloudWatchLogsRoleArn"]
    ]
    (statement,) = policy(role, "assumeRolePolicy")["Statement"]
    assert statement["Condition"]["StringEquals"]["aws:SourceArn"] == trail.outputs["arn"], (
        f"{describe(role)}: only this trail may deliver with it (confused deputy)"
    )


@pytest.mark.parametrize(("stack", "trail"), params(TRAIL))
def test_trail_records_object_events_of_the_audit_and_artifact_buckets(stack: str, trail: Resource) -> None:
    graph = graphs()[stack]
    recorded = {}
    for selector in trail.inputs["advancedEventSelectors"]:
        fields = {f["field"]: f for f in selector["fieldSelectors"]}
        if fields.get("eventCategory", {}).get("equals") == ["Data"]:
            (prefix,) = fields["resources.ARN"]["startsWiths"]
            recorded[prefix] = fields.get("eventName", {}).get("notEquals", [])
    audit = one(graph, "aws:s3/bucket:Bucket", "-logs-audit-bucket").outputs["arn"]
    artifacts = one(graph, "aws:s3/bucket:Bucket", "-artifacts-s3-bucket").outputs["arn"]
    assert recorded == {f"{artifacts}/": [], f"{audit}/": ["PutObject"]}, (
        f"{describe(trail)}: every object event of the artifacts bucket, and of the audit bucket all but "
        f"CloudTrail's own deliveries, must be recorded; got {recorded}"
    )


def test_dev_relies_on_the_organization_trail() -> None:
    """The documented per-environment exception (docs/aws.md): no trail, so no trail alarms of its own."""
    graph = graphs()["dev"]
    assert not graph.of_type(TRAIL), "dev sets createCloudTrail: false"
    assert not [a for a in graph.of_type(ALARM) if any(a.name.endswith(c.key) for c in CIS_ALARMS)]


@pytest.mark.parametrize("stack", ["staging", "prod"])
def test_every_cis_alarm_watches_the_trail(stack: str) -> None:
    graph = graphs()[stack]
    group = one(graph, "aws:cloudwatch/logGroup:LogGroup", "-logs-trail").inputs["name"]
    filters = {f.inputs["pattern"]: f for f in graph.of_type("aws:cloudwatch/logMetricFilter:LogMetricFilter")}
    for alarm in CIS_ALARMS:
        metric_filter = filters.get(alarm.pattern)
        assert metric_filter is not None and metric_filter.inputs["logGroupName"] == group, (
            f"{stack}: no {alarm.key} filter on {group}"
        )
        assert one(graph, ALARM, f"-{alarm.key}").inputs["metricName"] == alarm.key


# --- alarms: runbooks and the topic ------------------------------------------------------------------------


def _runbook(alarm: Resource) -> str:
    found = RUNBOOK_REFERENCE.search(alarm.inputs["alarmDescription"])
    assert found, f"{describe(alarm)}: no runbook in its description"
    return found[0]


def _names(row: str, alarm_suffix: str) -> bool:
    """Whether an index row names the alarm (`…-<suffix>` or a `…-<stem>-*` wildcard)."""
    return f"-{alarm_suffix}`" in row or f"-{alarm_suffix.rsplit('-', 1)[0]}-*`" in row


@pytest.mark.parametrize(("stack", "alarm"), params(ALARM))
def test_alarm_names_a_runbook_that_exists_and_the_index_maps_it_back(stack: str, alarm: Resource) -> None:
    runbook = _runbook(alarm)
    assert (PROJECT / runbook).is_file(), f"{describe(alarm)}: {runbook} does not exist"
    suffix = alarm.inputs["name"].removeprefix(f"idpkit-{stack}-")
    rows = [line for line in (PROJECT / "runbooks/README.md").read_text().splitlines() if _names(line, suffix)]
    assert rows and all(f"({Path(runbook).name})" in row for row in rows), (
        f"{describe(alarm)}: runbooks/README.md must map alarm {suffix} to {runbook}, got {rows}"
    )


@pytest.mark.parametrize(("stack", "alarm"), params(ALARM))
def test_alarm_notifies_the_encrypted_topic(stack: str, alarm: Resource) -> None:
    graph = graphs()[stack]
    topic = one(graph, "aws:sns/topic:Topic", "-monitoring-alarms")
    assert alarm.inputs["alarmActions"] == [topic.outputs["arn"]], f"{describe(alarm)}: must notify {topic.name}"
    assert topic.inputs["kmsMasterKeyId"] == key_arn(graph, "alerts"), f"{describe(topic)}: alerts key"


@pytest.mark.parametrize("stack", stack_params())
def test_only_this_accounts_alarms_publish_and_the_alerts_key_lets_them(stack: str) -> None:
    graph = graphs()[stack]
    topic_policy = policy(one(graph, "aws:sns/topicPolicy:TopicPolicy", "-monitoring-alarms"))
    statements = {s["Sid"]: s for s in topic_policy["Statement"]}
    account = key_arn(graph, "alerts").split(":")[4]
    publish = statements["CloudWatchAlarmsPublish"]
    assert publish["Condition"]["StringEquals"] == {"aws:SourceAccount": account}, "confused deputy guard"
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
    key_policy = {s["Sid"]: s for s in policy(one(graph, "aws:kms/key:Key", "-kms-alerts"))["Statement"]}
    assert key_policy["CloudWatchAlarmsPublish"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}, (
        f"{stack}: CloudWatch must be able to encrypt what it publishes to the topic"
    )


# --- Session Manager ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "document"), params("aws:ssm/document:Document"))
def test_sessions_are_encrypted_and_logged_and_the_hosts_may_do_both(stack: str, document: Resource) -> None:
    graph = graphs()[stack]
    inputs: dict[str, Any] = json.loads(document.inputs["content"])["inputs"]
    group = one(graph, "aws:cloudwatch/logGroup:LogGroup", "-logs-sessions")
    assert document.inputs["name"] == SESSION_PREFERENCES_DOCUMENT and document.inputs["documentType"] == "Session"
    assert (inputs["kmsKeyId"], inputs["cloudWatchLogGroupName"]) == (key_arn(graph, "sessions"), group.inputs["name"])
    assert inputs["cloudWatchEncryptionEnabled"] is True and inputs["runAsEnabled"] is False
    host = {
        s["Sid"]: s for s in policy(one(graph, "aws:iam/rolePolicy:RolePolicy", "-hosts-least-privilege"))["Statement"]
    }
    assert host["DecryptSessions"]["Resource"] == key_arn(graph, "sessions"), f"{stack}: hosts decrypt sessions"
    assert f"{group.outputs['arn']}:*" in host["SessionAndCommandLogs"]["Resource"], f"{stack}: hosts log sessions"


# --- secrets declare their rotation ------------------------------------------------------------------------

SECRETS_TABLE = re.compile(r"^\| `(?P<name>[^`]+)` \|[^|]+\| `(?P<declaration>[^`]+)` \|", re.MULTILINE)


@pytest.mark.parametrize(("stack", "secret"), params(SECRET))
def test_secret_rotation_is_documented_where_its_tag_says(stack: str, secret: Resource) -> None:
    declaration = secret.inputs["tags"][SECRET_ROTATION_TAG]
    _kind, document = declaration.split(":", 1)
    assert (PROJECT / document).is_file(), f"{describe(secret)}: {document} does not exist"
    table = {
        m["name"].replace("<stack>", stack): m["declaration"]
        for m in SECRETS_TABLE.finditer((PROJECT / "docs/aws.md").read_text())
    }
    assert table.get(secret.name) == declaration, (
        f"{describe(secret)}: docs/aws.md 'Secrets and their rotation' must list it with {declaration!r}"
    )


# --- database monitoring -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("stack", "instance"), params("aws:rds/instance:Instance"))
def test_database_has_enhanced_monitoring_through_its_own_role(stack: str, instance: Resource) -> None:
    graph = graphs()[stack]
    role = one(graph, "aws:iam/role:Role", "-database-monitoring")
    assert instance.inputs["monitoringInterval"] == 60 and instance.inputs["monitoringRoleArn"] == role.outputs["arn"]
    (statement,) = policy(role, "assumeRolePolicy")["Statement"]
    account = key_arn(graph, "database").split(":")[4]
    assert (statement["Principal"], statement["Condition"]) == (
        {"Service": "monitoring.rds.amazonaws.com"},
        {"StringEquals": {"aws:SourceAccount": account}},
    ), f"{describe(role)}: only this account's RDS may assume it"
    assert instance.inputs["performanceInsightsEnabled"] is True
    assert instance.inputs["performanceInsightsKmsKeyId"] == key_arn(graph, "database")
