"""Throwaway realms with short lifetimes, so a whole rotation (window included) runs in seconds."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests

from idpkit.keycloak_admin import KILL_AFTER_WRITES_ENV, AdminApi, connect, urls
from idpkit.outputs import StackOutputs, load_admin_credentials
from idpkit.realm.bootstrap import create_delegated_realm
from tests.conftest import idpkit

ACCESS_TOKEN_SECONDS = 10
SESSION_SECONDS = 12
"""The longest lifetime in the probe realms: their passive window."""
MARGIN_SECONDS = "1"
SERVICE = ("probe-service", "probe-service-secret-0123456789")
LOGIN = ("probe-login", "probe-login-secret-0123456789")
USER = ("alice", "alice-password-0123456789")


@dataclass
class Probe:
    """One throwaway realm, its key store directory, and the ways tests reach it."""

    outputs: StackOutputs
    realm: str
    store: Path
    admin: AdminApi

    @property
    def realm_url(self) -> str:
        return f"{self.outputs.base_url}/realms/{self.realm}"

    def keys(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """`idpkit keys ...` on this realm and key store (the margin shortened to match the lifetimes)."""
        return idpkit(*self._argv(args), check=check, timeout=120)

    def keys_killed_after(self, writes: int, *args: str) -> subprocess.CompletedProcess[str]:
        """`idpkit keys ...` SIGKILLed right after its `writes`-th admin API write (a lost host, a Ctrl-C)."""
        env = {**os.environ, KILL_AFTER_WRITES_ENV: str(writes)}
        return subprocess.run(
            [sys.executable, "-m", "idpkit", *self._argv(args)],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env=env,
        )

    def rotate_fully(self) -> dict[str, Any]:
        """`keys rotate` twice, the margin apart: publish, then activate and demote."""
        self.keys("rotate")
        time.sleep(float(MARGIN_SECONDS) + 0.2)
        return self.keys_json("rotate")

    def keys_json(self, *args: str) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.keys(*args).stdout)
        return loaded

    def signing_kid(self) -> str:
        """The kid of the key that signs now (the ACTIVE kit key of highest priority)."""
        status = self.keys_json("status")
        return str(next(key["kid"] for key in status["keys"] if key["status"] == "ACTIVE" and key["generation"]))

    def token(self) -> str:
        return str(self._token({"grant_type": "client_credentials"}, SERVICE)["access_token"])

    def login(self) -> dict[str, Any]:
        """A user session (access + refresh token): what emergency rotation must end."""
        return self._token({"grant_type": "password", "username": USER[0], "password": USER[1]}, LOGIN)

    def refresh(self, refresh_token: str) -> requests.Response:
        return requests.post(
            f"{self.realm_url}/protocol/openid-connect/token",
            verify=self.outputs.tls_verify,
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": LOGIN[0],
                "client_secret": LOGIN[1],
            },
            timeout=10,
        )

    def jwks_kids(self) -> set[str]:
        response = requests.get(
            f"{self.realm_url}/protocol/openid-connect/certs", verify=self.outputs.tls_verify, timeout=10
        )
        return {key["kid"] for key in response.json()["keys"]}

    def validate(self, token: str) -> dict[str, Any]:
        """Validate as a resource server would, against the realm's JWKS (fetched now, nothing cached)."""
        context = ssl.create_default_context(cafile=self.outputs.ca_bundle)
        client = jwt.PyJWKClient(
            f"{self.realm_url}/protocol/openid-connect/certs", cache_jwk_set=False, ssl_context=context
        )
        key = client.get_signing_key_from_jwt(token)
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=["PS256", "ES256"],
            issuer=self.realm_url,
            options={"verify_aud": False, "require": ["exp", "iat", "iss"]},
        )
        return claims

    def _argv(self, args: tuple[str, ...]) -> tuple[str, ...]:
        return (
            "keys",
            *args,
            "--stack",
            "local",
            "--realm",
            self.realm,
            "--key-store",
            str(self.store),
            "--margin",
            MARGIN_SECONDS,
            "--json",
        )

    def _token(self, data: dict[str, str], client: tuple[str, str]) -> dict[str, Any]:
        response = requests.post(
            f"{self.realm_url}/protocol/openid-connect/token",
            verify=self.outputs.tls_verify,
            data={**data, "client_id": client[0], "client_secret": client[1]},
            timeout=10,
        )
        assert response.status_code == 200, f"{self.realm} token endpoint: HTTP {response.status_code} {response.text}"
        loaded: dict[str, Any] = response.json()
        return loaded


def open_probe(outputs: StackOutputs, realm: str, algorithm: str, store: Path) -> Probe:
    connection = connect(outputs, load_admin_credentials(outputs))
    create_delegated_realm(outputs, {
        "realm": realm, "enabled": True, "sslRequired": "all", "defaultSignatureAlgorithm": algorithm,
        "accessTokenLifespan": ACCESS_TOKEN_SECONDS, "accessTokenLifespanForImplicitFlow": ACCESS_TOKEN_SECONDS,
        "ssoSessionIdleTimeout": SESSION_SECONDS, "ssoSessionMaxLifespan": SESSION_SECONDS,
        "offlineSessionIdleTimeout": SESSION_SECONDS,
    })  # fmt: skip
    admin = AdminApi(connection, realm)
    clients = admin.path(urls.CLIENTS)
    admin.post(
        clients,
        {
            "clientId": SERVICE[0],
            "secret": SERVICE[1],
            "publicClient": False,
            "serviceAccountsEnabled": True,
            "standardFlowEnabled": False,
        },
    )
    # A password-grant client exists only in this throwaway realm, to open user sessions quickly.
    admin.post(
        clients,
        {
            "clientId": LOGIN[0],
            "secret": LOGIN[1],
            "publicClient": False,
            "directAccessGrantsEnabled": True,
            "standardFlowEnabled": False,
        },
    )
    admin.post(admin.path(urls.USERS), {
        "username": USER[0], "enabled": True, "email": f"{USER[0]}@example.org", "emailVerified": True,
        "firstName": "Alice", "lastName": "Probe",
        "credentials": [{"type": "password", "value": USER[1], "temporary": False}],
    })  # fmt: skip
    return Probe(outputs, realm, store, admin)


@pytest.fixture(scope="module")
def probe(live_stack: StackOutputs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Probe]:
    probe = open_probe(live_stack, "keys-probe", "PS256", tmp_path_factory.mktemp("keys-store"))
    yield probe
    AdminApi(probe.admin.connection, "master").drop_realm(probe.realm)


@pytest.fixture(scope="module")
def es256_probe(live_stack: StackOutputs, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Probe]:
    probe = open_probe(live_stack, "keys-probe-es", "ES256", tmp_path_factory.mktemp("keys-store-es"))
    yield probe
    AdminApi(probe.admin.connection, "master").drop_realm(probe.realm)
