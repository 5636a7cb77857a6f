"""Read `realm-config/`: base files, an environment's overlay and the fragments it includes.

Each file is validated on its own first, so a schema error names the file and the path inside it;
the merge then records which file set each value, so a rule finding on the merged document can
name the file too.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from idpkit import paths
from idpkit.errors import ExitCode, IdpkitError
from idpkit.realm.model import RealmDocument, service_account_username

ENVIRONMENTS = ("local", "dev", "staging", "prod")
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


def config_dir() -> Path:
    return paths.project_root() / "realm-config"


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
        candidate = path
        while candidate:
            if candidate in self.provenance:
                return self.provenance[candidate]
            candidate = parent_path(candidate)
        return self.overlay_file


def child_path(parent: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if "." in key or "/" in key or " " in key:
        return f'{parent}["{key}"]'
    return f"{parent}.{key}" if parent else key


def item_path(parent: str, name: str) -> str:
    return f"{parent}[{name}]"


def parent_path(path: str) -> str:
    cut = path.rfind('["') if path.endswith('"]') else max(path.rfind("."), path.rfind("["))
    return path[:cut] if cut > 0 else ""


def load(environment: str, directory: Path | None = None) -> LoadedConfig:
    """Validate and merge the files for `environment`; raises ConfigError naming file and path."""
    root = directory or config_dir()
    if environment not in ENVIRONMENTS:
        raise IdpkitError(
            f"unknown environment {environment!r}; expected one of {', '.join(ENVIRONMENTS)}", exit_code=ExitCode.USAGE
        )
    overlay_path = root / "overlays" / f"{environment}.yaml"
    problems: list[Problem] = []
    base_files = sorted((root / "base").glob("*.yaml"))
    overlay_raw = _read(overlay_path, root, problems)
    fragments = [root / "fragments" / name for name in overlay_raw.get("includes") or []]
    merged: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    for path in [*base_files, *fragments]:
        raw = _read(path, root, problems)
        if raw.get("includes"):
            problems.append(Problem(_display(path, root), "includes", "SCHEMA", "only overlays may include fragments"))
        _merge(merged, raw, "", _display(path, root), provenance)
    baseline_raw = _copy(merged)
    _merge(
        merged, {k: v for k, v in overlay_raw.items() if k != "includes"}, "", _display(overlay_path, root), provenance
    )
    if problems:
        raise ConfigError(problems)
    loaded = LoadedConfig(
        environment=environment,
        document=RealmDocument.model_validate(merged),
        baseline=RealmDocument.model_validate(baseline_raw),
        overlay_file=_display(overlay_path, root),
        provenance=provenance,
    )
    problems = [Problem(loaded.file_of(path), path, "REFERENCE", message) for path, message in _references(loaded)]
    if problems:
        raise ConfigError(problems)
    return loaded


def _references(loaded: LoadedConfig) -> list[tuple[str, str]]:
    """Names in the merged document that point at nothing (Keycloak would refuse them mid-apply)."""
    document = loaded.document
    machine_clients = {c.client_id for c in document.clients or [] if c.service_accounts_enabled}
    providers = {p.alias for p in document.identity_providers or []}
    found: list[tuple[str, str]] = []
    linked: dict[tuple[str, str], str] = {}
    for user in document.users or []:
        path = item_path("users", user.key)
        client_id = user.service_account_client_id
        if client_id is not None and client_id not in machine_clients:
            found.append(
                (f"{path}.serviceAccountClientId", f"{client_id!r} is no declared client with serviceAccountsEnabled")
            )
        seen: set[str] = set()
        for link in user.federated_identities or []:
            here = item_path(f"{path}.federatedIdentities", link.identity_provider)
            if link.identity_provider in seen:
                found.append((here, "a user has at most one link per identity provider"))
            seen.add(link.identity_provider)
            if link.identity_provider not in providers:
                found.append(
                    (f"{here}.identityProvider", f"{link.identity_provider!r} is no declared identity provider")
                )
            owner = linked.setdefault((link.identity_provider, link.user_id), user.key)
            if owner != user.key:
                found.append((f"{here}.userId", f"{link.user_id!r} at {link.identity_provider} is already {owner}'s"))
    return found


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


def _read(path: Path, root: Path, problems: list[Problem]) -> dict[str, Any]:
    shown = _display(path, root)
    try:
        raw = yaml.safe_load(path.read_text()) or {}
    except OSError as error:
        problems.append(Problem(shown, "", "SCHEMA", f"cannot be read ({error.strerror})"))
        return {}
    except yaml.YAMLError as error:
        problems.append(Problem(shown, "", "SCHEMA", f"is not valid YAML ({error})"))
        return {}
    if not isinstance(raw, dict):
        problems.append(Problem(shown, "", "SCHEMA", "must be a mapping at the top level"))
        return {}
    try:
        RealmDocument.model_validate(raw)
    except ValidationError as error:
        problems.extend(
            Problem(shown, _error_path(raw, detail["loc"]), "SCHEMA", detail["msg"]) for detail in error.errors()
        )
        return {}
    loaded: dict[str, Any] = raw
    return loaded


def _error_path(raw: Any, loc: tuple[Any, ...]) -> str:
    """A pydantic location as a readable path, naming list items by their key (clients[phi-web])."""
    path, node, parent_key = "", raw, ""
    for part in loc:
        if isinstance(part, int) and isinstance(node, list) and part < len(node):
            item = node[part]
            name = item_name(parent_key, item)
            path = item_path(path, name) if name is not None else child_path(path, part)
            node = item
        else:
            path = child_path(path, str(part))
            node = node.get(part) if isinstance(node, dict) else None
            parent_key = str(part)
    return path


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _merge(target: dict[str, Any], source: dict[str, Any], path: str, file: str, provenance: dict[str, str]) -> None:
    for key, value in source.items():
        here = child_path(path, key)
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            provenance.setdefault(here, file)
            _merge(target[key], value, here, file, provenance)
        elif key in LIST_KEYS and isinstance(value, list) and isinstance(target.get(key), list):
            provenance.setdefault(here, file)
            _merge_named(target[key], value, key, here, file, provenance)
        else:
            target[key] = _copy(value)
            _record(value, here, file, provenance, key)


def _merge_named(
    target: list[Any], source: list[Any], list_key: str, path: str, file: str, provenance: dict[str, str]
) -> None:
    index = {item_name(list_key, item): item for item in target if isinstance(item, dict)}
    for item in source:
        name = item_name(list_key, item)
        here = item_path(path, str(name))
        if name in index:
            _merge(index[name], item, here, file, provenance)
        else:
            target.append(_copy(item))
            _record(item, here, file, provenance, None)


def _record(value: Any, path: str, file: str, provenance: dict[str, str], list_key: str | None) -> None:
    provenance[path] = file
    if isinstance(value, dict):
        for key, item in value.items():
            _record(item, child_path(path, key), file, provenance, key)
    elif isinstance(value, list) and list_key in LIST_KEYS:
        for item in value:
            name = item_name(list_key, item)
            if name is not None:
                _record(item, item_path(path, name), file, provenance, None)
