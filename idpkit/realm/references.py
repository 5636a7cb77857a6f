"""Every name the files use must point at something, checked before the first write.

Offline (`check`): against what the files declare plus what every Keycloak realm comes with. At plan
time (`check_plan`): every object a planned write refers to exists in the live realm or is created
by an earlier change of the same plan, so no input can leave an object half applied.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from idpkit.realm import builtins
from idpkit.realm.changes import (
    CLIENT,
    CLIENT_SCOPE,
    EXECUTION,
    EXECUTION_INFO,
    REF,
    ROLE,
    SERVICE_ACCOUNT,
    USER,
    Change,
)
from idpkit.realm.located import ConfigError, LoadedConfig, Problem, item_path
from idpkit.realm.model import RealmDocument

if TYPE_CHECKING:
    from idpkit.realm.kinds.base import Context

RULE = "REFERENCE"
KINDS = (
    "realm default scope",
    "client scope of a client",
    "client scope of a scope mapping",
    "role of a scope mapping",
    "role of a user",
    "user-profile attribute of a user",
    "client of a service account",
    "identity provider of a link",
    "identity provider of a JWT grant client",
    "client of a generated public key",
    "profile of a client policy",
    "executor of a client profile",
    "condition of a client policy",
)
"""Every kind of name the files use to point at another object (the bad-input corpus covers each)."""
JWT_GRANT_IDP = "oauth2.jwt.authorization.grant.idp"
GENERATED_PUBLIC_KEY = "kit:generated-public-key:"


def check(loaded: LoadedConfig) -> None:
    """Raise ConfigError naming file, path and the missing name for every dangling reference."""
    problems = [Problem(loaded.file_of(path), path, RULE, message) for path, message in dangling(loaded)]
    if problems:
        raise ConfigError(problems)


def dangling(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    document = loaded.document
    yield from _scopes(document)
    yield from _roles(document)
    yield from _users(document)
    yield from _providers(document)
    yield from _policies(document)


def _declared_scopes(document: RealmDocument) -> set[str]:
    return {s.name for s in document.client_scopes or []} | builtins.CLIENT_SCOPES


def _declared_roles(document: RealmDocument) -> set[str]:
    realm = document.realm.realm if document.realm and document.realm.realm else ""
    return {r.name for r in document.roles or []} | builtins.ROLES | {builtins.default_role(realm)}


def _scopes(document: RealmDocument) -> Iterator[tuple[str, str]]:
    scopes = _declared_scopes(document)
    settings = document.realm
    for name in ("defaultDefaultClientScopes", "defaultOptionalClientScopes"):
        for scope in (settings.model_dump(by_alias=True).get(name) or []) if settings else []:
            if scope not in scopes:
                yield f"realm.{name}", f"{scope!r} is no declared or built-in client scope"
    for client in document.clients or []:
        path = item_path("clients", client.client_id)
        for name, listed in (
            ("defaultClientScopes", client.default_client_scopes),
            ("optionalClientScopes", client.optional_client_scopes),
        ):
            for scope in listed or []:
                if scope not in scopes:
                    yield f"{path}.{name}", f"{scope!r} is no declared or built-in client scope"
        both = set(client.default_client_scopes or []) & set(client.optional_client_scopes or [])
        if both:
            yield f"{path}.optionalClientScopes", f"{', '.join(sorted(both))} also listed as default scope(s)"
    for mapping in document.scope_mappings or []:
        if mapping.client_scope not in scopes:
            yield (
                f"{item_path('scopeMappings', mapping.client_scope)}.clientScope",
                f"{mapping.client_scope!r} is no declared or built-in client scope",
            )


def _roles(document: RealmDocument) -> Iterator[tuple[str, str]]:
    roles = _declared_roles(document)
    for mapping in document.scope_mappings or []:
        for role in mapping.roles:
            if role not in roles:
                yield f"{item_path('scopeMappings', mapping.client_scope)}.roles", f"{role!r} is no declared role"
    for user in document.users or []:
        for role in user.realm_roles or []:
            if role not in roles:
                yield f"{item_path('users', user.key)}.realmRoles", f"{role!r} is no declared role"


def _users(document: RealmDocument) -> Iterator[tuple[str, str]]:
    machine_clients = {c.client_id for c in document.clients or [] if c.service_accounts_enabled}
    providers = {p.alias for p in document.identity_providers or []}
    profile = {attribute.name for attribute in document.user_profile_attributes or []}
    linked: dict[tuple[str, str], str] = {}
    for user in document.users or []:
        path = item_path("users", user.key)
        client_id = user.service_account_client_id
        if client_id is not None and client_id not in machine_clients:
            yield f"{path}.serviceAccountClientId", f"{client_id!r} is no declared client with serviceAccountsEnabled"
        for attribute in sorted(set(user.attributes or {}) - profile):
            yield f"{path}.attributes", f"{attribute!r} is no declared userProfileAttributes entry (Keycloak drops it)"
        seen: set[str] = set()
        for link in user.federated_identities or []:
            here = item_path(f"{path}.federatedIdentities", link.identity_provider)
            if link.identity_provider in seen:
                yield here, "a user has at most one link per identity provider"
            seen.add(link.identity_provider)
            if link.identity_provider not in providers:
                yield f"{here}.identityProvider", f"{link.identity_provider!r} is no declared identity provider"
            owner = linked.setdefault((link.identity_provider, link.user_id), user.key)
            if owner != user.key:
                yield f"{here}.userId", f"{link.user_id!r} at {link.identity_provider} is already {owner}'s"


def _providers(document: RealmDocument) -> Iterator[tuple[str, str]]:
    providers = {p.alias for p in document.identity_providers or []}
    keyed = {c.client_id for c in document.clients or [] if c.kit and c.kit.generated_jwk}
    for client in document.clients or []:
        alias = (client.attributes or {}).get(JWT_GRANT_IDP)
        if alias is not None and alias not in providers:
            path = f'{item_path("clients", client.client_id)}.attributes["{JWT_GRANT_IDP}"]'
            yield path, f"{alias!r} is no declared identity provider"
    for provider in document.identity_providers or []:
        for key, value in provider.config.items():
            client_id = value.removeprefix(GENERATED_PUBLIC_KEY)
            if value.startswith(GENERATED_PUBLIC_KEY) and client_id not in keyed:
                path = f'{item_path("identityProviders", provider.alias)}.config["{key}"]'
                yield path, f"{client_id!r} is no declared client with kit.generatedJwk"


def _policies(document: RealmDocument) -> Iterator[tuple[str, str]]:
    profiles = {p.name for p in document.client_profiles or []} | builtins.GLOBAL_CLIENT_PROFILES
    for profile in document.client_profiles or []:
        for executor in profile.executors:
            if executor.executor not in builtins.EXECUTORS:
                path = f"{item_path('clientProfiles', profile.name)}.executors"
                yield path, f"{executor.executor!r} is no executor Keycloak 26.7 provides"
    for policy in document.client_policies or []:
        path = item_path("clientPolicies", policy.name)
        for name in policy.profiles:
            if name not in profiles:
                yield f"{path}.profiles", f"{name!r} is no declared or global client profile"
        for condition in policy.conditions:
            if condition.condition not in builtins.CONDITIONS:
                yield f"{path}.conditions", f"{condition.condition!r} is no condition Keycloak 26.7 provides"


# --- at plan time -----------------------------------------------------------------------------------


def check_plan(loaded: LoadedConfig, ctx: Context, changes: list[Change]) -> None:
    """Refuse, before the first write, a plan whose writes name an object that will not exist."""
    # Read only for the kinds a change refers to: apply's verifying passes plan a few kinds, not the whole realm.
    existing: dict[str, Callable[[], set[str]]] = {
        CLIENT: lambda: {c["clientId"] for c in ctx.clients()},
        CLIENT_SCOPE: lambda: {s["name"] for s in ctx.client_scopes()},
        ROLE: lambda: {r["name"] for r in ctx.roles()},
        USER: lambda: ctx.existing_users,
        SERVICE_ACCOUNT: lambda: {c["clientId"] for c in ctx.clients() if c.get("serviceAccountsEnabled")},
    }
    known: dict[str, set[str]] = {}
    created = {kind: set[str]() for kind in existing}
    problems: list[Problem] = []
    for change in changes:
        if change.action == "create":  # its own later writes (mappings of the new object) refer to it
            _record_created(change, created)
        for name in _referenced(change):
            kind, target = name
            if kind in (EXECUTION, EXECUTION_INFO):  # added by an earlier write of the same change
                continue
            if target in created[kind]:
                continue
            if kind not in known:
                known[kind] = existing[kind]()
            if target not in known[kind]:
                path = f"{change.kind} {change.name}"
                problems.append(Problem(loaded.overlay_file, path, RULE, f"refers to {kind} {target!r}, which neither "
                                        "exists in the realm nor is created earlier in the plan"))  # fmt: skip
    if problems:
        raise ConfigError(problems)


def _referenced(change: Change) -> Iterator[tuple[str, str]]:
    def walk(value: object) -> Iterator[tuple[str, str]]:
        if isinstance(value, dict):
            if REF in value:
                yield str(value[REF]), str(value["name"])
            else:
                for item in value.values():
                    yield from walk(item)
        elif isinstance(value, list):
            for item in value:
                yield from walk(item)

    # A write to master refers to master's objects, which its planner read (idpkit/realm/master_authentication.py).
    for write in (write for write in change.writes if write.target == "realm"):
        yield from walk(write.params)
        yield from walk(write.body)


def _record_created(change: Change, created: dict[str, set[str]]) -> None:
    kinds = {"client": CLIENT, "clientScope": CLIENT_SCOPE, "role": ROLE, "user": USER}
    if change.kind in kinds:
        created[kinds[change.kind]].add(change.name)
    if change.kind == "client":
        body = change.writes[0].body if change.writes else {}
        if isinstance(body, dict) and body.get("serviceAccountsEnabled"):
            created[SERVICE_ACCOUNT].add(change.name)
