"""Client profiles, then client policies; each PUT replaces the realm's whole set, so a write carries it."""

from __future__ import annotations

from typing import Any

from idpkit.keycloak_admin import urls
from idpkit.realm.changes import Change, Write
from idpkit.realm.kinds.base import OWNED_DESCRIPTION_PREFIX, Context, Planner, Rep, dump, reconcile


def _owned(item: Rep) -> bool:
    return str(item.get("description", "")).startswith(OWNED_DESCRIPTION_PREFIX)


def _plan_set(ctx: Context, kind: str, template: str, key: str, items: list[Rep]) -> list[Change]:
    desired = {
        item["name"]: {**item, "description": OWNED_DESCRIPTION_PREFIX + (item.get("description") or "")}
        for item in items
    }
    live_set: dict[str, Any] = ctx.once(kind, lambda: ctx.api.get(ctx.api.path(template))) or {key: []}
    live = {item["name"]: item for item in live_set.get(key) or []}
    # Every change of this kind rewrites the one set: the final set goes in the last write, so the
    # writes of one plan never undo each other.
    final = [item for name, item in live.items() if name not in desired and not (ctx.prune and _owned(item))]
    final += list(desired.values())

    def replace(*_args: Any) -> list[Write]:
        return [Write("PUT", template, {}, {**live_set, key: final})]

    changes = reconcile(ctx, Planner(kind, _owned, replace, replace, replace), desired, live)
    for change in changes[:-1]:
        change.writes = []
    return changes


def diff_profiles(ctx: Context) -> list[Change]:
    items = [dump(p) for p in ctx.document.client_profiles or []]
    return _plan_set(ctx, "clientProfile", urls.CLIENT_PROFILES, "profiles", items)


def diff_policies(ctx: Context) -> list[Change]:
    items = [dump(p) for p in ctx.document.client_policies or []]
    return _plan_set(ctx, "clientPolicy", urls.CLIENT_POLICIES, "policies", items)
