"""Realm roles, one per PHI category; the kit marks the ones it creates."""

from __future__ import annotations

from idpkit.keycloak_admin import urls
from idpkit.realm.changes import Change, Write
from idpkit.realm.kinds.base import OWNER_ATTRIBUTE, Context, Planner, Rep, dump, owned_attributes, reconcile


def desired(ctx: Context) -> dict[str, Rep]:
    return {role.name: {**dump(role), "attributes": {OWNER_ATTRIBUTE: ["true"]}} for role in ctx.document.roles or []}


def live(ctx: Context) -> dict[str, Rep]:
    return {role["name"]: role for role in ctx.roles()}


def _create(_name: str, wanted: Rep) -> list[Write]:
    return [Write("POST", urls.ROLES, {}, wanted)]


def _update(name: str, wanted: Rep, current: Rep) -> list[Write]:
    return [Write("PUT", urls.ROLE, {"name": name}, {**current, **wanted})]


def _delete(name: str, _current: Rep) -> list[Write]:
    return [Write("DELETE", urls.ROLE, {"name": name})]


PLANNER = Planner("role", lambda r: owned_attributes(r.get("attributes")), _create, _update, _delete)


def diff(ctx: Context) -> list[Change]:
    return reconcile(ctx, PLANNER, desired(ctx), live(ctx))
