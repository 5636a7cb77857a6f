"""Finding the event an action of a check produced, among a realm's stored user events or admin events."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from idpkit.keycloak_admin import AdminApi

EVENT_WAIT_SECONDS = 5.0
"""Keycloak writes the event in the request's transaction; a short wait covers a replica's lag."""


def latest(admin: AdminApi, path: str, **query: str) -> int:
    """When the newest event at `path` matching `query` was recorded (0: none): later ones are the action's."""
    events = admin.get(admin.path(path), max="1", **query) or []
    return max((int(event.get("time", 0)) for event in events), default=0)


def find(
    admin: AdminApi, path: str, after_ms: int, matches: Callable[[dict[str, Any]], bool], **query: str
) -> dict[str, Any] | None:
    """The newest event at `path` recorded after `after_ms` that `matches`, waiting briefly for it."""
    deadline = time.monotonic() + EVENT_WAIT_SECONDS
    while True:
        events = admin.get(admin.path(path), max="100", **query) or []
        found = next((e for e in events if e.get("time", 0) > after_ms and matches(e)), None)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)
