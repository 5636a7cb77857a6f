"""The kit's own admin: a service-account client in `master`, replacing the bootstrap admin.

On first apply (credentials still the bootstrap admin's user name and password) the kit creates
`idpkit-admin` in master with the realm-level `admin` role, then rewrites the stack's admin
credentials (0600 file or Secrets Manager secret) to that client's id and secret; every later
command logs in as the service account. The `phi` realm's reject-ropc-grant policy does not reach
master, and the kit never logs in to `phi` itself.
"""

from __future__ import annotations

import json
from pathlib import Path

from idpkit.keycloak_admin import ADMIN_REALM, AdminApi, urls
from idpkit.local.files import write_private
from idpkit.outputs import SECRETS_MANAGER_ARN_PREFIX, AdminCredentials, StackOutputs
from idpkit.realm.changes import Change
from idpkit.realm.diff import FieldChange
from idpkit.realm.kinds.base import OWNER_ATTRIBUTE

ADMIN_CLIENT_ID = "idpkit-admin"
ADMIN_ROLE = "admin"
ADMIN_CLIENT = {
    "clientId": ADMIN_CLIENT_ID,
    "name": "idpkit administration (service account)",
    "description": "Used by `idpkit realm` and other kit commands; replaces the bootstrap admin",
    "publicClient": False,
    "clientAuthenticatorType": "client-secret",
    "standardFlowEnabled": False,
    "implicitFlowEnabled": False,
    "directAccessGrantsEnabled": False,
    "serviceAccountsEnabled": True,
    "fullScopeAllowed": True,
    "attributes": {OWNER_ATTRIBUTE: "true", "access.token.lifespan": "120"},
}


OPERATION = "bootstrap-admin-client"


def bootstrap_change(outputs: StackOutputs, credentials: AdminCredentials) -> Change | None:
    """The change that moves the kit onto its service account; None once it has."""
    if credentials.is_service_account:
        return None
    fields = [
        FieldChange("serviceAccountsEnabled", None, True),
        FieldChange("realmRoles", None, [ADMIN_ROLE]),
        FieldChange("adminCredentials", outputs.admin_credentials, "client_id + client_secret"),
    ]
    return Change("adminClient", f"{ADMIN_REALM}/{ADMIN_CLIENT_ID}", "create", fields, operation=OPERATION)


def bootstrap(master: AdminApi, outputs: StackOutputs) -> None:
    """Create (or find) the admin client, grant it `admin`, store its id and secret as the stack's credentials.

    The secret is read here, at apply time, and goes only to the credentials store, never into a plan.
    """
    existing = master.get(master.path(urls.CLIENTS), clientId=ADMIN_CLIENT_ID) or []
    client_uuid = (
        existing[0]["id"] if existing else master.created_id(master.post(master.path(urls.CLIENTS), ADMIN_CLIENT))
    )
    account = master.get(master.path(urls.CLIENT_SERVICE_ACCOUNT, id=client_uuid))
    granted = {r["name"] for r in master.get(master.path(urls.USER_REALM_ROLES, id=account["id"])) or []}
    if ADMIN_ROLE not in granted:
        role = master.get(master.path(urls.ROLE, name=ADMIN_ROLE))
        master.post(master.path(urls.USER_REALM_ROLES, id=account["id"]), [role])
    secret = master.get(master.path(urls.CLIENT_SECRET, id=client_uuid))["value"]
    store_credentials(outputs, AdminCredentials(client_id=ADMIN_CLIENT_ID, client_secret=secret))


def store_credentials(outputs: StackOutputs, credentials: AdminCredentials) -> None:
    payload = json.dumps({"client_id": credentials.client_id, "client_secret": credentials.client_secret})
    target = outputs.admin_credentials
    if target.startswith(SECRETS_MANAGER_ARN_PREFIX):
        import boto3  # noqa: PLC0415 - only AWS stacks need it, and it is slow to import

        boto3.client("secretsmanager", region_name=target.split(":")[3]).put_secret_value(
            SecretId=target, SecretString=payload
        )
    else:
        write_private(Path(target), payload + "\n")
