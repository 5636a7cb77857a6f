"""WAF: managed rule groups, the narrow, tested exemption for Keycloak's forms, token rate limit."""

from __future__ import annotations

import re

import pytest
from aws_stack_graphs import describe, graphs, params, stack_params

from components.waf import BODY_RULE_LABELS, BODY_RULE_OVERRIDES, FORM_PATHS_REGEX, TOKEN_PATHS_REGEX
from idpkit.aws_graph import Resource

ACL = "aws:wafv2/webAcl:WebAcl"
MANAGED = {
    "AWSManagedRulesCommonRuleSet",
    "AWSManagedRulesKnownBadInputsRuleSet",
    "AWSManagedRulesAmazonIpReputationList",
}


def rules(acl: Resource) -> dict[str, dict[str, object]]:
    return {rule["name"]: rule for rule in acl.inputs["rules"]}


@pytest.mark.parametrize(("stack", "acl"), params(ACL))
def test_managed_rule_groups_enforced(stack: str, acl: Resource) -> None:
    present = rules(acl)
    assert set(present) >= MANAGED, f"{describe(acl)}: missing managed groups {MANAGED - set(present)}"
    for name in MANAGED:
        assert present[name]["overrideAction"] == {"none": {}}, f"{describe(acl)}: {name} must not be count-only"


@pytest.mark.parametrize(("stack", "acl"), params(ACL))
def test_only_the_documented_body_rules_are_overridden(stack: str, acl: Resource) -> None:
    statement = rules(acl)["AWSManagedRulesCommonRuleSet"]["statement"]["managedRuleGroupStatement"]  # type: ignore[index]
    overridden = {o["name"]: o["actionToUse"] for o in statement["ruleActionOverrides"]}
    assert overridden == {key: {"count": {}} for key in BODY_RULE_OVERRIDES}, (
        f"{describe(acl)}: overrides {overridden} differ from the documented {BODY_RULE_OVERRIDES}"
    )


@pytest.mark.parametrize(("stack", "acl"), params(ACL))
def test_overridden_labels_are_blocked_outside_keycloak_forms(stack: str, acl: Resource) -> None:
    rule = rules(acl)["BlockBodyRulesOutsideForms"]
    assert rule["action"] == {"block": {}}, f"{describe(acl)}: the re-block rule must block"
    conditions = rule["statement"]["andStatement"]["statements"]  # type: ignore[index]
    labels = {s["labelMatchStatement"]["key"] for s in conditions[0]["orStatement"]["statements"]}
    assert labels == set(BODY_RULE_LABELS), f"{describe(acl)}: re-block covers {labels}"
    exempt = conditions[1]["notStatement"]["statement"]["regexMatchStatement"]["regexString"]
    assert exempt == FORM_PATHS_REGEX, f"{describe(acl)}: exemption differs from the tested FORM_PATHS_REGEX"


@pytest.mark.parametrize(("stack", "acl"), params(ACL))
def test_token_endpoints_rate_limited(stack: str, acl: Resource) -> None:
    rule = rules(acl)["TokenEndpointRateLimit"]
    rate = rule["statement"]["rateBasedStatement"]  # type: ignore[index]
    assert rule["action"] == {"block": {}} and rate["aggregateKeyType"] == "IP", f"{describe(acl)}: per-IP block"
    scope = rate["scopeDownStatement"]["regexMatchStatement"]["regexString"]
    assert scope == TOKEN_PATHS_REGEX, f"{describe(acl)}: the rate limit must be scoped to the token endpoints"


@pytest.mark.parametrize(
    ("path", "exempt"),
    [
        ("/realms/healthcare/login-actions/authenticate", True),
        ("/realms/healthcare/login-actions/required-action", True),
        ("/realms/healthcare/protocol/openid-connect/token", True),
        ("/realms/healthcare/protocol/openid-connect/ext/par/request", True),
        ("/realms/healthcare/protocol/openid-connect/userinfo", False),
        ("/realms/healthcare/account/", False),
        ("/admin/realms/healthcare/users", False),
        ("/realms/healthcare/login-actions/authenticate/../../../admin", False),
    ],
)
def test_form_exemption_covers_only_login_token_and_par(path: str, exempt: bool) -> None:
    assert bool(re.search(FORM_PATHS_REGEX, path)) is exempt, f"{path}: exemption should be {exempt}"


@pytest.mark.parametrize(
    ("path", "limited"),
    [
        ("/realms/healthcare/protocol/openid-connect/token", True),
        ("/realms/healthcare/protocol/openid-connect/ext/par/request", True),
        ("/realms/healthcare/protocol/openid-connect/token/introspect", False),
        ("/realms/healthcare/protocol/openid-connect/auth", False),
    ],
)
def test_rate_limit_scope(path: str, limited: bool) -> None:
    assert bool(re.search(TOKEN_PATHS_REGEX, path)) is limited, f"{path}: rate limited should be {limited}"


@pytest.mark.parametrize("stack", stack_params())
def test_acl_associated_with_the_load_balancer_and_logged(stack: str) -> None:
    graph = graphs()[stack]
    (association,) = graph.of_type("aws:wafv2/webAclAssociation:WebAclAssociation")
    (alb,) = graph.of_type("aws:lb/loadBalancer:LoadBalancer")
    (acl,) = graph.of_type("aws:wafv2/webAcl:WebAcl")
    assert association.inputs["resourceArn"] == alb.outputs["arn"], f"{describe(association)}: not on the ALB"
    assert association.inputs["webAclArn"] == acl.outputs["arn"], f"{describe(association)}: not the stack's ACL"
    (logging,) = graph.of_type("aws:wafv2/webAclLoggingConfiguration:WebAclLoggingConfiguration")
    redacted = {field["singleHeader"]["name"] for field in logging.inputs["redactedFields"]}
    assert redacted == {"authorization", "cookie"}, f"{describe(logging)}: tokens/cookies must be redacted"
