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
from idpkit.realm.model import RealmDocument

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
}


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
    return LoadedConfig(
        environment=environment,
        document=RealmDocument.model_validate(merged),
        baseline=RealmDocument.model_validate(baseline_raw),
        overlay_file=_display(overlay_path, root),
        provenance=provenance,
    )


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
            key_field = LIST_KEYS.get(parent_key)
            if key_field and isinstance(item, dict) and isinstance(item.get(key_field), str):
                path = item_path(path, item[key_field])
            else:
                path = child_path(path, part)
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
        key_field = LIST_KEYS.get(key)
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            provenance.setdefault(here, file)
            _merge(target[key], value, here, file, provenance)
        elif key_field and isinstance(value, list) and isinstance(target.get(key), list):
            provenance.setdefault(here, file)
            _merge_named(target[key], value, key_field, here, file, provenance)
        else:
            target[key] = _copy(value)
            _record(value, here, file, provenance, key_field)


def _merge_named(
    target: list[Any], source: list[Any], key_field: str, path: str, file: str, provenance: dict[str, str]
) -> None:
    index = {item.get(key_field): item for item in target if isinstance(item, dict)}
    for item in source:
        name = item.get(key_field)
        here = item_path(path, str(name))
        if name in index:
            _merge(index[name], item, here, file, provenance)
        else:
            target.append(_copy(item))
            _record(item, here, file, provenance, None)


def _record(value: Any, path: str, file: str, provenance: dict[str, str], key_field: str | None) -> None:
    provenance[path] = file
    if isinstance(value, dict):
        for key, item in value.items():
            _record(item, child_path(path, key), file, provenance, LIST_KEYS.get(key))
    elif isinstance(value, list) and key_field:
        for item in value:
            if isinstance(item, dict) and key_field in item:
                _record(item, item_path(path, str(item[key_field])), file, provenance, None)
