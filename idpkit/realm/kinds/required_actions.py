"""Required actions the files hold enabled or disabled (enrolment of second factors on first login).

Keycloak registers every required action with each realm, so the kit only updates them; actions the
files do not name are left as they are.
"""

from __future__ import annotations

from idpkit.keycloak_admin import urls
from idpkit.realm.changes import Change, Write
from idpkit.realm.diff import compare
from idpkit.realm.kinds.base import Context, Rep, dump


def diff(ctx: Context) -> list[Change]:
    declared = {action.alias: dump(action) for action in ctx.document.required_actions or []}
    if not declared:
        return []
    found: list[Rep] = ctx.once("requiredActions", lambda: ctx.api.get(ctx.api.path(urls.REQUIRED_ACTIONS))) or []
    live = {action["alias"]: action for action in found}
    changes: list[Change] = []
    for alias, wanted in declared.items():
        current = live.get(alias, {})
        fields = compare({k: v for k, v in wanted.items() if k != "alias"}, current)
        if fields:
            body = {**current, **wanted}
            changes.append(Change("requiredAction", alias, "update", fields,
                                  [Write("PUT", urls.REQUIRED_ACTION, {"alias": alias}, body)]))  # fmt: skip
    return changes
