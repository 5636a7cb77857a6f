"""Read `realm-config/`: base files, an environment's overlay and the fragments it includes.

Each file is read and validated on its own first (UTF-8, YAML without duplicate keys, a mapping,
the schema, no name twice in a named list), so a refusal names the file and the path inside it;
the merge then records which file set each value, so a finding on the merged document names the
file too. Every name the merged document uses must resolve (`idpkit.realm.references`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from idpkit import paths
from idpkit.errors import ExitCode, IdpkitError
from idpkit.realm import checked_files, references
from idpkit.realm.located import (
    LIST_KEYS,
    ConfigError,
    LoadedConfig,
    Problem,
    child_path,
    file_of,
    item_name,
    item_path,
    parent_path,
)
from idpkit.realm.model import RealmDocument

__all__ = [
    "ENVIRONMENTS",
    "LIST_KEYS",
    "ConfigError",
    "LoadedConfig",
    "Problem",
    "child_path",
    "config_dir",
    "item_name",
    "item_path",
    "load",
    "parent_path",
]

ENVIRONMENTS = ("local", "dev", "staging", "prod")
SCHEMA, DUPLICATE = "SCHEMA", "DUPLICATE"


def config_dir() -> Path:
    return paths.project_root() / "realm-config"


def load(environment: str, directory: Path | None = None) -> LoadedConfig:
    """Validate and merge the files for `environment`; raises ConfigError naming file and path."""
    root = directory or config_dir()
    if environment not in ENVIRONMENTS:
        raise IdpkitError(
            f"unknown environment {environment!r}; expected one of {', '.join(ENVIRONMENTS)}", exit_code=ExitCode.USAGE
        )
    overlay_path = root / "overlays" / f"{environment}.yaml"
    problems: list[Problem] = []
    overlay_raw = _read(overlay_path, root, problems)
    fragments = _fragments(overlay_raw, overlay_path, root, problems)
    merged: dict[str, Any] = {}
    provenance: dict[str, str] = {}
    base_names: dict[tuple[str, str], str] = {}
    for path in [*sorted((root / "base").glob("*.yaml")), *fragments]:
        shown = _display(path, root)
        raw = _read(path, root, problems)
        if raw.get("includes"):
            problems.append(Problem(shown, "includes", SCHEMA, "only overlays may include fragments"))
        if path.parent.name == "base":
            problems += _defined_twice(raw, shown, base_names)
        _merge(merged, raw, "", shown, provenance)
    baseline_raw = _copy(merged)
    overlay_shown = _display(overlay_path, root)
    _merge(merged, {k: v for k, v in overlay_raw.items() if k != "includes"}, "", overlay_shown, provenance)
    if problems:
        raise ConfigError(problems)
    loaded = LoadedConfig(
        environment=environment,
        document=_validated(merged, provenance, overlay_shown),
        baseline=_validated(baseline_raw, provenance, overlay_shown),
        overlay_file=overlay_shown,
        provenance=provenance,
    )
    references.check(loaded)
    return loaded


def _display(path: Path, root: Path) -> str:
    try:
        return str(path.relative_to(root.parent))
    except ValueError:
        return str(path)


# libyaml's parser when PyYAML has it (over 10x faster on a realm with thousands of clients), same documents;
# its constructor is SafeLoader's, so the duplicate-key check below works on either.
if TYPE_CHECKING:
    _SafeLoader = yaml.SafeLoader
else:
    _SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _UniqueKeyLoader(_SafeLoader):
    """YAML's safe loader, refusing a key written twice in one mapping (YAML keeps the last silently)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _read(path: Path, root: Path, problems: list[Problem]) -> dict[str, Any]:
    """One file, parsed and validated on its own; {} (with problems recorded) if it is refused."""
    shown = _display(path, root)
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as error:
        problems.append(Problem(shown, "", SCHEMA, f"cannot be read ({error.strerror})"))
        return {}
    except UnicodeDecodeError as error:
        bad = error.object[error.start : error.start + 1].hex()
        problems.append(Problem(shown, "", SCHEMA, f"is not UTF-8 text (byte 0x{bad} at offset {error.start})"))
        return {}
    if (checked := checked_files.recall(text)) is not None:
        return checked
    refused = len(problems)
    raw = _parsed(text, shown, problems)
    if len(problems) > refused:
        return {}
    checked_files.remember(text, raw)
    return raw


