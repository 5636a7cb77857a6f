"""Against the real local stack: what every user holds is held to Keycloak's built-ins.

A realm role added to the default role, or a group made a default group, is drift that `realm plan`
names and `realm apply` revokes; a second apply makes no write. One case per realm role realm-config
declares, and one default group carrying one of them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from idpkit.keycloak_admin import AdminApi, urls
from idpkit.outputs import StackOutputs
from idpkit.realm import engine, loader
from idpkit.realm.kinds import default_roles
from tests.realm.helpers import run_realm

pytestmark = pytest.mark.local_stack
GROUPS = "admin/realms/{realm}/groups"
GROUP = "admin/realms/{realm}/groups/{id}"
GROUP_REALM_ROLES = "admin/realms/{realm}/groups/{id}/role-mappings/realm"
DECLARED_ROLES = sorted(role.name for role in loader.load("local").document.roles or [])


@pytest.fixture
def admin(applied_realm: StackOutputs) -> Iterator[AdminApi]:
    api = engine.Session.open(applied_realm).realm
    yield api
    for group in api.get(api.path(GROUPS)) or []:
        if group["name"].startswith("test-default-"):
            api.delete(api.path(GROUP, id=group["id"]))


def _grant_through_default_role(api: AdminApi, role: str) -> None:
    composites = api.path(urls.ROLE_COMPOSITES, id=default_roles.default_role(api)["id"])
    api.post(composites, [api.get(api.path(urls.ROLE, name=role))])


def _grant_through_default_group(api: AdminApi, role: str) -> None:
    group = api.created_id(api.post(api.path(GROUPS), {"name": f"test-default-{role}"}))
    api.post(api.path(GROUP_REALM_ROLES, id=group), [api.get(api.path(urls.ROLE, name=role))])
    api.put(api.path(urls.DEFAULT_GROUP, id=group), None)


GRANTS: dict[str, Callable[[AdminApi, str], None]] = {
    "default-role": _grant_through_default_role,
    "default-group": _grant_through_default_group,
}


def _realm(command: str) -> tuple[int, dict[str, Any]]:
    completed = run_realm(command, "--stack", "local", "--json")
    assert completed.returncode in (0, 2), f"realm {command} failed: {completed.stderr}"
    return completed.returncode, json.loads(completed.stdout)


@pytest.mark.parametrize("role", DECLARED_ROLES)
@pytest.mark.parametrize("grant", sorted(GRANTS))
def test_role_granted_to_everyone_is_drift_that_apply_revokes(admin: AdminApi, grant: str, role: str) -> None:
    GRANTS[grant](admin, role)
    code, plan = _realm("plan")
    named = [change for change in plan["changes"] if change["kind"] == "defaultRoles"]
    assert code == 2 and named, f"realm {admin.realm}: {role} granted through the {grant} is not drift: {plan}"
    _realm("apply")
    code, plan = _realm("plan")
    assert code == 0, f"realm {admin.realm}: apply left {role} granted through the {grant}: {plan['changes']}"
    everyone = {default_roles.label(r, []) for r in default_roles.composites(admin)}
    assert role not in everyone and not admin.get(admin.path(urls.DEFAULT_GROUPS)), (
        f"realm {admin.realm}: {role} still reaches every user after apply"
    )
    _code, again = _realm("apply")
    assert again["writes"]["total"] == 0, f"realm {admin.realm}: second apply made writes {again['writes']}"
