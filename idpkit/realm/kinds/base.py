"""What every kind's planner shares: the context (document, live reads, secrets) and the reconcile loop.

Live state is read in bulk, once per kind (one GET of all clients with their scopes and mappers, not
one per client), and kept for the planners that follow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from idpkit.keycloak_admin import AdminApi, ApiError
from idpkit.realm.changes import Change, Write
from idpkit.realm.diff import FieldChange, compare
from idpkit.realm.model import RealmDocument
from idpkit.realm.secrets import SecretStore

OWNER_ATTRIBUTE = "idpkit.managed"
OWNED_DESCRIPTION_PREFIX = "[idpkit] "
_NOT_FOUND = 404

Rep = dict[str, Any]


@dataclass
class Context:
    """What every planner shares: the document, the API, generated secrets, live state read once."""

    document: RealmDocument
    api: AdminApi
    secrets: SecretStore
    prune: bool
    realm_exists: bool = True
    unmanaged: list[str] = field(default_factory=list)
    """Objects in Keycloak the kit neither owns nor declares (drift reports them)."""
    existing_users: set[str] = field(default_factory=set)
    """Declared users found in the realm (users are looked up by name, never listed)."""
    _cache: dict[str, Any] = field(default_factory=dict)

    def once(self, key: str, read: Callable[[], Any]) -> Any:
        """`read()` the first time `key` is asked for, the cached result afterwards."""
        if key not in self._cache:
            self._cache[key] = read() if self.realm_exists else None
        return self._cache[key]

    def clients(self) -> list[Rep]:
        """Every client with its scopes and protocol mappers, in one GET."""
        found: list[Rep] = self.once("clients", self.api.keycloak.get_clients) or []
        return found

    def client(self, client_id: str) -> Rep | None:
        return next((c for c in self.clients() if c["clientId"] == client_id), None)

    def client_scopes(self) -> list[Rep]:
        """Every client scope with its protocol mappers, in one GET."""
        found: list[Rep] = self.once("clientScopes", self.api.keycloak.get_client_scopes) or []
        return found

    def roles(self) -> list[Rep]:
        found: list[Rep] = (
            self.once("roles", lambda: self.api.keycloak.get_realm_roles(brief_representation=False)) or []
        )
        return found

    def service_account(self, client: Rep) -> Rep | None:
        """The service-account user of a live client; None while it has none."""

        def read() -> Rep | None:
            try:
                account: Rep = self.api.keycloak.get_client_service_account_user(client["id"])
            except ApiError as error:
                if error.status in (400, _NOT_FOUND):  # serviceAccountsEnabled still false
                    return None
                raise
            return account

        found: Rep | None = self.once(f"serviceAccount:{client['id']}", read)
        return found

    def realm_roles_of_user(self, user_id: str) -> list[Rep]:
        found: list[Rep] = (
            self.once(f"userRoles:{user_id}", lambda: self.api.keycloak.get_realm_roles_of_user(user_id)) or []
        )
        return found


def dump(model: Any, *exclude: str) -> Rep:
    """A file model as Keycloak's representation: camel-case names, only the fields set."""
    dumped: Rep = model.model_dump(by_alias=True, exclude_none=True, exclude=set(exclude) or None)
    return dumped


def owned_attributes(attributes: dict[str, Any] | None) -> bool:
    value = (attributes or {}).get(OWNER_ATTRIBUTE)
    return value in ("true", ["true"])


def created_fields(wanted: Rep) -> list[FieldChange]:
    return [FieldChange(key, None, value) for key, value in wanted.items()]


@dataclass(frozen=True)
class Planner:
    """How one kind turns wanted and live representations into writes."""

    kind: str
    owned: Callable[[Rep], bool]
    create: Callable[[str, Rep], list[Write]]
    update: Callable[[str, Rep, Rep], list[Write]]
    delete: Callable[[str, Rep], list[Write]]
    extra_fields: Callable[[str, Rep], list[FieldChange]] = lambda _name, _live: []
    """Differences kept outside the representation (mappers, role mappings, links)."""
    view: Callable[[Rep], Rep] = lambda live: live
    """The live object as compared (absent fields read as Keycloak assumes them)."""


def reconcile(ctx: Context, planner: Planner, desired: dict[str, Rep], live: dict[str, Rep]) -> list[Change]:
    """Create what is missing, update what differs, delete (with prune) owned leftovers."""
    changes: list[Change] = []
    for name, wanted in desired.items():
        if name not in live:
            changes.append(Change(planner.kind, name, "create", created_fields(wanted), planner.create(name, wanted)))
            continue
        fields = compare(wanted, planner.view(live[name])) + planner.extra_fields(name, live[name])
        if fields:
            writes = planner.update(name, wanted, live[name])
            changes.append(Change(planner.kind, name, "update", fields, writes))
    for name, current in live.items():
        if name not in desired and planner.owned(current):
            if ctx.prune:
                changes.append(Change(planner.kind, name, "delete", [], planner.delete(name, current)))
            else:
                ctx.unmanaged.append(
                    f"{planner.kind} {name}: owned by the kit but no longer in the files (use --prune)"
                )
    return changes
