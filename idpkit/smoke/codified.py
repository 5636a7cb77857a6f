"""Every hardened setting of a stack, by path, with the value it must hold on the live realm.

Three sources: what realm-config declares (`idpkit.realm.codified_settings`); the secure default of
every security-relevant field it leaves out (`idpkit.realm.secure_defaults`: declare or default);
and the master realm: its own settings (`idpkit.realm.master_realm`) and its kit administration
client (`idpkit.realm.bootstrap.ADMIN_CLIENT`) as far as it restricts anything. Config-read checks,
claim coverage and mutation mode read from here; paths are those `idpkit.smoke.live` reads and
writes (and reviews show).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from idpkit.realm import builtins, codified_settings, secure_defaults
from idpkit.realm.loader import LoadedConfig, child_path, item_path
from idpkit.realm.master_settings import master_settings
from idpkit.realm.rules import step_up
from idpkit.realm.secure_defaults import SecureDefault

HELD_SOURCE = "idpkit/realm/secure_defaults.py"
"""Where the secure defaults of undeclared fields are codified."""
_OBJECT = re.compile(r"^(clients|clientScopes)\[[^]]+\]")


def step_up_scopes(loaded: LoadedConfig) -> set[str]:
    """Client scopes the bound browser flow demands a step-up for (a WebAuthn login)."""
    return step_up.stepped_up_scopes(loaded)


def scope_roles(loaded: LoadedConfig) -> dict[str, list[str]]:
    """Client scopes realm-config grants only to holders of a realm role, with those roles."""
    return {m.client_scope: sorted(m.roles) for m in loaded.document.scope_mappings or [] if m.roles}


def step_up_target(loaded: LoadedConfig, client_ids: Iterable[str]) -> tuple[str, list[str], str]:
    """A scope the browser flow steps up for, the realm roles that gate it, and one of `client_ids` that may ask it
    (LookupError: realm-config has none)."""
    stepped_up = step_up_scopes(loaded)
    writes = {scope: roles for scope, roles in scope_roles(loaded).items() if scope in stepped_up}
    if not writes:
        raise LookupError("realm-config: no client scope demands a step-up (conditional-client-scope)")
    scope, roles = sorted(writes.items())[0]
    candidates = set(client_ids)
    client_id = next(
        (c.client_id for c in loaded.document.clients or []
         if scope in (c.optional_client_scopes or []) and c.client_id in candidates), None,
    )  # fmt: skip
    if client_id is None:
        raise LookupError(f"realm-config: no smoke client may request {scope}")
    return scope, roles, client_id


def role_gated_scopes(loaded: LoadedConfig) -> dict[str, list[str]]:
    """`scope_roles` without the step-up scopes (a login for them needs an authenticator the suite does not
    drive)."""
    stepped_up = step_up_scopes(loaded)
    return {scope: roles for scope, roles in scope_roles(loaded).items() if scope not in stepped_up}


def field_path(owner: str, entry: SecureDefault) -> str:
    """The path of a catalogue entry's field on `owner` (`realm`, `clients[x]`, `clientScopes[y]`)."""
    if entry.attribute is not None:
        return child_path(f"{owner}.attributes", entry.attribute)
    return ".".join((owner, *entry.path))


def held_settings(loaded: LoadedConfig) -> dict[str, Any]:
    """Path -> secure default, for every catalogued field a declared object leaves out."""
    return {path: entry.secure_default for path, entry in held_entries(loaded).items()}


def held_entries(loaded: LoadedConfig) -> dict[str, SecureDefault]:
    """Path -> catalogue entry, for every catalogued field a declared object leaves out."""
    document = loaded.document.model_dump(by_alias=True, exclude_none=True, mode="json")
    mapped = {mapping["clientScope"] for mapping in document.get("scopeMappings") or []}
    objects: dict[str, list[tuple[str, dict[str, Any]]]] = {
        "realm": [("realm", document.get("realm") or {})],
        "client": [(item_path("clients", c["clientId"]), c) for c in document.get("clients") or []],
        "clientScope": [
            (
                item_path("clientScopes", s["name"]),
                s | ({"scopeMappings": {"realm": []}} if s["name"] in mapped else {}),
            )
            for s in document.get("clientScopes") or []
        ],
    }
    found: dict[str, SecureDefault] = {}
    for entry in secure_defaults.CATALOGUE:
        for owner, declared in objects[entry.kind]:
            if entry.applies(declared) and _get(declared, entry.path) is None:
                found[field_path(owner, entry)] = entry
    return found


def _get(rep: dict[str, Any], path: tuple[str, ...]) -> Any:
    node: Any = rep
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def settings(loaded: LoadedConfig) -> dict[str, Any]:
    """Path -> the value the live realm must hold, for every hardened setting of the stack's environment."""
    declared = {setting.path: setting.value for setting in codified_settings.settings(loaded)}
    return held_settings(loaded) | declared | master_settings(loaded)


def class_of(path: str) -> str:
    """`clients[smoke-web].webOrigins` -> `clients[*].webOrigins`: the setting across objects."""
    return _OBJECT.sub(lambda match: f"{match.group(1)}[*]", path)


def expected(loaded: LoadedConfig, path: str) -> Any:
    """The value `path` must hold: as realm-config declares it, else its secure default (KeyError: neither)."""
    return settings(loaded)[path]


PROTOCOL_CLAIMS = frozenset({
    "iss", "sub", "aud", "exp", "iat", "nbf", "jti", "typ", "azp", "sid", "scope", "nonce", "at_hash", "c_hash",
    "s_hash", "cnf",
})  # fmt: skip
"""Claims Keycloak writes from the protocol itself (issuer, subject, lifetimes, session, binding), whatever the
scopes (a service account's tokens name their subject without the `basic` scope)."""


def client_claims(loaded: LoadedConfig, client_id: str) -> frozenset[str]:
    """Every top-level claim a token of `client_id` may carry: the protocol's, and those of the scopes realm-config
    gives the client (built-in scopes as Keycloak ships them, declared scopes through their declared mappers)."""
    client = next((c for c in loaded.document.clients or [] if c.client_id == client_id), None)
    assert client is not None, f"realm-config declares no client {client_id}"
    scopes = [*(client.default_client_scopes or []), *(client.optional_client_scopes or [])]
    if client.service_accounts_enabled:
        scopes.append(builtins.SERVICE_ACCOUNT_SCOPE)
    declared = {scope.name: scope for scope in loaded.document.client_scopes or []}
    found = set(PROTOCOL_CLAIMS)
    for name in scopes:
        if name in declared:
            mapped = (builtins.mapper_claim(m.protocol_mapper, m.config) for m in declared[name].protocol_mappers or [])
            found.update(claim for claim in mapped if claim)
        else:
            found.update(builtins.BUILTIN_SCOPE_CLAIMS.get(name, frozenset()))
    return frozenset(found)
