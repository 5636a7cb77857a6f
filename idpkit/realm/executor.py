"""Run a plan's writes: resolve placeholders (ids of objects by name, generated credentials), then call.

References are looked up by name when a write needs them, so a plan refers to objects an earlier
change creates; generated values come from the stack's 0600 credentials file and are created there
on first use, so they never pass through a plan.

Changes run in plan order, except that consecutive changes of one client each run side by side
(`WRITE_CONCURRENCY` at a time): at scale a realm is mostly clients, and one round trip per client,
waiting for Keycloak's commit, was most of a cold apply. A client change that refers to another client of
the same batch waits for the batch to end, so every reference still resolves to an existing object.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from idpkit.errors import IdpkitError
from idpkit.keycloak_admin import AdminApi, ApiError, urls
from idpkit.realm.changes import (
    CLIENT,
    CLIENT_SCOPE,
    EXECUTION,
    EXECUTION_INFO,
    GENERATED,
    JWKS,
    PASSWORD,
    PUBLIC_KEY,
    REF,
    ROLE,
    SERVICE_ACCOUNT,
    TOTP_SECRET,
    USER,
    WITH,
    Change,
    Write,
)
from idpkit.realm.secrets import SecretStore

_BAD_REQUEST, _NOT_FOUND = 400, 404
CONCURRENT_KINDS = frozenset({CLIENT})
"""Kinds whose changes each write one object of their own, so they may run side by side."""
WRITE_CONCURRENCY = 4
"""Changes in flight at once: enough to keep a 2-vCPU Keycloak busy while each write waits for its commit."""


@dataclass
class Resolver:
    """Placeholders to values: ids read from the realm (cached), credentials from the secret store."""

    api: AdminApi
    secrets: SecretStore
    _ids: dict[tuple[str, str], Any] = field(default_factory=dict)
    generated_passwords: list[tuple[str, str]] = field(default_factory=list)
    """(kind, user) of the passwords and TOTP secrets this resolver generated, so a refused write can forget
    them again."""
    lock: threading.RLock = field(default_factory=threading.RLock)
    """Held while a write's placeholders are resolved: lookups fill one cache, generated values one file."""

    def resolve(self, value: Any) -> Any:
        if isinstance(value, dict):
            if REF in value and WITH in value:
                return {**self._look_up(str(value[REF]), str(value["name"])), **self.resolve(value[WITH])}
            if REF in value:
                return self._reference(str(value[REF]), str(value["name"]))
            if GENERATED in value:
                return self._generated(value)
            return {key: self.resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        return value

    def _reference(self, kind: str, name: str) -> Any:
        key = (kind, name)
        if key not in self._ids:
            self._ids[key] = self._look_up(kind, name)
        return self._ids[key]

    def _look_up(self, kind: str, name: str) -> Any:
        try:
            found = self._find(kind, name)
        except ApiError as error:
            if error.status not in (_BAD_REQUEST, _NOT_FOUND):
                raise
            found = None
        if found is None:
            raise IdpkitError(f"{kind} {name!r} does not exist in realm {self.api.realm}; nothing more was applied")
        return found

    def _find(self, kind: str, name: str) -> Any:
        api = self.api
        if kind == CLIENT:
            return next((c["id"] for c in api.get(api.path(urls.CLIENTS), clientId=name) or []), None)
        if kind == CLIENT_SCOPE:
            # One read answers every scope name (a plan refers to a few dozen), not one read per name.
            for scope in api.get(api.path(urls.CLIENT_SCOPES)) or []:
                self._ids.setdefault((CLIENT_SCOPE, scope["name"]), scope["id"])
            return self._ids.get((CLIENT_SCOPE, name))
        if kind == ROLE:
            role = api.get(api.path(urls.ROLE, name=name))
            return {"id": role["id"], "name": role["name"]}
        if kind == USER:
            users = api.get(api.path(urls.USERS), username=name, exact="true") or []
            return next((u["id"] for u in users if u["username"] == name), None)
        if kind in (EXECUTION, EXECUTION_INFO):
            flow, position = name.rsplit("#", 1)
            top = [e for e in api.get(api.path(urls.FLOW_EXECUTIONS, alias=flow)) or [] if e["level"] == 0]
            found = top[int(position)] if int(position) < len(top) else None
            return found if found is None or kind == EXECUTION_INFO else found["id"]
        if kind == SERVICE_ACCOUNT:
            return api.get(api.path(urls.CLIENT_SERVICE_ACCOUNT, id=self._reference(CLIENT, name)))["id"]
        raise IdpkitError(f"a plan refers to an unknown kind of object {kind!r}")

    def _generated(self, value: dict[str, Any]) -> str:
        kind, owner, algorithm = value[GENERATED], str(value["owner"]), str(value.get("algorithm") or "")
        if kind == PASSWORD:
            if not (self.secrets.data["users"].get(owner) or {}).get("password"):
                self.generated_passwords.append((PASSWORD, owner))
            password = self.secrets.password(owner)
            if password is None:
                raise IdpkitError(f"no password could be generated for {owner}")
            return password
        if kind == TOTP_SECRET:
            if not (self.secrets.data["users"].get(owner) or {}).get("totp_secret"):
                self.generated_passwords.append((TOTP_SECRET, owner))
            secret = self.secrets.totp_secret(owner)
            if secret is None:
                raise IdpkitError(f"no TOTP secret could be generated for {owner}")
            return json.dumps({"value": secret})
        if kind == JWKS:
            return self.secrets.public_jwks(owner, algorithm)
        if kind == PUBLIC_KEY:
            return self.secrets.public_key_base64(owner, algorithm)
        raise IdpkitError(f"a plan asks for an unknown generated value {kind!r}")


Operation = Callable[[], None]


def run(
    changes: list[Change], apis: dict[str, AdminApi], secrets: SecretStore, operations: dict[str, Operation]
) -> None:
    """Each change's writes in order; a named operation (the admin bootstrap) runs its registered code."""
    resolvers = {target: Resolver(api, secrets) for target, api in apis.items()}

    def apply_change(change: Change) -> None:
        for write in change.writes:
            _call(apis[write.target], resolvers[write.target], write)

    for batch in _batches(changes):
        if len(batch) == 1 and batch[0].operation:
            if batch[0].operation not in operations:
                raise IdpkitError(f"a plan asks for an unknown operation {batch[0].operation!r}")
            operations[batch[0].operation]()
        elif len(batch) == 1:
            apply_change(batch[0])
        else:
            _side_by_side(batch, apply_change)


def _batches(changes: list[Change]) -> Iterator[list[Change]]:
    """Changes grouped into runs that may go side by side (one change alone when it may not)."""
    batch: list[Change] = []
    names: set[str] = set()
    for change in changes:
        if batch and (change.kind != batch[0].kind or _refers_to(change, names)):
            yield batch
            batch, names = [], set()
        if change.operation or change.kind not in CONCURRENT_KINDS:
            yield [change]
        else:
            batch.append(change)
            names.add(change.name)
    if batch:
        yield batch


def _refers_to(change: Change, names: set[str]) -> bool:
    """Whether `change` refers to another object of its kind among `names` (the batch's)."""
    return any(
        kind == change.kind and name != change.name and name in names
        for write in change.writes
        for kind, name in _references(write.params) | _references(write.body)
    )


def _references(value: Any) -> set[tuple[str, str]]:
    if isinstance(value, dict):
        found = {(str(value[REF]), str(value["name"]))} if REF in value else set()
        return found.union(*(_references(item) for item in value.values()))
    if isinstance(value, list):
        return set().union(*(_references(item) for item in value))
    return set()


def _side_by_side(batch: list[Change], apply_change: Callable[[Change], None]) -> None:
    """Run `batch` WRITE_CONCURRENCY at a time; after a failure start no more, then raise the first failure."""
    failed = threading.Event()

    def unless_failed(change: Change) -> None:
        if failed.is_set():
            return
        try:
            apply_change(change)
        except BaseException:
            failed.set()
            raise

    with ThreadPoolExecutor(max_workers=WRITE_CONCURRENCY, thread_name_prefix="realm-apply") as pool:
        futures = [pool.submit(unless_failed, change) for change in batch]
    for future in futures:
        if error := future.exception():
            raise error


def _call(api: AdminApi, resolver: Resolver, write: Write) -> None:
    with resolver.lock:
        before = len(resolver.generated_passwords)
        try:
            params = {key: str(resolver.resolve(value)) for key, value in write.params.items()}
            path, body = api.path(write.template, **params), resolver.resolve(write.body)
        except Exception:
            _forget(resolver, resolver.generated_passwords[before:])
            raise
        generated = resolver.generated_passwords[before:]
    try:
        if write.method == "POST":
            api.post(path, body)
        elif write.method == "PUT":
            api.put(path, body)
        elif write.method == "DELETE":
            api.delete(path, body)
        else:
            raise IdpkitError(f"a plan asks for an unknown write method {write.method!r}")
    except Exception:
        _forget(resolver, generated)
        raise


def _forget(resolver: Resolver, generated: list[tuple[str, str]]) -> None:
    """Keycloak never received these generated values: the next apply makes others."""
    with resolver.lock:
        for kind, user in generated:
            if kind == PASSWORD:
                resolver.secrets.forget_password(user)
            else:
                resolver.secrets.forget_totp_secret(user)
            resolver.generated_passwords.remove((kind, user))
