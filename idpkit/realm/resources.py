"""Per object kind: what the files want, what Keycloak has, and the writes that reconcile them.

Kinds are listed in dependency order (`KINDS`); each planner reads live state and returns changes
whose `apply` performs the writes. Objects the kit creates carry an ownership mark, and only marked
objects are ever deleted (with --prune).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from idpkit.errors import IdpkitError
from idpkit.realm import urls
from idpkit.realm.api import AdminApi, ApiError
from idpkit.realm.diff import FieldChange, compare, normalize
from idpkit.realm.model import Client, IdentityProvider, RealmDocument, User
from idpkit.realm.secrets import PENDING, SecretStore

OWNER_ATTRIBUTE = "idpkit.managed"
OWNED_DESCRIPTION_PREFIX = "[idpkit] "
GENERATED_PUBLIC_KEY = "kit:generated-public-key:"
BUILT_IN_CLIENTS = {"account", "account-console", "admin-cli", "broker", "realm-management", "security-admin-console"}
_PAGE = 1000
_BAD_REQUEST, _NOT_FOUND = 400, 404

Action = Literal["create", "update", "delete"]


@dataclass
class Change:
    """One object to create, update or delete, with the fields that differ."""

    kind: str
    name: str
    action: Action
    fields: list[FieldChange] = field(default_factory=list)
    apply: Callable[[], object] = field(default=lambda: None, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "action": self.action,
            "fields": [
                {"field": c.field, "live": c.live, "desired": c.desired} for c in (f.masked() for f in self.fields)
            ],
        }


@dataclass
class Context:
    """What every planner shares: the document, the API, generated secrets, name -> id caches."""

    document: RealmDocument
    api: AdminApi
    secrets: SecretStore
    prune: bool
    realm_exists: bool = True
    unmanaged: list[str] = field(default_factory=list)
    """Objects in Keycloak the kit neither owns nor declares (drift reports them)."""
    _ids: dict[str, dict[str, str]] = field(default_factory=dict)

    def ids(self, kind: str, template: str, key: str, **params: Any) -> dict[str, str]:
        """name -> id of `kind`, read once when a write needs it (after earlier kinds' creates)."""
        if kind not in self._ids:
            items = self.api.get(self.api.path(template), **params) or []
            self._ids[kind] = {item[key]: item["id"] for item in items}
        return self._ids[kind]

    def forget(self, kind: str) -> None:
        self._ids.pop(kind, None)

    def live(self, template: str, **params: Any) -> list[dict[str, Any]]:
        if not self.realm_exists:
            return []
        items: list[dict[str, Any]] = self.api.get(self.api.path(template), **params) or []
        return items


def _dump(model: Any, *exclude: str) -> dict[str, Any]:
    dumped: dict[str, Any] = model.model_dump(by_alias=True, exclude_none=True, exclude=set(exclude) or None)
    return dumped


def _owned_attributes(attributes: dict[str, Any] | None) -> bool:
    value = (attributes or {}).get(OWNER_ATTRIBUTE)
    return value in ("true", ["true"])


def _reconcile(
    ctx: Context,
    kind: str,
    desired: dict[str, dict[str, Any]],
    live: dict[str, dict[str, Any]],
    owned: Callable[[dict[str, Any]], bool],
    create: Callable[[str, dict[str, Any]], Callable[[], object]],
    update: Callable[[str, dict[str, Any], dict[str, Any]], Callable[[], object]],
    delete: Callable[[str, dict[str, Any]], Callable[[], object]],
    extra_fields: Callable[[str, dict[str, Any]], list[FieldChange]] = lambda _n, _l: [],
) -> list[Change]:
    """Create what is missing, update what differs, delete (with prune) owned leftovers."""
    changes: list[Change] = []
    for name, wanted in desired.items():
        if name not in live:
            fields = [FieldChange(key, None, value) for key, value in wanted.items()]
            changes.append(Change(kind, name, "create", fields, create(name, wanted)))
            continue
        fields = compare(wanted, live[name]) + extra_fields(name, live[name])
        if fields:
            changes.append(Change(kind, name, "update", fields, update(name, wanted, live[name])))
    for name, current in live.items():
        if name not in desired and owned(current):
            if ctx.prune:
                changes.append(Change(kind, name, "delete", [], delete(name, current)))
            else:
                ctx.unmanaged.append(f"{kind} {name}: owned by the kit but no longer in the files (use --prune)")
    return changes


# --- realm -------------------------------------------------------------------------------------

_SEPARATE_REALM_FIELDS = ("defaultDefaultClientScopes", "defaultOptionalClientScopes")


def plan_realm(ctx: Context) -> list[Change]:
    settings = ctx.document.realm
    desired = {k: v for k, v in (_dump(settings) if settings else {}).items() if k not in _SEPARATE_REALM_FIELDS}
    api = ctx.api
    if not ctx.realm_exists:

        def create() -> None:
            api.post(urls.REALMS, {"realm": api.realm, "enabled": True, **desired})

        fields = [FieldChange(key, None, value) for key, value in desired.items()]
        return [Change("realm", api.realm, "create", fields, create)]
    live = api.get(api.path(urls.REALM))
    fields = compare(desired, live)
    if not fields:
        return []
    body: dict[str, Any] = {}
    for name in {change.field.split(".")[0] for change in fields}:
        current, wanted = live.get(name), desired[name]
        body[name] = {**current, **wanted} if isinstance(current, dict) and isinstance(wanted, dict) else wanted
    return [Change("realm", api.realm, "update", fields, lambda: api.put(api.path(urls.REALM), body))]


def plan_default_scopes(ctx: Context) -> list[Change]:
    settings = ctx.document.realm
    changes: list[Change] = []
    api = ctx.api
    for name, list_url, item_url in (
        ("defaultDefaultClientScopes", urls.DEFAULT_DEFAULT_SCOPES, urls.DEFAULT_DEFAULT_SCOPE),
        ("defaultOptionalClientScopes", urls.DEFAULT_OPTIONAL_SCOPES, urls.DEFAULT_OPTIONAL_SCOPE),
    ):
        wanted = (
            getattr(
                settings,
                "default_default_client_scopes"
                if name.startswith("defaultDefault")
                else "default_optional_client_scopes",
                None,
            )
            if settings
            else None
        )
        if wanted is None:
            continue
        live = sorted(item["name"] for item in ctx.live(list_url))
        if normalize(wanted) == live:
            continue

        def apply(wanted: list[str] = wanted, live: list[str] = live, item_url: str = item_url) -> None:
            ids = ctx.ids("clientScopes", urls.CLIENT_SCOPES, "name")
            for scope in sorted(set(live) - set(wanted)):
                api.delete(api.path(item_url, id=ids[scope]))
            for scope in sorted(set(wanted) - set(live)):
                api.put(api.path(item_url, id=ids[scope]), None)

        changes.append(
            Change("realm", f"{api.realm} {name}", "update", [FieldChange(name, live, normalize(wanted))], apply)
        )
    return changes


# --- realm roles -------------------------------------------------------------------------------


def plan_roles(ctx: Context) -> list[Change]:
    api = ctx.api
    desired = {
        role.name: {**_dump(role), "attributes": {OWNER_ATTRIBUTE: ["true"]}} for role in ctx.document.roles or []
    }
    live = {role["name"]: role for role in ctx.live(urls.ROLES, briefRepresentation="false")}

    def create(_name: str, wanted: dict[str, Any]) -> Callable[[], object]:
        return lambda: api.post(api.path(urls.ROLES), wanted)

    def update(_name: str, wanted: dict[str, Any], current: dict[str, Any]) -> Callable[[], object]:
        return lambda: api.put(api.path(urls.ROLE_BY_ID, id=current["id"]), {**current, **wanted})

    def delete(_name: str, current: dict[str, Any]) -> Callable[[], object]:
        return lambda: api.delete(api.path(urls.ROLE_BY_ID, id=current["id"]))

    return _reconcile(
        ctx, "role", desired, live, lambda r: _owned_attributes(r.get("attributes")), create, update, delete
    )


# --- client scopes (with protocol mappers and realm-role scope mappings) --------------------------


def plan_client_scopes(ctx: Context) -> list[Change]:  # noqa: PLR0915 - closures share the scope data
    api = ctx.api
    roles_of = {m.client_scope: sorted(m.roles) for m in ctx.document.scope_mappings or []}
    desired: dict[str, dict[str, Any]] = {}
    for scope in ctx.document.client_scopes or []:
        wanted = _dump(scope, "protocol_mappers")
        wanted["attributes"] = {**(scope.attributes or {}), OWNER_ATTRIBUTE: "true"}
        desired[scope.name] = wanted
    mappers = {
        scope.name: {m.name: _dump(m) for m in scope.protocol_mappers or []}
        for scope in ctx.document.client_scopes or []
    }
    live = {scope["name"]: scope for scope in ctx.live(urls.CLIENT_SCOPES)}

    def live_roles(current: dict[str, Any]) -> list[str]:
        return sorted(r["name"] for r in api.get(api.path(urls.CLIENT_SCOPE_REALM_ROLES, id=current["id"])) or [])

    def extra(name: str, current: dict[str, Any]) -> list[FieldChange]:
        fields: list[FieldChange] = []
        live_mappers = {m["name"]: m for m in current.get("protocolMappers") or []}
        for mapper_name, mapper in mappers.get(name, {}).items():
            prefix = f"protocolMappers[{mapper_name}]."
            if mapper_name not in live_mappers:
                fields.append(FieldChange(prefix[:-1], None, mapper))
            else:
                fields.extend(compare(mapper, live_mappers[mapper_name], prefix))
        if name in roles_of and (current_roles := live_roles(current)) != roles_of[name]:
            fields.append(FieldChange("scopeMappings.realm", current_roles, roles_of[name]))
        return fields

    def sync(scope_id: str, name: str) -> None:
        current = api.get(api.path(urls.CLIENT_SCOPE, id=scope_id))
        live_mappers = {m["name"]: m for m in current.get("protocolMappers") or []}
        for mapper_name, mapper in mappers.get(name, {}).items():
            existing = live_mappers.get(mapper_name)
            if existing is None:
                api.post(api.path(urls.CLIENT_SCOPE_MAPPERS, id=scope_id), mapper)
            elif compare(mapper, existing):
                merged = {**existing, **mapper, "config": {**existing.get("config", {}), **mapper["config"]}}
                api.put(api.path(urls.CLIENT_SCOPE_MAPPER, id=scope_id, mapper=existing["id"]), merged)
        if name in roles_of:
            have = set(live_roles(current))
            want = set(roles_of[name])
            role_reps = {r["name"]: r for r in api.get(api.path(urls.ROLES)) or []}
            if want - have:
                api.post(
                    api.path(urls.CLIENT_SCOPE_REALM_ROLES, id=scope_id), [role_reps[r] for r in sorted(want - have)]
                )
            if have - want:
                api.delete(
                    api.path(urls.CLIENT_SCOPE_REALM_ROLES, id=scope_id), [role_reps[r] for r in sorted(have - want)]
                )

    def create(name: str, wanted: dict[str, Any]) -> Callable[[], object]:
        def run() -> None:
            response = api.post(api.path(urls.CLIENT_SCOPES), wanted)
            ctx.forget("clientScopes")
            sync(api.created_id(response), name)

        return run

    def update(name: str, wanted: dict[str, Any], current: dict[str, Any]) -> Callable[[], object]:
        def run() -> None:
            if compare(wanted, current):
                body = {k: v for k, v in current.items() if k != "protocolMappers"}
                body.update({**wanted, "attributes": {**current.get("attributes", {}), **wanted["attributes"]}})
                api.put(api.path(urls.CLIENT_SCOPE, id=current["id"]), body)
            sync(current["id"], name)

        return run

    def delete(_name: str, current: dict[str, Any]) -> Callable[[], object]:
        return lambda: api.delete(api.path(urls.CLIENT_SCOPE, id=current["id"]))

    def create_fields(name: str) -> list[FieldChange]:
        extra_fields = [FieldChange(f"protocolMappers[{m}]", None, v) for m, v in mappers.get(name, {}).items()]
        if name in roles_of:
            extra_fields.append(FieldChange("scopeMappings.realm", None, roles_of[name]))
        return extra_fields

    changes = _reconcile(
        ctx,
        "clientScope",
        desired,
        live,
        lambda s: _owned_attributes(s.get("attributes")),
        create,
        update,
        delete,
        extra,
    )
    for change in changes:
        if change.action == "create":
            change.fields.extend(create_fields(change.name))
    return changes


# --- identity providers --------------------------------------------------------------------------


def _provider_config(ctx: Context, provider: IdentityProvider) -> dict[str, str]:
    config = {**provider.config, OWNER_ATTRIBUTE: "true"}
    for key, value in config.items():
        if value.startswith(GENERATED_PUBLIC_KEY):
            client_id = value.removeprefix(GENERATED_PUBLIC_KEY)
            client = next((c for c in ctx.document.clients or [] if c.client_id == client_id), None)
            algorithm = client.kit.generated_jwk if client and client.kit and client.kit.generated_jwk else None
            config[key] = ctx.secrets.public_key_base64(client_id, algorithm) if algorithm else PENDING
    return config


def plan_identity_providers(ctx: Context) -> list[Change]:
    api = ctx.api
    desired = {p.alias: {**_dump(p), "config": _provider_config(ctx, p)} for p in ctx.document.identity_providers or []}
    live = {p["alias"]: p for p in ctx.live(urls.IDENTITY_PROVIDERS)}

    def create(_name: str, wanted: dict[str, Any]) -> Callable[[], object]:
        return lambda: api.post(api.path(urls.IDENTITY_PROVIDERS), wanted)

    def update(name: str, wanted: dict[str, Any], current: dict[str, Any]) -> Callable[[], object]:
        body = {**current, **wanted, "config": {**current.get("config", {}), **wanted["config"]}}
        return lambda: api.put(api.path(urls.IDENTITY_PROVIDER, alias=name), body)

    def delete(name: str, _current: dict[str, Any]) -> Callable[[], object]:
        return lambda: api.delete(api.path(urls.IDENTITY_PROVIDER, alias=name))

    return _reconcile(
        ctx, "identityProvider", desired, live, lambda p: _owned_attributes(p.get("config")), create, update, delete
    )


# --- clients -------------------------------------------------------------------------------------


def _client_rep(ctx: Context, client: Client) -> dict[str, Any]:
    rep = _dump(client, "kit")
    attributes = {**(client.attributes or {}), OWNER_ATTRIBUTE: "true"}
    if client.kit and client.kit.generated_jwk:
        attributes["jwks.string"] = ctx.secrets.public_jwks(client.client_id, client.kit.generated_jwk)
    rep["attributes"] = attributes
    return rep


def plan_clients(ctx: Context) -> list[Change]:
    api = ctx.api
    desired = {c.client_id: _client_rep(ctx, c) for c in ctx.document.clients or []}
    live_list = ctx.live(urls.CLIENTS, max=str(100 * _PAGE))
    live = {c["clientId"]: c for c in live_list}
    for client in live_list:
        if (
            client["clientId"] not in desired
            and client["clientId"] not in BUILT_IN_CLIENTS
            and not _owned_attributes(client.get("attributes"))
        ):
            ctx.unmanaged.append(f"client {client['clientId']}: not declared in the files and not owned by the kit")

    def sync_scopes(client_id: str, wanted: dict[str, Any], current: dict[str, Any]) -> None:
        ids = ctx.ids("clientScopes", urls.CLIENT_SCOPES, "name")
        for field_name, template in (
            ("defaultClientScopes", urls.CLIENT_DEFAULT_SCOPE),
            ("optionalClientScopes", urls.CLIENT_OPTIONAL_SCOPE),
        ):
            if field_name not in wanted:
                continue
            have, want = set(current.get(field_name) or []), set(wanted[field_name])
            for scope in sorted(have - want):
                api.delete(api.path(template, id=client_id, scope=ids[scope]))
            for scope in sorted(want - have):
                api.put(api.path(template, id=client_id, scope=ids[scope]), None)

    def create(_name: str, wanted: dict[str, Any]) -> Callable[[], object]:
        def run() -> None:
            response = api.post(api.path(urls.CLIENTS), wanted)
            client_id = api.created_id(response)
            # Keycloak adds the realm's default scopes to a new client; keep only the listed ones.
            sync_scopes(client_id, wanted, api.get(api.path(urls.CLIENT, id=client_id)))

        return run

    def update(_name: str, wanted: dict[str, Any], current: dict[str, Any]) -> Callable[[], object]:
        scope_fields = ("defaultClientScopes", "optionalClientScopes")
        plain = {k: v for k, v in wanted.items() if k not in scope_fields}

        def run() -> None:
            if compare(plain, current):
                body = {**current, **plain, "attributes": {**current.get("attributes", {}), **plain["attributes"]}}
                api.put(api.path(urls.CLIENT, id=current["id"]), body)
            sync_scopes(current["id"], wanted, current)

        return run

    def delete(_name: str, current: dict[str, Any]) -> Callable[[], object]:
        return lambda: api.delete(api.path(urls.CLIENT, id=current["id"]))

    return _reconcile(
        ctx, "client", desired, live, lambda c: _owned_attributes(c.get("attributes")), create, update, delete
    )


# --- users (smoke-test users, with their federated identity links) -----------------------------------


def _default_role(realm: str) -> str:
    return f"default-roles-{realm}"


def _link(link: dict[str, Any]) -> dict[str, Any]:
    """A federated identity link as plans show it (the provider is in the field name)."""
    return {key: link[key] for key in ("userId", "userName") if link.get(key) is not None}


def plan_users(ctx: Context) -> list[Change]:  # noqa: PLR0915 - closures share the user data
    api = ctx.api
    users: dict[str, User] = {
        u.key: u for u in ctx.document.users or [] if u.service_account_client_id is None and u.username
    }
    desired = {name: _dump(u, "realm_roles", "federated_identities") for name, u in users.items()}
    links = {
        name: {link.identity_provider: _dump(link) for link in u.federated_identities or []}
        for name, u in users.items()
    }
    providers = {p.alias for p in ctx.document.identity_providers or []}
    live = {u["username"]: u for u in ctx.live(urls.USERS, briefRepresentation="false", max=str(_PAGE))}

    def live_roles(user_id: str) -> list[str]:
        roles = api.get(api.path(urls.USER_REALM_ROLES, id=user_id)) or []
        return sorted(r["name"] for r in roles if r["name"] != _default_role(api.realm))

    def live_links(user_id: str) -> dict[str, dict[str, Any]]:
        found = api.get(api.path(urls.USER_FEDERATED_IDENTITIES, id=user_id)) or []
        return {link["identityProvider"]: link for link in found}

    def sync_roles(user_id: str, name: str) -> None:
        if users[name].realm_roles is None:
            return
        want = set(users[name].realm_roles or [])
        have = set(live_roles(user_id))
        if want == have:
            return
        role_reps = {r["name"]: r for r in api.get(api.path(urls.ROLES)) or []}
        if want - have:
            api.post(api.path(urls.USER_REALM_ROLES, id=user_id), [role_reps[r] for r in sorted(want - have)])
        if have - want:
            api.delete(api.path(urls.USER_REALM_ROLES, id=user_id), [role_reps[r] for r in sorted(have - want)])

    def link_fields(name: str, current: dict[str, dict[str, Any]]) -> list[FieldChange]:
        """Declared links missing or different; with prune, links to other declared providers."""
        if users[name].federated_identities is None:
            return []
        fields: list[FieldChange] = []
        wanted = links[name]
        for alias, link in wanted.items():
            have = _link(current[alias]) if alias in current else None
            if have is None or compare(_link(link), have):
                fields.append(FieldChange(f"federatedIdentities[{alias}]", have, _link(link)))
        for alias in sorted(set(current) - set(wanted)):
            if alias not in providers:
                continue  # a provider the files do not declare: not the kit's link
            if ctx.prune:
                fields.append(FieldChange(f"federatedIdentities[{alias}]", _link(current[alias]), None))
            else:
                ctx.unmanaged.append(
                    f"user {name}: federated identity link to {alias} not in the files (removed only with --prune)"
                )
        return fields

    def sync_links(user_id: str, name: str) -> None:
        if users[name].federated_identities is None:
            return
        current = live_links(user_id)
        wanted = links[name]
        for alias in sorted(current):
            stale = alias in wanted and bool(compare(_link(wanted[alias]), _link(current[alias])))
            surplus = alias not in wanted and alias in providers and ctx.prune
            if stale or surplus:
                api.delete(api.path(urls.USER_FEDERATED_IDENTITY, id=user_id, alias=alias))
                current.pop(alias)
        for alias, link in wanted.items():
            if alias not in current:
                api.post(api.path(urls.USER_FEDERATED_IDENTITY, id=user_id, alias=alias), link)

    def extra(name: str, current: dict[str, Any]) -> list[FieldChange]:
        fields: list[FieldChange] = []
        if users[name].realm_roles is not None and (have := live_roles(current["id"])) != sorted(
            users[name].realm_roles or []
        ):
            fields.append(FieldChange("realmRoles", have, sorted(users[name].realm_roles or [])))
        if users[name].federated_identities is not None:
            fields.extend(link_fields(name, live_links(current["id"])))
        if ctx.secrets.password(name) is None:
            fields.append(FieldChange("password", "(unknown to the kit)", PENDING))
        return fields

    def create(name: str, wanted: dict[str, Any]) -> Callable[[], object]:
        def run() -> None:
            password = ctx.secrets.password(name)
            body = {**wanted, "credentials": [{"type": "password", "value": password, "temporary": False}]}
            response = api.post(api.path(urls.USERS), body)
            user_id = api.created_id(response)
            sync_roles(user_id, name)
            sync_links(user_id, name)

        return run

    def update(name: str, wanted: dict[str, Any], current: dict[str, Any]) -> Callable[[], object]:
        password_known = ctx.secrets.password(name) is not None

        def run() -> None:
            if compare(wanted, current):
                api.put(api.path(urls.USER, id=current["id"]), {**current, **wanted})
            sync_roles(current["id"], name)
            sync_links(current["id"], name)
            if not password_known:
                password = ctx.secrets.password(name)
                api.put(
                    api.path(urls.USER_PASSWORD, id=current["id"]),
                    {"type": "password", "value": password, "temporary": False},
                )

        return run

    # The default user profile drops unknown attributes, so users carry no ownership mark and are
    # never pruned; the kit only ever declares smoke-test users.
    changes = _reconcile(
        ctx, "user", desired, live, lambda _u: False, create, update, lambda _n, _c: lambda: None, extra
    )
    for change in changes:
        if change.action == "create":
            change.fields.append(FieldChange("password", None, PENDING))
            change.fields.append(FieldChange("realmRoles", None, sorted(users[change.name].realm_roles or [])))
            change.fields.extend(link_fields(change.name, {}))
    return changes


# --- service accounts (realm roles of the users Keycloak creates with service-account clients) ----


def plan_service_accounts(ctx: Context) -> list[Change]:
    """Grant each declared service account its realm roles; revoke kit-owned ones only with --prune.

    The user itself is Keycloak's (created with the client, found through the client): the kit never
    creates, edits or deletes it and sets no password. Ownership of role mappings: the kit manages a
    service account's mappings to the roles it owns (declared in `roles`, or marked as the kit's);
    mappings to any other role are never touched. A kit-owned role not listed is drift: reported,
    and revoked only with --prune.
    """
    api = ctx.api
    accounts = [u for u in ctx.document.users or [] if u.service_account_client_id and u.realm_roles is not None]
    if not accounts:
        return []
    owned = {r.name for r in ctx.document.roles or []} | {
        r["name"] for r in ctx.live(urls.ROLES, briefRepresentation="false") if _owned_attributes(r.get("attributes"))
    }

    def account_of(client_id: str) -> dict[str, Any] | None:
        """The client's service-account user; None while the client (or its service account) is missing."""
        found = ctx.live(urls.CLIENTS, clientId=client_id)
        if not found:
            return None
        try:
            account: dict[str, Any] = api.get(api.path(urls.CLIENT_SERVICE_ACCOUNT, id=found[0]["id"]))
        except ApiError as error:
            if error.status in (_BAD_REQUEST, _NOT_FOUND):  # serviceAccountsEnabled still false
                return None
            raise
        return account

    def held(account: dict[str, Any]) -> set[str]:
        return {r["name"] for r in api.get(api.path(urls.USER_REALM_ROLES, id=account["id"])) or []}

    def sync(client_id: str, want: set[str], managed: set[str]) -> Callable[[], object]:
        def run() -> None:
            account = account_of(client_id)
            if account is None:
                raise IdpkitError(f"client {client_id}: no service account to grant {', '.join(sorted(want))} to")
            have = held(account)
            grant, revoke = want - have, (have & managed) - want if ctx.prune else set()
            if not grant and not revoke:
                return
            role_reps = {r["name"]: r for r in api.get(api.path(urls.ROLES)) or []}
            if grant:
                api.post(api.path(urls.USER_REALM_ROLES, id=account["id"]), [role_reps[r] for r in sorted(grant)])
            if revoke:
                api.delete(api.path(urls.USER_REALM_ROLES, id=account["id"]), [role_reps[r] for r in sorted(revoke)])

        return run

    changes: list[Change] = []
    for user in accounts:
        client_id = user.service_account_client_id or ""
        want = set(user.realm_roles or [])
        managed = owned | want
        account = account_of(client_id)
        have = held(account) & managed if account else set()
        surplus = have - want
        if surplus and not ctx.prune:
            ctx.unmanaged.append(
                f"serviceAccount {user.key}: holds {', '.join(sorted(surplus))}, not in the files "
                "(revoked only with --prune)"
            )
        target = want if ctx.prune else want | surplus
        if account is not None and have == target:
            continue
        field_change = FieldChange("realmRoles", sorted(have) if account else None, sorted(target))
        changes.append(Change("serviceAccount", user.key, "update", [field_change], sync(client_id, want, managed)))
    return changes


# --- client policies (profiles, then policies; each PUT replaces the realm's whole set) -----------


def _plan_policy_set(ctx: Context, kind: str, template: str, key: str, items: list[dict[str, Any]]) -> list[Change]:
    api = ctx.api
    desired = {
        item["name"]: {**item, "description": OWNED_DESCRIPTION_PREFIX + (item.get("description") or "")}
        for item in items
    }
    live_set = api.get(api.path(template)) if ctx.realm_exists else {key: []}
    live = {item["name"]: item for item in live_set.get(key) or []}

    def replace(name: str, wanted: dict[str, Any] | None) -> Callable[[], object]:
        def run() -> None:
            current = api.get(api.path(template)) or {}
            others = [item for item in current.get(key) or [] if item["name"] != name]
            api.put(api.path(template), {**current, key: [*others, *([wanted] if wanted else [])]})

        return run

    return _reconcile(
        ctx,
        kind,
        desired,
        live,
        lambda item: str(item.get("description", "")).startswith(OWNED_DESCRIPTION_PREFIX),
        replace,
        lambda name, wanted, _current: replace(name, wanted),
        lambda name, _current: replace(name, None),
    )


def plan_client_profiles(ctx: Context) -> list[Change]:
    items = [_dump(p) for p in ctx.document.client_profiles or []]
    return _plan_policy_set(ctx, "clientProfile", urls.CLIENT_PROFILES, "profiles", items)


def plan_client_policies(ctx: Context) -> list[Change]:
    items = [_dump(p) for p in ctx.document.client_policies or []]
    return _plan_policy_set(ctx, "clientPolicy", urls.CLIENT_POLICIES, "policies", items)


# Dependency order: scopes need roles, realm default scopes and clients need scopes, clients need
# identity providers (JWT grant), users need roles (and identity providers, for their links), service
# accounts need their clients; policies come last so that the kit's own
# clients are never judged half-built (keycloak-config-cli #984).
KINDS: list[tuple[str, Callable[[Context], list[Change]]]] = [
    ("realm", plan_realm),
    ("role", plan_roles),
    ("clientScope", plan_client_scopes),
    ("realmDefaultScopes", plan_default_scopes),
    ("identityProvider", plan_identity_providers),
    ("client", plan_clients),
    ("user", plan_users),
    ("serviceAccount", plan_service_accounts),
    ("clientProfile", plan_client_profiles),
    ("clientPolicy", plan_client_policies),
]
