"""Clients: declared fields, the catalogue's secure defaults for the rest, scopes and client-level mappers.

Every client of the realm is read in one GET (with its scopes and mappers). A declared client holds
exactly its declared scopes, the catalogue's defaults for every security-relevant field it leaves out,
and no client-level protocol mapper (the kit puts mappers on client scopes).
"""

from __future__ import annotations

from typing import Any

from idpkit.keycloak_admin import urls
from idpkit.realm import builtins
from idpkit.realm.changes import CLIENT, CLIENT_SCOPE, JWKS, Change, Write, generated, ref
from idpkit.realm.diff import FieldChange, compare
from idpkit.realm.kinds.base import OWNER_ATTRIBUTE, Context, Planner, Rep, dump, owned_attributes, reconcile
from idpkit.realm.kinds.held import held, live_view, merged
from idpkit.realm.model import Client
from idpkit.realm.secrets import PENDING

SCOPE_LISTS = (("defaultClientScopes", urls.CLIENT_DEFAULT_SCOPE), ("optionalClientScopes", urls.CLIENT_OPTIONAL_SCOPE))
_MAPPERS = "protocolMappers"
_SERVICE_ACCOUNTS = "serviceAccountsEnabled"
# Never copied from a live client into a write: secrets, and what sub-resources manage.
_NOT_IN_BODY = {"secret", "registrationAccessToken", "access", _MAPPERS, *(name for name, _ in SCOPE_LISTS)}


def desired_client(ctx: Context, client: Client) -> Rep:
    declared = dump(client, "kit")
    rep = merged(held("client", declared), declared)
    attributes: dict[str, Any] = {**rep.get("attributes", {}), OWNER_ATTRIBUTE: "true"}
    if client.kit and client.kit.generated_jwk:
        known = ctx.secrets.public_jwks(client.client_id, client.kit.generated_jwk)
        attributes["jwks.string"] = (
            generated(JWKS, client.client_id, client.kit.generated_jwk) if known == PENDING else known
        )
    rep["attributes"] = attributes
    return rep


def desired(ctx: Context) -> dict[str, Rep]:
    return {c.client_id: desired_client(ctx, c) for c in ctx.document.clients or []}


def live(ctx: Context) -> dict[str, Rep]:
    return {c["clientId"]: c for c in ctx.clients()}


def _body_attributes(current: dict[str, Any], wanted: dict[str, Any]) -> dict[str, Any]:
    """Live attributes with the wanted ones over them; one wanted absent (None) is sent as "", which
    Keycloak removes."""
    body = dict(current)
    for name, value in wanted.items():
        if value is not None:
            body[name] = value
        elif name in current:
            body[name] = ""
    return body


def _create(name: str, wanted: Rep) -> list[Write]:
    body = {k: v for k, v in wanted.items() if k != _MAPPERS}
    body["attributes"] = {key: value for key, value in wanted["attributes"].items() if value is not None}
    writes = [Write("POST", urls.CLIENTS, {}, body)]
    if _unwanted_service_account_scope(wanted):
        writes.append(_without_service_account_scope(name))
    return writes


def _unwanted_service_account_scope(wanted: Rep) -> bool:
    """Keycloak attaches its service_account scope whenever a write turns the service account on."""
    return bool(wanted.get(_SERVICE_ACCOUNTS)) and builtins.SERVICE_ACCOUNT_SCOPE not in wanted.get(
        "defaultClientScopes", [builtins.SERVICE_ACCOUNT_SCOPE]
    )


def _without_service_account_scope(name: str) -> Write:
    scope = {"id": ref(CLIENT, name), "scope": ref(CLIENT_SCOPE, builtins.SERVICE_ACCOUNT_SCOPE)}
    return Write("DELETE", urls.CLIENT_DEFAULT_SCOPE, scope)


def _update(name: str, wanted: Rep, current: Rep) -> list[Write]:
    params = {"id": ref(CLIENT, name)}
    plain = {k: v for k, v in wanted.items() if k not in _NOT_IN_BODY}
    writes: list[Write] = []
    enables_service_account = False
    if compare(plain, live_view("client", current)):
        body = {k: v for k, v in current.items() if k not in _NOT_IN_BODY}
        body.update(plain)
        body["attributes"] = _body_attributes(current.get("attributes", {}), plain["attributes"])
        # Keycloak (re)attaches its service_account scope on every update that carries
        # serviceAccountsEnabled: true, so the flag goes in a write only when it changes.
        if body.get(_SERVICE_ACCOUNTS) == current.get(_SERVICE_ACCOUNTS):
            body.pop(_SERVICE_ACCOUNTS, None)
        enables_service_account = bool(body.get(_SERVICE_ACCOUNTS))
        writes.append(Write("PUT", urls.CLIENT, params, body))
    for field_name, template in SCOPE_LISTS:
        if field_name not in wanted:
            continue
        have, want = set(current.get(field_name) or []), set(wanted[field_name])
        if enables_service_account and field_name == "defaultClientScopes" and _unwanted_service_account_scope(wanted):
            have.add(builtins.SERVICE_ACCOUNT_SCOPE)
        writes += [Write("PUT", template, {**params, "scope": ref(CLIENT_SCOPE, s)}) for s in sorted(want - have)]
        writes += [Write("DELETE", template, {**params, "scope": ref(CLIENT_SCOPE, s)}) for s in sorted(have - want)]
    for mapper in current.get(_MAPPERS) or []:
        writes.append(Write("DELETE", urls.CLIENT_PROTOCOL_MAPPER, {**params, "mapper": mapper["id"]}))
    return writes


def _delete(name: str, _current: Rep) -> list[Write]:
    return [Write("DELETE", urls.CLIENT, {"id": ref(CLIENT, name)})]


def _mapper_fields(_name: str, current: Rep) -> list[FieldChange]:
    """Client-level protocol mappers: none is declared, so each one found is drift."""
    return [FieldChange(f"{_MAPPERS}[{m['name']}]", m, None) for m in current.get(_MAPPERS) or []]


PLANNER = Planner(
    "client",
    lambda c: owned_attributes(c.get("attributes")),
    _create,
    _update,
    _delete,
    _mapper_fields,
    lambda current: live_view("client", current),
)


def diff(ctx: Context) -> list[Change]:
    wanted = {client_id: {k: v for k, v in rep.items() if k != _MAPPERS} for client_id, rep in desired(ctx).items()}
    found = live(ctx)
    for client_id, client in found.items():
        if (
            client_id not in wanted
            and client_id not in builtins.CLIENTS
            and not owned_attributes(client.get("attributes"))
        ):
            ctx.unmanaged.append(f"client {client_id}: not declared in the files and not owned by the kit")
    return reconcile(ctx, PLANNER, wanted, found)
