"""Read and write one hardened setting of the live realm, named by its path as reviews name it.

    setting("clients[smoke-web].attributes[\"access.token.lifespan\"]").read(session)

Mutation mode writes a weakened value and then the value it read before; the config-read checks
compare a read with realm-config. Paths: `realm.<field>`, `realm.browserSecurityHeaders.<header>`,
`realm.smartConfiguration.<field>` (a field of the realm attribute the SMART extension reads),
`realm.acrLoaMap.<acr>` (the level an acr maps to, in the realm attribute Keycloak reads the map from),
`authenticationFlows[<alias>].executions[<authenticator or sub-flow>].requirement` (one step of a flow) and
`....config.<option>` (an option of its authenticator's configuration),
`realm.defaultDefaultClientScopes` and `...Optional...`, `clients[<id>].<field>`,
`clients[<id>].attributes["<name>"]`, `clientProfiles[<p>].executors[<e>]` (the executor itself) and
`....configuration.<option>`, `clientPolicies[<p>].<field>`, `identityProviders[<a>].config.<key>`,
`clientScopes[<name>].protocolMappers`, `requiredActions[<alias>].<field>`, `realm.defaultRoles` (what
every user holds), `users[<name>].realmRoles`, `users[<name>]` (whether the user exists), and any client
path prefixed with `master.` for the kit's own client in the master realm, and `master.realm.<field>` for the
master realm's own settings.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import Any, Protocol

from idpkit.errors import IdpkitError
from idpkit.keycloak_admin import AdminApi, urls
from idpkit.realm.engine import Session
from idpkit.realm.kinds import default_roles
from idpkit.realm.kinds.realm import (
    ACR_LOA_ATTRIBUTE,
    ACR_LOA_MAP,
    SMART_ATTRIBUTE,
    SMART_CONFIGURATION,
    acr_loa_text,
    carried,
)
from idpkit.realm.model import SmartConfiguration

ABSENT = None
"""The value of a setting that is not set (an attribute Keycloak does not hold, a removed executor)."""
MASTER_PREFIX = "master."
_SEGMENT = re.compile(r'\.?(?P<name>[A-Za-z0-9_-]+)|\["(?P<key>[^"]+)"\]|\[(?P<item>[^\]]+)\]')
_SCOPE_LISTS = {
    "defaultClientScopes": urls.CLIENT_DEFAULT_SCOPE,
    "optionalClientScopes": urls.CLIENT_OPTIONAL_SCOPE,
}
_REALM_SCOPE_LISTS = {
    "defaultDefaultClientScopes": (urls.DEFAULT_DEFAULT_SCOPES, urls.DEFAULT_DEFAULT_SCOPE),
    "defaultOptionalClientScopes": (urls.DEFAULT_OPTIONAL_SCOPES, urls.DEFAULT_OPTIONAL_SCOPE),
}


class LiveSetting(Protocol):
    @property
    def path(self) -> str: ...

    def read(self, session: Session) -> Any: ...

    def write(self, session: Session, value: Any) -> None: ...


def segments(path: str) -> list[str]:
    """`clients[a].attributes["b.c"]` -> ["clients", "[a]", "attributes", "b.c"] (items keep their brackets)."""
    found, position = [], 0
    while position < len(path):
        match = _SEGMENT.match(path, position)
        if match is None:
            raise IdpkitError(f"setting path {path!r}: cannot read it from position {position}")
        found.append(match["name"] or match["key"] or f"[{match['item']}]")
        position = match.end()
    return found


def setting(path: str) -> LiveSetting:
    """The live setting at `path`."""
    realm = "master" if path.startswith(MASTER_PREFIX) else "managed"
    parts = segments(path.removeprefix(MASTER_PREFIX))
    head, rest = parts[0], parts[1:]
    item = rest[0][1:-1] if rest and rest[0].startswith("[") else None
    tail = rest[1:] if item is not None else rest
    found: LiveSetting | None = None
    if head == "realm" and tail and realm == "master":
        found = RealmField(path, tuple(tail), realm)
    elif head == "realm" and tail:
        found = _realm_setting(path, tail)
    elif head == "clients" and item and len(tail) == 2 and tail[0] == "attributes":
        found = ClientAttribute(path, realm, item, tail[1])
    elif head == "clients" and item and len(tail) == 1:
        found = ClientField(path, realm, item, tail[0])
    elif head == "clientProfiles" and item and tail[:1] == ["executors"] and len(tail) == 2:
        found = Executor(path, item, tail[1][1:-1])
    elif head == "clientProfiles" and item and tail[:1] == ["executors"] and tail[2:3] == ["configuration"]:
        found = ExecutorOption(path, item, tail[1][1:-1], tail[3])
    elif head == "clientPolicies" and item and len(tail) == 1:
        found = PolicyField(path, item, tail[0])
    elif head == "identityProviders" and item and len(tail) == 2 and tail[0] == "config":
        found = ProviderConfig(path, item, tail[1])
    elif head == "authenticationFlows" and item:
        found = _flow_setting(path, item, tail)
    elif head == "users" and item and tail == ["realmRoles"]:
        found = UserRealmRoles(path, item, realm)
    elif item:
        found = _named_setting(path, head, item, tail)
    if found is None:
        raise IdpkitError(f"setting path {path!r}: no live setting of this kind can be read or written")
    return found


def _realm_setting(path: str, tail: list[str]) -> LiveSetting:
    if tail == [DefaultRoles.FIELD]:
        return DefaultRoles(path)
    if len(tail) == 1 and tail[0] in _REALM_SCOPE_LISTS:
        return RealmScopes(path, tail[0])
    if len(tail) == 2 and tail[0] == SMART_CONFIGURATION:
        return SmartSetting(path, tail[1])
    if len(tail) == 2 and tail[0] == ACR_LOA_MAP:
        return AcrLevel(path, tail[1])
    return RealmField(path, tuple(tail))


def _flow_setting(path: str, flow: str, tail: list[str]) -> LiveSetting | None:
    """A step's requirement, or an option of its configuration."""
    if len(tail) == 3 and tail[::2] == ["executions", "requirement"]:
        return FlowStep(path, flow, tail[1][1:-1])
    if len(tail) == 4 and tail[::2] == ["executions", "config"]:
        return FlowStepOption(path, FlowStep(path, flow, tail[1][1:-1]), tail[3])
    return None


