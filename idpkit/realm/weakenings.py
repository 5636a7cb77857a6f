"""Weaken one catalogued field by hand through the admin API, as an administrator in the console would.

Mutation testing and the drift tests share this: `target` picks the managed object a catalogue entry
is best shown on (one that leaves the field to its secure default), `lift_guard` removes the client
policy executor that would refuse or rewrite the weakening, `weaken` writes `weaker_value`. List
values are added to the live list (an extra redirect URI, origin, scope or mapper), others replace it.
"""

from __future__ import annotations

from typing import Any

from idpkit.errors import IdpkitError
from idpkit.keycloak_admin import AdminApi, urls
from idpkit.realm.kinds import realm as realm_kind
from idpkit.realm.kinds.base import OWNED_DESCRIPTION_PREFIX
from idpkit.realm.model import RealmDocument
from idpkit.realm.secure_defaults import SecureDefault

_SCOPE_LISTS = {"defaultClientScopes": urls.CLIENT_DEFAULT_SCOPE, "optionalClientScopes": urls.CLIENT_OPTIONAL_SCOPE}


def target(entry: SecureDefault, document: RealmDocument) -> str:
    """The object to weaken: the realm, or the first declared client (scope) that leaves the field out,
    else the first one the entry applies to."""
    if entry.kind == "realm":
        return document.realm.realm if document.realm and document.realm.realm else ""
    if entry.kind == "clientScope":
        scopes = document.client_scopes or []
        mapped = {m.client_scope for m in document.scope_mappings or []}
        undeclared = [
            s.name
            for s in scopes
            if (entry.field == "protocolMappers" and not s.protocol_mappers)
            or (entry.field != "protocolMappers" and s.name not in mapped)
        ]
        return (undeclared or [s.name for s in scopes])[0]
    declared = {c.client_id: c.model_dump(by_alias=True, exclude_none=True) for c in document.clients or []}
    clients = [client_id for client_id, rep in declared.items() if entry.applies(rep)]
    undeclared = [client_id for client_id in clients if not _declares(declared[client_id], entry)]
    return (undeclared or clients)[0]


def _declares(declared: dict[str, Any], entry: SecureDefault) -> bool:
    if entry.attribute is not None:
        return entry.attribute in (declared.get("attributes") or {})
    return entry.field in declared


def lift_guard(api: AdminApi, entry: SecureDefault) -> None:
    """Remove `entry.guarded_by` from the kit's client profiles (the realm's policies would undo the weakening)."""
    if not entry.guarded_by:
        return
    current = api.get(api.path(urls.CLIENT_PROFILES)) or {}
    profiles = current.get("profiles") or []
    for profile in profiles:
        if str(profile.get("description", "")).startswith(OWNED_DESCRIPTION_PREFIX):
            profile["executors"] = [e for e in profile.get("executors") or [] if e["executor"] not in entry.guarded_by]
    api.put(api.path(urls.CLIENT_PROFILES), {**current, "profiles": profiles})


def weaken(api: AdminApi, entry: SecureDefault, name: str) -> None:
    """Set `entry.weaker_value` on the live object `name` (the realm, a client or a client scope)."""
    if entry.kind == "realm":
        _weaken_realm(api, entry)
    elif entry.kind == "client":
        _weaken_client(api, entry, _find(api, urls.CLIENTS, "clientId", name, clientId=name))
    else:
        _weaken_scope(api, entry, _find(api, urls.CLIENT_SCOPES, "name", name))


def _find(api: AdminApi, template: str, key: str, name: str, **params: str) -> dict[str, Any]:
    for item in api.get(api.path(template), **params) or []:
        if item[key] == name:
            found: dict[str, Any] = item
            return found
    raise IdpkitError(f"{name!r} not found in realm {api.realm}")


def _weaken_realm(api: AdminApi, entry: SecureDefault) -> None:
    live = api.get(api.path(urls.REALM))
    top, *rest = entry.path
    body: dict[str, Any] = {top: {**live.get(top, {}), rest[0]: entry.weaker_value} if rest else entry.weaker_value}
    api.put(api.path(urls.REALM), realm_kind.carried(live, body))


def _weaken_client(api: AdminApi, entry: SecureDefault, client: dict[str, Any]) -> None:
    if entry.field == "protocolMappers":
        for mapper in entry.weaker_value:
            api.post(api.path(urls.CLIENT_PROTOCOL_MAPPERS, id=client["id"]), mapper)
        return
    if entry.field in _SCOPE_LISTS:
        for scope in entry.weaker_value:
            scope_id = _find(api, urls.CLIENT_SCOPES, "name", scope)["id"]
            api.put(api.path(_SCOPE_LISTS[entry.field], id=client["id"], scope=scope_id), None)
        return
    body = {k: v for k, v in client.items() if k not in ("secret", "access", "protocolMappers", *_SCOPE_LISTS)}
    if entry.attribute is not None:
        body["attributes"] = {**client.get("attributes", {}), entry.attribute: entry.weaker_value}
    elif isinstance(entry.weaker_value, list):
        body[entry.field] = [*client.get(entry.field, []), *entry.weaker_value]
    else:
        body[entry.field] = entry.weaker_value
    api.put(api.path(urls.CLIENT, id=client["id"]), body)


def _weaken_scope(api: AdminApi, entry: SecureDefault, scope: dict[str, Any]) -> None:
    if entry.field == "protocolMappers":
        for mapper in entry.weaker_value:
            api.post(api.path(urls.CLIENT_SCOPE_MAPPERS, id=scope["id"]), mapper)
        return
    roles = [api.get(api.path(urls.ROLE, name=role)) for role in entry.weaker_value]
    api.post(api.path(urls.CLIENT_SCOPE_REALM_ROLES, id=scope["id"]), roles)
