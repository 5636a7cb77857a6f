"""HTTP access to the admin API: one place for connections, error mapping and write counting."""

from __future__ import annotations

import json
import os
import signal
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from keycloak import KeycloakOpenIDConnection
from keycloak.exceptions import KeycloakError
from requests import Response

from idpkit.errors import IdpkitError
from idpkit.outputs import AdminCredentials, StackOutputs

# Test hook for the "apply killed midway converges" test: the process SIGKILLs itself right after
# this many write calls, as an operator's Ctrl-C or a lost runner would stop it.
KILL_AFTER_WRITES_ENV = "IDPKIT_REALM_KILL_AFTER_WRITES"
ADMIN_REALM = "master"
_ERROR_BODY_LIMIT = 300


class ApiError(IdpkitError):
    """An admin API call failed."""

    def __init__(self, method: str, path: str, status: int, body: str) -> None:
        self.status = status
        super().__init__(f"{method} {path}: HTTP {status} {body[:_ERROR_BODY_LIMIT]}".rstrip())


@dataclass
class WriteCounter:
    """POST/PUT/DELETE calls made, by method (a no-op apply must leave all at zero)."""

    post: int = 0
    put: int = 0
    delete: int = 0

    @property
    def total(self) -> int:
        return self.post + self.put + self.delete


def connect(outputs: StackOutputs, credentials: AdminCredentials) -> KeycloakOpenIDConnection:
    """A python-keycloak connection logged in to `master` with the kit's admin credentials."""
    common: dict[str, Any] = {
        "server_url": outputs.admin_url.rstrip("/") + "/",
        "realm_name": ADMIN_REALM,
        "user_realm_name": ADMIN_REALM,
        "verify": outputs.admin_tls_verify,
        "timeout": 30,
    }
    try:
        if credentials.is_service_account:
            connection = KeycloakOpenIDConnection(
                client_id=credentials.client_id or "", client_secret_key=credentials.client_secret, **common
            )
        else:
            connection = KeycloakOpenIDConnection(
                username=credentials.username, password=credentials.password, client_id="admin-cli", **common
            )
        connection.get_token()
    except KeycloakError as error:
        raise IdpkitError(
            f"cannot log in to {outputs.admin_url} realm {ADMIN_REALM} as {credentials!r}: {error}"
        ) from error
    return connection


class AdminApi:
    """JSON calls on one realm's admin API; every write is counted and every error mapped here."""

    def __init__(self, connection: KeycloakOpenIDConnection, realm: str) -> None:
        self.connection = connection
        self.realm = realm
        self.writes = WriteCounter()
        limit = os.environ.get(KILL_AFTER_WRITES_ENV)
        self._kill_after = int(limit) if limit else None

    def path(self, template: str, **values: str) -> str:
        return template.format(
            realm=quote(self.realm, safe=""), **{key: quote(value, safe="") for key, value in values.items()}
        )

    def get(self, path: str, **params: Any) -> Any:
        response = self._call("GET", path, self.connection.raw_get, params=params)
        return response.json() if response.content else None

    def post(self, path: str, body: Any) -> Response:
        self.writes.post += 1
        return self._write("POST", path, self.connection.raw_post, body)

    def put(self, path: str, body: Any) -> Response:
        self.writes.put += 1
        return self._write("PUT", path, self.connection.raw_put, body)

    def delete(self, path: str, body: Any = None) -> Response:
        self.writes.delete += 1
        return self._write("DELETE", path, self.connection.raw_delete, body)

    def created_id(self, response: Response) -> str:
        """The id of the object a POST created (Keycloak returns it in Location)."""
        return response.headers["Location"].rstrip("/").rsplit("/", 1)[-1]

    def _write(self, method: str, path: str, call: Any, body: Any) -> Response:
        data = json.dumps(body) if body is not None else ""
        response = self._call(method, path, call, data=data)
        if self._kill_after is not None and self.writes.total >= self._kill_after:
            os.kill(os.getpid(), signal.SIGKILL)
        return response

    def _call(self, method: str, path: str, call: Any, *, params: Any = None, data: Any = None) -> Response:
        try:
            response: Response = call(path, **(params or {})) if data is None else call(path, data=data)
        except KeycloakError as error:
            raise IdpkitError(f"{method} {path}: {error}") from error
        if response.status_code >= 400:
            raise ApiError(method, path, response.status_code, response.text)
        return response
