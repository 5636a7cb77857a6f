"""The kit's one Keycloak admin client: python-keycloak's connection and methods, writes counted, errors mapped.

python-keycloak owns the connection (token refresh, TLS, timeouts) and the admin methods, reached as
`AdminApi.keycloak` (a `KeycloakAdmin` on the same connection). Raw calls (`get`, `post`, `put`,
`delete`) go through that connection too, for what python-keycloak has no method for (client
policies, role-mapping bodies) and for the realm engine's plans, which are recorded writes. Every
POST/PUT/DELETE is counted on the connection whichever way it was made, every GET can be recorded
(a plan's fingerprint of what it read), and every error becomes an `ApiError` here.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import quote

from keycloak import KeycloakAdmin, KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakError
from requests import Response

from idpkit.errors import IdpkitError
from idpkit.keycloak_admin import assertion, urls
from idpkit.outputs import AdminCredentials, StackOutputs, load_admin_credentials

# Test hook for the "apply killed midway converges" tests: the process SIGKILLs itself right after
# this many write calls, as an operator's Ctrl-C or a lost runner would stop it.
KILL_AFTER_WRITES_ENV = "IDPKIT_REALM_KILL_AFTER_WRITES"
ADMIN_REALM = "master"
_TIMEOUT_SECONDS = 30
_ERROR_BODY_LIMIT = 300
_CLIENT_ERROR = 400


class ApiError(IdpkitError):
    """An admin API call failed."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        self.status = status
        super().__init__(f"{method} {path}: HTTP {status} {body[:_ERROR_BODY_LIMIT]}".rstrip())


_NOT_FOUND = 404


@dataclass
class WriteCounter:
    """POST/PUT/DELETE calls made, by method (a no-op apply must leave all at zero)."""

    post: int = 0
    put: int = 0
    delete: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def count(self, method: str) -> None:
        """One more `method` call (writes run side by side: see idpkit.realm.executor)."""
        with self._lock:
            setattr(self, method, getattr(self, method) + 1)

    @property
    def total(self) -> int:
        return self.post + self.put + self.delete

    def to_dict(self) -> dict[str, int]:
        return {"post": self.post, "put": self.put, "delete": self.delete, "total": self.total}


@dataclass(frozen=True)
class Read:
    """One GET and a digest of what it returned (never the content: it may hold client secrets)."""

    path: str
    params: tuple[tuple[str, str], ...]
    status: int
    digest: str

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "params": dict(self.params), "status": self.status, "sha256": self.digest}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Read:
        params = tuple(sorted((str(k), str(v)) for k, v in (data.get("params") or {}).items()))
        return cls(str(data["path"]), params, int(data["status"]), str(data["sha256"]))


def digest(status: int, content: bytes) -> str:
    """A digest of a response that ignores key order, list order and whitespace.

    Keycloak returns sets (a client's scope names, mappers) in no stable order, so two reads of an
    unchanged object can list them differently; the kit manages none of those orders.
    """
    try:
        canonical = json.dumps(_canonical(json.loads(content)), sort_keys=True).encode() if content else b""
    except ValueError:
        canonical = content
    return hashlib.sha256(str(status).encode() + b"\n" + canonical).hexdigest()


