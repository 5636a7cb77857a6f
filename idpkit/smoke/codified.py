"""Every hardened setting realm-config and the kit codify for a stack, by path, with its codified value.

The review's realm settings (`idpkit.review.realm_settings`), plus the master realm's kit
administration client (`idpkit.realm.bootstrap.ADMIN_CLIENT`) as far as it restricts anything.
Config-read checks and mutation mode read from here; paths are those `idpkit.smoke.live` reads and writes.
"""

from __future__ import annotations

from typing import Any

from idpkit.realm.bootstrap import ADMIN_CLIENT, ADMIN_CLIENT_ID
from idpkit.realm.loader import LoadedConfig, child_path, item_path
from idpkit.review import realm_settings

MASTER_ADMIN = f"master.{item_path('clients', ADMIN_CLIENT_ID)}"
MASTER_SOURCE = "idpkit/realm/bootstrap.py"
"""Where the master realm's kit administration client is codified."""
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
    return {setting.path: setting.value for setting in realm_settings.settings(loaded)} | master_settings()
