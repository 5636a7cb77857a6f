"""The master realm's hardened settings by path, as reviews, rules and mutation mode name them.

Master's own settings (`master.realm.<field>`: `idpkit.realm.master_realm`), its kit administration client's
restricting fields and token lifespan (`master.clients[idpkit-admin]...`: `idpkit.realm.bootstrap`), and the master
realm roles of that client's service account.
"""

from __future__ import annotations

from typing import Any

from idpkit.realm import master_realm
from idpkit.realm.bootstrap import ADMIN_CLIENT, ADMIN_CLIENT_ID, PRIVILEGES, SERVICE_ACCOUNT
from idpkit.realm.loader import LoadedConfig, child_path, item_path

MASTER_ADMIN = f"master.{item_path('clients', ADMIN_CLIENT_ID)}"
MASTER_ADMIN_ROLES = f"master.{item_path('users', SERVICE_ACCOUNT)}.realmRoles"
"""The master realm roles of the kit admin's service account (default roles aside)."""
MASTER_SOURCE = "idpkit/realm/bootstrap.py"
"""Where the master realm's kit administration client is codified."""
MASTER_REALM = "master.realm"
# The admin client's fields that restrict it; the others (service account, full scope) are what it needs.
MASTER_HARDENING = (
    "clientAuthenticatorType",
    "standardFlowEnabled",
    "implicitFlowEnabled",
    "directAccessGrantsEnabled",
)


def master_settings(loaded: LoadedConfig) -> dict[str, Any]:
    """The master realm's hardened settings: its own (`master.realm.<field>`), its kit admin client's, and that
    client's service account's realm roles."""
    found: dict[str, Any] = {f"{MASTER_REALM}.{name}": value for name, value in master_realm.settings(loaded).items()}
    found |= {child_path(MASTER_ADMIN, name): ADMIN_CLIENT[name] for name in MASTER_HARDENING}
    found[MASTER_ADMIN_ROLES] = sorted(PRIVILEGES.master_realm_roles)
    attributes: dict[str, Any] = ADMIN_CLIENT["attributes"]
    for name, value in attributes.items():
        if not name.startswith("idpkit."):
            found[f'{MASTER_ADMIN}.attributes["{name}"]'] = value
    return found


def shared_with_phi(path: str) -> str | None:
    """`master.realm.failureFactor` -> `realm.failureFactor`: the realm-config setting a master setting takes its
    value from (None: master's own)."""
    field = path.removeprefix(f"{MASTER_REALM}.")
    return f"realm.{field}" if field != path and field in master_realm.SHARED_WITH_PHI else None


def master_source(path: str) -> str:
    """Where a master setting is codified."""
    return master_realm.SOURCE if path.startswith(f"{MASTER_REALM}.") else MASTER_SOURCE
