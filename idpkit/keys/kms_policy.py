"""The key policy of every realm signing key the kit creates in KMS: who may sign, who may administer.

- The hosts' sign-only role (`signer`) may `Sign` (with the two JWS algorithms only), `GetPublicKey` and
  `DescribeKey`: Keycloak needs nothing else, and it cannot change, disable or delete a key.
- The rotation role (`administrator`) administers the key (aliases, disable, deletion, policy) and reads
  its public key; it never signs. It is the key's creator, so it must keep `PutKeyPolicy` for KMS's
  lockout safety check (which the kit never bypasses).
- Nobody else: there is no statement for the account root, so IAM policies alone grant nothing on these
  keys, and an explicit deny keeps `Sign` to the signer whatever a later statement allows.
"""

from __future__ import annotations

import json
from typing import Any

SIGNER_ACTIONS = ("kms:Sign", "kms:GetPublicKey", "kms:DescribeKey")
SIGNING_ALGORITHMS = ("RSASSA_PSS_SHA_256", "ECDSA_SHA_256")
ADMINISTRATOR_ACTIONS = (
    "kms:CreateAlias",
    "kms:DeleteAlias",
    "kms:UpdateAlias",
    "kms:DescribeKey",
    "kms:GetPublicKey",
    "kms:GetKeyPolicy",
    "kms:PutKeyPolicy",
    "kms:DisableKey",
    "kms:EnableKey",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:TagResource",
    "kms:UntagResource",
    "kms:ListResourceTags",
)


def signing_key_policy_document(rotation_role_arn: str, signer_role_arn: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "HostsSignOnly",
                "Effect": "Allow",
                "Principal": {"AWS": signer_role_arn},
                "Action": "kms:Sign",
                "Resource": "*",
                "Condition": {"StringEquals": {"kms:SigningAlgorithm": list(SIGNING_ALGORITHMS)}},
            },
            {
                # kms:SigningAlgorithm is absent on GetPublicKey/DescribeKey, so they get their own statement.
                "Sid": "HostsReadThePublicKey",
                "Effect": "Allow",
                "Principal": {"AWS": signer_role_arn},
                "Action": [action for action in SIGNER_ACTIONS if action != "kms:Sign"],
                "Resource": "*",
            },
            {
                "Sid": "RotationRoleAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": rotation_role_arn},
                "Action": list(ADMINISTRATOR_ACTIONS),
                "Resource": "*",
            },
            {
                "Sid": "NobodyElseSigns",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "kms:Sign",
                "Resource": "*",
                "Condition": {"StringNotEquals": {"aws:PrincipalArn": signer_role_arn}},
            },
        ],
    }


def signing_key_policy(rotation_role_arn: str, signer_role_arn: str) -> str:
    return json.dumps(signing_key_policy_document(rotation_role_arn, signer_role_arn))
