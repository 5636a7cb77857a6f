"""The key policy the kit gives every realm signing key it creates in KMS (idpkit.keys.kms_policy)."""

from __future__ import annotations

from typing import Any

import pytest

from idpkit.keys.kms_policy import ADMINISTRATOR_ACTIONS, signing_key_policy_document

ROTATION = "arn:aws:iam::111122223333:role/idpkit-prod-keys-rotation"
SIGNER = "arn:aws:iam::111122223333:role/idpkit-prod-keys-signer"
POLICY = signing_key_policy_document(ROTATION, SIGNER)


def _allowed(principal: str) -> set[str]:
    actions: set[str] = set()
    for statement in POLICY["Statement"]:
        if statement["Effect"] == "Allow" and statement["Principal"] == {"AWS": principal}:
            value: Any = statement["Action"]
            actions |= {value} if isinstance(value, str) else set(value)
    return actions


def test_the_hosts_role_may_only_sign_and_read_the_public_key() -> None:
    assert _allowed(SIGNER) == {"kms:Sign", "kms:GetPublicKey", "kms:DescribeKey"}, "signer role: more than signing"


def test_signing_is_limited_to_the_two_jws_algorithms() -> None:
    sign = next(s for s in POLICY["Statement"] if s["Effect"] == "Allow" and s["Action"] == "kms:Sign")
    assert sign["Condition"] == {"StringEquals": {"kms:SigningAlgorithm": ["RSASSA_PSS_SHA_256", "ECDSA_SHA_256"]}}


def test_the_rotation_role_administers_but_never_signs() -> None:
    assert _allowed(ROTATION) == set(ADMINISTRATOR_ACTIONS), "rotation role: not exactly key administration"
    assert "kms:Sign" not in _allowed(ROTATION), "rotation role may sign"


@pytest.mark.parametrize("statement", POLICY["Statement"], ids=lambda statement: statement["Sid"])
def test_no_statement_allows_the_account_root_or_everyone(statement: dict[str, Any]) -> None:
    if statement["Effect"] == "Allow":
        assert statement["Principal"] in ({"AWS": SIGNER}, {"AWS": ROTATION}), f"{statement['Sid']}: broad principal"


def test_an_explicit_deny_keeps_sign_to_the_signer_role() -> None:
    deny = next(s for s in POLICY["Statement"] if s["Effect"] == "Deny")
    assert deny["Action"] == "kms:Sign"
    assert deny["Condition"] == {"StringNotEquals": {"aws:PrincipalArn": SIGNER}}
