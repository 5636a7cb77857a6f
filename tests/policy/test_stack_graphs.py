"""The policy pack over the shipped stacks: every rule passes on dev, staging and prod as declared.

The graphs come from running the real program under mocks (`idpkit.aws_graph`), whose ids and ARNs are
shaped like AWS's, so the stack rules correlate resources the way they do on a real `pulumi up`
(`bucket=<bucket id>`, `loadBalancerArn=<ALB ARN>`, `resourceArn=<ALB ARN>`). The second half breaks
each correlation on purpose and expects the rule to notice: a pass above is not a rule that matched
nothing.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest

from idpkit.aws_graph import Resource, StackGraph, capture_all
from idpkit.policy import RULES, Rule, StackResource, run_rules
from idpkit.review.aws_settings import stack_resources as policy_resources

STACKS = ("dev", "staging", "prod")
RULES_BY_ID = {rule.metadata.id: rule for rule in RULES}


@functools.cache
def graphs() -> dict[str, StackGraph]:
    captured = capture_all(STACKS)
    for stack, graph in captured.items():
        if graph.error:
            raise RuntimeError(f"stack {stack}: the program failed under mocks: {graph.error}")
    return captured


def stack_resources(resources: tuple[Resource, ...]) -> list[StackResource]:
    """Cloud resources as the policy runner takes them (the review's own conversion)."""
    return policy_resources(replace(graphs()["prod"], resources=resources))


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.metadata.id)
def test_shipped_stack_passes_rule(stack: str, rule: Rule) -> None:
    violations = run_rules(stack_resources(graphs()[stack].resources), stack, [rule])
    assert not violations, f"{stack}: {rule.metadata.id} reports:\n" + "\n".join(v.message for v in violations)


@pytest.mark.parametrize("stack", STACKS)
def test_every_cloud_resource_has_an_id(stack: str) -> None:
    missing = [r.name for r in graphs()[stack].resources if r.custom and not r.id]
    assert not missing, f"{stack}: resources without a mock id cannot be correlated: {missing}"


# --- the correlations are real: break one, and its rule reports it ------------------------------------

Edit = Callable[[list[Resource]], list[Resource]]


def _without(predicate: Callable[[Resource], bool]) -> Edit:
    return lambda resources: [r for r in resources if not predicate(r)]


def _with_inputs(predicate: Callable[[Resource], bool], **changes: Any) -> Edit:
    return lambda resources: [replace(r, inputs={**r.inputs, **changes}) if predicate(r) else r for r in resources]


def _adding(make: Callable[[list[Resource]], Resource]) -> Edit:
    return lambda resources: [*resources, make(resources)]


def _group(resources: list[Resource], suffix: str) -> Resource:
    (group,) = [r for r in resources if r.type == "aws:ec2/securityGroup:SecurityGroup" and r.name.endswith(suffix)]
    return group


def _world_ingress(suffix: str, port: int) -> Callable[[list[Resource]], Resource]:
    def make(resources: list[Resource]) -> Resource:
        group = _group(resources, suffix)
        return Resource(
            type="aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
            name=f"{group.name}-world-{port}",
            urn=f"{group.urn}-world-{port}",
            parent="",
            custom=True,
            inputs={
                "securityGroupId": group.id,
                "ipProtocol": "tcp",
                "fromPort": float(port),
                "toPort": float(port),
                "cidrIpv4": "0.0.0.0/0",
            },
            id=f"sgr-world-{port}",
        )

    return make


def _type(token: str) -> Callable[[Resource], bool]:
    return lambda r: r.type == token


def _named(token: str, suffix: str) -> Callable[[Resource], bool]:
    return lambda r: r.type == token and r.name.endswith(suffix)