def _named_setting(path: str, head: str, item: str, tail: list[str]) -> LiveSetting | None:
    """A setting of a named client scope, required action or user."""
    if head == "clientScopes" and tail == ["protocolMappers"]:
        return ScopeMappers(path, item)
    if head == "requiredActions" and len(tail) == 1:
        return RequiredActionField(path, item, tail[0])
    if head == "users" and not tail:
        return UserPresence(path, item)
    return None


def _api(session: Session, realm: str) -> AdminApi:
    return session.master if realm == "master" else session.realm


@dataclass(frozen=True)
class RealmField:
    path: str
    keys: tuple[str, ...]
    """`("accessTokenLifespan",)` or `("browserSecurityHeaders", "xFrameOptions")`."""
    realm: str = "managed"

    def read(self, session: Session) -> Any:
        api = _api(session, self.realm)
        value: Any = api.get(api.path(urls.REALM))
        for key in self.keys:
            value = (value or {}).get(key)
        return value

    def write(self, session: Session, value: Any) -> None:
        api = _api(session, self.realm)
        current = api.get(api.path(urls.REALM))
        body: Any = {**(current.get(self.keys[0]) or {}), self.keys[1]: value} if len(self.keys) > 1 else value
        # Keycloak resets some fields an update leaves out: carry them, so only this setting changes.
        api.put(api.path(urls.REALM), carried(current, {self.keys[0]: body}))


def _attribute_object(current: dict[str, Any], name: str) -> dict[str, Any]:
    """The JSON object a realm attribute holds as text (empty when unset or unreadable)."""
    text = (current.get("attributes") or {}).get(name)
    try:
        found = json.loads(text) if text else {}
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


