"""Who may become a role, how long-lived secrets are rotated, and how operator sessions on the hosts are kept."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from idpkit.compliance import RuleMetadata, Severity
from idpkit.constants.aws import SESSION_PREFERENCES_DOCUMENT as SESSION_PREFERENCES
from idpkit.constants.monitoring import SECRET_ROTATION_KINDS, SECRET_ROTATION_TAG
from idpkit.policy import resource_types as t
from idpkit.policy.core import (
    Environment,
    Res,
    Stack,
    as_list,
    customer_managed_key_problem,
    get,
    policy_document,
    resource_rule,
    stack_rule,
)

# Request-context keys the caller cannot set: where its credentials were delivered or its request came from,
# and what its principal is. Session names, source identities and external ids are chosen by the caller.
BINDING_CONDITION_KEYS = frozenset(
    {
        "aws:ec2instancesourcevpc",
        "aws:ec2instancesourceprivateipv4",
        "ec2:sourceinstancearn",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:principalarn",
        "aws:principalorgid",
        "aws:multifactorauthpresent",
    }
)
BINDING_CONDITION_PREFIXES = ("aws:principaltag/",)
CONFUSED_DEPUTY_KEYS = frozenset({"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid"})
# Services whose role assumption is bound to a resource of the account by construction (an instance profile).
_BOUND_SERVICES = frozenset({"ec2.amazonaws.com"})


def _condition_keys(statement: Mapping[str, Any]) -> set[str]:
    condition = statement.get("Condition")
    if not isinstance(condition, Mapping):
        return set()
    return {str(key).lower() for block in condition.values() if isinstance(block, Mapping) for key in block}


def _binding(keys: set[str]) -> bool:
    return bool(keys & BINDING_CONDITION_KEYS) or any(key.startswith(BINDING_CONDITION_PREFIXES) for key in keys)


def trust_problems(document: Mapping[str, Any]) -> Iterator[str]:
    """What a trust policy leaves to the caller: why each statement's principal is not bound."""
    for index, statement in enumerate(as_list(document.get("Statement"))):
        if not isinstance(statement, Mapping) or statement.get("Effect") != "Allow":
            continue
        label = statement.get("Sid") or f"statement {index}"
        keys = _condition_keys(statement)
        principal = statement.get("Principal")
        if principal == "*" or (isinstance(principal, Mapping) and "*" in as_list(principal.get("AWS"))):
            yield f"{label} lets any principal assume the role"
            continue
        principal = principal if isinstance(principal, Mapping) else {}
        for service in as_list(principal.get("Service")):
            if service not in _BOUND_SERVICES and not keys & CONFUSED_DEPUTY_KEYS:
                yield f"{label}: {service} is not bound to this account (aws:SourceAccount or aws:SourceArn)"
        if principal.get("AWS") and not _binding(keys):
            chosen = sorted(keys - CONFUSED_DEPUTY_KEYS)
            because = f"; {', '.join(chosen)} can be chosen by the caller" if chosen else ""
            who = as_list(principal["AWS"])
            yield f"{label}: {who} assumes it without a condition the caller cannot choose{because}"
        if principal.get("Federated") and not keys:
            yield f"{label}: federated principal without conditions"


@resource_rule(
    RuleMetadata(
        id="AWS-IAM-001",
        title="Role trust policies bind each principal with conditions the caller cannot choose",
        requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(d)"),
        severity=Severity.HIGH,
        risk="A trust that rests on a session name, source identity or external id lets anyone holding the "
        "trusted principal's credentials (stolen from a host, say) assume the role from anywhere; a service "
        "principal without aws:SourceAccount/aws:SourceArn can be used by another account (confused deputy).",
        remediation="Bind AWS principals with aws:Ec2InstanceSourceVPC, aws:SourceVpce, aws:PrincipalArn or a "
        "principal tag, and service principals with aws:SourceAccount and aws:SourceArn.",
    ),
    types=(t.IAM_ROLE,),
)
def role_trust_bound(res: Res, _env: Environment) -> Iterator[str]:
    """Every IAM role's trust policy: AWS principals are bound by at least one condition key the caller
    cannot set (where its credentials were delivered, the VPC or endpoint the request came through, its
    principal ARN, organization or tags); service principals other than EC2's are bound to this account or
    resource (aws:SourceAccount, aws:SourceArn); no statement admits any principal."""
    yield from trust_problems(policy_document(get(res.props, "assumeRolePolicy")))


_DECLARATION = re.compile(rf"^({'|'.join(SECRET_ROTATION_KINDS)}):((runbooks|docs)/[a-z0-9-]+\.md)$")


