"""What every kind's planner shares: the context (document, live reads, secrets) and the reconcile loop.

Live state is read in bulk, once per kind (all clients with their scopes and mappers in pages of
`CLIENT_PAGE`, not one read per client), and kept for the planners that follow.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from idpkit.keycloak_admin import AdminApi, ApiError, urls
from idpkit.realm.changes import Change, Write
from idpkit.realm.diff import FieldChange, compare
from idpkit.realm.model import RealmDocument
from idpkit.realm.secrets import SecretStore

OWNER_ATTRIBUTE = "idpkit.managed"
OWNED_DESCRIPTION_PREFIX = "[idpkit] "
_NOT_FOUND = 404
CLIENT_PAGE = 100
"""Clients per read. Keycloak answers a read in one database session, and while its cache is cold (after a
bulk create) every client it loads slows each later query of that session (Hibernate flushes the whole
session before a query): one read of 2000 fresh clients took minutes here, pages of 100 take seconds."""
READ_CONCURRENCY = 4
"""Pages read at once once the first page came back full."""

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
    _cache: dict[str, Future[Any]] = field(default_factory=dict)
    _cache_lock: threading.Lock = field(default_factory=threading.Lock)

    def for_planner(self) -> Context:
        """A context sharing this one's reads, with its own list of unmanaged objects: planners run side by
        side, and their findings are reported in the planners' order."""
        return dataclasses.replace(self, unmanaged=[])

    def once(self, key: str, read: Callable[[], Any]) -> Any:
        """`read()` the first time `key` is asked for (once, even when planners ask at the same time), the
        same result afterwards."""
        with self._cache_lock:
            pending = self._cache.get(key)
            first = pending is None
            if pending is None:
                pending = self._cache[key] = Future()
        if first:
            try:
                pending.set_result(read() if self.realm_exists else None)
            except BaseException as error:
                pending.set_exception(error)
        return pending.result()

    def clients(self) -> list[Rep]:
        """Every client with its scopes and protocol mappers, in pages ordered by client id."""
        found: list[Rep] = self.once("clients", self._read_clients) or []
        return found

    def _read_clients(self) -> list[Rep]:
        path = self.api.path(urls.CLIENTS)

        def page(index: int) -> list[Rep]:
            read: list[Rep] = self.api.get(path, first=index * CLIENT_PAGE, max=CLIENT_PAGE) or []
            return read

        found, index = page(0), 1
        with ThreadPoolExecutor(max_workers=READ_CONCURRENCY, thread_name_prefix="realm-read") as pool:
            while len(found) == index * CLIENT_PAGE:
                for read in pool.map(page, range(index, index + READ_CONCURRENCY)):
                    found += read
                index += READ_CONCURRENCY
        # A client created between two page reads can shift one into the next page: keep each client once.
        return list({client["id"]: client for client in found}.values())

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