def _with_attribute(current: dict[str, Any], name: str, text: str) -> dict[str, Any]:
    """A realm update setting one attribute: Keycloak replaces the realm's attributes with those an update names,
    so every other one is carried."""
    return {"attributes": {**(current.get("attributes") or {}), name: text}}


@dataclass(frozen=True)
class SmartSetting:
    """One field of `realm.smartConfiguration`, kept in the realm attribute the SMART extension reads."""

    path: str
    field: str
    """Its realm-config name, e.g. `capabilities`, `grantTypesSupported`."""

    @property
    def key(self) -> str:
        """The attribute's JSON key (the model's snake_case name)."""
        return next(name for name, info in SmartConfiguration.model_fields.items() if info.alias == self.field)

    def read(self, session: Session) -> Any:
        return _attribute_object(session.realm.get(session.realm.path(urls.REALM)), SMART_ATTRIBUTE).get(self.key)

    def write(self, session: Session, value: Any) -> None:
        api = session.realm
        current = api.get(api.path(urls.REALM))
        fields = {**_attribute_object(current, SMART_ATTRIBUTE), self.key: value}
        text = json.dumps(fields, sort_keys=True, separators=(",", ":"))
        api.put(api.path(urls.REALM), carried(current, _with_attribute(current, SMART_ATTRIBUTE, text)))


@dataclass(frozen=True)
class AcrLevel:
    """The level one acr maps to (`realm.acrLoaMap.<acr>`), in the realm attribute Keycloak reads the map from."""

    path: str
    acr: str

    def read(self, session: Session) -> Any:
        return _attribute_object(session.realm.get(session.realm.path(urls.REALM)), ACR_LOA_ATTRIBUTE).get(self.acr)

    def write(self, session: Session, value: Any) -> None:
        api = session.realm
        current = api.get(api.path(urls.REALM))
        mapping = {
            acr: level for acr, level in _attribute_object(current, ACR_LOA_ATTRIBUTE).items() if acr != self.acr
        }
        if value is not ABSENT:
            mapping[self.acr] = value
        body = _with_attribute(current, ACR_LOA_ATTRIBUTE, acr_loa_text(mapping))
        api.put(api.path(urls.REALM), carried(current, body))


@dataclass(frozen=True)
class FlowStep:
    """The requirement of one step of an authentication flow, named by its authenticator or sub-flow alias."""

    path: str
    flow: str
    step: str

    def execution(self, api: AdminApi) -> dict[str, Any]:
        """The step as Keycloak lists it (its id, requirement and configuration id)."""
        # The flow's tree, flattened: its own steps are level 0; a sub-flow step shows its alias as display name.
        tree = api.get(api.path(urls.FLOW_EXECUTIONS, alias=self.flow)) or []
        for entry in tree:
            name = entry.get("displayName") if entry.get("authenticationFlow") else entry.get("providerId")
            if entry.get("level") == 0 and name == self.step:
                return dict(entry)
        raise IdpkitError(f"setting path {self.path!r}: flow {self.flow} has no step {self.step}")

    def read(self, session: Session) -> Any:
        return self.execution(session.realm).get("requirement")

    def write(self, session: Session, value: Any) -> None:
        api = session.realm
        api.put(api.path(urls.FLOW_EXECUTIONS, alias=self.flow), {**self.execution(api), "requirement": value})


@dataclass(frozen=True)
class FlowStepOption:
    """One option of a flow step's authenticator configuration (a level, its maximum age, a scope)."""

    path: str
    step: FlowStep
    option: str

    def _config(self, api: AdminApi) -> dict[str, Any]:
        config_id = self.step.execution(api).get("authenticationConfig")
        if config_id is None:
            return {}
        found: dict[str, Any] = api.get(api.path(urls.AUTHENTICATOR_CONFIG, id=config_id))
        return found

    def read(self, session: Session) -> Any:
        return (self._config(session.realm).get("config") or {}).get(self.option)

    def write(self, session: Session, value: Any) -> None:
        api = session.realm
        current = self._config(api)
        if not current:
            raise IdpkitError(f"setting path {self.path!r}: the step has no configuration to change")
        options = {k: v for k, v in (current.get("config") or {}).items() if k != self.option}
        if value is not ABSENT:
            options[self.option] = value
        api.put(api.path(urls.AUTHENTICATOR_CONFIG, id=current["id"]), {**current, "config": options})


