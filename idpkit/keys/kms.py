"""Realm signing keys created, aliased, disabled and deleted in AWS KMS (or the local KMS emulation).

With `--signing kms` a rotation creates a new asymmetric SIGN_VERIFY KMS key instead of key material:
Keycloak's `idpkit-kms` component names the key (ARN, region, endpoint) and signs through KMS `Sign`, so
the private key exists only inside KMS. The key store keeps the rotation state and each key's ARN, never
key material. Emergency rotation disables the compromised key in KMS (nothing can sign with it from that
moment, whatever any Keycloak node has cached); retirement schedules the deletion of old keys.

On AWS the calls are made as the rotation role (the only key administrator in each key's policy,
`idpkit.keys.kms_policy`); the hosts' sign-only role may use the keys for `Sign` and `GetPublicKey` only.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Any

from idpkit.constants.aws import PURPOSE_TAG_KEY, SIGNING_KEY_PURPOSE, SIGNING_KEY_SPECS, STACK_TAG_KEY
from idpkit.errors import ExitCode, IdpkitError
from idpkit.keycloak_server.kms_provider import PROVIDER_ID
from idpkit.keys.kms_policy import signing_key_policy

DELETION_WINDOW_DAYS = 30
"""The longest window KMS allows: a deletion scheduled by mistake can be cancelled for a month."""
SIGNING_ENV = "IDPKIT_SIGNING"
"""`idpkit keys --signing`'s variable: the rotation schedule sets it to `kms` on KMS stacks."""
SIGNER_ROLE_ENV = "IDPKIT_KMS_SIGNER_ROLE_ARN"
"""On AWS: the hosts' sign-only role, named in every new key's policy (set by the rotation schedule)."""
ALIAS_PREFIX = "alias/idpkit-"
"""Every signing key alias starts so; the rotation role may create and move aliases under it for its stack."""
KMS_REGION_ENV = "AWS_REGION"
SERVICE_ENDPOINT_ENV, ENDPOINT_ENV = "AWS_ENDPOINT_URL_KMS", "AWS_ENDPOINT_URL"
"""boto3's endpoint overrides (KMS's own, then every service's): never set on AWS, where Keycloak reaches the
regional endpoint; where an emulation stands in, new keys' components name the same endpoint."""
KMS_ENDPOINT_ENV = "IDPKIT_KMS_ENDPOINT"
"""Local stack only: a KMS emulation other than the stack's own (tests run their own, e.g. moto as shipped)."""


@dataclass(frozen=True)
class KmsTarget:
    """Where new keys are created and how Keycloak reaches them."""

    stack: str
    """Tagged on every key (`idpkit:stack`): the rotation role may create keys for its own stack only."""
    region: str
    endpoint: str | None
    """None on AWS (the regional endpoint, through the VPC's interface endpoint); an emulation's URL otherwise."""
    rotation_role_arn: str | None = None
    signer_role_arn: str | None = None
    """Both set on AWS (the key policy names them); None against the emulation, which evaluates no policy."""


