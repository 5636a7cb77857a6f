"""WAF v2 web ACL in front of the load balancer.

Rules, in order:
 0  AmazonIpReputationList       block known-bad sources
 1  KnownBadInputsRuleSet        Log4Shell, Java deserialization and similar probes
 2  CommonRuleSet                OWASP-style checks; two body rules only COUNT (label) here, because
                                 Keycloak's own forms legitimately trip them:
                                   SizeRestrictions_BODY      > 8 KB bodies: PAR/JAR request objects and
                                                              private_key_jwt assertions with x5c chains
                                   CrossSiteScripting_BODY    passwords/OTP fields containing '<', '&'
 3  BlockBodyRulesOutsideForms   re-blocks those two labels everywhere except the login-actions,
                                 token and PAR endpoints, so the exemption stays this narrow
 4  TokenEndpointRateLimit       per-IP rate limit scoped down to the token and PAR endpoints
                                 (guessing of client secrets and codes; HIPAA 164.312(d)), in every
                                 spelling of their paths that Keycloak serves (PATH_TRANSFORMATIONS)
WAF logs go to an encrypted log group with the Authorization and Cookie headers redacted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

COMMON_RULE_SET = "AWSManagedRulesCommonRuleSet"
BODY_RULE_OVERRIDES = ("SizeRestrictions_BODY", "CrossSiteScripting_BODY")
BODY_RULE_LABELS = tuple(
    f"awswaf:managed:aws:core-rule-set:{label}" for label in ("SizeRestrictions_Body", "CrossSiteScripting_Body")
)
# Keycloak endpoints whose legitimate bodies trip the two overridden rules. Both patterns match the path after
# PATH_TRANSFORMATIONS; the optional trailing slash is there because Keycloak serves `/token/` as `/token`.
FORM_PATHS_REGEX = r"^/realms/[^/]+/(login-actions/[a-z-]+|protocol/openid-connect/(token|ext/par/request))/?$"
TOKEN_PATHS_REGEX = r"^/realms/[^/]+/protocol/openid-connect/(token|ext/par/request)/?$"  # noqa: S105  # a path
PATH_TRANSFORMATIONS = ("URL_DECODE", "NORMALIZE_PATH", "LOWERCASE")
"""Applied in this order to the URI path before either pattern is matched. Measured on Keycloak itself
(tests/aws/waf_path_variants.json), the only spellings it serves for the token, PAR and login-action
endpoints are the canonical path and the path with one trailing slash: it refuses `;` parameters, doubled
slashes, dot segments and needless percent-encoding (400), and routes case variants and encoded slashes
elsewhere (404/405). The transformations fold every such spelling onto the canonical path anyway, so that a
Keycloak that started serving one would still be rate limited."""
RATE_WINDOW_SECONDS = 300


@dataclass(frozen=True)
class WebFirewallArgs:
    """What the web ACL protects and how it logs."""

    load_balancer_arn: pulumi.Input[str]
    """The ALB to associate."""
    token_rate_limit: int
    """Requests per client IP per 5 minutes to the token/PAR endpoints (>= 10)."""
    log_group_arn: pulumi.Input[str]
    """Log group whose name starts with `aws-waf-logs-`."""


class WebFirewall(pulumi.ComponentResource):
    """Web ACL, its association and its logging."""

    acl: aws.wafv2.WebAcl

    def __init__(self, name: str, args: WebFirewallArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        if args.token_rate_limit < 10:
            raise ValueError("token_rate_limit: WAF rate limits start at 10")
        super().__init__("idpkit:aws:WebFirewall", name, {}, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.acl = aws.wafv2.WebAcl(
            f"{name}-acl",
            scope="REGIONAL",
            description="idpkit: managed rule groups and token endpoint rate limit",
            default_action={"allow": {}},
            rules=[
                _managed(0, "AWSManagedRulesAmazonIpReputationList"),
                _managed(1, "AWSManagedRulesKnownBadInputsRuleSet"),
                _managed(2, COMMON_RULE_SET, count_only=BODY_RULE_OVERRIDES),
                _block_body_labels_outside_forms(3),
                _token_rate_limit(4, args.token_rate_limit),
            ],
            visibility_config=_visibility(name),
            opts=child,
        )
        aws.wafv2.WebAclAssociation(
            f"{name}-alb", resource_arn=args.load_balancer_arn, web_acl_arn=self.acl.arn, opts=child
        )
        aws.wafv2.WebAclLoggingConfiguration(
            f"{name}-logging",
            resource_arn=self.acl.arn,
            log_destination_configs=[args.log_group_arn],
            # Bearer tokens and session cookies never reach the logs.
            redacted_fields=[{"single_header": {"name": "authorization"}}, {"single_header": {"name": "cookie"}}],
            opts=child,
        )
        self.register_outputs({"arn": self.acl.arn})


def _visibility(metric: str) -> dict[str, Any]:
    return {"cloudwatch_metrics_enabled": True, "sampled_requests_enabled": True, "metric_name": metric}


def _managed(priority: int, group: str, count_only: tuple[str, ...] = ()) -> dict[str, Any]:
    statement: dict[str, Any] = {"name": group, "vendor_name": "AWS"}
    if count_only:
        statement["rule_action_overrides"] = [{"name": rule, "action_to_use": {"count": {}}} for rule in count_only]
    return {
        "name": group,
        "priority": priority,
        "override_action": {"none": {}},
        "statement": {"managed_rule_group_statement": statement},
        "visibility_config": _visibility(group),
    }


def _path_regex(regex: str) -> dict[str, Any]:
    return {
        "regex_match_statement": {
            "regex_string": regex,
            "field_to_match": {"uri_path": {}},
            "text_transformations": [
                {"priority": priority, "type": kind} for priority, kind in enumerate(PATH_TRANSFORMATIONS)
            ],
        }
    }


def _block_body_labels_outside_forms(priority: int) -> dict[str, Any]:
    labels = [{"label_match_statement": {"scope": "LABEL", "key": label}} for label in BODY_RULE_LABELS]
    return {
        "name": "BlockBodyRulesOutsideForms",
        "priority": priority,
        "action": {"block": {}},
        "statement": {
            "and_statement": {
                "statements": [
                    {"or_statement": {"statements": labels}},
                    {"not_statement": {"statement": _path_regex(FORM_PATHS_REGEX)}},
                ]
            }
        },
        "visibility_config": _visibility("BlockBodyRulesOutsideForms"),
    }


def _token_rate_limit(priority: int, limit: int) -> dict[str, Any]:
    return {
        "name": "TokenEndpointRateLimit",
        "priority": priority,
        "action": {"block": {}},
        "statement": {
            "rate_based_statement": {
                "limit": limit,
                "evaluation_window_sec": RATE_WINDOW_SECONDS,
                "aggregate_key_type": "IP",
                "scope_down_statement": _path_regex(TOKEN_PATHS_REGEX),
            }
        },
        "visibility_config": _visibility("TokenEndpointRateLimit"),
    }
