"""Key stores: the Secrets Manager store (boto3 against moto) and the local 0600 store, one contract."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from idpkit.errors import IdpkitError
from idpkit.keys import material
from idpkit.keys.store import (
    ACTIVE,
    KeyRecord,
    LocalKeyStore,
    RealmKeys,
    SecretsManagerKeyStore,
    open_store,
)

REGION = "us-east-1"
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "scheduler.amazonaws.com"}, "Action": "sts:AssumeRole"}
]}  # fmt: skip


@pytest.fixture(scope="module")
def key_pair() -> material.KeyMaterial:
    return material.generate("ES256", "test")


def realm_with_key(realm: str, key: material.KeyMaterial) -> RealmKeys:
    record = KeyRecord(1, "idpkit-ES256-g0001", "ES256", ACTIVE, 1.0, key.fingerprint, key, priority=10001)
    return RealmKeys(realm, keys=[record])


@pytest.fixture
def aws() -> Iterator[dict[str, Any]]:
    with mock_aws():
        kms = boto3.client("kms", region_name=REGION)
        key_arn = kms.create_key(Description="signing material")["KeyMetadata"]["Arn"]
        secrets = boto3.client("secretsmanager", region_name=REGION)
        secret_arn = secrets.create_secret(Name="idpkit-prod-signing-store", KmsKeyId=key_arn)["ARN"]
        role_arn = boto3.client("iam", region_name=REGION).create_role(
            RoleName="rotation", AssumeRolePolicyDocument=json.dumps(TRUST)
        )["Role"]["Arn"]
        yield {"key_arn": key_arn, "secret_arn": secret_arn, "role_arn": role_arn, "client": secrets}


def test_secret_created_by_pulumi_but_never_written_loads_as_an_empty_realm(aws: dict[str, Any]) -> None:
    state = SecretsManagerKeyStore(aws["secret_arn"], aws["client"]).load("phi")
    assert (state.keys, state.rotation) == ([], None), f"{aws['secret_arn']}: an unwritten secret must read as no keys"


def test_secrets_manager_store_round_trips_key_material(aws: dict[str, Any], key_pair: material.KeyMaterial) -> None:
    SecretsManagerKeyStore(aws["secret_arn"], aws["client"]).save(realm_with_key("phi", key_pair))
    loaded = SecretsManagerKeyStore(aws["secret_arn"], aws["client"]).load("phi")
    assert loaded.key(1).material == key_pair, f"{aws['secret_arn']}: the stored key must restore byte for byte"


def test_secrets_manager_store_keeps_every_realm_of_the_stack(
    aws: dict[str, Any], key_pair: material.KeyMaterial
) -> None:
    store = SecretsManagerKeyStore(aws["secret_arn"], aws["client"])
    store.save(realm_with_key("phi", key_pair))
    store.save(realm_with_key("other", key_pair))
    assert store.load("phi").keys, f"{aws['secret_arn']}: saving realm 'other' must not drop realm 'phi'"


def test_secrets_manager_store_refuses_to_overwrite_a_concurrent_write(
    aws: dict[str, Any], key_pair: material.KeyMaterial
) -> None:
    first = SecretsManagerKeyStore(aws["secret_arn"], aws["client"])
    second = SecretsManagerKeyStore(aws["secret_arn"], aws["client"])
    state = first.load("phi")
    second.save(realm_with_key("phi", key_pair))
    with pytest.raises(IdpkitError, match="changed while this command ran"):
        first.save(state)


def test_secret_value_is_encrypted_with_the_signing_material_key(
    aws: dict[str, Any], key_pair: material.KeyMaterial
) -> None:
    SecretsManagerKeyStore(aws["secret_arn"], aws["client"]).save(realm_with_key("phi", key_pair))
    described = aws["client"].describe_secret(SecretId=aws["secret_arn"])
    assert described["KmsKeyId"] == aws["key_arn"], f"{aws['secret_arn']}: must be encrypted with {aws['key_arn']}"


def test_open_store_assumes_the_rotation_role_for_secrets_manager(
    aws: dict[str, Any], key_pair: material.KeyMaterial
) -> None:
    store = open_store(aws["secret_arn"], "prod", role_arn=aws["role_arn"])
    store.save(realm_with_key("phi", key_pair))
    assert store.load("phi").keys, f"{aws['secret_arn']}: the store opened through {aws['role_arn']} must work"


def test_aws_stack_without_a_key_store_is_a_usage_error() -> None:
    with pytest.raises(IdpkitError, match="no key store given"):
        open_store(None, "prod")


def test_local_store_files_are_owner_only(tmp_path: Path, key_pair: material.KeyMaterial) -> None:
    store = LocalKeyStore(tmp_path / "signing-keys")
    store.save(realm_with_key("phi", key_pair))
    modes = {path.name: stat.S_IMODE(path.stat().st_mode) for path in (store.directory, store.file("phi"))}
    assert modes == {"signing-keys": 0o700, "phi.json": 0o600}, f"{store.directory}: key store must be 0700/0600"


def test_local_store_round_trips_key_material(tmp_path: Path, key_pair: material.KeyMaterial) -> None:
    store = LocalKeyStore(tmp_path)
    store.save(realm_with_key("phi", key_pair))
    assert store.load("phi").key(1).material == key_pair, f"{store.file('phi')}: the key must restore byte for byte"


def test_local_store_admits_one_command_at_a_time(tmp_path: Path) -> None:
    store = LocalKeyStore(tmp_path)
    with store.lock(), pytest.raises(IdpkitError, match="in use by another"), store.lock():
        pass


@pytest.mark.parametrize(
    "shown",
    [
        pytest.param(repr, id="KeyMaterial repr"),
        pytest.param(lambda key: json.dumps(realm_with_key("phi", key).keys[0].public_view()), id="KeyRecord view"),
    ],
)
def test_private_key_never_appears_in_printable_forms(shown: Any, key_pair: material.KeyMaterial) -> None:
    assert "PRIVATE KEY" not in shown(key_pair), "printable forms of a key must not contain its private key"
