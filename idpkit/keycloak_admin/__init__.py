"""The one Keycloak admin client of the kit (realm engine, signing keys, tests, benchmarks, runbooks).

Import from here: `AdminApi`, `connect`, `ApiError`, `WriteCounter`, and `urls` for the paths.
"""

from __future__ import annotations

from idpkit.keycloak_admin import urls
from idpkit.keycloak_admin.client import (
    ADMIN_REALM,
    KILL_AFTER_WRITES_ENV,
    AdminApi,
    ApiError,
    CountingConnection,
    Read,
    ReadLog,
    WriteCounter,
    connect,
    digest,
)

__all__ = [
    "ADMIN_REALM",
    "KILL_AFTER_WRITES_ENV",
    "AdminApi",
    "ApiError",
    "CountingConnection",
    "Read",
    "ReadLog",
    "WriteCounter",
    "connect",
    "digest",
    "urls",
]
