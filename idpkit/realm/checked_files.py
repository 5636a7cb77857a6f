"""Realm-config files that passed every per-file check, remembered by content, so the next run skips parsing them.

Parsing YAML is most of a plan's own time on a realm with thousands of clients (the constructor is pure
Python even with libyaml). A file whose exact bytes were parsed and checked before, by the same checking
code, is read back from JSON instead. Only files that passed are kept, so a refusal is always computed
afresh with its file, path and reason; live state is never cached (every plan reads the realm).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from idpkit import paths
from idpkit.realm import located, model

MAX_ENTRIES = 256
"""Files kept; the oldest go first (benchmarks and tests generate many distinct files)."""
_CHECKING_CODE = (Path(__file__).with_name("loader.py"), Path(model.__file__), Path(located.__file__))
"""The modules whose code decides whether a file passes: a change to any of them forgets every entry."""


def _checker_digest() -> str:
    digest = hashlib.sha256()
    for source in _CHECKING_CODE:
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


_CHECKER = _checker_digest()


def directory() -> Path:
    return paths.cache_dir() / "realm-config-checked"


def _entry(text: str) -> Path:
    return directory() / f"{hashlib.sha256(text.encode()).hexdigest()}-{_CHECKER}.json"


def recall(text: str) -> dict[str, Any] | None:
    """The parsed content of `text` if it passed every check before; None otherwise (or if the entry is unreadable)."""
    try:
        found = _decoded(_entry(text).read_bytes())
    except (OSError, ValueError):
        return None
    return found if isinstance(found, dict) else None


def remember(text: str, parsed: dict[str, Any]) -> None:
    """Keep `parsed` for `text`, unless it would not come back exactly as it is (non-string keys, say)."""
    try:
        encoded = json.dumps(parsed, default=_encoded_value)
    except (TypeError, ValueError):
        return
    if _decoded(encoded) != parsed:
        return
    with contextlib.suppress(OSError):  # a cache that cannot be written only costs the next run its parse
        folder = directory()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=folder, suffix=".tmp")
        with os.fdopen(handle, "w") as out:
            out.write(encoded)
        Path(temporary).replace(_entry(text))
        _forget_oldest(folder)


_DATE, _TIMESTAMP = "$yaml-date", "$yaml-timestamp"
"""How YAML's dates (waivers' `expires`) and timestamps are kept in JSON."""


def _encoded_value(value: object) -> dict[str, str]:
    if isinstance(value, dt.datetime):
        return {_TIMESTAMP: value.isoformat()}
    if isinstance(value, dt.date):
        return {_DATE: value.isoformat()}
    raise TypeError(f"{type(value).__name__} is not kept")


def _decoded(encoded: str | bytes) -> Any:
    def typed(value: dict[str, Any]) -> Any:
        if value.keys() == {_DATE}:
            return dt.date.fromisoformat(value[_DATE])
        if value.keys() == {_TIMESTAMP}:
            return dt.datetime.fromisoformat(value[_TIMESTAMP])
        return value

    return json.loads(encoded, object_hook=typed)


def _forget_oldest(folder: Path) -> None:
    entries = sorted(folder.glob("*.json"), key=lambda entry: entry.stat().st_mtime)
    for stale in entries[: max(0, len(entries) - MAX_ENTRIES)]:
        stale.unlink(missing_ok=True)
