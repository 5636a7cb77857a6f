"""The kit's own admin: a least-privileged service account in `master`, authenticated with private_key_jwt.

On first apply (credentials still the bootstrap admin's user name and password) the bootstrap admin creates
the managed realm, then the kit creates `idpkit-admin` in master, registers the public half of a key it
generates, grants the service account only what `realm apply`, `keys` and the runbooks need (`PRIVILEGES`:
the managed realm's admin roles, reading master; no master role, so it can create no realm), then rewrites
the stack's admin credentials (0600 file or Secrets Manager secret) to that client's id and private key. A
stack whose kit admin still holds a client secret and the `admin` role (kits before this one) is moved the
same way.

Master itself is administered only by the bootstrap admin, kept as the break-glass account: `realm apply`
changes master (its settings, this client, its roles) only while logged in as a master administrator,
which after bootstrap means `--break-glass`. Every plan checks the kit admin's privileges from its own
access token, so a role granted to it by hand shows as drift.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from idpkit.keycloak_admin import ADMIN_REALM, AdminApi, assertion, connect, urls
from idpkit.outputs import SECRETS_MANAGER_ARN_PREFIX, AdminCredentials, StackOutputs, load_break_glass_credentials
from idpkit.realm.changes import Action, Change
from idpkit.realm.diff import FieldChange
from idpkit.realm.kinds.base import OWNER_ATTRIBUTE
from idpkit.realm.secrets import new_signing_key
from idpkit.system.files import write_private

ADMIN_CLIENT_ID = "idpkit-admin"
SERVICE_ACCOUNT = f"service-account-{ADMIN_CLIENT_ID}"
"""The user Keycloak creates for the client's service account."""
ADMIN_CLIENT: dict[str, Any] = {
    "clientId": ADMIN_CLIENT_ID,
    "name": "idpkit administration (service account)",
    "description": "Used by `idpkit realm` and other kit commands; administers the managed realm, never master",
    "publicClient": False,
    "clientAuthenticatorType": "client-jwt",
    "standardFlowEnabled": False,
    "implicitFlowEnabled": False,
    "directAccessGrantsEnabled": False,
    "serviceAccountsEnabled": True,
    # The token must carry the service account's admin roles; which roles it holds is `PRIVILEGES`' business.
    "fullScopeAllowed": True,
    "attributes": {OWNER_ATTRIBUTE: "true", "access.token.lifespan": "120"},
}
KEY_ATTRIBUTES = {
    "use.jwks.url": "false",
    "use.jwks.string": "true",
    "token.endpoint.auth.signing.alg": assertion.ALGORITHM,
}
"""How Keycloak verifies the client's assertions: the registered public key (`jwks.string`), never a URL."""


@dataclass(frozen=True)
class Privileges:
    """The admin roles the kit's service account holds, and nothing more."""

    master_realm_roles: tuple[str, ...] = ()
    """Master realm roles: none. The managed realm is created once, by a master administrator (the bootstrap admin
    on the first apply, the break-glass account should it ever be created again), never by the kit's account."""
    master_client_roles: tuple[str, ...] = ("view-realm",)
    """Roles on `master-realm` (master's own admin client): reading master's settings, so drift can report them."""
    withheld_realm_roles: tuple[str, ...] = ("impersonation",)
    """Roles of the managed realm's admin client (`<realm>-realm`) the kit never needs; it holds all others. Another
    realm is the kit's only when a master administrator delegates it (`create_delegated_realm`: a test's or a
    benchmark's throwaway realm), less these too."""
    default_roles: tuple[str, ...] = ("default-roles-master", "offline_access", "uma_authorization")
    """What every master user holds; the service account's tokens may carry them."""

    @staticmethod
    def realm_client(realm: str) -> str:
        """Master's admin client for `realm`, whose roles administer that realm."""
        return f"{realm}-realm"

    def granted(self, realm: str) -> list[str]:
        """What the service account holds for managed realm `realm`, as a plan shows it."""
        withheld = ", ".join(self.withheld_realm_roles)
        return [
            *self.master_realm_roles,
            *(f"{ADMIN_REALM}-realm/{role}" for role in self.master_client_roles),
            f"{self.realm_client(realm)}/* but {withheld}",
        ]

    def excess(self, token_claims: Mapping[str, Any]) -> list[str]:
        """Roles an access token of the service account carries beyond these, as `client/role` or `role`."""
        realm_roles = set((token_claims.get("realm_access") or {}).get("roles") or [])
        found = sorted(realm_roles - {*self.master_realm_roles, *self.default_roles})
        for client, access in sorted((token_claims.get("resource_access") or {}).items()):
            roles = set(access.get("roles") or [])
            if client == f"{ADMIN_REALM}-realm":
                extra = roles - set(self.master_client_roles)
            elif client.endswith("-realm"):  # the managed realm's admin client, or one a master administrator delegated
                extra = roles & set(self.withheld_realm_roles)
            else:
                extra = set()
            found += [f"{client}/{role}" for role in sorted(extra)]
        return found