def _parsed(text: str, shown: str, problems: list[Problem]) -> dict[str, Any]:
    """`text` parsed and checked on its own; what refuses it is added to `problems`."""
    try:
        raw = yaml.load(text, Loader=_UniqueKeyLoader) or {}  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as error:
        problems.append(Problem(shown, "", SCHEMA, f"is not valid YAML ({error})"))
        return {}
    if not isinstance(raw, dict):
        problems.append(Problem(shown, "", SCHEMA, "must be a mapping at the top level"))
        return {}
    try:
        RealmDocument.model_validate(raw)
    except ValidationError as error:
        problems.extend(
            Problem(shown, _error_path(raw, detail["loc"]), SCHEMA, detail["msg"]) for detail in error.errors()
        )
        return {}
    problems.extend(
        [
            *(Problem(shown, _error_path(raw, loc), SCHEMA, message) for loc, message in _unstorable(raw, ())),
            *(Problem(shown, path, DUPLICATE, message) for path, message in _duplicates(raw, "")),
        ]
    )
    parsed: dict[str, Any] = raw
    return parsed


FRAGMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*\.ya?ml")
"""A fragment is named by a plain, portable YAML file name: no directory, no hidden file, no control character."""


JAVA_INT_MAX = 2**31 - 1
"""Keycloak stores the numbers of its representations as Java `int`s."""


def _unstorable(node: Any, loc: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    """Values Keycloak's database cannot hold: they would fail their own write, after earlier writes went in."""
    if isinstance(node, int) and not isinstance(node, bool) and abs(node) > JAVA_INT_MAX:
        yield loc, f"must be at most {JAVA_INT_MAX} (Keycloak stores it as a 32-bit integer)"
    elif isinstance(node, str) and "\x00" in node:
        yield loc, "must not contain a NUL character (PostgreSQL cannot store one)"
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _unstorable(value, (*loc, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _unstorable(value, (*loc, index))


def _fragments(overlay: dict[str, Any], overlay_path: Path, root: Path, problems: list[Problem]) -> list[Path]:
    """The fragment files an overlay includes: plain file names inside `fragments/`, each once."""
    found: list[Path] = []
    names = overlay.get("includes") or []
    for index, name in enumerate(names):
        if not FRAGMENT_NAME.fullmatch(name):
            problems.append(
                Problem(
                    _display(overlay_path, root),
                    f"includes[{index}]",
                    SCHEMA,
                    f"{name!r} must be a plain .yaml file name in realm-config/fragments/",
                )
            )
        else:
            found.append(root / "fragments" / name)
    return found


def _duplicates(node: Any, path: str) -> Iterator[tuple[str, str]]:
    """(path, message) for each name listed twice in one list of this file, at any depth."""
    if isinstance(node, dict):
        for key, value in node.items():
            here = child_path(path, str(key))
            if key in LIST_KEYS and isinstance(value, list):
                names = [item_name(key, item) for item in value]
                for repeated, count in Counter(n for n in names if n is not None).items():
                    if count > 1:
                        yield item_path(here, repeated), f"{repeated!r} appears {count} times in {key}"
                for item, name in zip(value, names, strict=True):
                    yield from _duplicates(item, item_path(here, name) if name else here)
            else:
                yield from _duplicates(value, here)
    elif isinstance(node, list) and all(isinstance(item, str) for item in node):
        for value, count in Counter(node).items():
            if count > 1:
                yield path, f"{value!r} is listed {count} times"


def _defined_twice(raw: dict[str, Any], shown: str, seen: dict[tuple[str, str], str]) -> list[Problem]:
    """Base files are peers: one named object belongs to one of them (overlays and fragments override)."""
    problems: list[Problem] = []
    for key, value in raw.items():
        if key not in LIST_KEYS or not isinstance(value, list):
            continue
        for item in value:
            name = item_name(key, item)
            first = seen.setdefault((key, name), shown) if name is not None else shown
            if first != shown:
                problems.append(Problem(shown, item_path(key, str(name)), DUPLICATE, f"is already defined in {first}"))
    return problems


def _validated(raw: dict[str, Any], provenance: dict[str, str], fallback: str) -> RealmDocument:
    """The merged document; files valid on their own can still merge into something invalid."""
    try:
        return RealmDocument.model_validate(raw)
    except ValidationError as error:
        problems = []
        for detail in error.errors():
            path = _error_path(raw, detail["loc"])
            file = file_of(provenance, path, fallback)
            problems.append(Problem(file, path, SCHEMA, f"{detail['msg']} (after merging the files)"))
        raise ConfigError(problems) from error


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
