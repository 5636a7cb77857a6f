"""The kit's one admin client: python-keycloak's methods and raw calls share one connection, whose writes are
all counted, whose errors are all ApiError, and whose reads can be recorded for a plan's fingerprint."""

from __future__ import annotations

import secrets
import subprocess
import sys

import pytest

from idpkit.keycloak_admin import AdminApi, ApiError, ReadLog, connect, urls
from idpkit.outputs import StackOutputs, load_admin_credentials

pytestmark = pytest.mark.local_stack


@pytest.fixture
def api(applied_realm: StackOutputs) -> AdminApi:
    return AdminApi(connect(applied_realm, load_admin_credentials(applied_realm)), applied_realm.realm)


def test_writes_through_python_keycloak_methods_and_raw_calls_are_counted(api: AdminApi) -> None:
    client_id = f"counted-{secrets.token_hex(3)}"
    created = api.keycloak.create_client({"clientId": client_id, "standardFlowEnabled": False})
    assert (api.writes.post, api.writes.total) == (1, 1), f"create_client counted as {api.writes.to_dict()}"
    api.delete(api.path(urls.CLIENT, id=created))
    assert (api.writes.delete, api.writes.total) == (1, 2), f"raw DELETE counted as {api.writes.to_dict()}"


def test_python_keycloak_errors_become_api_errors(api: AdminApi) -> None:
    with pytest.raises(ApiError) as caught:
        api.keycloak.get_client("no-such-client-id")
    assert caught.value.status == 404, f"{api.realm}: expected HTTP 404, got {caught.value}"


def test_reads_are_recorded_and_unchanged_objects_read_the_same(api: AdminApi) -> None:
    log = ReadLog()
    api.connection.read_log = log
    api.keycloak.get_clients()
    api.get(api.path(urls.CLIENTS))
    api.connection.read_log = None
    first, second = log.reads
    assert first.path == second.path == api.path(urls.CLIENTS), f"recorded {log.reads}"
    assert first.digest == second.digest, "two reads of unchanged clients digest differently"
    assert api.writes.total == 0, "reading made writes"


def test_a_login_made_before_the_key_is_rotated_logs_in_again_with_the_new_key(
    api: AdminApi, applied_realm: StackOutputs
) -> None:
    """`idpkit admin rotate-key` re-keys the account under a running command: its next login signs with the
    key now stored, instead of failing for the rest of the command."""
    before = load_admin_credentials(applied_realm)
    rotated = subprocess.run(
        [sys.executable, "-m", "idpkit", "admin", "rotate-key", "--stack", "local", "--json"],
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert rotated.returncode == 0, f"idpkit admin rotate-key failed: {rotated.stderr}"
    assert load_admin_credentials(applied_realm).private_key != before.private_key, "rotate-key stored no new key"
    api.connection.get_token()
    assert api.get(api.path(urls.REALM))["realm"] == applied_realm.realm, "the new login cannot read the realm"