@dataclass(frozen=True)
class RealmScopes:
    """The scopes clients created later get by default (or may request)."""

    path: str
    field: str

    def read(self, session: Session) -> list[str]:
        listing, _item = _REALM_SCOPE_LISTS[self.field]
        return sorted(scope["name"] for scope in session.realm.get(session.realm.path(listing)) or [])

    def write(self, session: Session, value: Any) -> None:
        api = session.realm
        _listing, item = _REALM_SCOPE_LISTS[self.field]
        current, wanted = set(self.read(session)), set(value)
        for name in wanted - current:
            api.put(api.path(item, id=_scope_id(api, name)), None)
        for name in current - wanted:
            api.delete(api.path(item, id=_scope_id(api, name)))


@dataclass(frozen=True)
class DefaultRoles:
    """The default role's composites (`client/role` for client roles): what every user holds."""

    path: str
    FIELD = "defaultRoles"

    def read(self, session: Session) -> list[str]:
        api = session.realm
        clients = api.get(api.path(urls.CLIENTS)) or []
        return sorted(default_roles.label(role, clients) for role in default_roles.composites(api))

    def write(self, session: Session, value: Any) -> None:
        """Realm roles only: the mutants grant realm roles, and a restore takes back only those."""
        api = session.realm
        held = {role["name"]: role for role in default_roles.composites(api) if not role.get("clientRole")}
        composites = api.path(urls.ROLE_COMPOSITES, id=default_roles.default_role(api)["id"])
        if grant := [
            api.get(api.path(urls.ROLE, name=name)) for name in sorted(set(value) - set(held)) if "/" not in name
        ]:
            api.post(composites, grant)
        if revoke := [role for name, role in held.items() if name not in value]:
            api.delete(composites, revoke)


def _scope_id(api: AdminApi, name: str) -> str:
    scopes = api.get(api.path(urls.CLIENT_SCOPES)) or []
    found = next((str(scope["id"]) for scope in scopes if scope["name"] == name), None)
    if found is None:
        raise IdpkitError(f"realm {api.realm}: no client scope {name!r}")
    return found


def _client(api: AdminApi, client_id: str) -> dict[str, Any]:
    found = api.get(api.path(urls.CLIENTS), clientId=client_id) or []
    if len(found) != 1:
        raise IdpkitError(f"realm {api.realm}: client {client_id!r} not found")
    client: dict[str, Any] = found[0]
    return client


@dataclass(frozen=True)
class ClientField:
    path: str
    realm: str
    client_id: str
    field: str

    def read(self, session: Session) -> Any:
        value = _client(_api(session, self.realm), self.client_id).get(self.field)
        return sorted(value or []) if self.field in _SCOPE_LISTS or self.field == "webOrigins" else value

    def write(self, session: Session, value: Any) -> None:
        api = _api(session, self.realm)
        current = _client(api, self.client_id)
        if self.field not in _SCOPE_LISTS:
            api.put(api.path(urls.CLIENT, id=current["id"]), {**current, self.field: value})
            return
        held, wanted = set(current.get(self.field) or []), set(value or [])
        other = next(field for field in _SCOPE_LISTS if field != self.field)
        for name in wanted - held:
            # A scope is attached to a client once, as default or optional: moving it is this one change.
            if name in (current.get(other) or []):
                api.delete(api.path(_SCOPE_LISTS[other], id=current["id"], scope=_scope_id(api, name)))
            api.put(api.path(_SCOPE_LISTS[self.field], id=current["id"], scope=_scope_id(api, name)), None)
        for name in held - wanted:
            api.delete(api.path(_SCOPE_LISTS[self.field], id=current["id"], scope=_scope_id(api, name)))


