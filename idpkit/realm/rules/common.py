"""What the realm rules share: reading the merged document, naming paths, finding policy executors."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from idpkit.realm.located import LoadedConfig, item_path
from idpkit.realm.model import Client, ClientProfile, Executor, RealmDocument

DEVICE_GRANT = "oauth2.device.authorization.grant.enabled"
JWT_GRANT = "oauth2.jwt.authorization.grant.enabled"


def listed(value: object) -> list[str]:
    """A list option of an executor or condition (Keycloak reads those as lists): anything else lists nothing,
    so a rule needing the option reports it rather than trusting a value Keycloak would not read as meant."""
    return [item for item in value if isinstance(item, str)] if isinstance(value, list) else []


def realm_settings(loaded: LoadedConfig) -> dict[str, Any]:
    realm = loaded.document.realm
    return realm.model_dump(by_alias=True, exclude_none=True) if realm else {}


def clients(document: RealmDocument) -> list[Client]:
    return document.clients or []


def client_path(client: Client, field: str) -> str:
    return f"{item_path('clients', client.client_id)}.{field}"


def attribute(client: Client, name: str) -> str | None:
    return (client.attributes or {}).get(name)


def is_machine(client: Client) -> bool:
    return bool(client.service_accounts_enabled)


def obtains_person_tokens(client: Client) -> bool:
    """A grant that issues tokens on a person's behalf: code flow, device, JWT bearer."""
    return bool(
        client.standard_flow_enabled
        or attribute(client, DEVICE_GRANT) == "true"
        or attribute(client, JWT_GRANT) == "true"
    )


def obtains_tokens(client: Client) -> bool:
    return obtains_person_tokens(client) or bool(client.service_accounts_enabled)


def realm_field(
    loaded: LoadedConfig, name: str, ok: Callable[[Any], bool], expectation: str
) -> Iterator[tuple[str, str]]:
    value = realm_settings(loaded).get(name)
    if value is None or not ok(value):
        yield f"realm.{name}", f"is {value!r}; must be {expectation}"


def any_client_executors(document: RealmDocument) -> dict[str, Executor]:
    """Executors of the profiles that enabled `any-client` policies apply to every client."""
    return policy_executors(document, lambda conditions: any(c.condition == "any-client" for c in conditions))


def policy_executors(document: RealmDocument, applies: Callable[[list[Any]], bool]) -> dict[str, Executor]:
    profiles: dict[str, ClientProfile] = {p.name: p for p in document.client_profiles or []}
    executors: dict[str, Executor] = {}
    for policy in document.client_policies or []:
        if policy.enabled and applies(policy.conditions):
            for name in policy.profiles:
                for executor in profiles[name].executors if name in profiles else []:
                    executors.setdefault(executor.executor, executor)
    return executors


def require_executor(
    document: RealmDocument, name: str, configured: Callable[[dict[str, Any]], bool] = lambda _c: True
) -> Iterator[tuple[str, str]]:
    executor = any_client_executors(document).get(name)
    if executor is None:
        yield "clientPolicies", f"no enabled any-client policy applies a profile with the {name} executor"
    elif not configured(executor.configuration):
        yield "clientProfiles", f"the {name} executor is configured too loosely: {executor.configuration}"
