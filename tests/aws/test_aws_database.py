"""RDS PostgreSQL: encrypted, TLS-only, private, managed password; durable in prod."""

from __future__ import annotations

import pytest
from aws_stack_graphs import describe, params

from idpkit.aws_graph import Resource

INSTANCE = "aws:rds/instance:Instance"


@pytest.mark.parametrize(("stack", "db"), params(INSTANCE))
def test_postgres_version_supported_by_keycloak(stack: str, db: Resource) -> None:
    assert db.inputs["engine"] == "postgres", f"{describe(db)}: engine must be postgres"
    assert db.inputs["engineVersion"].split(".")[0] in {"16", "17"}, f"{describe(db)}: unsupported version"


@pytest.mark.parametrize(("stack", "db"), params(INSTANCE))
def test_storage_encrypted_with_database_key(stack: str, db: Resource) -> None:
    assert db.inputs["storageEncrypted"] is True, f"{describe(db)}: storage must be encrypted"
    assert db.inputs["kmsKeyId"].endswith(f"idpkit-{stack}-kms-database"), f"{describe(db)}: needs the database key"


@pytest.mark.parametrize(("stack", "db"), params(INSTANCE))
def test_master_password_managed_by_secrets_manager(stack: str, db: Resource) -> None:
    assert db.inputs["manageMasterUserPassword"] is True, f"{describe(db)}: RDS must manage the password"
    assert db.inputs["masterUserSecretKmsKeyId"].endswith(f"idpkit-{stack}-kms-secrets"), (
        f"{describe(db)}: the master secret must use the secrets key"
    )
    assert "password" not in db.inputs, f"{describe(db)}: no password may pass through Pulumi"


@pytest.mark.parametrize(("stack", "db"), params(INSTANCE))
def test_not_publicly_accessible(stack: str, db: Resource) -> None:
    assert db.inputs["publiclyAccessible"] is False, f"{describe(db)}: must not be publicly accessible"


@pytest.mark.parametrize(("stack", "db"), params(INSTANCE))
def test_performance_insights_encrypted(stack: str, db: Resource) -> None:
    assert db.inputs["performanceInsightsEnabled"] is True, f"{describe(db)}: Performance Insights off"
    assert db.inputs["performanceInsightsKmsKeyId"].endswith("-kms-database"), f"{describe(db)}: PI not on CMK"


@pytest.mark.parametrize(("stack", "db"), params(INSTANCE))
def test_logs_exported(stack: str, db: Resource) -> None:
    assert "postgresql" in db.inputs["enabledCloudwatchLogsExports"], f"{describe(db)}: postgresql log not exported"


@pytest.mark.parametrize(("stack", "group"), params("aws:rds/parameterGroup:ParameterGroup"))
def test_force_ssl_set_explicitly(stack: str, group: Resource) -> None:
    values = {p["name"]: p["value"] for p in group.inputs["parameters"]}
    assert values.get("rds.force_ssl") == "1", f"{describe(group)}: rds.force_ssl must be set to 1 explicitly"


@pytest.mark.parametrize(("stack", "db"), params(INSTANCE, stacks=("prod",)))
@pytest.mark.parametrize(
    ("attribute", "check"),
    [
        ("multiAz", lambda value: value is True),
        ("deletionProtection", lambda value: value is True),
        ("backupRetentionPeriod", lambda value: value >= 7),
    ],
)
def test_prod_database_durability(stack: str, db: Resource, attribute: str, check: object) -> None:
    assert check(db.inputs[attribute]), f"{describe(db)}: prod requires a durable {attribute}"  # type: ignore[operator]