class KmsKeys:
    """The KMS calls of a rotation, on one boto3 KMS client."""

    def __init__(self, target: KmsTarget, client: Any) -> None:
        self.target = target
        self.client = client

    def create(self, algorithm: str, description: str) -> str:
        """A new SIGN_VERIFY key for `algorithm`; returns its ARN."""
        arguments: dict[str, Any] = {
            "KeySpec": SIGNING_KEY_SPECS[algorithm],
            "KeyUsage": "SIGN_VERIFY",
            "Description": description,
            "Tags": [
                {"TagKey": PURPOSE_TAG_KEY, "TagValue": SIGNING_KEY_PURPOSE},
                {"TagKey": STACK_TAG_KEY, "TagValue": self.target.stack},
            ],
        }
        if self.target.rotation_role_arn and self.target.signer_role_arn:
            arguments["Policy"] = signing_key_policy(self.target.rotation_role_arn, self.target.signer_role_arn)
        created = self._call("CreateKey", self.client.create_key, **arguments)
        return str(created["KeyMetadata"]["Arn"])

    def fingerprint(self, arn: str) -> str:
        """SHA-256 of the key's SubjectPublicKeyInfo: what Keycloak publishes, comparable with the live key."""
        public = self._call("GetPublicKey", self.client.get_public_key, KeyId=arn)["PublicKey"]
        return "sha256:" + hashlib.sha256(public).hexdigest()

    def point_alias(self, realm: str, algorithm: str, arn: str) -> str:
        """`<prefix>-<realm>-<alg>` names the key that signs now (for operators and CloudTrail readers)."""
        alias = signing_key_alias(self.target.stack, realm, algorithm)
        key_id = _key_id(arn)
        existing = self._call("ListAliases", self.client.list_aliases, KeyId=key_id).get("Aliases", [])
        if any(entry.get("AliasName") == alias for entry in existing):
            return alias
        try:
            self.client.update_alias(AliasName=alias, TargetKeyId=key_id)
        except Exception as error:
            if _code(error) != "NotFoundException":
                raise IdpkitError(f"KMS UpdateAlias {alias}: {_message(error)}") from error
            self._call("CreateAlias", self.client.create_alias, AliasName=alias, TargetKeyId=key_id)
        return alias

    def disable(self, arn: str) -> bool:
        """Disable the key (nothing signs with it from now on); False if it already was."""
        state = self._call("DescribeKey", self.client.describe_key, KeyId=_key_id(arn))["KeyMetadata"]["KeyState"]
        if state != "Enabled":
            return False
        self._call("DisableKey", self.client.disable_key, KeyId=_key_id(arn))
        return True

    def schedule_deletion(self, arn: str) -> bool:
        """Schedule the key's deletion after the longest window; False if it already is."""
        state = self._call("DescribeKey", self.client.describe_key, KeyId=_key_id(arn))["KeyMetadata"]["KeyState"]
        if state == "PendingDeletion":
            return False
        self._call(
            "ScheduleKeyDeletion",
            self.client.schedule_key_deletion,
            KeyId=_key_id(arn),
            PendingWindowInDays=DELETION_WINDOW_DAYS,
        )
        return True

    def component_config(
        self, arn: str, algorithm: str, *, priority: int, active: bool, enabled: bool
    ) -> dict[str, list[str]]:
        """The `idpkit-kms` component for the key: where it is, never what it is (Keycloak reads the public key)."""
        config = {
            "priority": [str(priority)],
            "enabled": [_flag(enabled)],
            "active": [_flag(active)],
            "algorithm": [algorithm],
            "kmsKeyId": [arn],
            "kmsRegion": [self.target.region],
        }
        if self.target.endpoint:
            config["kmsEndpoint"] = [self.target.endpoint]
        return config

    def _call(self, operation: str, method: Any, **arguments: Any) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = method(**arguments)
        except Exception as error:  # botocore raises many types; the message is what the operator needs
            raise IdpkitError(f"KMS {operation} failed: {_message(error)}") from error
        return answer


def open_kms(target: KmsTarget, credentials: dict[str, str] | None) -> KmsKeys:
    import boto3  # noqa: PLC0415 - slow to import; only KMS-backed rotations need it

    arguments: dict[str, Any] = {"region_name": target.region}
    if target.endpoint:
        arguments["endpoint_url"] = target.endpoint
    if credentials:
        arguments |= credentials
    return KmsKeys(target, boto3.client("kms", **arguments))


def local_kms(stack: str) -> KmsKeys:
    """The local stack's KMS emulation (`IDPKIT_KMS_ENDPOINT` names another one, e.g. a test's)."""
    from idpkit.local.kms_emulation import EMULATION_CREDENTIALS, EMULATION_REGION  # noqa: PLC0415
    from idpkit.local.layout import LocalLayout  # noqa: PLC0415

    endpoint = os.environ.get(KMS_ENDPOINT_ENV) or LocalLayout.for_stack(stack).kms_endpoint
    target = KmsTarget(stack, EMULATION_REGION, endpoint)
    return open_kms(target, {name.lower(): value for name, value in EMULATION_CREDENTIALS.items()})


def aws_target(stack: str, rotation_role_arn: str | None) -> KmsTarget:
    """An AWS stack's target: region and roles from the environment the rotation schedule sets."""
    region = os.environ.get(KMS_REGION_ENV) or os.environ.get("AWS_DEFAULT_REGION")
    signer = os.environ.get(SIGNER_ROLE_ENV)
    if not region or not rotation_role_arn or not signer:
        raise IdpkitError(
            f"stack {stack!r}: KMS signing keys need the region ({KMS_REGION_ENV}), the rotation role "
            f"(--assume-role) and the hosts' sign-only role ({SIGNER_ROLE_ENV})",
            exit_code=ExitCode.USAGE,
            hint="the rotation schedule sets all three on the hosts (components/signing_keys.py)",
        )
    # Set only where an AWS emulation stands in for AWS (a rehearsal): Keycloak's component then names it too.
    endpoint = os.environ.get(SERVICE_ENDPOINT_ENV) or os.environ.get(ENDPOINT_ENV) or None
    return KmsTarget(stack, region, endpoint, rotation_role_arn, signer)


def signing_key_alias(stack: str, realm: str, algorithm: str) -> str:
    """`alias/idpkit-<stack>-<realm>-<alg>`: names the key that signs now (for operators and CloudTrail readers)."""
    return f"{ALIAS_PREFIX}{stack}-{realm}-{algorithm.lower()}"


def is_kms_component(provider_id: str) -> bool:
    return provider_id == PROVIDER_ID


def _key_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def _flag(value: bool) -> str:
    return "true" if value else "false"


def _code(error: Exception) -> str | None:
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None


def _message(error: Exception) -> str:
    return str(error).splitlines()[0] if str(error) else type(error).__name__
