"""Smoke-test users, with their realm roles and federated identity links.

Users are looked up by name (never listed: a production realm holds every clinician). The default
user profile drops unknown attributes, so users carry no ownership mark and are never pruned; the
kit only ever declares test users, whose passwords are generated at apply time.
"""

from __future__ import annotations

import json
from typing import Any

from idpkit.keycloak_admin import urls
from idpkit.realm.builtins import default_role
from idpkit.realm.changes import PASSWORD, ROLE, TOTP_SECRET, USER, Change, Write, generated, ref
from idpkit.realm.diff import FieldChange, compare
from idpkit.realm.kinds.base import Context, Planner, Rep, dump, reconcile
from idpkit.realm.model import RealmSettings, User
from idpkit.realm.secrets import PENDING

_REALM_ROLES, _LINKS = "realmRoles", "federatedIdentities"
TOTP_LABEL = "idpkit smoke TOTP"
"""The label of the OTP credential the kit gives a `kit.generatedTotp` user (the one it replaces)."""
_TOTP_FIELD = "totp"
# Keycloak's defaults for the fields of a TOTP credential the realm's OTP policy leaves unset.
_OTP_DEFAULTS = {"otpPolicyAlgorithm": "HmacSHA1", "otpPolicyDigits": 6, "otpPolicyPeriod": 30}


def totp_credential_data(settings: RealmSettings | None) -> str:
    """The `credentialData` of a TOTP credential made by the realm's OTP policy (Keycloak's JSON text)."""
    policy = {**_OTP_DEFAULTS, **(settings.model_dump(by_alias=True, exclude_none=True) if settings else {})}
    data = {"subType": "totp", "digits": policy["otpPolicyDigits"], "counter": 0,
            "period": policy["otpPolicyPeriod"], "algorithm": policy["otpPolicyAlgorithm"]}  # fmt: skip
    return json.dumps(data, separators=(",", ":"))


def totp_credential(name: str, settings: RealmSettings | None) -> dict[str, Any]:
    """An OTP credential as the realm's policy makes them (the secret generated at apply time)."""
    return {"type": "otp", "userLabel": TOTP_LABEL, "secretData": generated(TOTP_SECRET, name),
            "credentialData": totp_credential_data(settings)}  # fmt: skip


def _link(link: dict[str, Any]) -> dict[str, Any]:
    """A federated identity link as plans show it (the provider is in the field name)."""
    return {key: link[key] for key in ("userId", "userName") if link.get(key) is not None}


def declared(ctx: Context) -> dict[str, User]:
    return {u.key: u for u in ctx.document.users or [] if u.service_account_client_id is None and u.username}


def live(ctx: Context, names: list[str]) -> dict[str, Rep]:
    """The declared users that exist, each looked up by name."""
    found: dict[str, Rep] = {}
    for name in names:
        for user in ctx.api.keycloak.get_users({"username": name, "exact": "true"}) or []:
            if user["username"] == name:
                found[name] = user
    ctx.existing_users.update(found)
    return found


def _password(name: str) -> dict[str, Any]:
    return {"type": "password", "value": generated(PASSWORD, name), "temporary": False}


def _live_roles(ctx: Context, user_id: str) -> list[str]:
    roles = ctx.realm_roles_of_user(user_id)
    return sorted(r["name"] for r in roles if r["name"] != default_role(ctx.api.realm))


def _live_links(ctx: Context, user_id: str) -> dict[str, Rep]:
    found = ctx.once(f"links:{user_id}", lambda: ctx.api.keycloak.get_user_social_logins(user_id)) or []
    return {link["identityProvider"]: link for link in found}


def has_generated_totp(user: User) -> bool:
    return bool(user.kit and user.kit.generated_totp)


def _totp_changes(ctx: Context, user: User, name: str, current: Rep) -> tuple[list[FieldChange], list[Write]]:
    """A kit user's TOTP credential: present in Keycloak, and its secret known to the kit."""
    if not has_generated_totp(user):
        return [], []
    found = ctx.once(f"credentials:{current['id']}",
                     lambda: ctx.api.get(ctx.api.path(urls.USER_CREDENTIALS, id=current["id"]))) or []  # fmt: skip
    held = [c for c in found if c.get("type") == "otp" and c.get("userLabel") == TOTP_LABEL]
    if held and ctx.secrets.totp_secret(name) is not None:
        return [], []
    ref_user = {"id": ref(USER, name)}
    writes = [Write("DELETE", urls.USER_CREDENTIAL, {**ref_user, "credential": c["id"]}) for c in held]
    # Keycloak adds the credentials of a user update to the user's own (an OTP credential has no reset endpoint).
    body = {**current, "credentials": [totp_credential(name, ctx.document.realm)]}
    writes.append(Write("PUT", urls.USER, ref_user, body))
    return [FieldChange(_TOTP_FIELD, "(unknown to the kit)" if held else None, PENDING)], writes


