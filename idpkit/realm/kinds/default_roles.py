"""What every user holds without being given anything: the default role's composites and the default groups.

A role added to `default-roles-<realm>`, or a group made a default group, reaches every user and with it
every scope that role gates (a client scope with role scope mappings is granted only to users holding
one of those roles): a silent privilege escalation. The kit holds both to what Keycloak creates with a
realm (`builtins.DEFAULT_ROLE_COMPOSITES`, no default group); anything more is drift that apply revokes.
Fewer is not: removing a built-in grants nobody anything.
"""

from __future__ import annotations

from idpkit.keycloak_admin import AdminApi, urls
from idpkit.realm import builtins
from idpkit.realm.changes import Change, Write
from idpkit.realm.diff import FieldChange
from idpkit.realm.kinds import realm
from idpkit.realm.kinds.base import Context, Rep


def label(role: Rep, clients: list[Rep]) -> str:
    """A realm role by name, a client role as `clientId/role`."""
    if not role.get("clientRole"):
        return str(role["name"])
    owner = next((c["clientId"] for c in clients if c["id"] == role.get("containerId")), role.get("containerId"))
    return f"{owner}/{role['name']}"


def default_role(api: AdminApi) -> Rep:
    """`default-roles-<realm>`: the composite role Keycloak grants every user of the realm."""
    found: Rep = api.get(api.path(urls.REALM))["defaultRole"]
    return found


def composites(api: AdminApi, role: Rep | None = None) -> list[Rep]:
    """The default role's composites, realm and client roles alike."""
    found: list[Rep] = api.get(api.path(urls.ROLE_COMPOSITES, id=(role or default_role(api))["id"])) or []
    return found


def diff(ctx: Context) -> list[Change]:
    if not ctx.realm_exists:
        return []  # a new realm starts with Keycloak's built-ins and no default group
    everyones = realm.live(ctx)["defaultRole"]
    held = composites(ctx.api, everyones)
    granted = [role for role in held if label(role, ctx.clients()) not in builtins.DEFAULT_ROLE_COMPOSITES]
    groups: list[Rep] = ctx.api.get(ctx.api.path(urls.DEFAULT_GROUPS)) or []
    changes: list[Change] = []
    if granted:
        write = Write("DELETE", urls.ROLE_COMPOSITES, {"id": everyones["id"]}, granted)
        field = FieldChange("grantedToEveryone", sorted(label(role, ctx.clients()) for role in granted), [])
        changes.append(Change("defaultRoles", everyones["name"], "update", [field], [write]))
    if groups:
        writes = [Write("DELETE", urls.DEFAULT_GROUP, {"id": group["id"]}) for group in groups]
        field = FieldChange("defaultGroups", sorted(group["path"] for group in groups), [])
        changes.append(Change("defaultRoles", f"{ctx.api.realm} default groups", "update", [field], writes))
    return changes
