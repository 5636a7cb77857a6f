"""Where a value of the merged realm configuration came from, and how a refusal names it.

Paths name list items by their key (`clients[phi-web].attributes["pkce.code.challenge.method"]`);
`LoadedConfig.file_of` finds the file that set a path, so every refusal names file, path and reason.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from idpkit.errors import ExitCode, IdpkitError
from idpkit.realm.model import RealmDocument, service_account_username

# The key that identifies an item of each named list, so overlays can change one item in place.
LIST_KEYS = {
    "roles": "name",
    "clientScopes": "name",
    "scopeMappings": "clientScope",
    "identityProviders": "alias",
    "clients": "clientId",
    "clientProfiles": "name",
    "clientPolicies": "name",
    "users": "username",
    "authenticationFlows": "alias",
    "requiredActions": "alias",
    "userProfileAttributes": "name",
    "protocolMappers": "name",
    "federatedIdentities": "identityProvider",
}


def item_name(list_key: str | None, item: Any) -> str | None:
    """The name of an item of the named list `list_key` (None: not a named list, or no name).

    A service-account entry of `users` has no `username`: it is named after its client, as Keycloak
    names the user (`service-account-<clientId>`).
    """
    key_field = LIST_KEYS.get(list_key or "")
    if not key_field or not isinstance(item, dict):
        return None
    name = item.get(key_field)
    if name is None and list_key == "users" and isinstance(item.get("serviceAccountClientId"), str):
        return service_account_username(item["serviceAccountClientId"])
    return name if isinstance(name, str) else None


@dataclass(frozen=True)
class Problem:
    """One reason a configuration is refused."""

    file: str
    path: str
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.path}: [{self.rule}] {self.message}"


class ConfigError(IdpkitError):
    """The configuration is refused; nothing was sent to Keycloak."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(
            f"realm configuration refused ({len(problems)} problem(s)); nothing was applied:\n{lines}",
            exit_code=ExitCode.ERROR,
        )


@dataclass
class LoadedConfig:
    """The merged document plus what the rules need to judge and locate findings."""

    environment: str
    document: RealmDocument
    """Base + fragments + overlay."""
    baseline: RealmDocument
    """Base + fragments: what the overlay may only tighten without an exception."""
    overlay_file: str
    provenance: dict[str, str] = field(default_factory=dict)
    """Path in the merged document -> the file that last set it."""

    def file_of(self, path: str) -> str:
        """The file that set `path` or its nearest ancestor."""
        return file_of(self.provenance, path, self.overlay_file)


def file_of(provenance: dict[str, str], path: str, fallback: str) -> str:
    """The file that set `path` or its nearest ancestor, per `provenance`; `fallback` if none did."""
    candidate = path
    while candidate:
        if candidate in provenance:
            return provenance[candidate]
        candidate = parent_path(candidate)
    return fallback


def child_path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if "." in key or "/" in key or " " in key:
        return f'{parent}["{key}"]'
    return f"{parent}.{key}" if parent else key


def item_path(parent: str, name: str) -> str:
    return f"{parent}[{name}]"


def step_path(flow: str, step: str) -> str:
    """`authenticationFlows[<flow>].executions[<authenticator or sub-flow>]`: a flow's step, by what it runs."""
    return item_path(f"{item_path('authenticationFlows', flow)}.executions", step)


def parent_path(path: str) -> str:
    cut = path.rfind('["') if path.endswith('"]') else max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""