@dataclass(frozen=True)
class ClientAttribute:
    path: str
    realm: str
    client_id: str
    name: str

    def read(self, session: Session) -> str | None:
        value = (_client(_api(session, self.realm), self.client_id).get("attributes") or {}).get(self.name)
        return str(value) if value is not None else ABSENT

    def write(self, session: Session, value: Any) -> None:
        # A null attribute value removes the attribute.
        api = _api(session, self.realm)
        current = _client(api, self.client_id)
        attributes = {**(current.get("attributes") or {}), self.name: value}
        api.put(api.path(urls.CLIENT, id=current["id"]), {**current, "attributes": attributes})


def _profiles(api: AdminApi) -> dict[str, Any]:
    found: dict[str, Any] = api.get(api.path(urls.CLIENT_PROFILES)) or {}
    return found


def _profile(document: dict[str, Any], name: str) -> dict[str, Any]:
    profile: dict[str, Any] | None = next((p for p in document.get("profiles") or [] if p["name"] == name), None)
    if profile is None:
        raise IdpkitError(f"client profile {name!r} not found")
    return profile


@dataclass(frozen=True)
class Executor:
    """An executor of a client profile: its entry (position and configuration), or ABSENT once removed."""

    path: str
    profile: str
    executor: str

    def read(self, session: Session) -> dict[str, Any] | None:
        executors = _profile(_profiles(session.realm), self.profile).get("executors") or []
        index = next((i for i, e in enumerate(executors) if e["executor"] == self.executor), None)
        return None if index is None else {"index": index, "entry": executors[index]}

    def write(self, session: Session, value: Any) -> None:
        api = session.realm
        document = _profiles(api)
        profile = _profile(document, self.profile)
        executors = [e for e in profile.get("executors") or [] if e["executor"] != self.executor]
        if value is not None:
            executors.insert(value["index"], value["entry"])
        profile["executors"] = executors
        api.put(api.path(urls.CLIENT_PROFILES), document)


@dataclass(frozen=True)
class ExecutorOption:
    path: str
    profile: str
    executor: str
    option: str

    def read(self, session: Session) -> Any:
        executors = _profile(_profiles(session.realm), self.profile).get("executors") or []
        entry: dict[str, Any] = next((e for e in executors if e["executor"] == self.executor), {})
        return (entry.get("configuration") or {}).get(self.option)

    def write(self, session: Session, value: Any) -> None:
        api = session.realm
        document = _profiles(api)
        for entry in _profile(document, self.profile).get("executors") or []:
            if entry["executor"] == self.executor:
                configuration = {**(entry.get("configuration") or {}), self.option: value}
                entry["configuration"] = {k: v for k, v in configuration.items() if v is not None}
        api.put(api.path(urls.CLIENT_PROFILES), document)


@dataclass(frozen=True)
class PolicyField:
    path: str
    policy: str
    field: str

    def read(self, session: Session) -> Any:
        policies = (session.realm.get(session.realm.path(urls.CLIENT_POLICIES)) or {}).get("policies") or []
        return next((p.get(self.field) for p in policies if p["name"] == self.policy), None)

    def write(self, session: Session, value: Any) -> None:
        api = session.realm
        document = api.get(api.path(urls.CLIENT_POLICIES)) or {}
        for policy in document.get("policies") or []:
            if policy["name"] == self.policy:
                policy[self.field] = value
        api.put(api.path(urls.CLIENT_POLICIES), document)


@dataclass(frozen=True)
class ProviderConfig:
    path: str
    alias: str
    key: str

    def read(self, session: Session) -> str | None:
        api = session.realm
        value = (api.get(api.path(urls.IDENTITY_PROVIDER, alias=self.alias)).get("config") or {}).get(self.key)
        return str(value) if value is not None else ABSENT

    def write(self, session: Session, value: Any) -> None:
        api = session.realm
        current = api.get(api.path(urls.IDENTITY_PROVIDER, alias=self.alias))
        config = {k: v for k, v in {**(current.get("config") or {}), self.key: value}.items() if v is not None}
        api.put(api.path(urls.IDENTITY_PROVIDER, alias=self.alias), {**current, "config": config})


