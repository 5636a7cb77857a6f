"""The KMS signing roles of the compliant prod stack (idpkit.policy.signing): the rotation role tagged for its
stack with its KMS rights, and the hosts' sign-only role, written out as components/signing_keys.py declares
them so the rules are held to an independent statement of what passes."""

from __future__ import annotations

import json
from typing import Any

from idpkit.constants.aws import (
    PURPOSE_TAG_KEY,
    ROTATION_ROLE_PURPOSE,
    SIGNER_ROLE_PURPOSE,
    SIGNING_KEY_PURPOSE,
    STACK_TAG_KEY,
)
from idpkit.policy import StackResource
from idpkit.policy import resource_types as t
from tests.policy.compliant_monitoring import ACCOUNT, REGION, VPC_ID, role

ROTATION_ROLE = "rotation-role"
SIGNER_ROLE = "signer-role"
ROTATION_POLICY = "rotation-policy"
HOST_ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/host-role"


def host_trust(session_name: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": HOST_ROLE_ARN},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:Ec2InstanceSourceVPC": VPC_ID, "sts:RoleSessionName": session_name}
                },
            }
        ],
    }


def rotation_statements() -> list[dict[str, Any]]:
    return [
        {
            "Sid": "CreateSigningKeys",
            "Effect": "Allow",
            "Action": ["kms:CreateKey", "kms:TagResource"],
            "Resource": "*",
            "Condition": {
                "StringEquals": {
                    "kms:KeyUsage": "SIGN_VERIFY",
                    "kms:KeySpec": ["RSA_2048", "ECC_NIST_P256"],
                    f"aws:RequestTag/{PURPOSE_TAG_KEY}": SIGNING_KEY_PURPOSE,
                    f"aws:RequestTag/{STACK_TAG_KEY}": "prod",
                },
                "Bool": {"kms:BypassPolicyLockoutSafetyCheck": "false"},
            },
        },
        {
            "Sid": "SigningKeyAliases",
            "Effect": "Allow",
            "Action": ["kms:CreateAlias", "kms:UpdateAlias"],
            "Resource": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/idpkit-prod-*",
        },
        {"Sid": "ListAliases", "Effect": "Allow", "Action": "kms:ListAliases", "Resource": "*"},
        {
            "Sid": "KeyStoreEncryption",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/signing-material",
            "Condition": {"StringEquals": {"kms:ViaService": f"secretsmanager.{REGION}.amazonaws.com"}},
        },
    ]


def _tagged(resource: StackResource, purpose: str, **props: Any) -> StackResource:
    tags = {PURPOSE_TAG_KEY: purpose, STACK_TAG_KEY: "prod"}
    return StackResource(resource.type, resource.name, {**resource.props, "tags": tags, **props}, resource.id)


def signing_resources() -> list[StackResource]:
    rotation = role(ROTATION_ROLE, json.dumps(host_trust("idpkit-keys-rotation")))
    signer = role(SIGNER_ROLE, json.dumps(host_trust("idpkit-keycloak-signer")))
    policy = {"Version": "2012-10-17", "Statement": rotation_statements()}
    return [
        _tagged(rotation, ROTATION_ROLE_PURPOSE, maxSessionDuration=3600),
        _tagged(signer, SIGNER_ROLE_PURPOSE, maxSessionDuration=3600),
        StackResource(t.IAM_ROLE_POLICY, ROTATION_POLICY, {"role": ROTATION_ROLE, "policy": json.dumps(policy)}),
    ]
