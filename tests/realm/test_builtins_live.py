"""What validation assumes every Keycloak realm comes with is what the running server really has."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from idpkit.keycloak_admin import AdminApi, connect, urls
from idpkit.outputs import StackOutputs, load_admin_credentials
from idpkit.realm import builtins, secure_defaults
from idpkit.realm.bootstrap import create_delegated_realm
from idpkit.realm.kinds import default_roles
from idpkit.realm.secure_defaults import SecureDefault

pytestmark = pytest.mark.local_stack
EXECUTOR_TYPE = "org.keycloak.services.clientpolicy.executor.ClientPolicyExecutorProvider"
CONDITION_TYPE = "org.keycloak.services.clientpolicy.condition.ClientPolicyConditionProvider"


@pytest.fixture(scope="module")
def fresh_realm(live_stack: StackOutputs) -> Iterator[AdminApi]:
    """A realm just created, with nothing but what Keycloak puts in every realm."""
    name = f"builtins-{secrets.token_hex(3)}"
    create_delegated_realm(live_stack, {"realm": name, "enabled": True})
    realm = AdminApi(connect(live_stack, load_admin_credentials(live_stack)), name)
    yield realm
    realm.delete(realm.path(urls.REALM))


def test_built_in_client_scopes(fresh_realm: AdminApi) -> None:
    live = {scope["name"] for scope in fresh_realm.keycloak.get_client_scopes()}
    assert live == builtins.CLIENT_SCOPES, (
        f"Keycloak's built-in scopes changed: {sorted(live ^ builtins.CLIENT_SCOPES)}"
    )


def test_built_in_scopes_put_exactly_the_claims_listed(fresh_realm: AdminApi) -> None:
    live = {
        scope["name"]: {
            builtins.mapper_claim(mapper["protocolMapper"], mapper.get("config") or {})
            for mapper in scope.get("protocolMappers") or []
        }
        for scope in fresh_realm.keycloak.get_client_scopes()
        if scope.get("protocol") == "openid-connect"
    }
    differing = {name: sorted(map(str, claims)) for name, claims in live.items()
                 if claims != builtins.BUILTIN_SCOPE_CLAIMS.get(name)}  # fmt: skip
    assert live == builtins.BUILTIN_SCOPE_CLAIMS, f"Keycloak's built-in scopes put other claims in tokens: {differing}"


def test_built_in_clients(fresh_realm: AdminApi) -> None:
    live = {client["clientId"] for client in fresh_realm.keycloak.get_clients()}
    assert live == builtins.CLIENTS, f"Keycloak's built-in clients changed: {sorted(live ^ builtins.CLIENTS)}"


def test_built_in_roles(fresh_realm: AdminApi) -> None:
    live = {role["name"] for role in fresh_realm.keycloak.get_realm_roles()}
    expected = builtins.ROLES | {builtins.default_role(fresh_realm.realm)}
    assert live == expected, f"Keycloak's built-in realm roles changed: {sorted(live ^ expected)}"


def test_default_role_composites_and_no_default_group(fresh_realm: AdminApi) -> None:
    clients = fresh_realm.keycloak.get_clients()
    live = {default_roles.label(role, clients) for role in default_roles.composites(fresh_realm)}
    assert live == builtins.DEFAULT_ROLE_COMPOSITES, (
        f"what a new realm grants every user changed: {sorted(live ^ builtins.DEFAULT_ROLE_COMPOSITES)}"
    )
    assert not fresh_realm.get(fresh_realm.path(urls.DEFAULT_GROUPS)), "a new realm has a default group"


def test_global_client_profiles(fresh_realm: AdminApi) -> None:
    found = fresh_realm.get(fresh_realm.path(urls.CLIENT_PROFILES), **{"include-global-profiles": "true"})
    live = {profile["name"] for profile in found.get("globalProfiles", [])}
    assert live == builtins.GLOBAL_CLIENT_PROFILES, (
        f"global profiles changed: {sorted(live ^ builtins.GLOBAL_CLIENT_PROFILES)}"
    )


@pytest.mark.parametrize(
    ("provider_type", "known"), [(EXECUTOR_TYPE, builtins.EXECUTORS), (CONDITION_TYPE, builtins.CONDITIONS)]
)
def test_client_policy_providers(fresh_realm: AdminApi, provider_type: str, known: frozenset[str]) -> None:
    info = fresh_realm.keycloak.get_server_info()
    live = {provider["id"] for provider in info["componentTypes"][provider_type]}
    assert live == known, f"{provider_type} providers changed: {sorted(live ^ known)}"


@pytest.mark.parametrize(
    "entry", [pytest.param(e, id=e.field) for e in secure_defaults.entries("client") if e.unset is not None]
)
def test_unset_client_fields_read_as_keycloak_assumes(fresh_realm: AdminApi, entry: SecureDefault) -> None:
    """A client created bare either lacks the field or holds what the catalogue says Keycloak assumes."""
    created = fresh_realm.keycloak.create_client({"clientId": f"bare-{secrets.token_hex(3)}"})
    bare = fresh_realm.keycloak.get_client(created)
    value = bare.get("attributes", {}).get(entry.attribute) if entry.attribute else bare.get(entry.field)
    assert value in (None, "", entry.unset), f"a bare client holds {entry.field} = {value!r}, not {entry.unset!r}"
