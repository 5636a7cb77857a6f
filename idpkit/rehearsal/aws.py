"""The AWS APIs the hosts and operators call, emulated by moto in server mode and seeded from the graph.

Every bucket, object key, secret name, KMS key and alias comes from the stack's resource graph (the
Pulumi program under mocks). AWS assigns some identifiers at creation (a secret ARN's random suffix, an
object's version id, a key's id); the emulation assigns its own, and `Binding` maps the program's mock
identifiers to them so the host configuration rendered by the program can be used as it is.
"""

from __future__ import annotations

import json
import os
import secrets
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from idpkit.aws_graph import StackGraph
from idpkit.errors import IdpkitError
from idpkit.system.files import make_directory
from idpkit.system.process import ManagedProcess

EMULATED_SERVICES = ("s3", "secretsmanager", "kms", "sts", "ssm", "iam", "logs")
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "rehearsal", "AWS_SECRET_ACCESS_KEY": "rehearsal"}
_KEY = "aws:kms/key:Key"
_ALIAS = "aws:kms/alias:Alias"
_BUCKET = "aws:s3/bucket:Bucket"
_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
_SECRET = "aws:secretsmanager/secret:Secret"  # noqa: S105 - a type token
_RDS = "aws:rds/instance:Instance"


@dataclass
class Binding:
    """Mock identifiers of the graph -> the emulation's identifiers for the same resources."""

    values: dict[str, str] = field(default_factory=dict)

    def add(self, mock: str, emulated: str) -> None:
        self.values[mock] = emulated

    def rebind(self, text: str) -> str:
        # Longest first: a secret ARN contains its name, which may itself be bound.
        for mock in sorted(self.values, key=len, reverse=True):
            text = text.replace(mock, self.values[mock])
        return text


def environment(endpoint: str, region: str) -> dict[str, str]:
    """What a process needs to reach the emulation instead of AWS (boto3 >= 1.28 honours AWS_ENDPOINT_URL)."""
    return {"AWS_ENDPOINT_URL": endpoint, "AWS_REGION": region, "AWS_DEFAULT_REGION": region, **DUMMY_CREDENTIALS}


def start(process: ManagedProcess, address: str, port: int, account_id: str, private_keys: Path) -> str:
    """moto in server mode on `address:port`, as the stack's own account (state in memory: a restart
    forgets everything). The account matters: credentials from an assumed role act in the role's account.

    It is the local stack's KMS emulation module: moto with its KMS corrected to AWS's semantics (PSS salt,
    DIGEST messages, disabled keys), so PS256 and ES256 both sign as on AWS. Each signing key's private key
    is exported to `private_keys`, for the search that must not find it anywhere else."""
    endpoint = f"http://{address}:{port}"
    if process.pid() is None:
        make_directory(private_keys, 0o700)
        command = [sys.executable, "-m", "idpkit.local.kms_emulation", "--host", address, "--port", str(port)]
        process.start(
            [*command, "--export-private-keys", str(private_keys)],
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "MOTO_ACCOUNT_ID": account_id},
            cwd=process.log_file.parent,
            account=None,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            requests.get(f"{endpoint}/moto-api/", timeout=2)
            return endpoint
        except requests.RequestException:
            if process.exited_early():
                raise IdpkitError(f"the AWS emulation (moto) exited during start-up; see {process.log_file}") from None
            time.sleep(0.3)
    raise IdpkitError(f"the AWS emulation did not answer on {endpoint} within 60 s; see {process.log_file}")


@dataclass(frozen=True)
class Seed:
    """What the graph cannot say: object contents and secret values of the rehearsal."""

    objects: Mapping[str, Path | bytes]
    """Artifact object key -> its content (the rehearsal's CA bundles, the cached Keycloak archive…)."""
    secret_values: Mapping[str, dict[str, Any]]
    """Secret resource name (or `rds!db-<identifier>` for the RDS-managed one) -> its JSON value."""


def seed(graph: StackGraph, endpoint: str, region: str, content: Seed) -> Binding:
    """Create the graph's keys, buckets, objects and secrets in the emulation; returns the binding."""
    import boto3  # noqa: PLC0415 - slow to import; only the rehearsal needs it

    session = boto3.session.Session(
        aws_access_key_id=DUMMY_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=DUMMY_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=region,
    )
    binding = Binding()
    _seed_keys(graph, session.client("kms", endpoint_url=endpoint), binding)
    _seed_buckets(graph, session.client("s3", endpoint_url=endpoint), region, content, binding)
    _seed_secrets(graph, session.client("secretsmanager", endpoint_url=endpoint), content, binding)
    return binding


def _seed_keys(graph: StackGraph, kms: Any, binding: Binding) -> None:
    for key in graph.of_type(_KEY):
        created = kms.create_key(
            Description=str(key.inputs.get("description", key.name)),
            KeySpec=str(key.inputs.get("customerMasterKeySpec", "SYMMETRIC_DEFAULT")),
            KeyUsage=str(key.inputs.get("keyUsage", "ENCRYPT_DECRYPT")),
            Tags=[{"TagKey": "idpkit:resource", "TagValue": key.name}],
        )["KeyMetadata"]
        binding.add(str(key.outputs["arn"]), created["Arn"])
    for alias in graph.of_type(_ALIAS):
        target = next(k for k in graph.of_type(_KEY) if k.id == alias.inputs["targetKeyId"])
        kms.create_alias(AliasName=alias.inputs["name"], TargetKeyId=binding.values[str(target.outputs["arn"])])


def _seed_buckets(graph: StackGraph, s3: Any, region: str, content: Seed, binding: Binding) -> None:
    versioned = {str(v.inputs.get("bucket")) for v in graph.of_type(_VERSIONING)}
    for bucket in graph.of_type(_BUCKET):
        name = str(bucket.id)
        if region == "us-east-1":
            s3.create_bucket(Bucket=name)
        else:
            s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
        if name in versioned:
            s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for obj in graph.of_type(_OBJECT):
        key = str(obj.inputs["key"])
        if key not in content.objects:
            raise IdpkitError(f"rehearsal: no content for s3://{obj.inputs['bucket']}/{key} ({obj.name})")
        source = content.objects[key]
        body = source.read_bytes() if isinstance(source, Path) else source
        version = s3.put_object(Bucket=str(obj.inputs["bucket"]), Key=key, Body=body).get("VersionId")
        if version:
            binding.add(str(obj.outputs["versionId"]), version)


def _seed_secrets(graph: StackGraph, sm: Any, content: Seed, binding: Binding) -> None:
    declared = [
        (s.name, str(s.id), s.inputs.get("kmsKeyId"), str(s.inputs.get("description", "")))
        for s in graph.of_type(_SECRET)
    ]
    for database in graph.of_type(_RDS):
        for managed in database.outputs.get("masterUserSecrets") or []:
            name = f"rds!db-{database.inputs['identifier']}"
            declared.append((name, managed["secretArn"], managed.get("kmsKeyId"), "RDS master user (RDS-managed)"))
    for name, mock_arn, key, description in declared:
        arguments: dict[str, Any] = {"Name": name, "Description": description}
        if key:
            arguments["KmsKeyId"] = binding.rebind(str(key))
        if name in content.secret_values:
            arguments["SecretString"] = json.dumps(content.secret_values[name])
        created = sm.create_secret(**arguments)
        binding.add(mock_arn, created["ARN"])


def new_password() -> str:
    return secrets.token_urlsafe(24)
