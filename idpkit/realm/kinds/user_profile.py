"""Attributes of the realm's user profile the files declare (Keycloak drops user attributes it does not declare).

The profile is one document; the kit updates the attributes it names and leaves every other one (and the
profile's groups and policies) as it is.
"""

from __future__ import annotations

from idpkit.keycloak_admin import urls
from idpkit.realm.changes import Change, Write
from idpkit.realm.diff import compare
from idpkit.realm.kinds.base import Context, Rep, dump

KIND = "userProfileAttribute"


def diff(ctx: Context) -> list[Change]:
    declared = {attribute.name: dump(attribute) for attribute in ctx.document.user_profile_attributes or []}
    if not declared:
        return []
    profile: Rep = ctx.once("userProfile", lambda: ctx.api.get(ctx.api.path(urls.USER_PROFILE))) or {}
    live = {attribute["name"]: attribute for attribute in profile.get("attributes") or []}
    changed = {name: compare(wanted, live.get(name, {})) for name, wanted in declared.items()}
    changed = {name: fields for name, fields in changed.items() if fields}
    if not changed:
        return []
    attributes = [{**a, **declared[a["name"]]} if a["name"] in declared else a for a in profile.get("attributes") or []]
    attributes += [wanted for name, wanted in declared.items() if name not in live]
    write = Write("PUT", urls.USER_PROFILE, {}, {**profile, "attributes": attributes})
    names = sorted(changed)
    # One write carries every attribute: the first change holds it, the others only show their fields.
    return [
        Change(KIND, name, "update" if name in live else "create", changed[name], [write] if name == names[0] else [])
        for name in names
    ]
