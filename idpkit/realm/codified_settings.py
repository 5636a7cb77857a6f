"""The realm's codified settings, and which realm rule enforces each one.

A setting is enforced by a rule when weakening it makes that rule report a new finding. The
weakenings are generic (delete, flip, raise, lower, blank, swap in a known-bad value), so the
mapping is found by running the rules, never written down: a rule that stops checking a setting
drops out of its row, and a new rule shows up without anyone editing a table. The search can
only miss a dependency (a weakening it did not try), never invent one.

Settings, precisely: every leaf of the merged `realm` section (lists are one leaf, nested mappings
such as `browserSecurityHeaders` are walked); every field of every client except its identifier,
name and description (each `attributes` entry is its own setting); every executor of every client
profile and each key of its configuration; each client policy's `enabled`, `conditions` and
`profiles`; each identity provider's configuration entries; and each declared user's realm roles.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from idpkit.realm.loader import LoadedConfig, child_path, item_name, item_path
from idpkit.realm.located import step_path
from idpkit.realm.model import RealmDocument
from idpkit.realm.rules import RULES

_CLIENT_LABELS = frozenset({"clientId", "name", "description"})
# Values known to be unsafe somewhere in Keycloak's configuration; each weakening tries them all.
_BAD_STRINGS = (
    "",
    "none",
    "external",
    "plain",
    "HS256",
    "RS256",
    "client-secret",
    "*",
    "http://attacker.example/*",
    "offline_access",
    "DISABLED",
    "ALTERNATIVE",
)
DELETE = object()
"""A weakening that removes the setting."""

Locator = tuple[str | int, ...]


@dataclass(frozen=True)
class RealmSetting:
    path: str
    """As rules report it, e.g. `clients[phi-backend].attributes["tls.client.certificate.bound.access.tokens"]`."""
    locator: Locator
    """Keys and indexes into the merged document's JSON form."""
    value: Any


def settings(loaded: LoadedConfig) -> list[RealmSetting]:
    """Every setting of the merged document, in document order."""
    document = _raw(loaded.document)
    found: list[RealmSetting] = []
    found += _leaves(document.get("realm") or {}, "realm", ("realm",))
    for index, client in enumerate(document.get("clients") or []):
        path = item_path("clients", client["clientId"])
        for key, value in client.items():
            if key in _CLIENT_LABELS:
                continue
            found += _leaves({key: value}, path, ("clients", index))
    for index, profile in enumerate(document.get("clientProfiles") or []):
        path = item_path("clientProfiles", profile["name"])
        for position, executor in enumerate(profile.get("executors") or []):
            here = item_path(f"{path}.executors", executor["executor"])
            locator: Locator = ("clientProfiles", index, "executors", position)
            found.append(RealmSetting(here, locator, "applied"))
            found += _leaves(executor.get("configuration") or {}, f"{here}.configuration", (*locator, "configuration"))
    for index, policy in enumerate(document.get("clientPolicies") or []):
        path = item_path("clientPolicies", policy["name"])
        for key in ("enabled", "conditions", "profiles"):
            found.append(RealmSetting(child_path(path, key), ("clientPolicies", index, key), policy.get(key)))
    for index, provider in enumerate(document.get("identityProviders") or []):
        path = f"{item_path('identityProviders', provider['alias'])}.config"
        found += _leaves(provider.get("config") or {}, path, ("identityProviders", index, "config"))
    for index, action in enumerate(document.get("requiredActions") or []):
        path = item_path("requiredActions", action["alias"])
        found += _leaves({k: v for k, v in action.items() if k != "alias"}, path, ("requiredActions", index))
    for index, flow in enumerate(document.get("authenticationFlows") or []):
        found += _flow_steps(flow, ("authenticationFlows", index))
    for index, user in enumerate(document.get("users") or []):
        path = f"{item_path('users', item_name('users', user) or '')}.realmRoles"
        found.append(RealmSetting(path, ("users", index, "realmRoles"), user.get("realmRoles") or []))
    return found


def enforcing_rules(loaded: LoadedConfig) -> dict[str, tuple[str, ...]]:
    """Setting path -> ids of the rules that refuse a weakened value, found by trying weakenings."""
    baseline = _findings(loaded)
    raw = _raw(loaded.document)
    enforced: dict[str, tuple[str, ...]] = {}
    for setting in settings(loaded):
        fired: set[str] = set()
        for weakened in weakenings(setting.value):
            mutated = copy.deepcopy(raw)
            _replace(mutated, setting.locator, weakened)
            try:
                document = RealmDocument.model_validate(mutated)
            except ValidationError:
                continue
            for rule_id, found in _findings(dataclasses.replace(loaded, document=document)).items():
                if found - baseline.get(rule_id, set()):
                    fired.add(rule_id)
        enforced[setting.path] = tuple(sorted(fired))
    return enforced


def _flow_steps(flow: dict[str, Any], locator: Locator) -> list[RealmSetting]:
    """Each step's requirement and configuration options (the flow's binding and order are drift's business)."""
    found: list[RealmSetting] = []
    for position, execution in enumerate(flow.get("executions") or []):
        path = step_path(flow["alias"], execution.get("authenticator") or execution.get("flow"))
        where: Locator = (*locator, "executions", position)
        found.append(RealmSetting(f"{path}.requirement", (*where, "requirement"), execution["requirement"]))
        found += _leaves(execution.get("config") or {}, f"{path}.config", (*where, "config"))
    return found


def _raw(document: RealmDocument) -> dict[str, Any]:
    return document.model_dump(by_alias=True, exclude_none=True, mode="json")


def _leaves(node: dict[str, Any], path: str, locator: Locator) -> Iterator[RealmSetting]:
    for key, value in node.items():
        here, where = child_path(path, key), (*locator, key)
        if isinstance(value, dict) and value:
            yield from _leaves(value, here, where)
        else:
            yield RealmSetting(here, where, value)


def _findings(loaded: LoadedConfig) -> dict[str, set[tuple[str, str]]]:
    return {metadata.id: set(check(loaded)) for metadata, check in RULES}


def weakenings(value: Any) -> Iterator[Any]:
    """Values that weaken a setting holding `value`, whatever it means: removed, flipped, longer, unsafe."""
    yield DELETE
    if isinstance(value, bool):
        yield not value
    elif isinstance(value, int):
        yield from (value * 100 + 100, 1, 0)
    elif isinstance(value, str):
        if value.isdigit():  # a number held as a string (client attributes)
            yield str(int(value) * 100 + 100)
        yield from (bad for bad in (*_BAD_STRINGS, "true", "false") if bad != value)
    elif isinstance(value, list):
        yield []
        yield from ([*value, bad] for bad in _BAD_STRINGS if bad)
    elif isinstance(value, dict):
        yield {}


def _replace(document: Any, locator: Locator, value: Any) -> None:
    *parents, last = locator
    node = document
    for key in parents:
        node = node[key]
    if value is DELETE:
        del node[last]
    else:
        node[last] = value
