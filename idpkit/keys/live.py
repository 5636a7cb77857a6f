"""The realm's key providers and published keys, read and changed through the admin API.

All admin API access of the keys commands goes through here, on the kit's one admin client
(`idpkit.keycloak_admin`: python-keycloak's methods where it has them, raw calls on the same
connection for offline sessions and logout-all; writes counted, errors mapped there).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from idpkit.constants.keycloak import DEFAULT_SIGNATURE_ALGORITHM, REALM_SIGNED_TOKEN_ATTRIBUTES
from idpkit.keycloak_admin import AdminApi, ApiError, WriteCounter, connect, urls
from idpkit.keycloak_server.kms_provider import PROVIDER_ID
from idpkit.keys.window import PassiveWindow, compute
from idpkit.outputs import StackOutputs, load_admin_credentials

KEY_PROVIDER_TYPE = "org.keycloak.keys.KeyProvider"
KIT_PREFIX = "idpkit-"
SESSION_PAGE = 500
NOT_FOUND = 404
SIGNING_PROVIDERS = ("rsa", "rsa-generated", "ecdsa-generated", "eddsa-generated", "java-keystore", PROVIDER_ID)
EC_CURVES = {"P-256": "ES256", "P-384": "ES384", "P-521": "ES512"}


def component_name(algorithm: str, generation: int) -> str:
    return f"{KIT_PREFIX}{algorithm}-g{generation:04d}"


@dataclass(frozen=True)
class LiveKey:
    """A signing key provider of the realm, with what Keycloak publishes for it."""

    component_id: str
    name: str
    provider_id: str
    algorithm: str | None
    kid: str | None
    status: str
    """ACTIVE (signs and verifies), PASSIVE (verifies only), DISABLED (not published), or UNLOADED."""
    priority: int
    public_key: str | None

    @property
    def enabled(self) -> bool:
        return self.status in ("ACTIVE", "PASSIVE")

    @property
    def held_by_keycloak(self) -> bool:
        """Its private key is in Keycloak's database (or, `java-keystore`, on disk): every provider but KMS's."""
        return self.provider_id != PROVIDER_ID

    def to_dict(self) -> dict[str, Any]:
        return {
            "component_id": self.component_id,
            "name": self.name,
            "provider": self.provider_id,
            "algorithm": self.algorithm,
            "kid": self.kid,
            "status": self.status,
            "priority": self.priority,
        }


@dataclass(frozen=True)
class BlastRadius:
    sessions: int
    offline_sessions: int
    users: int

    def to_dict(self) -> dict[str, int]:
        return {"sessions": self.sessions, "offline_sessions": self.offline_sessions, "users": self.users}


class LiveRealm:
    """One realm's signing keys on the server."""

    def __init__(self, api: AdminApi) -> None:
        self.api = api
        self.realm = api.realm

    @classmethod
    def open(cls, outputs: StackOutputs, realm: str) -> LiveRealm:
        return cls(AdminApi(connect(outputs, load_admin_credentials(outputs)), realm))

    @property
    def writes(self) -> WriteCounter:
        return self.api.writes

    def representation(self) -> dict[str, Any]:
        loaded: dict[str, Any] = self.api.keycloak.get_realm(self.realm)
        return loaded

    def passive_window(self) -> PassiveWindow:
        return compute(self.representation(), self.api.keycloak.get_clients())

    def requested_algorithms(self) -> dict[str, list[str]]:
        """Every algorithm the realm's tokens may be signed with, and the settings that ask for it."""
        realm = self.representation().get("defaultSignatureAlgorithm") or DEFAULT_SIGNATURE_ALGORITHM
        requested = {realm: ["realm defaultSignatureAlgorithm"]}
        for client in self.api.keycloak.get_clients():
            for attribute in REALM_SIGNED_TOKEN_ATTRIBUTES:
                algorithm = (client.get("attributes") or {}).get(attribute)
                if algorithm:
                    requested.setdefault(algorithm, []).append(f"client {client['clientId']} {attribute}")
        return requested

    def signing_keys(self, algorithm: str) -> list[LiveKey]:
        """Every key provider of `algorithm` used for signatures, highest priority first."""
        return [key for key in self.all_signing_keys() if key.algorithm == algorithm]

    def all_signing_keys(self) -> list[LiveKey]:
        components = self.api.keycloak.get_components({"type": KEY_PROVIDER_TYPE})
        published = {key["providerId"]: key for key in (self.api.keycloak.get_keys() or {}).get("keys", [])}
        found = []
        for component in components:
            if component["providerId"] not in SIGNING_PROVIDERS:
                continue
            key = published.get(component["id"])
            if key is not None and key.get("use") != "SIG":
                continue
            found.append(LiveKey(
                component_id=component["id"],
                name=component["name"],
                provider_id=component["providerId"],
                algorithm=key["algorithm"] if key else _configured_algorithm(component),
                kid=key["kid"] if key else None,
                # Keycloak publishes nothing for a disabled provider (or one that failed to load).
                status=key["status"] if key else "DISABLED",
                priority=int(_first(component.get("config") or {}, "priority", "0") or 0),
                public_key=key.get("publicKey") if key else None,
            ))  # fmt: skip
        return sorted(found, key=lambda item: -item.priority)

    def find(self, name: str) -> LiveKey | None:
        """The kit's key named `name` (kit names are unique per realm), in any state."""
        for component in self.api.keycloak.get_components({"type": KEY_PROVIDER_TYPE, "name": name}):
            if component["name"] == name:
                return next(key for key in self.all_signing_keys() if key.component_id == component["id"])
        return None

    def create(self, name: str, provider_id: str, config: dict[str, list[str]]) -> str:
        parent = self.representation()["id"]
        body = {
            "name": name,
            "providerId": provider_id,
            "providerType": KEY_PROVIDER_TYPE,
            "parentId": parent,
            "config": config,
        }
        return str(self.api.keycloak.create_component(body))

    def set_state(self, component_id: str, *, active: bool | None = None, enabled: bool | None = None) -> bool:
        """Set `active`/`enabled`; True if anything changed (the admin API keeps secret config on PUT)."""
        component = self.api.keycloak.get_component(component_id)
        config = component.setdefault("config", {})
        wanted = {name: value for name, value in (("active", active), ("enabled", enabled)) if value is not None}
        changes = {
            name: ["true" if value else "false"]
            for name, value in wanted.items()
            if _first(config, name, "true") != ("true" if value else "false")
        }
        if not changes:
            return False
        config.update(changes)
        self.api.keycloak.update_component(component_id, component)
        return True

    def delete(self, component_id: str) -> bool:
        """Delete a component; False if it was already gone."""
        try:
            self.api.keycloak.delete_component(component_id)
        except ApiError as error:
            if error.status == NOT_FOUND:
                return False
            raise
        return True

    def blast_radius(self) -> BlastRadius:
        """Sessions (online, offline) and distinct users that ending every session would log out."""
        sessions: set[str] = set()
        offline: set[str] = set()
        users: set[str] = set()
        for stats in self.api.keycloak.get_client_sessions_stats():
            if int(stats.get("active") or 0):
                for session in self.api.keycloak.get_client_all_sessions(stats["id"]):
                    sessions.add(session["id"])
                    users.add(session["userId"])
            if int(stats.get("offline") or 0):
                # python-keycloak has no method for a client's offline sessions.
                for session in self._paged(self.api.path(urls.CLIENT_OFFLINE_SESSIONS, id=stats["id"])):
                    offline.add(session["id"])
                    users.add(session["userId"])
        return BlastRadius(len(sessions), len(offline), len(users))

    def end_all_sessions(self) -> None:
        """End every session of the realm and push a not-before so tokens issued until now are refused."""
        self.api.post(self.api.path(urls.LOGOUT_ALL), None)  # python-keycloak has no method for it

    def _paged(self, path: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        while True:
            page = self.api.get(path, first=len(found), max=SESSION_PAGE) or []
            found += page
            if len(page) < SESSION_PAGE:
                return found


def _configured_algorithm(component: dict[str, Any]) -> str | None:
    config = component.get("config") or {}
    if component["providerId"] == "ecdsa-generated":
        return EC_CURVES.get(_first(config, "ecdsaEllipticCurveKey", "P-256") or "")
    if component["providerId"] == "eddsa-generated":
        return "EdDSA"
    return _first(config, "algorithm", "RS256")


def _first(config: dict[str, list[str]], name: str, default: str | None) -> str | None:
    values = config.get(name) or []
    return values[0] if values else default