BREAKAGES: list[Any] = [
    pytest.param(
        "AWS-WAF-001", _without(_type("aws:wafv2/webAclAssociation:WebAclAssociation")), "-lb-alb", id="no-waf"
    ),
    pytest.param(
        "AWS-ALB-006",
        _with_inputs(_named("aws:lb/listener:Listener", "-lb-mtls"), mutualAuthentication={"mode": "off"}),
        "-lb-alb",
        id="mtls-listener-off",
    ),
    pytest.param(
        "AWS-NET-002", _adding(_world_ingress("-sg-alb", 9000)), "-sg-alb-world-9000", id="world-on-non-listener-port"
    ),
    pytest.param(
        "AWS-NET-002", _adding(_world_ingress("-sg-hosts", 8443)), "-sg-hosts-world-8443", id="world-on-hosts-group"
    ),
    pytest.param(
        "AWS-RDS-004",
        _with_inputs(_type("aws:rds/instance:Instance"), parameterGroupName="default.postgres17"),
        "-database-postgres",
        id="default-parameter-group",
    ),
    pytest.param(
        "AWS-RDS-004",
        _with_inputs(_type("aws:rds/parameterGroup:ParameterGroup"), parameters=[]),
        "-database-postgres",
        id="no-force-ssl",
    ),
    pytest.param(
        "AWS-S3-002",
        _without(_named("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "-logs-audit-public-access")),
        "-logs-audit-bucket",
        id="audit-bucket-public-access",
    ),
    pytest.param(
        "AWS-S3-002",
        _without(_named("aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock", "-artifacts-s3-public-access")),
        "-artifacts-s3-bucket",
        id="artifacts-bucket-public-access",
    ),
    pytest.param(
        "AWS-S3-001",
        _without(
            lambda r: (
                r.type.startswith("aws:s3/bucketServerSideEncryptionConfiguration")
                and r.inputs.get("bucket", "").endswith("-logs-audit-bucket")
            )
        ),
        "-logs-audit-bucket",
        id="audit-bucket-sse",
    ),
    pytest.param(
        "AWS-S3-003",
        _without(
            lambda r: r.type == "aws:s3/bucketPolicy:BucketPolicy" and r.inputs["bucket"].endswith("-logs-alb-bucket")
        ),
        "-logs-alb-bucket",
        id="alb-bucket-tls-policy",
    ),
    pytest.param(
        "AWS-S3-004",
        _without(
            lambda r: (
                r.type == "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
                and r.inputs["bucket"].endswith("-logs-audit-bucket")
            )
        ),
        "-logs-audit-bucket",
        id="audit-bucket-object-lock",
    ),
]


BREAKAGES += [
    pytest.param("AWS-VPC-002", _without(_type("aws:ec2/flowLog:FlowLog")), "-net-vpc", id="no-flow-log"),
    pytest.param(
        "AWS-VPC-004",
        _without(_type("aws:ec2/defaultNetworkAcl:DefaultNetworkAcl")),
        "-net-vpc",
        id="default-acl-unmanaged",
    ),
    pytest.param(
        "AWS-VPC-004",
        _with_inputs(_named("aws:ec2/networkAcl:NetworkAcl", "-private-acl"), subnetIds=[]),
        "-net-vpc",
        id="subnets-on-the-default-acl",
    ),
    pytest.param(
        "AWS-TRAIL-004",
        _with_inputs(
            _type("aws:cloudtrail/trail:Trail"),
            advancedEventSelectors=[{"fieldSelectors": [{"field": "eventCategory", "equals": ["Management"]}]}],
        ),
        "-audit-trail",
        id="no-data-events",
    ),
    pytest.param(
        "AWS-MON-001",
        _without(_named("aws:cloudwatch/logMetricFilter:LogMetricFilter", "-root-account-use")),
        "-audit-trail",
        id="no-root-use-filter",
    ),
    pytest.param(
        "AWS-MON-002",
        _with_inputs(_type("aws:sns/topic:Topic"), kmsMasterKeyId=None),
        "-monitoring-keycloak-5xx",
        id="unencrypted-alarm-topic",
    ),
    pytest.param(
        "AWS-MON-004",
        _without(_named("aws:cloudwatch/metricAlarm:MetricAlarm", "-unhealthy-targets-browser")),
        "-lb-web",
        id="no-unhealthy-alarm",
    ),
    pytest.param(
        "AWS-MON-004",
        _with_inputs(
            _named("aws:cloudwatch/metricAlarm:MetricAlarm", "-unhealthy-targets-browser"),
            dimensions={"TargetGroup": "targetgroup/other/1"},
        ),
        "-lb-web",
        id="unhealthy-alarm-on-another-group",
    ),
    pytest.param(
        "AWS-MON-005",
        _without(_named("aws:cloudwatch/logMetricFilter:LogMetricFilter", "-keycloak-login-failures")),
        "-logs-events",
        id="no-login-failure-filter",
    ),
    pytest.param(
        "AWS-MON-006",
        _without(_named("aws:cloudwatch/metricAlarm:MetricAlarm", "-rotation-schedule-dropped")),
        "-signing-rotation",
        id="no-dropped-invocation-alarm",
    ),
    pytest.param(
        "AWS-S3-006",
        _without(_type("aws:s3/bucketLogging:BucketLogging")),
        "-logs-audit-bucket",
        id="audit-bucket-access-logging",
    ),
    pytest.param(
        "AWS-SSM-001",
        _without(_type("aws:ssm/document:Document")),
        "-hosts-lt",
        id="no-session-preferences",
    ),
    pytest.param(
        "AWS-RDS-006",
        _without(_named("aws:iam/role:Role", "-database-monitoring")),
        "-database-postgres",
        id="no-monitoring-role",
    ),
    pytest.param(
        "AWS-SM-002",
        _without(_type("aws:scheduler/schedule:Schedule")),
        "-signing-store",
        id="scheduled-secret-without-schedule",
    ),
]


def _signer_with_admin_policy(resources: list[Resource]) -> Resource:
    (signer,) = [r for r in resources if _named("aws:iam/role:Role", "-signing-signer")(r)]
    return Resource(
        type="aws:iam/rolePolicyAttachment:RolePolicyAttachment",
        name=f"{signer.name}-admin",
        urn=f"{signer.urn}-admin",
        parent="",
        custom=True,
        inputs={"role": signer.inputs["name"], "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        id=f"{signer.name}-admin",
    )


def _rotation_policy_granting(action: str) -> Edit:
    def edit(resources: list[Resource]) -> list[Resource]:
        def grant(r: Resource) -> Resource:
            document = json.loads(r.inputs["policy"])
            document["Statement"].append({"Effect": "Allow", "Action": action, "Resource": "*"})
            return replace(r, inputs={**r.inputs, "policy": json.dumps(document)})

        return [grant(r) if _named("aws:iam/rolePolicy:RolePolicy", "-signing-rotation")(r) else r for r in resources]

    return edit


BREAKAGES += [
    pytest.param(
        "AWS-KMS-003",
        _without(_named("aws:iam/role:Role", "-signing-signer")),
        "-signing-rotation",
        id="prod-without-kms-signer",
    ),
    pytest.param("AWS-IAM-002", _adding(_signer_with_admin_policy), "-signing-signer", id="signer-with-admin-policy"),
    pytest.param("AWS-IAM-003", _rotation_policy_granting("kms:Sign"), "-signing-rotation", id="rotation-role-signs"),
]


@pytest.mark.parametrize(("rule_id", "edit", "subject"), BREAKAGES)
def test_broken_correlation_is_reported(rule_id: str, edit: Edit, subject: str) -> None:
    resources = edit(list(graphs()["prod"].resources))
    assert resources != list(graphs()["prod"].resources), f"{rule_id}: the edit changed nothing"
    violations = run_rules(stack_resources(tuple(resources)), "prod", [RULES_BY_ID[rule_id]])
    assert any(v.urn.endswith(subject) for v in violations), (
        f"{rule_id}: expected a violation on *{subject}, got {[v.message for v in violations]}"
    )