def _schedules_naming(secret: Res, stack: Stack) -> list[Res]:
    arn = secret.props.get("arn") or secret.props.get("id")
    return [
        schedule
        for schedule in stack.of_type((t.SCHEDULE,))
        if stack.linked(schedule, "target", secret, lambda target: bool(arn) and str(arn) in json.dumps(target))
    ]


@stack_rule(
    RuleMetadata(
        id="AWS-SM-002",
        title="Every secret declares its rotation, or a documented exception",
        requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(d)"),
        severity=Severity.MEDIUM,
        risk="A secret nobody knows how to rotate stays valid for years after it leaked, and nobody can replace "
        "it quickly in an incident.",
        remediation=f"Tag the secret {SECRET_ROTATION_TAG}=<scheduled|procedure|exception>:<runbooks/x.md or "
        "docs/y.md> naming the document that rotates it or explains why it is not rotated; a `scheduled` "
        "secret also needs a schedule of the stack (or a SecretRotation) that acts on it.",
    ),
    subjects=(t.SECRETS_MANAGER_ENTRY,),
)
def secret_rotation_declared(res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """Every Secrets Manager secret carries the idpkit:rotation tag `<kind>:<document>`: `scheduled` (a
    Scheduler schedule of the stack names the secret in its target, or a SecretRotation rotates it),
    `procedure` (an operator procedure in the named runbook or document) or `exception` (the document says
    why it is not rotated)."""
    tags = get(res.props, "tags")
    declaration = tags.get(SECRET_ROTATION_TAG) if isinstance(tags, Mapping) else None
    if not declaration:
        yield f"has no {SECRET_ROTATION_TAG} tag declaring how it is rotated"
        return
    match = _DECLARATION.match(str(declaration))
    if not match:
        kinds = "|".join(SECRET_ROTATION_KINDS)
        yield f"{SECRET_ROTATION_TAG}={declaration!r} is not <{kinds}>:<runbooks/x.md|docs/x.md>"
        return
    if match[1] == "scheduled":
        rotations = stack.referrers(res, (t.SECRET_ROTATION,), "secretId")
        if not rotations and not _schedules_naming(res, stack):
            yield "is declared `scheduled` but no schedule or SecretRotation of the stack acts on it"


def _preferences(stack: Stack) -> list[tuple[Res, Mapping[str, Any]]]:
    found = []
    for document in stack.of_type((t.SSM_DOCUMENT,)):
        if get(document.props, "name") == SESSION_PREFERENCES and get(document.props, "documentType") == "Session":
            inputs = policy_document(get(document.props, "content")).get("inputs")
            found.append((document, inputs if isinstance(inputs, Mapping) else {}))
    return found


@stack_rule(
    RuleMetadata(
        id="AWS-SSM-001",
        title="Session Manager sessions are encrypted with a customer key and logged to an encrypted log group",
        requirements=("HIPAA-164.312(b)", "HIPAA-164.312(e)(1)", "HIPAA-164.312(a)(2)(iv)"),
        severity=Severity.MEDIUM,
        risk="Without the preferences document, shell sessions on the hosts that hold Keycloak's secrets are "
        "neither recorded nor encrypted beyond TLS: an operator's actions cannot be reviewed.",
        remediation=f"Declare the {SESSION_PREFERENCES} Session document with kmsKeyId (a customer key), "
        "cloudWatchLogGroupName (a log group of the stack) and cloudWatchEncryptionEnabled true.",
    ),
    subjects=(t.EC2_LAUNCH_TEMPLATE, t.EC2_INSTANCE),
)
def session_manager_logged(_res: Res, stack: Stack, _env: Environment) -> Iterator[str]:
    """A stack with hosts declares the Session Manager preferences document (SSM-SessionManagerRunShell):
    session data encrypted with a customer-managed key, transcripts streamed to a log group the stack
    declares (so AWS-LOG-001/002 cover it) with cloudWatchEncryptionEnabled, and no run-as user."""
    preferences = _preferences(stack)
    if not preferences:
        yield f"hosts are reachable through Session Manager but the stack declares no {SESSION_PREFERENCES} document"
    groups = {get(group.props, "name") for group in stack.of_type((t.LOG_GROUP,))}
    for document, inputs in preferences:
        if problem := customer_managed_key_problem(inputs, "kmsKeyId"):
            yield f"document '{document.name}': {problem}"
        if inputs.get("cloudWatchLogGroupName") not in groups:
            yield f"document '{document.name}' does not log sessions to a log group of the stack"
        if inputs.get("cloudWatchEncryptionEnabled") is not True:
            yield f"document '{document.name}' does not require an encrypted session log group"
        if inputs.get("runAsEnabled") is True:
            yield f"document '{document.name}' runs sessions as a configured user (runAsEnabled)"


RULES = (role_trust_bound, secret_rotation_declared, session_manager_logged)
