"""Realm roles of the service-account users Keycloak creates with service-account clients.

The user itself is Keycloak's (created with the client, found through the client): the kit never
creates, edits or deletes it and sets no password. Ownership of role mappings: the kit manages a
service account's mappings to the roles it owns (declared in `roles`, or marked as the kit's);
mappings to any other role are never touched. A kit-owned role not listed is drift: reported, and
revoked only with --prune.
"""

from __future__ import annotations

from idpkit.keycloak_admin import urls
from idpkit.realm.changes import ROLE, SERVICE_ACCOUNT, Change, Write, ref
from idpkit.realm.diff import FieldChange
from idpkit.realm.kinds.base import Context, owned_attributes


def diff(ctx: Context) -> list[Change]:
    accounts = [u for u in ctx.document.users or [] if u.service_account_client_id and u.realm_roles is not None]
    if not accounts:
        return []
    owned = {r.name for r in ctx.document.roles or []} | {
        r["name"] for r in ctx.roles() if owned_attributes(r.get("attributes"))
    }
    changes: list[Change] = []
    for user in accounts:
        client_id = user.service_account_client_id or ""
        want = set(user.realm_roles or [])
        managed = owned | want
        client = ctx.client(client_id)
        account = ctx.service_account(client) if client else None
        have = {r["name"] for r in ctx.realm_roles_of_user(account["id"])} & managed if account else set()
        surplus = have - want
        if surplus and not ctx.prune:
            ctx.unmanaged.append(
                f"serviceAccount {user.key}: holds {', '.join(sorted(surplus))}, not in the files "
                "(revoked only with --prune)"
            )
        target = want if ctx.prune else want | surplus
        if account is not None and have == target:
            continue
        params = {"id": ref(SERVICE_ACCOUNT, client_id)}
        grant, revoke = sorted(want - have), sorted(surplus) if ctx.prune else []
        writes = [
            *([Write("POST", urls.USER_REALM_ROLES, params, [ref(ROLE, r) for r in grant])] if grant else []),
            *([Write("DELETE", urls.USER_REALM_ROLES, params, [ref(ROLE, r) for r in revoke])] if revoke else []),
        ]
        field = FieldChange("realmRoles", sorted(have) if account else None, sorted(target))
        changes.append(Change("serviceAccount", user.key, "update", [field], writes))
    return changes
