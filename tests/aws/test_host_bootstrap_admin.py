"""The bootstrap admin's password reaches Keycloak only until the kit's admin service account exists.

`idpkit host keycloak-env` (systemd's ExecStartPre, at every start) builds Keycloak's environment with
`keycloak_environment`; here it runs against Secrets Manager as moto serves it, with the three states the
admin credentials secret goes through: created empty by the program, written with something that is not a
service account, and written by the first `idpkit realm apply`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from idpkit.host.config import HostConfig
from idpkit.host.layout import HostLayout
from idpkit.host.up import keycloak_environment

REGION = "us-east-1"
BOOTSTRAP = {"username": "idpkit-bootstrap", "password": "bootstrap-test-password"}
BOOTSTRAP_KEYS = {"KC_BOOTSTRAP_ADMIN_USERNAME", "KC_BOOTSTRAP_ADMIN_PASSWORD"}


@pytest.fixture
def secrets(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.client("secretsmanager", region_name=REGION)


def _config(client: Any, admin_value: dict[str, Any] | None) -> HostConfig:
    def secret(name: str, value: dict[str, Any] | None) -> str:
        if value is None:  # as the program creates it: a secret without any version
            return str(client.create_secret(Name=name)["ARN"])
        return str(client.create_secret(Name=name, SecretString=json.dumps(value))["ARN"])

    app = {"username": "keycloak_a", "password": "app-test-password", "host": "db", "port": 5432, "dbname": "keycloak"}
    return HostConfig(
        stack="prod", region=REGION, realm="phi", public_hostname="id.example.org",
        m2m_url="https://mtls.id.example.org:8443", admin_local_port=9443, db_host="db", db_port=5432,
        db_name="keycloak", db_master_secret_arn=secret("master", {"username": "m", "password": "p"}),
        db_app_secret_arn=secret("app", app), bootstrap_admin_secret_arn=secret("bootstrap", BOOTSTRAP),
        admin_credentials_secret_arn=secret("admin", admin_value), host_tls_secret_arn="unused",
        artifacts_bucket="unused", keycloak_object_key="unused", rds_ca_object_key="unused",
        client_ca_object_key="unused", client_ca_object_version="unused", server_log_group="unused",
        event_log_group="unused",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("admin_value", "handed_out"),
    [
        (None, True),
        ({"note": "not a service account"}, True),
        ({"client_id": "idpkit-admin", "client_secret": "service-account-test-secret"}, False),
        ({"client_id": "idpkit-admin", "private_key": "-----BEGIN PRIVATE KEY-----", "key_id": "k1"}, False),
    ],
    ids=[
        "admin secret created empty",
        "admin secret without a client",
        "kit service account exists (older kit: client secret)",
        "kit service account exists (private_key_jwt)",
    ],
)
def test_bootstrap_admin_is_handed_to_keycloak_only_until_the_service_account_exists(
    secrets: Any, tmp_path: Path, admin_value: dict[str, Any] | None, handed_out: bool
) -> None:
    environment = keycloak_environment(_config(secrets, admin_value), HostLayout(tmp_path))
    assert environment["KC_DB_USERNAME"] == "keycloak_a", "Keycloak starts with the application role"
    if handed_out:
        assert {key: environment.get(key) for key in BOOTSTRAP_KEYS} == {
            "KC_BOOTSTRAP_ADMIN_USERNAME": BOOTSTRAP["username"],
            "KC_BOOTSTRAP_ADMIN_PASSWORD": BOOTSTRAP["password"],
        }, "before the kit's service account exists, Keycloak needs the bootstrap admin"
    else:
        assert not BOOTSTRAP_KEYS & set(environment), (
            "once the kit's admin service account exists, the bootstrap password must not reach Keycloak again"
        )
        assert BOOTSTRAP["password"] not in environment.values()
