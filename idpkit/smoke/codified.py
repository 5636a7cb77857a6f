"""Every hardened setting realm-config and the kit codify for a stack, by path, with its codified value.

The review's realm settings (`idpkit.review.realm_settings`), plus what lives outside those sections:
each declared user's realm roles, each identity provider's configuration, and the master realm's
kit administration client (`idpkit.realm.bootstrap.ADMIN_CLIENT`) as far as it hardens anything.
Config-read checks and mutation mode read from here; paths are those `idpkit.smoke.live` reads and writes.
"""

from __future__ import annotations

from typing import Any

from idpkit.realm.bootstrap import ADMIN_CLIENT, ADMIN_CLIENT_ID
from idpkit.realm.loader import LoadedConfig, child_path, item_path
from idpkit.review import realm_settings

MASTER_ADMIN = f"master.{item_path('clients', ADMIN_CLIENT_ID)}"
# The admin client's fields that restrict it; the others (service account, secret, full scope) are what it needs.
MASTER_HARDENING = ("standardFlowEnabled", "implicitFlowEnabled", "directAccessGrantsEnabled")


def master_settings() -> dict[str, Any]:
    found: dict[str, Any] = {child_path(MASTER_ADMIN, name): ADMIN_CLIENT[name] for name in MASTER_HARDENING}
    for name, value in ADMIN_CLIENT["attributes"].items():
        if not name.startswith("idpkit."):
            found[f'{MASTER_ADMIN}.attributes["{name}"]'] = value
    return found


def settings(loaded: LoadedConfig) -> dict[str, Any]:
    """Path -> codified value, for every hardened setting of the stack's environment."""
    found = {setting.path: setting.value for setting in realm_settings.settings(loaded)}
    for user in loaded.document.users or []:
        found[f"{item_path('users', user.key)}.realmRoles"] = sorted(user.realm_roles or [])
    for provider in loaded.document.identity_providers or []:
        for key, value in provider.config.items():
            found[child_path(f"{item_path('identityProviders', provider.alias)}.config", key)] = value
    return found | master_settings()
