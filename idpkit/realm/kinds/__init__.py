"""Realm resources, one module per kind, each reading desired and live state and diffing them into changes.

`KINDS` lists them in dependency order: scopes need roles, realm default scopes and clients need
scopes, the realm's flow binding needs its flows, user attributes need the user profile to declare them,
clients need identity providers (JWT grant), users need roles (and identity providers, for their links),
service accounts need their clients; policies come last so that the kit's own clients are never judged
half-built (keycloak-config-cli #984).
"""

from __future__ import annotations

from collections.abc import Callable

from idpkit.realm.changes import Change
from idpkit.realm.kinds import (
    client_policies,
    client_scopes,
    clients,
    default_roles,
    default_scopes,
    flows,
    identity_providers,
    realm,
    required_actions,
    roles,
    service_accounts,
    user_profile,
    users,
)
from idpkit.realm.kinds.base import Context

KINDS: list[tuple[str, Callable[[Context], list[Change]]]] = [
    ("realm", realm.diff),
    ("role", roles.diff),
    ("clientScope", client_scopes.diff),
    ("realmDefaultScopes", default_scopes.diff),
    ("defaultRoles", default_roles.diff),
    ("requiredAction", required_actions.diff),
    (user_profile.KIND, user_profile.diff),
    ("authenticationFlow", flows.diff),
    ("flowBinding", flows.diff_bindings),
    ("identityProvider", identity_providers.diff),
    ("client", clients.diff),
    ("user", users.diff),
    ("serviceAccount", service_accounts.diff),
    ("clientProfile", client_policies.diff_profiles),
    ("clientPolicy", client_policies.diff_policies),
]

__all__ = ["KINDS", "Context"]
