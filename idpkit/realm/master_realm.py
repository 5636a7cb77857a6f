"""The master realm's own hardening: where the kit's admin client and any human administrator live.

Facts the PHI realm already codifies (brute-force protection, login and admin events with their
retention, the 15-minute idle logoff, the TOTP policy) are read from realm-config's `realm` section, so one value
serves both realms; what only master needs is `MASTER_ONLY`. `realm plan` shows the difference from
the live master realm next to the admin bootstrap, `realm apply` writes it (only when different),
`realm drift` reports it when someone weakens master by hand.
"""

from __future__ import annotations

from typing import Any

from idpkit.errors import IdpkitError
from idpkit.keycloak_admin import ADMIN_REALM, AdminApi, urls
from idpkit.realm import master_authentication
from idpkit.realm.changes import Change, Write
from idpkit.realm.diff import compare
from idpkit.realm.kinds.base import dump
from idpkit.realm.kinds.realm import carried
from idpkit.realm.loader import LoadedConfig

SHARED_WITH_PHI = (
    "bruteForceProtected",
    "failureFactor",
    "waitIncrementSeconds",
    "maxFailureWaitSeconds",
    "maxTemporaryLockouts",
    "permanentLockout",
    "ssoSessionIdleTimeout",
    "eventsEnabled",
    "eventsExpiration",
    "eventsListeners",
    "enabledEventTypes",
    "adminEventsEnabled",
    "adminEventsDetailsEnabled",
    "otpPolicyType",
    "otpPolicyAlgorithm",
    "otpPolicyDigits",
    "otpPolicyPeriod",
    "otpPolicyLookAheadWindow",
)
"""realm-config `realm` fields whose PHI value is also master's (the same fact for any person who signs in)."""
MASTER_ONLY: dict[str, Any] = {
    # Master is reached only on the admin URL: the local stack's HTTPS listener, on AWS an SSM port forward to
    # the host's loopback HTTPS listener. `external` refuses clear HTTP from any public address and can never
    # lock the host's own loopback tooling out of the realm that administers everything.
    "sslRequired": "external",
    # Keycloak's own master default: the admin console refreshes its token every minute.
    "accessTokenLifespan": 60,
    # An administrator signs in for a task, not a shift: one hour, against the PHI realm's 10-hour shift.
    "ssoSessionMaxLifespan": 3600,
    # Every person signs in with a password and a one-time code (idpkit/realm/master_authentication.py).
    **master_authentication.BINDINGS,
    # Held at the PHI realm's secure default: a code seen once (over a shoulder, in a proxy log) cannot be replayed.
    "otpPolicyCodeReusable": False,
}
SOURCE = "idpkit/realm/master_realm.py"
KIND = "masterRealm"


def settings(loaded: LoadedConfig) -> dict[str, Any]:
    """Field -> the value the live master realm must hold, for this environment's realm-config."""
    declared = dump(loaded.document.realm) if loaded.document.realm else {}
    missing = [name for name in SHARED_WITH_PHI if name not in declared]
    if missing:
        raise IdpkitError(
            f"realm-config ({loaded.environment}): the master realm takes {', '.join(missing)} from the `realm` "
            f"section, which declares none ({SOURCE})"
        )
    return {name: declared[name] for name in SHARED_WITH_PHI} | MASTER_ONLY


def change(loaded: LoadedConfig, master: AdminApi) -> Change | None:
    """The update that brings the live master realm to `settings`; None when it holds them."""
    wanted = settings(loaded)
    current: dict[str, Any] = master.get(master.path(urls.REALM)) or {}
    fields = compare(wanted, current)
    if not fields:
        return None
    write = Write("PUT", urls.REALM, {}, carried(current, wanted), target="master")
    return Change(KIND, ADMIN_REALM, "update", fields, [write])
