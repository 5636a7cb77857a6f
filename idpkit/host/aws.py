"""The AWS calls a host makes, in one place: which clients exist here is what the VPC endpoints must serve.

Clients honour `AWS_ENDPOINT_URL` (boto3 >= 1.28), which is how a rehearsal points them at its AWS
emulation; on AWS they reach the regional endpoints, privately, through the VPC's interface endpoints.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from idpkit.errors import IdpkitError

HOST_AWS_SERVICES = ("s3", "secretsmanager", "sts")
"""The AWS APIs `idpkit host` calls (sts: the KMS signer role's credentials for Keycloak); the signing key
commands add kms and sts through `idpkit.keys`, and Keycloak itself calls kms."""


def client(service: str, region: str) -> Any:
    if service not in HOST_AWS_SERVICES:
        raise ValueError(f"{service}: not an API the host commands call (HOST_AWS_SERVICES)")
    import boto3  # noqa: PLC0415 - slow to import; only host commands need it

    return boto3.client(service, region_name=region)


def download(region: str, bucket: str, key: str, target: Path, version: str | None = None) -> None:
    """`s3://bucket/key` to `target`; with `version`, refuse any other object version than that one.

    The current version is read and its id compared, rather than reading by version id, so the host
    role needs `s3:GetObject` only (not `s3:GetObjectVersion`).
    """
    s3 = client("s3", region)
    try:
        response = s3.get_object(Bucket=bucket, Key=key)
    except Exception as error:  # botocore raises many types; what the operator needs is the message
        raise IdpkitError(f"s3://{bucket}/{key}: cannot be read ({error})") from error
    found = response.get("VersionId")
    if version is not None and found != version:
        raise IdpkitError(
            f"s3://{bucket}/{key}: current version {found!r} is not the pinned {version!r}",
            hint="the object changed after this launch template was rendered: run `pulumi up` (it rolls the hosts)",
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as out:
        for chunk in response["Body"].iter_chunks(1 << 20):
            out.write(chunk)


def secret_json(region: str, arn: str) -> dict[str, Any]:
    """A Secrets Manager secret's current value, decoded as a JSON object."""
    try:
        value = client("secretsmanager", region).get_secret_value(SecretId=arn)["SecretString"]
    except Exception as error:  # botocore raises many types; what the operator needs is the message
        raise IdpkitError(f"secret {arn}: cannot be read ({error})") from error
    try:
        loaded = json.loads(value)
    except ValueError as error:
        raise IdpkitError(f"secret {arn}: is not a JSON object") from error
    if not isinstance(loaded, dict):
        raise IdpkitError(f"secret {arn}: is not a JSON object")
    return loaded


def optional_secret_json(region: str, arn: str) -> dict[str, Any] | None:
    """Like `secret_json`, but `None` while the secret has no value yet (created empty by the program)."""
    try:
        value = client("secretsmanager", region).get_secret_value(SecretId=arn)["SecretString"]
    except Exception as error:
        if _error_code(error) == "ResourceNotFoundException":
            return None
        raise IdpkitError(f"secret {arn}: cannot be read ({error})") from error
    try:
        loaded = json.loads(value)
    except ValueError:
        return None
    return loaded if isinstance(loaded, dict) else None


def put_secret_json(region: str, arn: str, value: dict[str, Any]) -> None:
    """A new current version of the secret (the previous one stays as AWSPREVIOUS)."""
    try:
        client("secretsmanager", region).put_secret_value(SecretId=arn, SecretString=json.dumps(value))
    except Exception as error:
        raise IdpkitError(f"secret {arn}: cannot be written ({error})") from error


def _error_code(error: Exception) -> str | None:
    response = getattr(error, "response", None)
    return response.get("Error", {}).get("Code") if isinstance(response, dict) else None
