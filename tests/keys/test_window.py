"""The passive window: the longest lifetime of anything the old key signed, from the live settings."""

from __future__ import annotations

from typing import Any

import pytest

from idpkit.keys.window import compute

BASE = {
    "accessTokenLifespan": 300,
    "ssoSessionIdleTimeout": 1800,
    "ssoSessionMaxLifespan": 36000,
    "offlineSessionIdleTimeout": 2592000,
    "offlineSessionMaxLifespanEnabled": False,
    "offlineSessionMaxLifespan": 5184000,
}
SHORT = dict.fromkeys(BASE, 60) | {"offlineSessionMaxLifespanEnabled": False}


@pytest.mark.parametrize(
    ("realm", "clients", "seconds", "source"),
    [
        pytest.param(BASE, [], 2592000, "realm.offlineSessionIdleTimeout", id="offline idle bounds offline tokens"),
        pytest.param(
            BASE | {"offlineSessionMaxLifespanEnabled": True},
            [],
            5184000,
            "realm.offlineSessionMaxLifespan",
            id="offline max counts when enabled",
        ),
        pytest.param(
            SHORT | {"ssoSessionMaxLifespanRememberMe": 90},
            [],
            90,
            "realm.ssoSessionMaxLifespanRememberMe",
            id="remember-me sessions count",
        ),
        pytest.param(
            SHORT,
            [{"clientId": "app", "attributes": {"access.token.lifespan": "120"}}],
            120,
            "client app access.token.lifespan",
            id="client access token override counts",
        ),
        pytest.param(
            SHORT,
            [{"clientId": "app", "attributes": {"client.offline.session.max.lifespan": "999"}}],
            60,
            "realm.accessTokenLifespan",
            id="client offline max ignored while offline max disabled",
        ),
    ],
)
def test_window_is_the_longest_lifetime(
    realm: dict[str, Any], clients: list[dict[str, Any]], seconds: int, source: str
) -> None:
    window = compute(realm, clients)
    assert (window.seconds, window.source) == (seconds, source), f"passive window for {realm} / {clients}"