def _canonical(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    if isinstance(value, list):
        return sorted((_canonical(item) for item in value), key=lambda item: json.dumps(item, sort_keys=True))
    return value


@dataclass
class ReadLog:
    """The GETs made while it is attached to a connection, in order."""

    reads: list[Read] = field(default_factory=list)

    def record(self, path: str, params: dict[str, Any], response: Response) -> None:
        flat = tuple(sorted((str(k), str(v)) for k, v in params.items()))
        self.reads.append(Read(path, flat, response.status_code, digest(response.status_code, response.content)))


class CountingConnection(KeycloakOpenIDConnection):
    """python-keycloak's admin connection with every write counted and, when a log is attached, every read."""

    def __init__(
        self,
        *,
        writes: WriteCounter | None = None,
        signing: AdminCredentials | None = None,
        reload: Callable[[], AdminCredentials] | None = None,
        **options: Any,
    ) -> None:
        self.signing_audience: str | None = options.pop("signing_audience", None)
        self.reload = reload
        """Reads the stored credentials again (a signing login whose key was replaced)."""
        super().__init__(**options)
        self.options = options
        self.signing = signing
        """A service account that authenticates with private_key_jwt: each token request signs an assertion."""
        self.writes = writes if writes is not None else WriteCounter()
        self.read_log: ReadLog | None = None
        limit = os.environ.get(KILL_AFTER_WRITES_ENV)
        self._kill_after = int(limit) if limit else None

    def for_realm(self, realm: str) -> CountingConnection:
        """The same login (token, counter, read log) addressing `realm` in python-keycloak's methods."""
        options = {**self.options, "realm_name": realm, "token": self.token, "signing_audience": self.signing_audience}
        sibling = CountingConnection(writes=self.writes, signing=self.signing, reload=self.reload, **options)
        sibling.read_log = self.read_log
        return sibling

    def get_token(self) -> None:
        if self.signing is None:
            super().get_token()
            return
        self.signing_audience = self.signing_audience or assertion.issuer(
            self.server_url or "", ADMIN_REALM, self.verify
        )
        try:
            self.token = self._signed_token(self.signing)
        except KeycloakError:
            # `idpkit admin rotate-key` may have re-keyed the account since this process logged in: the stored
            # credentials are the truth, so a long-running command goes on with the new key.
            stored = self.reload() if self.reload else self.signing
            if stored.private_key == self.signing.private_key:
                raise
            self.signing = stored
            self.token = self._signed_token(stored)

    def _signed_token(self, signing: AdminCredentials) -> dict[str, Any]:
        fields = assertion.form(
            signing.client_id or "", signing.private_key or "", signing.key_id, self.signing_audience or ""
        )
        return self.keycloak_openid.token(grant_type="client_credentials", **cast(dict[str, Any], fields))

    def raw_get(self, *args: Any, **kwargs: Any) -> Response:
        response: Response = super().raw_get(*args, **kwargs)
        if self.read_log is not None:
            self.read_log.record(str(args[0]), kwargs, response)
        return response

    def raw_post(self, *args: Any, **kwargs: Any) -> Response:
        self.writes.count("post")
        return self._after_write(super().raw_post(*args, **kwargs))

    def raw_put(self, *args: Any, **kwargs: Any) -> Response:
        self.writes.count("put")
        return self._after_write(super().raw_put(*args, **kwargs))

    def raw_delete(self, *args: Any, **kwargs: Any) -> Response:
        self.writes.count("delete")
        return self._after_write(super().raw_delete(*args, **kwargs))

    def _after_write(self, response: Response) -> Response:
        if self._kill_after is not None and self.writes.total >= self._kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        return response


def connect(outputs: StackOutputs, credentials: AdminCredentials, realm: str = ADMIN_REALM) -> CountingConnection:
    """A connection logged in to `master` with the kit's admin credentials, addressing `realm`."""
    common: dict[str, Any] = {
        "server_url": outputs.admin_url.rstrip("/") + "/",
        "realm_name": realm,
        "user_realm_name": ADMIN_REALM,
        "verify": outputs.admin_tls_verify,
        "timeout": _TIMEOUT_SECONDS,
    }
    try:
        if credentials.signs_assertions:
            connection = CountingConnection(
                client_id=credentials.client_id or "",
                signing=credentials,
                reload=lambda: load_admin_credentials(outputs),
                **common,
            )
        elif credentials.is_service_account:
            connection = CountingConnection(
                client_id=credentials.client_id or "", client_secret_key=credentials.client_secret, **common
            )
        else:
            connection = CountingConnection(
                username=credentials.username, password=credentials.password, client_id="admin-cli", **common
            )
        connection.get_token()
    except KeycloakError as error:
        raise IdpkitError(
            f"cannot log in to {outputs.admin_url} realm {ADMIN_REALM} as {credentials!r}: {error}"
        ) from error
    return connection


class _MappedErrors:
    """A KeycloakAdmin whose failures surface as ApiError, like every other admin call of the kit."""

    def __init__(self, admin: KeycloakAdmin) -> None:
        self._admin = admin

    def __getattr__(self, name: str) -> Any:
        target = getattr(self._admin, name)
        if not callable(target):
            return target

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                return target(*args, **kwargs)
            except KeycloakError as error:
                body = error.response_body.decode(errors="replace") if error.response_body else str(error)
                raise ApiError(name, self._admin.connection.realm_name or "", error.response_code or 0, body) from error

        return call


class AdminApi:
    """One realm's admin API: python-keycloak's methods (`keycloak`) and raw JSON calls on one connection."""

    def __init__(self, connection: CountingConnection, realm: str) -> None:
        self.realm = realm
        self.use(connection)

    def use(self, connection: CountingConnection) -> None:
        """Switch to another login (the kit's service account after bootstrap)."""
        if connection.realm_name != self.realm:
            connection = connection.for_realm(self.realm)
        self.connection = connection
        self.keycloak = cast(KeycloakAdmin, _MappedErrors(KeycloakAdmin(connection=connection)))

    @property
    def writes(self) -> WriteCounter:
        return self.connection.writes

    @writes.setter
    def writes(self, counter: WriteCounter) -> None:
        self.connection.writes = counter

    def path(self, template: str, **values: str) -> str:
        return template.format(
            realm=quote(self.realm, safe=""), **{key: quote(value, safe="") for key, value in values.items()}
        )

    def get(self, path: str, **params: Any) -> Any:
        response = self._call("GET", path, lambda: self.connection.raw_get(path, **params))
        return response.json() if response.content else None

    def post(self, path: str, body: Any) -> Response:
        return self._call("POST", path, lambda: self.connection.raw_post(path, data=_json(body)))

    def put(self, path: str, body: Any) -> Response:
        return self._call("PUT", path, lambda: self.connection.raw_put(path, data=_json(body)))

    def delete(self, path: str, body: Any = None) -> Response:
        return self._call("DELETE", path, lambda: self.connection.raw_delete(path, data=_json(body)))

    def drop_realm(self, realm: str) -> None:
        """Delete `realm` if it exists (a test's or benchmark's throwaway realm, or one an interrupted run left)."""
        try:
            self.delete(AdminApi(self.connection, realm).path(urls.REALM))
        except ApiError as error:
            if error.status != _NOT_FOUND:
                raise

    def created_id(self, response: Response) -> str:
        """The id of the object a POST created (Keycloak returns it in Location)."""
        return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]

    def _call(self, method: str, path: str, call: Callable[[], Response]) -> Response:
        try:
            response = call()
        except KeycloakError as error:
            raise IdpkitError(f"{method} {path}: {error}") from error
        if response.status_code >= _CLIENT_ERROR:
            raise ApiError(method, path, response.status_code, response.text)
        return response


def _json(body: Any) -> str:
    return json.dumps(body) if body is not None else ""