@dataclass(frozen=True)
class ScopeMappers:
    """A client scope's protocol mappers (by name, kind and configuration)."""

    path: str
    scope: str

    def read(self, session: Session) -> list[dict[str, Any]]:
        api = session.realm
        return list(api.get(api.path(urls.CLIENT_SCOPE_MAPPERS, id=_scope_id(api, self.scope))) or [])

    def write(self, session: Session, value: Any) -> None:
        api = session.realm
        scope_id = _scope_id(api, self.scope)
        wanted = {mapper["name"]: mapper for mapper in value or []}
        for mapper in self.read(session):
            if mapper["name"] not in wanted:
                api.delete(api.path(urls.CLIENT_SCOPE_MAPPER, id=scope_id, mapper=mapper["id"]))
        held = {mapper["name"] for mapper in self.read(session)}
        for name, mapper in wanted.items():
            if name not in held:
                api.post(api.path(urls.CLIENT_SCOPE_MAPPERS, id=scope_id), mapper)


def _user(api: AdminApi, username: str) -> dict[str, Any] | None:
    found = api.get(api.path(urls.USERS), username=username, exact="true") or []
    return found[0] if found else None


@dataclass(frozen=True)
class UserRealmRoles:
    """The realm roles a user (or a client's service account) holds directly, default roles aside."""

    path: str
    username: str
    realm: str = "managed"

    def _held(self, api: AdminApi) -> tuple[str, list[dict[str, Any]]]:
        user = _user(api, self.username)
        if user is None:
            raise IdpkitError(f"realm {api.realm}: user {self.username!r} not found")
        roles = api.get(api.path(urls.USER_REALM_ROLES, id=user["id"])) or []
        return user["id"], [role for role in roles if not role["name"].startswith("default-roles-")]

    def read(self, session: Session) -> list[str]:
        return sorted(role["name"] for role in self._held(_api(session, self.realm))[1])

    def write(self, session: Session, value: Any) -> None:
        api = _api(session, self.realm)
        user_id, held = self._held(api)
        names = {role["name"] for role in held}
        grant = [api.get(api.path(urls.ROLES) + f"/{name}") for name in sorted(set(value) - names)]
        revoke = [role for role in held if role["name"] not in value]
        if grant:
            api.post(api.path(urls.USER_REALM_ROLES, id=user_id), grant)
        if revoke:
            api.delete(api.path(urls.USER_REALM_ROLES, id=user_id), revoke)


@dataclass(frozen=True)
class UserPresence:
    """Whether a user exists (True: an enabled user with a password nobody is told, created on write)."""

    path: str
    username: str

    def read(self, session: Session) -> bool:
        return _user(session.realm, self.username) is not None

    def write(self, session: Session, value: Any) -> None:
        api = session.realm
        existing = _user(api, self.username)
        if value and existing is None:
            api.post(api.path(urls.USERS), {
                "username": self.username, "enabled": True, "email": f"{self.username}@example.invalid",
                "emailVerified": True, "firstName": "Mutant", "lastName": "User",
                "credentials": [{"type": "password", "value": secrets.token_urlsafe(24), "temporary": False}],
            })  # fmt: skip
        elif not value and existing is not None:
            api.delete(api.path(urls.USER, id=existing["id"]))


@dataclass(frozen=True)
class RequiredActionField:
    """A field of a required action (`enabled`: whether people can be asked to perform it)."""

    path: str
    alias: str
    field: str

    def read(self, session: Session) -> Any:
        api = session.realm
        return (api.get(api.path(urls.REQUIRED_ACTION, alias=self.alias)) or {}).get(self.field)

    def write(self, session: Session, value: Any) -> None:
        api = session.realm
        current = api.get(api.path(urls.REQUIRED_ACTION, alias=self.alias)) or {}
        api.put(api.path(urls.REQUIRED_ACTION, alias=self.alias), {**current, self.field: value})
