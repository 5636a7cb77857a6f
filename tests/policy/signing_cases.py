"""Passing and failing fixtures of the KMS signing rules (idpkit.policy.signing; test_rules.py runs them).

Each failing fixture changes one thing of the compliant prod stack's signing roles and names the resource the
violation must name; `(rule id, case name, stack, resource)`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from idpkit.constants.aws import STACK_TAG_KEY
from idpkit.policy import StackResource
from idpkit.policy import resource_types as t
from tests.policy.compliant_signing import (
    ROTATION_POLICY,
    ROTATION_ROLE,
    SIGNER_ROLE,
    host_trust,
    rotation_statements,
)
from tests.policy.compliant_stack import Stack, adding, edited, removing, setting

Statement = dict[str, Any]


def _rotation_policy(edit: Callable[[list[Statement]], object]) -> Stack:
    def apply(props: dict[str, Any]) -> None:
        document = json.loads(props["policy"])
        edit(document["Statement"])
        props["policy"] = json.dumps(document)

    return edited(ROTATION_POLICY, apply)


def _statement(sid: str, change: Callable[[Statement], None]) -> Callable[[list[Statement]], None]:
    def edit(statements: list[Statement]) -> None:
        change(next(s for s in statements if s.get("Sid") == sid))

    return edit


def _create_condition(key: str, value: Any = None) -> Stack:
    """The CreateSigningKeys statement with its StringEquals `key` set to `value` (None: removed)."""

    def change(statement: Statement) -> None:
        conditions = statement["Condition"]["StringEquals"]
        if value is None:
            del conditions[key]
        else:
            conditions[key] = value

    return _rotation_policy(_statement("CreateSigningKeys", change))


def _granting(*actions: str) -> Stack:
    extra = {"Sid": "Extra", "Effect": "Allow", "Action": list(actions), "Resource": "*"}
    return _rotation_policy(lambda statements: statements.append(extra))


def _signer_trust(change: Callable[[Statement], None]) -> Stack:
    document = host_trust("idpkit-keycloak-signer")
    change(document["Statement"][0])
    return setting(SIGNER_ROLE, "assumeRolePolicy", value=json.dumps(document))


def _signer_inline_policy() -> Stack:
    document = {"Version": "2012-10-17", "Statement": rotation_statements()[:1]}
    return adding(
        StackResource(t.IAM_ROLE_POLICY, "signer-extra", {"role": SIGNER_ROLE, "policy": json.dumps(document)})
    )


_ADMIN_POLICY = "arn:aws:iam::aws:policy/AdministratorAccess"

PASSING: list[tuple[str, str, Stack, str]] = [
    ("AWS-KMS-003", "dev stack with imported keys (a loud opt-out)", removing(SIGNER_ROLE), "dev"),
    ("AWS-IAM-002", "no signer role (imported keys)", removing(SIGNER_ROLE), "prod"),
]

FAILING: list[tuple[str, str, Stack, str]] = [
    ("AWS-KMS-003", "prod stack without the signer role", removing(SIGNER_ROLE), ROTATION_ROLE),
    (
        "AWS-KMS-003",
        "signer role of another stack",
        setting(SIGNER_ROLE, "tags", STACK_TAG_KEY, value="staging"),
        ROTATION_ROLE,
    ),
    (
        "AWS-KMS-003",
        "rotation role that cannot create KMS keys",
        _rotation_policy(lambda statements: statements.pop(0)),
        ROTATION_ROLE,
    ),
    ("AWS-IAM-002", "signer role with an inline policy", _signer_inline_policy(), SIGNER_ROLE),
    (
        "AWS-IAM-002",
        "signer role with its own inlinePolicies",
        setting(SIGNER_ROLE, "inlinePolicies", value=[{"name": "more", "policy": json.dumps({"Statement": []})}]),
        SIGNER_ROLE,
    ),
    (
        "AWS-IAM-002",
        "signer role with a managed policy",
        setting(SIGNER_ROLE, "managedPolicyArns", value=[_ADMIN_POLICY]),
        SIGNER_ROLE,
    ),
    (
        "AWS-IAM-002",
        "signer role with an attached policy",
        adding(
            StackResource(
                t.IAM_ROLE_POLICY_ATTACHMENT, "signer-admin", {"role": SIGNER_ROLE, "policyArn": _ADMIN_POLICY}
            )
        ),
        SIGNER_ROLE,
    ),
    (
        "AWS-IAM-002",
        "signer sessions of 12 hours",
        setting(SIGNER_ROLE, "maxSessionDuration", value=43200),
        SIGNER_ROLE,
    ),
    ("AWS-IAM-002", "signer role without a session limit", removing(SIGNER_ROLE, "maxSessionDuration"), SIGNER_ROLE),
    (
        "AWS-IAM-002",
        "signer trust open to any principal",
        _signer_trust(lambda s: s.update(Principal={"AWS": "*"})),
        SIGNER_ROLE,
    ),
    (
        "AWS-IAM-002",
        "signer trust to a service",
        _signer_trust(lambda s: s.update(Principal={"Service": "ec2.amazonaws.com"})),
        SIGNER_ROLE,
    ),
    (
        "AWS-IAM-002",
        "signer trust without the VPC condition",
        _signer_trust(lambda s: s["Condition"]["StringEquals"].pop("aws:Ec2InstanceSourceVPC")),
        SIGNER_ROLE,
    ),
    (
        "AWS-IAM-002",
        "signer trust that also tags sessions",
        _signer_trust(lambda s: s.update(Action=["sts:AssumeRole", "sts:TagSession"])),
        SIGNER_ROLE,
    ),
    (
        "AWS-IAM-003",
        "rotation role not tagged with its stack",
        removing(ROTATION_ROLE, "tags", STACK_TAG_KEY),
        ROTATION_ROLE,
    ),
    ("AWS-IAM-003", "wildcard KMS actions", _granting("kms:*"), ROTATION_ROLE),
    ("AWS-IAM-003", "rotation role signs", _granting("kms:Sign"), ROTATION_ROLE),
    ("AWS-IAM-003", "rotation role deletes any key", _granting("kms:ScheduleKeyDeletion"), ROTATION_ROLE),
    ("AWS-IAM-003", "rotation role rewrites key policies", _granting("kms:PutKeyPolicy"), ROTATION_ROLE),
    ("AWS-IAM-003", "keys created for any usage", _create_condition("kms:KeyUsage"), ROTATION_ROLE),
    (
        "AWS-IAM-003",
        "key usage limited by a negated operator",
        _rotation_policy(
            _statement(
                "CreateSigningKeys",
                lambda s: s["Condition"].update(
                    StringNotEquals={"kms:KeyUsage": s["Condition"]["StringEquals"].pop("kms:KeyUsage")}
                ),
            )
        ),
        ROTATION_ROLE,
    ),
    (
        "AWS-IAM-003",
        "key spec limited only if present",
        _rotation_policy(
            _statement(
                "CreateSigningKeys",
                lambda s: s["Condition"].update(
                    StringEqualsIfExists={"kms:KeySpec": s["Condition"]["StringEquals"].pop("kms:KeySpec")}
                ),
            )
        ),
        ROTATION_ROLE,
    ),
    (
        "AWS-IAM-003",
        "everything but IAM (NotAction)",
        _rotation_policy(
            lambda statements: statements.append({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
        ),
        ROTATION_ROLE,
    ),
    ("AWS-IAM-003", "keys created symmetric", _create_condition("kms:KeySpec", "SYMMETRIC_DEFAULT"), ROTATION_ROLE),
    (
        "AWS-IAM-003",
        "keys created without the purpose tag",
        _create_condition("aws:RequestTag/idpkit:purpose"),
        ROTATION_ROLE,
    ),
    (
        "AWS-IAM-003",
        "keys created for another stack",
        _create_condition(f"aws:RequestTag/{STACK_TAG_KEY}", "staging"),
        ROTATION_ROLE,
    ),
    (
        "AWS-IAM-003",
        "keys created bypassing the lockout check",
        _rotation_policy(_statement("CreateSigningKeys", lambda s: s["Condition"].pop("Bool"))),
        ROTATION_ROLE,
    ),
    (
        "AWS-IAM-003",
        "decrypt outside Secrets Manager",
        _rotation_policy(_statement("KeyStoreEncryption", lambda s: s.pop("Condition"))),
        ROTATION_ROLE,
    ),
    (
        "AWS-IAM-003",
        "aliases on any key name",
        _rotation_policy(_statement("SigningKeyAliases", lambda s: s.update(Resource="*"))),
        ROTATION_ROLE,
    ),
]
