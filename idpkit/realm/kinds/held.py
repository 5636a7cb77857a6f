"""Declare or default, applied: the catalogue's values for the fields a managed object leaves out."""

from __future__ import annotations

import copy
from typing import Any

from idpkit.realm.secure_defaults import Kind, SecureDefault, entries

Rep = dict[str, Any]


def held(kind: Kind, declared: Rep) -> Rep:
    """The catalogue's secure defaults for every field `declared` does not set, as a representation."""
    found: Rep = {}
    for entry in entries(kind):
        if entry.applies(declared) and _get(declared, entry.path) is None:
            _put(found, entry.path, copy.deepcopy(entry.secure_default))
    return found


def merged(held_values: Rep, declared: Rep) -> Rep:
    """`declared` over `held_values`, nested mappings merged key by key. The result shares its values with
    both (copying thousands of clients' representations cost more than comparing them): pass fresh ones."""
    result = dict(held_values)
    for key, value in declared.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def live_view(kind: Kind, live: Rep) -> Rep:
    """`live` with absent catalogue fields read as the value Keycloak assumes for them."""
    view = {key: dict(value) if isinstance(value, dict) else value for key, value in live.items()}
    for entry in entries(kind):
        if _get(view, entry.path) in (None, ""):
            _put(view, entry.path, _unset(entry))
    return view


def _unset(entry: SecureDefault) -> Any:
    if entry.unset is not None:
        return entry.unset
    return [] if isinstance(entry.secure_default, list) else None


def _get(rep: Rep, path: tuple[str, ...]) -> Any:
    node: Any = rep
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


def _put(rep: Rep, path: tuple[str, ...], value: Any) -> None:
    node = rep
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
