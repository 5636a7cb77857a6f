"""The client scopes clients created later (in the admin console) get: the realm's default scope lists."""

from __future__ import annotations

from idpkit.keycloak_admin import urls
from idpkit.realm.changes import CLIENT_SCOPE, Change, Write, ref
from idpkit.realm.diff import FieldChange, normalize
from idpkit.realm.kinds.base import Context

_LISTS = (
    ("defaultDefaultClientScopes", urls.DEFAULT_DEFAULT_SCOPE),
    ("defaultOptionalClientScopes", urls.DEFAULT_OPTIONAL_SCOPE),
)


def live(ctx: Context, name: str) -> list[str]:
    read = (
        ctx.api.keycloak.get_default_default_client_scopes
        if name == "defaultDefaultClientScopes"
        else ctx.api.keycloak.get_default_optional_client_scopes
    )
    return sorted(scope["name"] for scope in ctx.once(name, read) or [])


def diff(ctx: Context) -> list[Change]:
    settings = ctx.document.realm
    declared = settings.model_dump(by_alias=True) if settings else {}
    changes: list[Change] = []
    for name, item_template in _LISTS:
        wanted = declared.get(name)
        if wanted is None:
            continue
        have = live(ctx, name)
        if normalize(wanted) == have:
            continue
        writes = [
            *(Write("PUT", item_template, {"id": ref(CLIENT_SCOPE, s)}) for s in sorted(set(wanted) - set(have))),
            *(Write("DELETE", item_template, {"id": ref(CLIENT_SCOPE, s)}) for s in sorted(set(have) - set(wanted))),
        ]
        field = FieldChange(name, have, normalize(wanted))
        changes.append(Change("realm", f"{ctx.api.realm} {name}", "update", [field], writes))
    return changes
