"""Client scopes with their protocol mappers and realm-role scope mappings.

A declared scope carries exactly its declared mappers and the realm roles `scopeMappings` lists:
anything added by hand is drift, removed by apply (the catalogue's clientScope entries).
"""

from __future__ import annotations

from idpkit.keycloak_admin import urls
from idpkit.realm.changes import CLIENT_SCOPE, ROLE, Change, Write, ref
from idpkit.realm.diff import FieldChange, compare
from idpkit.realm.kinds.base import OWNER_ATTRIBUTE, Context, Planner, Rep, dump, owned_attributes, reconcile

_MAPPERS, _ROLES = "protocolMappers", "scopeMappings.realm"


def desired(ctx: Context) -> dict[str, Rep]:
    found: dict[str, Rep] = {}
    for scope in ctx.document.client_scopes or []:
        wanted = dump(scope, "protocol_mappers")
        wanted["attributes"] = {**(scope.attributes or {}), OWNER_ATTRIBUTE: "true"}
        found[scope.name] = wanted
    return found


def desired_mappers(ctx: Context) -> dict[str, dict[str, Rep]]:
    return {
        scope.name: {m.name: dump(m) for m in scope.protocol_mappers or []}
        for scope in ctx.document.client_scopes or []
    }


def desired_roles(ctx: Context) -> dict[str, list[str]]:
    """Realm roles per declared scope: as `scopeMappings` lists them, none if it lists none."""
    mapped = {m.client_scope: sorted(set(m.roles)) for m in ctx.document.scope_mappings or []}
    return {scope.name: mapped.get(scope.name, []) for scope in ctx.document.client_scopes or []}


def live(ctx: Context) -> dict[str, Rep]:
    return {scope["name"]: scope for scope in ctx.client_scopes()}


def live_roles(ctx: Context, scope: Rep) -> list[str]:
    # python-keycloak's *_client_scope role methods address a client's scope, not a client scope.
    path = ctx.api.path(urls.CLIENT_SCOPE_REALM_ROLES, id=scope["id"])
    roles = ctx.once(f"scopeRoles:{scope['id']}", lambda: ctx.api.get(path))
    return sorted(role["name"] for role in roles or [])


def diff(ctx: Context) -> list[Change]:
    mappers, roles = desired_mappers(ctx), desired_roles(ctx)
    scopes = live(ctx)

    def mapper_writes(name: str, current: Rep | None) -> tuple[list[FieldChange], list[Write]]:
        have = {m["name"]: m for m in (current or {}).get(_MAPPERS) or []}
        fields: list[FieldChange] = []
        writes: list[Write] = []
        params = {"id": ref(CLIENT_SCOPE, name)}
        for mapper_name, mapper in mappers.get(name, {}).items():
            existing = have.get(mapper_name)
            label = f"{_MAPPERS}[{mapper_name}]"
            if existing is None:
                fields.append(FieldChange(label, None, mapper))
                writes.append(Write("POST", urls.CLIENT_SCOPE_MAPPERS, params, mapper))
            elif differences := compare(mapper, existing, f"{label}."):
                fields.extend(differences)
                body = {**existing, **mapper, "config": {**existing.get("config", {}), **mapper["config"]}}
                writes.append(Write("PUT", urls.CLIENT_SCOPE_MAPPER, {**params, "mapper": existing["id"]}, body))
        for mapper_name in sorted(set(have) - set(mappers.get(name, {}))):
            fields.append(FieldChange(f"{_MAPPERS}[{mapper_name}]", have[mapper_name], None))
            writes.append(Write("DELETE", urls.CLIENT_SCOPE_MAPPER, {**params, "mapper": have[mapper_name]["id"]}))
        return fields, writes

    def role_writes(name: str, current: Rep | None) -> tuple[list[FieldChange], list[Write]]:
        have = live_roles(ctx, current) if current else []
        want = roles.get(name, [])
        if have == want:
            return [], []
        params = {"id": ref(CLIENT_SCOPE, name)}
        grant = [ref(ROLE, role) for role in sorted(set(want) - set(have))]
        revoke = [ref(ROLE, role) for role in sorted(set(have) - set(want))]
        writes = [
            *([Write("POST", urls.CLIENT_SCOPE_REALM_ROLES, params, grant)] if grant else []),
            *([Write("DELETE", urls.CLIENT_SCOPE_REALM_ROLES, params, revoke)] if revoke else []),
        ]
        return [FieldChange(_ROLES, have if current else None, want)], writes

    def create(name: str, wanted: Rep) -> list[Write]:
        body = {**wanted, _MAPPERS: list(mappers.get(name, {}).values())}
        return [Write("POST", urls.CLIENT_SCOPES, {}, body), *role_writes(name, None)[1]]

    def update(name: str, wanted: Rep, current: Rep) -> list[Write]:
        writes: list[Write] = []
        if compare(wanted, current):
            body = {k: v for k, v in current.items() if k != _MAPPERS}
            body.update({**wanted, "attributes": {**current.get("attributes", {}), **wanted["attributes"]}})
            writes.append(Write("PUT", urls.CLIENT_SCOPE, {"id": ref(CLIENT_SCOPE, name)}, body))
        return [*writes, *mapper_writes(name, current)[1], *role_writes(name, current)[1]]

    def delete(name: str, _current: Rep) -> list[Write]:
        return [Write("DELETE", urls.CLIENT_SCOPE, {"id": ref(CLIENT_SCOPE, name)})]

    def extra(name: str, current: Rep) -> list[FieldChange]:
        return mapper_writes(name, current)[0] + role_writes(name, current)[0]

    planner = Planner("clientScope", lambda s: owned_attributes(s.get("attributes")), create, update, delete, extra)
    changes = reconcile(ctx, planner, desired(ctx), scopes)
    for change in changes:
        if change.action == "create":
            change.fields += mapper_writes(change.name, None)[0] + role_writes(change.name, None)[0]
    return changes
