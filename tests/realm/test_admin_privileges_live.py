"""Against the real local stack: a role granted by hand to the kit's service account is drift, which only the
break-glass account may take back (`realm apply --break-glass`); the kit's own apply refuses it before any write."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator

import pytest

from idpkit.keycloak_admin import ADMIN_REALM, AdminApi, connect, urls
from idpkit.outputs import StackOutputs, load_admin_credentials, load_break_glass_credentials
from idpkit.realm import bootstrap
from tests.realm.helpers import run_realm

pytestmark = pytest.mark.local_stack


@pytest.fixture(scope="module")
def master(applied_realm: StackOutputs) -> AdminApi:
    return AdminApi(connect(applied_realm, load_break_glass_credentials(applied_realm)), ADMIN_REALM)


@pytest.fixture(scope="module")
def created_realm(applied_realm: StackOutputs) -> Iterator[str]:
    """A realm a master administrator created and delegated to the kit's account (a test's throwaway realm)."""
    kit = AdminApi(connect(applied_realm, load_admin_credentials(applied_realm)), f"delegated-{secrets.token_hex(3)}")
    bootstrap.create_delegated_realm(applied_realm, {"realm": kit.realm, "enabled": True})
    yield kit.realm
    kit.delete(kit.path(urls.REALM))


def _service_account(master: AdminApi) -> str:
    client = master.get(master.path(urls.CLIENTS), clientId=bootstrap.ADMIN_CLIENT_ID)[0]
    return str(master.get(master.path(urls.CLIENT_SERVICE_ACCOUNT, id=client["id"]))["id"])


def _grant(master: AdminApi, client_id: str | None, role: str) -> None:
    user = _service_account(master)
    if client_id is None:
        master.post(master.path(urls.USER_REALM_ROLES, id=user), [master.get(master.path(urls.ROLE, name=role))])
        return
    client = master.get(master.path(urls.CLIENTS), clientId=client_id)[0]["id"]
    found = [r for r in master.get(master.path(urls.CLIENT_ROLES, id=client)) if r["name"] == role]
    master.post(master.path(urls.USER_CLIENT_ROLES, id=user, client=client), found)


def _drifted_roles() -> tuple[int, list[str]]:
    completed = run_realm("drift", "--stack", "local", "--json")
    assert completed.returncode in (0, 2), f"realm drift failed: {completed.stderr}"
    changes = json.loads(completed.stdout)["changes"]
    return completed.returncode, [
        role
        for change in changes
        if change["kind"] == bootstrap.KIND
        for field in change["fields"]
        for role in field["live"] or []
    ]


@pytest.mark.parametrize(
    ("client", "role"),
    [(None, "admin"), (None, "create-realm"), ("master", "manage-users"), ("managed", "impersonation"),
     ("created", "impersonation")],
    ids=["master admin role", "creating realms", "master user administration", "impersonation in the managed realm",
         "impersonation in a realm delegated to it"],
)  # fmt: skip
def test_a_role_granted_by_hand_is_drift_and_break_glass_takes_it_back(
    master: AdminApi, applied_realm: StackOutputs, created_realm: str, client: str | None, role: str
) -> None:
    realms = {"master": ADMIN_REALM, "managed": applied_realm.realm, "created": created_realm}
    target = f"{realms[client]}-realm" if client else None
    _grant(master, target, role)
    try:
        code, roles = _drifted_roles()
        shown = f"{target}/{role}" if target else role
        assert code == 2 and shown in roles, f"{bootstrap.ADMIN_CLIENT_ID} holds {shown}; drift shows {roles}"
        refused = run_realm("apply", "--stack", "local")
        assert refused.returncode == 1 and "--break-glass" in refused.stderr, (
            f"the kit's own apply took back {shown} (exit {refused.returncode}); only break-glass may"
        )
    finally:
        applied = run_realm("apply", "--stack", "local", "--break-glass")
        assert applied.returncode == 0, f"realm apply --break-glass failed: {applied.stderr}"
    assert _drifted_roles() == (0, []), f"{bootstrap.ADMIN_CLIENT_ID}: apply --break-glass left {shown} in place"