PRIVILEGES = Privileges()
OPERATION = "bootstrap-admin-client"
KIND = "adminClient"


def bootstrap_change(outputs: StackOutputs, credentials: AdminCredentials) -> Change | None:
    """The change that moves the kit onto its least-privileged, key-authenticated account; None once it has."""
    if credentials.signs_assertions:
        return None
    legacy = credentials.is_service_account  # a kit admin of an older kit: a client secret and `admin`
    fields = [
        FieldChange(
            "clientAuthenticatorType", "client-secret" if legacy else None, ADMIN_CLIENT["clientAuthenticatorType"]
        ),
        FieldChange("roles", ["admin"] if legacy else None, PRIVILEGES.granted(outputs.realm)),
        FieldChange("adminCredentials", outputs.admin_credentials, "client_id + private_key (private_key_jwt)"),
    ]
    return _account_change(fields, "update" if legacy else "create")


def grant_change(realm: str) -> Change:
    """The change that grants the kit's existing service account the roles of managed realm `realm`, just created
    by a master administrator (only the creator holds a new realm's roles)."""
    return _account_change([FieldChange("roles", None, PRIVILEGES.granted(realm))])


def privileges_change(token: str) -> Change | None:
    """The change that takes back what the kit's service account holds beyond `PRIVILEGES`, read from its token."""
    excess = PRIVILEGES.excess(jwt.decode(token, options={"verify_signature": False}))
    if not excess:
        return None
    return _account_change([FieldChange("roles", excess, None)])


def _account_change(fields: list[FieldChange], action: Action = "update") -> Change:
    return Change(KIND, f"{ADMIN_REALM}/{ADMIN_CLIENT_ID}", action, fields, operation=OPERATION)


def bootstrap(
    master: AdminApi, outputs: StackOutputs, current: AdminCredentials, *, rekey: bool = False
) -> AdminCredentials:
    """Create (or find) the admin client, key it, give its service account exactly `PRIVILEGES`; returns the
    credentials the kit logs in with from now on, stored first when they are new.

    `master` must be logged in as a master administrator. The private key is generated here, at apply time,
    and goes only to the credentials store, never into a plan. The key is registered before the credentials
    are stored, so an interrupted run leaves the old login working and converges when re-run.
    """
    existing = master.get(master.path(urls.CLIENTS), clientId=ADMIN_CLIENT_ID) or []
    client_uuid = existing[0]["id"] if existing else master.created_id(master.post(master.path(urls.CLIENTS), _rep()))
    credentials = current
    if rekey or not current.signs_assertions:
        credentials, jwks = _new_key()
        client = master.get(master.path(urls.CLIENT, id=client_uuid))
        client |= {key: value for key, value in ADMIN_CLIENT.items() if key != "attributes"}
        client["attributes"] = {**client.get("attributes", {}), **_rep()["attributes"], "jwks.string": jwks}
        master.put(master.path(urls.CLIENT, id=client_uuid), client)
    account = master.get(master.path(urls.CLIENT_SERVICE_ACCOUNT, id=client_uuid))
    _grant_only(master, account["id"], outputs.realm)
    if credentials is not current:
        store_credentials(outputs, credentials)
    return credentials


def create_delegated_realm(outputs: StackOutputs, representation: Mapping[str, Any]) -> None:
    """Create a realm beside the managed one (a test's or a benchmark's throwaway; one an interrupted run left is
    dropped first) as the break-glass account, and delegate it to the kit's account: its admin roles but the
    withheld ones. Dropping the realm, which the kit may then do, takes them back with the realm's admin client."""
    master = AdminApi(connect(outputs, load_break_glass_credentials(outputs)), ADMIN_REALM)
    master.drop_realm(str(representation["realm"]))
    master.post(urls.REALMS, dict(representation))
    client = master.get(master.path(urls.CLIENTS), clientId=ADMIN_CLIENT_ID)[0]
    account = master.get(master.path(urls.CLIENT_SERVICE_ACCOUNT, id=client["id"]))
    _grant_only(master, account["id"], str(representation["realm"]))


