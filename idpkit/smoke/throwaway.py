"""Objects the smoke suite creates at run time through the admin API, and always deletes.

Clients registered at run time prove that realm-wide client policies bind clients nobody codified;
users created at run time take the lockouts and password changes no shared identity should. Every
name starts with `smoke-runtime-`, so what an interrupted run left behind is swept at the next one.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from idpkit.keycloak_admin import AdminApi, ApiError, urls
from idpkit.realm.kinds.users import totp_credential_data
from idpkit.realm.model import RealmSettings
from idpkit.realm.secrets import new_totp_secret
from idpkit.smoke.otp import OneTimeCodes
from idpkit.smoke.redaction import register_secret

PREFIX = "smoke-runtime-"


@dataclass(frozen=True)
class Registration:
    """What Keycloak made of a client registration: the stored client, or the refusal."""

    client_id: str
    stored: dict[str, Any] | None
    refusal: str | None = None

    @property
    def accepted(self) -> bool:
        return self.stored is not None

    def attribute(self, name: str) -> str | None:
        return ((self.stored or {}).get("attributes") or {}).get(name)


@dataclass(frozen=True)
class User:
    id: str
    username: str
    email: str
    password: str = field(repr=False)
    codes: OneTimeCodes | None = field(default=None, repr=False)
    """The user's TOTP second factor (every person of the realm has one: REALM-MFA-001)."""


@dataclass(frozen=True)
class SecondFactor:
    """How run-time users get their TOTP credential: the realm's codified OTP policy, a ledger of used codes."""

    settings: RealmSettings
    ledger: Path


class Throwaway:
    """Creates clients and users for one test and deletes them when the test ends."""

    def __init__(self, admin: AdminApi, second_factor: SecondFactor | None = None) -> None:
        self.admin = admin
        self.second_factor = second_factor
        self._clients: list[str] = []
        self._users: list[str] = []

    def register(self, purpose: str, representation: dict[str, Any]) -> Registration:
        """Register a client as the admin console would; a refusal by a client policy is an outcome, not an error."""
        client_id = f"{PREFIX}{purpose}-{secrets.token_hex(3)}"
        try:
            created = self.admin.post(self.admin.path(urls.CLIENTS), {**representation, "clientId": client_id})
        except ApiError as error:
            if error.status >= 500:
                raise
            return Registration(client_id, None, str(error))
        uuid = self.admin.created_id(created)
        self._clients.append(uuid)
        return Registration(client_id, self.admin.get(self.admin.path(urls.CLIENT, id=uuid)))

    def user(self, purpose: str, *, second_factor: bool = True, realm_roles: Sequence[str] = ()) -> User:
        """A fresh, enabled user with a random password the realm's policy accepts, and a TOTP second factor
        (`second_factor` false: none yet, as a person on first login), holding `realm_roles`."""
        username = f"{PREFIX}{purpose}-{secrets.token_hex(4)}"
        email = f"{username}@example.invalid"
        password = secrets.token_urlsafe(24)
        register_secret(password)
        credentials: list[dict[str, Any]] = [{"type": "password", "value": password, "temporary": False}]
        codes = None
        if self.second_factor is not None and second_factor:
            secret = new_totp_secret()
            register_secret(secret)
            credentials.append({"type": "otp", "userLabel": "smoke runtime TOTP",
                                "secretData": json.dumps({"value": secret}),
                                "credentialData": totp_credential_data(self.second_factor.settings)})  # fmt: skip
            codes = OneTimeCodes.for_realm(secret, self.second_factor.ledger, self.second_factor.settings)
        created = self.admin.post(self.admin.path(urls.USERS), {
            "username": username, "enabled": True, "email": email, "emailVerified": True,
            "firstName": "Smoke", "lastName": "Runtime", "credentials": credentials,
        })  # fmt: skip
        uuid = self.admin.created_id(created)
        self._users.append(uuid)
        if realm_roles:
            # Keycloak ignores realmRoles in a created user: they are mapped afterwards, as representations.
            roles = [self.admin.get(self.admin.path(urls.ROLE, name=role)) for role in realm_roles]
            self.admin.post(self.admin.path(urls.USER_REALM_ROLES, id=uuid), roles)
        return User(uuid, username, email, password, codes)

    def cleanup(self) -> None:
        for uuid in self._clients:
            self.admin.delete(self.admin.path(urls.CLIENT, id=uuid))
        for uuid in self._users:
            self.admin.delete(self.admin.path(urls.USER, id=uuid))
        self._clients.clear()
        self._users.clear()


def sweep(admin: AdminApi) -> list[str]:
    """Delete what an interrupted run left behind; returns the names deleted."""
    swept = []
    for client in admin.get(admin.path(urls.CLIENTS), clientId=PREFIX, search="true") or []:
        if client["clientId"].startswith(PREFIX):
            admin.delete(admin.path(urls.CLIENT, id=client["id"]))
            swept.append(client["clientId"])
    for user in admin.get(admin.path(urls.USERS), username=PREFIX, max="1000") or []:
        if user["username"].startswith(PREFIX):
            admin.delete(admin.path(urls.USER, id=user["id"]))
            swept.append(user["username"])
    return swept
