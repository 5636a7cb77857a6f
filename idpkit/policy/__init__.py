"""The kit's CrossGuard rules over the AWS resources of a stack.

`RULES` lists every rule with its `RuleMetadata` and pulumi_policy validate function, for the pack
(`policy-pack/__main__.py`), for review reports and for `run_rules` over a mock-run stack. Building
a `PolicyPack` starts a gRPC server, so nothing here does.

Environment-dependent rules (AWS-RDS-005, AWS-LOG-002, AWS-S3-004) read the policy config property
`environment` and otherwise the stack name; any stack not named dev or staging gets the prod rules.
"""

from __future__ import annotations

from pulumi_policy import Policy

from idpkit.policy import audit, compute, database, encryption, identity, monitoring, network, signing, vpc
from idpkit.policy.core import Environment, Rule, resolve_environment
from idpkit.policy.runner import StackResource, Violation, run_rules

RULES: tuple[Rule, ...] = tuple(
    sorted(
        (
            *encryption.RULES,
            *database.RULES,
            *compute.RULES,
            *network.RULES,
            *vpc.RULES,
            *identity.RULES,
            *signing.RULES,
            *audit.RULES,
            *monitoring.RULES,
        ),
        key=lambda rule: rule.metadata.id,
    )
)


def policies() -> list[Policy]:
    """The pulumi_policy objects for `PolicyPack(policies=...)`, all mandatory."""
    return [rule.policy() for rule in RULES]


__all__ = [
    "RULES",
    "Environment",
    "Rule",
    "StackResource",
    "Violation",
    "policies",
    "resolve_environment",
    "run_rules",
]
