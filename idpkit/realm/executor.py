"""Run a plan's writes: resolve placeholders (ids of objects by name, generated credentials), then call.

References are looked up by name when a write needs them, so a plan refers to objects an earlier
change creates; generated values come from the stack's 0600 credentials file and are created there
on first use, so they never pass through a plan.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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


@dataclass
class Resolver:
    """Placeholders to values: ids read from the realm (cached), credentials from the secret store."""

    api: AdminApi
    secrets: SecretStore
    _ids: dict[tuple[str, str], Any] = field(default_factory=dict)
    generated_passwords: list[tuple[str, str]] = field(default_factory=list)
    """(kind, user) of the passwords and TOTP secrets this resolver generated, so a refused write can forget
    them again."""

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
    for change in changes:
        if change.operation:
            if change.operation not in operations:
                raise IdpkitError(f"a plan asks for an unknown operation {change.operation!r}")
            operations[change.operation]()
            continue
        for write in change.writes:
            _call(apis[write.target], resolvers[write.target], write)


def _call(api: AdminApi, resolver: Resolver, write: Write) -> None:
    before = list(resolver.generated_passwords)
    try:
        path = api.path(write.template, **{key: str(resolver.resolve(value)) for key, value in write.params.items()})
        body = resolver.resolve(write.body)
        if write.method == "POST":
            api.post(path, body)
        elif write.method == "PUT":
            api.put(path, body)
        elif write.method == "DELETE":
            api.delete(path, body)
        else:
            raise IdpkitError(f"a plan asks for an unknown write method {write.method!r}")
    except Exception:
        # Keycloak never received a password generated for this write: the next apply makes another.
        for kind, user in resolver.generated_passwords[len(before) :]:
            if kind == PASSWORD:
                resolver.secrets.forget_password(user)
            else:
                resolver.secrets.forget_totp_secret(user)
        del resolver.generated_passwords[len(before) :]
        raise
