"""The kit's admin account: which roles count as more than it may hold, and when the bootstrap is planned."""

from __future__ import annotations

from typing import Any

import pytest

from idpkit.errors import IdpkitError
from idpkit.keycloak_admin import urls
from idpkit.outputs import AdminCredentials, StackOutputs
from idpkit.realm import bootstrap, engine, master_authentication, master_realm
from idpkit.realm.changes import Change, Write

OUTPUTS = StackOutputs(
    base_url="https://id.example.org", m2m_url="https://mtls.id.example.org", admin_url="https://localhost:9443",
    realm="phi", issuer="https://id.example.org/realms/phi", ca_bundle=None, admin_credentials="/dev/null",
)  # fmt: skip
HELD = {
    "realm_access": {"roles": ["default-roles-master", "offline_access", "uma_authorization"]},
    "resource_access": {
        "master-realm": {"roles": ["view-realm"]},
        "phi-realm": {"roles": ["manage-realm", "manage-users", "view-events"]},
        "bench-realm": {"roles": ["manage-realm"]},  # a realm a master administrator delegated to the kit
        "account": {"roles": ["manage-account", "view-profile"]},
    },
}


def _with(claims: dict[str, Any], client: str | None, role: str) -> dict[str, Any]:
    if client is None:
        return {**claims, "realm_access": {"roles": [*claims["realm_access"]["roles"], role]}}
    access = dict(claims["resource_access"])
    access[client] = {"roles": [*access.get(client, {}).get("roles", []), role]}
    return {**claims, "resource_access": access}


def test_exactly_the_codified_privileges_are_no_excess() -> None:
    assert bootstrap.PRIVILEGES.excess(HELD) == []


@pytest.mark.parametrize(
    ("client", "role", "shown"),
    [
        (None, "admin", "admin"),
        (None, "create-realm", "create-realm"),
        (None, "create-client", "create-client"),
        ("master-realm", "manage-users", "master-realm/manage-users"),
        ("master-realm", "view-clients", "master-realm/view-clients"),
        ("master-realm", "impersonation", "master-realm/impersonation"),
        ("phi-realm", "impersonation", "phi-realm/impersonation"),
        ("bench-realm", "impersonation", "bench-realm/impersonation"),
    ],
)
def test_a_role_beyond_the_codified_privileges_is_excess(client: str | None, role: str, shown: str) -> None:
    assert bootstrap.PRIVILEGES.excess(_with(HELD, client, role)) == [shown]


@pytest.mark.parametrize(
    ("credentials", "action"),
    [
        (AdminCredentials(username="idpkit-bootstrap", password="p"), "create"),
        (AdminCredentials(client_id=bootstrap.ADMIN_CLIENT_ID, client_secret="s"), "update"),
        (AdminCredentials(client_id=bootstrap.ADMIN_CLIENT_ID, private_key="k"), None),
    ],
    ids=["bootstrap admin", "older kit: client secret", "key-authenticated service account"],
)
def test_bootstrap_is_planned_until_the_kit_signs_its_assertions(
    credentials: AdminCredentials, action: str | None
) -> None:
    change = bootstrap.bootstrap_change(OUTPUTS, credentials)
    assert (change.action if change else None) == action


@pytest.mark.parametrize("kind", sorted(engine.MASTER_KINDS))
def test_the_kit_account_is_refused_any_master_change_before_a_write(kind: str) -> None:
    unreachable: Any = None  # no admin API may be reached: the refusal comes before any call
    kit = AdminCredentials(client_id=bootstrap.ADMIN_CLIENT_ID, private_key="k")
    session = engine.Session(OUTPUTS, master=unreachable, realm=unreachable, kit=kit)
    changes = [Change(kind, "master", "update", [])]
    with pytest.raises(IdpkitError, match="may not change master or create a realm; nothing was written") as refused:
        engine.execute(session, changes, "local")
    assert "--break-glass" in (refused.value.hint or ""), "the refusal names the way out"


def test_the_kit_account_is_refused_creating_the_realm_before_a_write() -> None:
    unreachable: Any = None  # no admin API may be reached: the refusal comes before any call
    kit = AdminCredentials(client_id=bootstrap.ADMIN_CLIENT_ID, private_key="k")
    session = engine.Session(OUTPUTS, master=unreachable, realm=unreachable, kit=kit)
    creation = Change("realm", "phi", "create", [], [Write("POST", urls.REALMS, {}, {"realm": "phi"}, target="master")])
    with pytest.raises(IdpkitError, match="may not change master or create a realm; nothing was written"):
        engine.execute(session, [creation], "local")


def test_master_kinds_are_the_master_realm_its_sign_in_and_the_kit_admin() -> None:
    assert {master_realm.KIND, bootstrap.KIND, *master_authentication.KINDS} == engine.MASTER_KINDS