def _rep() -> dict[str, Any]:
    return {**ADMIN_CLIENT, "attributes": {**ADMIN_CLIENT["attributes"], **KEY_ATTRIBUTES}}


def _new_key() -> tuple[AdminCredentials, str]:
    pem, public = new_signing_key(assertion.ALGORITHM)
    credentials = AdminCredentials(client_id=ADMIN_CLIENT_ID, private_key=pem, key_id=public["kid"])
    return credentials, json.dumps({"keys": [public]}, sort_keys=True)


def _grant_only(master: AdminApi, user_id: str, realm: str) -> None:
    """The service account's realm roles and admin-client roles become exactly `PRIVILEGES`. Grants come first
    and the old `admin` role goes last: the account doing this may be the service account itself."""
    realm_roles = master.path(urls.USER_REALM_ROLES, id=user_id)
    held = master.get(realm_roles) or []
    wanted = [master.get(master.path(urls.ROLE, name=name)) for name in PRIVILEGES.master_realm_roles]
    _post_missing(master, realm_roles, held, wanted)
    revokes: list[tuple[str, list[dict[str, Any]]]] = []
    for client_id in (f"{ADMIN_REALM}-realm", PRIVILEGES.realm_client(realm)):
        found = master.get(master.path(urls.CLIENTS), clientId=client_id) or []
        if not found:  # the managed realm does not exist yet: its creation grants the kit its roles
            continue
        path = master.path(urls.USER_CLIENT_ROLES, id=user_id, client=found[0]["id"])
        held_client = master.get(path) or []
        available = master.get(master.path(urls.CLIENT_ROLES, id=found[0]["id"])) or []
        names = _client_roles(client_id, realm, available)
        _post_missing(master, path, held_client, [role for role in available if role["name"] in names])
        revokes.append((path, [role for role in held_client if role["name"] not in names]))
    managed = {f"{ADMIN_REALM}-realm", PRIVILEGES.realm_client(realm)}
    other_realms = (master.get(master.path(urls.USER_ROLE_MAPPINGS, id=user_id)) or {}).get("clientMappings") or {}
    for client_id, mapping in other_realms.items():
        if client_id.endswith("-realm") and client_id not in managed:  # a realm delegated to it: never these
            withheld = [role for role in mapping["mappings"] if role["name"] in PRIVILEGES.withheld_realm_roles]
            revokes.append((master.path(urls.USER_CLIENT_ROLES, id=user_id, client=mapping["id"]), withheld))
    kept = {*PRIVILEGES.master_realm_roles, *PRIVILEGES.default_roles}
    revokes.append((realm_roles, [role for role in held if role["name"] not in kept]))
    for path, revoke in revokes:
        if revoke:
            master.delete(path, revoke)


def _client_roles(client_id: str, realm: str, available: list[dict[str, Any]]) -> set[str]:
    """The roles of admin client `client_id` the service account holds."""
    if client_id == PRIVILEGES.realm_client(realm):
        return {role["name"] for role in available} - set(PRIVILEGES.withheld_realm_roles)
    return set(PRIVILEGES.master_client_roles)


def _post_missing(master: AdminApi, path: str, held: Iterable[dict[str, Any]], wanted: list[dict[str, Any]]) -> None:
    names = {role["name"] for role in held}
    missing = [role for role in wanted if role["name"] not in names]
    if missing:
        master.post(path, missing)


def store_credentials(outputs: StackOutputs, credentials: AdminCredentials) -> None:
    fields = ("client_id", "private_key", "key_id")
    payload = json.dumps({name: getattr(credentials, name) for name in fields})
    target = outputs.admin_credentials
    if target.startswith(SECRETS_MANAGER_ARN_PREFIX):
        import boto3  # noqa: PLC0415 - only AWS stacks need it, and it is slow to import

        boto3.client("secretsmanager", region_name=target.split(":")[3]).put_secret_value(
            SecretId=target, SecretString=payload
        )
    else:
        write_private(Path(target), payload + "\n")