def diff(ctx: Context) -> list[Change]:
    users = declared(ctx)
    settings = ctx.document.realm
    providers = {p.alias for p in ctx.document.identity_providers or []}

    def role_changes(name: str, current: Rep | None) -> tuple[list[FieldChange], list[Write]]:
        wanted_roles = users[name].realm_roles
        if wanted_roles is None:
            return [], []
        have = _live_roles(ctx, current["id"]) if current else []
        want = sorted(set(wanted_roles))
        if have == want:
            return [], []
        params = {"id": ref(USER, name)}
        grant = [ref(ROLE, r) for r in sorted(set(want) - set(have))]
        revoke = [ref(ROLE, r) for r in sorted(set(have) - set(want))]
        writes = [
            *([Write("POST", urls.USER_REALM_ROLES, params, grant)] if grant else []),
            *([Write("DELETE", urls.USER_REALM_ROLES, params, revoke)] if revoke else []),
        ]
        return [FieldChange(_REALM_ROLES, have if current else None, want)], writes

    def link_changes(name: str, current: Rep | None) -> tuple[list[FieldChange], list[Write]]:
        """Declared links missing or different; with prune, links to other declared providers."""
        if users[name].federated_identities is None:
            return [], []
        have = _live_links(ctx, current["id"]) if current else {}
        wanted = {link.identity_provider: dump(link) for link in users[name].federated_identities or []}
        fields: list[FieldChange] = []
        writes: list[Write] = []
        for alias in sorted(have):
            stale = alias in wanted and bool(compare(_link(wanted[alias]), _link(have[alias])))
            surplus = alias not in wanted and alias in providers
            if surplus and not ctx.prune:
                ctx.unmanaged.append(
                    f"user {name}: federated identity link to {alias} not in the files (removed only with --prune)"
                )
            if stale or (surplus and ctx.prune):
                writes.append(Write("DELETE", urls.USER_FEDERATED_IDENTITY, {"id": ref(USER, name), "alias": alias}))
                if surplus:
                    fields.append(FieldChange(f"{_LINKS}[{alias}]", _link(have[alias]), None))
        for alias, link in wanted.items():
            if alias in have and not compare(_link(link), _link(have[alias])):
                continue
            fields.append(FieldChange(f"{_LINKS}[{alias}]", _link(have[alias]) if alias in have else None, _link(link)))
            writes.append(Write("POST", urls.USER_FEDERATED_IDENTITY, {"id": ref(USER, name), "alias": alias}, link))
        return fields, writes

    def password_changes(name: str) -> tuple[list[FieldChange], list[Write]]:
        if ctx.secrets.password(name) is not None:
            return [], []
        write = Write("PUT", urls.USER_PASSWORD, {"id": ref(USER, name)}, _password(name))
        return [FieldChange("password", "(unknown to the kit)", PENDING)], [write]

    def create(name: str, wanted: Rep) -> list[Write]:
        totp = [totp_credential(name, settings)] if has_generated_totp(users[name]) else []
        body = {**wanted, "credentials": [_password(name), *totp]}
        return [Write("POST", urls.USERS, {}, body), *role_changes(name, None)[1], *link_changes(name, None)[1]]

    def update(name: str, wanted: Rep, current: Rep) -> list[Write]:
        writes = (
            [Write("PUT", urls.USER, {"id": ref(USER, name)}, {**current, **wanted})]
            if compare(wanted, current)
            else []
        )
        writes += role_changes(name, current)[1] + link_changes(name, current)[1] + password_changes(name)[1]
        return writes + _totp_changes(ctx, users[name], name, current)[1]

    def extra(name: str, current: Rep) -> list[FieldChange]:
        return (role_changes(name, current)[0] + link_changes(name, current)[0] + password_changes(name)[0]
                + _totp_changes(ctx, users[name], name, current)[0])  # fmt: skip

    planner = Planner("user", lambda _u: False, create, update, lambda _n, _c: [], extra)
    desired = {name: dump(u, "realm_roles", "federated_identities", "kit") for name, u in users.items()}
    changes = reconcile(ctx, planner, desired, live(ctx, list(users)))
    for change in changes:
        if change.action == "create":
            change.fields.append(FieldChange("password", None, PENDING))
            if has_generated_totp(users[change.name]):
                change.fields.append(FieldChange(_TOTP_FIELD, None, PENDING))
            change.fields += role_changes(change.name, None)[0] + link_changes(change.name, None)[0]
    return changes
