"""How long a passive key must stay published: the longest life of anything it may have signed.

Access and ID tokens live `accessTokenLifespan` (or a client's `access.token.lifespan`). ID tokens
are also replayed as `id_token_hint` at logout for the whole SSO session, and relying parties check
them against JWKS, so the SSO session (idle and max, remember-me variants), the client session
overrides and offline sessions (idle, and max when enabled) bound the window as well. Every value is
read from the live realm and its clients at the moment of the check, never assumed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REALM_FIELDS = (
    "accessTokenLifespan",
    "accessTokenLifespanForImplicitFlow",
    "ssoSessionIdleTimeout",
    "ssoSessionMaxLifespan",
    "ssoSessionIdleTimeoutRememberMe",
    "ssoSessionMaxLifespanRememberMe",
    "clientSessionIdleTimeout",
    "clientSessionMaxLifespan",
    "offlineSessionIdleTimeout",
    "clientOfflineSessionIdleTimeout",
)
OFFLINE_MAX_FIELDS = ("offlineSessionMaxLifespan", "clientOfflineSessionMaxLifespan")
"""Count only when `offlineSessionMaxLifespanEnabled` (otherwise offline sessions are idle-bounded)."""
CLIENT_ATTRIBUTES = (
    "access.token.lifespan",
    "client.session.idle.timeout",
    "client.session.max.lifespan",
    "client.offline.session.idle.timeout",
)
CLIENT_OFFLINE_MAX_ATTRIBUTE = "client.offline.session.max.lifespan"


@dataclass(frozen=True)
class PassiveWindow:
    seconds: int
    """The longest lifetime found."""
    source: str
    """Which setting set it (`realm.ssoSessionMaxLifespan`, `client my-app access.token.lifespan`)."""

    def to_dict(self) -> dict[str, Any]:
        return {"seconds": self.seconds, "source": self.source}


def compute(realm: dict[str, Any], clients: list[dict[str, Any]]) -> PassiveWindow:
    """The passive window for `realm` (its admin representation) and its `clients`."""
    offline_max = bool(realm.get("offlineSessionMaxLifespanEnabled"))
    candidates = [(int(realm.get(name) or 0), f"realm.{name}") for name in REALM_FIELDS]
    if offline_max:
        candidates += [(int(realm.get(name) or 0), f"realm.{name}") for name in OFFLINE_MAX_FIELDS]
    attributes = CLIENT_ATTRIBUTES + ((CLIENT_OFFLINE_MAX_ATTRIBUTE,) if offline_max else ())
    for client in clients:
        for attribute in attributes:
            value = (client.get("attributes") or {}).get(attribute)
            if value and value.lstrip("-").isdigit():
                candidates.append((int(value), f"client {client.get('clientId')} {attribute}"))
    seconds, source = max(candidates, key=lambda candidate: candidate[0])
    return PassiveWindow(seconds, source)
