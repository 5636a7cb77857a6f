"""The master realm's own hardening: the kit's administration client (idpkit/realm/bootstrap.py).

The master realm is never served publicly (test_transport.py); here, on admin_url, the kit's admin
client obtains short-lived tokens through the client-credentials grant only, as `ADMIN_CLIENT`
codifies: its tokens live as long as codified, and the password grant is refused. (It registers no
redirect URI, so no browser flow can complete: those flags are config reads, config_reads.py.)
"""

from __future__ import annotations

import pytest
import requests

from idpkit.keycloak_admin import ADMIN_REALM, AdminApi
from idpkit.outputs import AdminCredentials, StackOutputs, load_admin_credentials
from idpkit.realm.bootstrap import ADMIN_CLIENT, ADMIN_CLIENT_ID
from idpkit.smoke import oauth
from idpkit.smoke.checks import check
from idpkit.smoke.codified import MASTER_ADMIN, master_settings
from idpkit.smoke.redaction import register_secret

LIFESPAN = "access.token.lifespan"
PREFIX = f"master.clients[{ADMIN_CLIENT_ID}]"


@pytest.fixture(scope="module")
def admin_credentials(outputs: StackOutputs, master_admin: AdminApi) -> AdminCredentials:
    del master_admin  # asked for its credential check (admin-api)
    found = load_admin_credentials(outputs)
    assert found.is_service_account and found.client_id == ADMIN_CLIENT_ID, (
        f"admin credentials of {outputs.admin_url}: not the kit's service account {ADMIN_CLIENT_ID}; "
        "run `idpkit realm apply` once to move off the bootstrap admin"
    )
    register_secret(found.client_secret)
    return found


@pytest.fixture(scope="module")
def master(outputs: StackOutputs) -> str:
    return f"{outputs.admin_url.rstrip('/')}/realms/{ADMIN_REALM}/protocol/openid-connect"


@check(
    "SMOKE-MASTER-001",
    "The kit's administration client gets access tokens no longer-lived than codified",
    requirements=("HIPAA-164.312(a)(1)", "RFC9700-2.3"),
    risk="A long-lived token of the realm administrator, once leaked, controls the identity provider for long.",
    remediation=f"Keep {LIFESPAN} of {ADMIN_CLIENT_ID} as idpkit/realm/bootstrap.py codifies it.",
    claims=(f'{PREFIX}.attributes["{LIFESPAN}"]',),
)
def test_admin_token_is_short_lived(master: str, admin_credentials: AdminCredentials, outputs: StackOutputs) -> None:
    response = requests.post(
        f"{master}/token", data={"grant_type": "client_credentials"},
        auth=(admin_credentials.client_id or "", admin_credentials.client_secret or ""),
        verify=outputs.admin_tls_verify, timeout=oauth.TIMEOUT,
    )  # fmt: skip
    assert response.status_code == 200, f"control: {master}/token refused {ADMIN_CLIENT_ID} ({response.status_code})"
    limit = int(master_settings()[f'{MASTER_ADMIN}.attributes["{LIFESPAN}"]'])
    access = oauth.unverified_claims(response.json()["access_token"])
    assert access["exp"] - access["iat"] <= limit, (
        f"{ADMIN_CLIENT_ID}: admin token lives {access['exp'] - access['iat']} s; codified {limit} s"
    )


@check(
    "SMOKE-MASTER-002",
    "The kit's administration client cannot use the password grant",
    requirements=("HIPAA-164.312(a)(1)", "RFC9700-2.4"),
    risk="A realm administrator reachable through a password grant is open to password guessing and bypasses the "
    "service-account design.",
    remediation=f"Keep {ADMIN_CLIENT_ID}'s directAccessGrantsEnabled false (idpkit/realm/bootstrap.py).",
    claims=(f"{PREFIX}.directAccessGrantsEnabled",),
)
def test_admin_client_password_grant_is_refused(
    master: str, admin_credentials: AdminCredentials, outputs: StackOutputs
) -> None:
    assert ADMIN_CLIENT["directAccessGrantsEnabled"] is False, f"bootstrap.py: {ADMIN_CLIENT_ID} allows password grants"
    # No user's password is needed: a grant switched off is refused before any user is looked up.
    data = {"grant_type": "password", "username": "nobody", "password": "not-a-password", "scope": "openid"}
    credentials = (admin_credentials.client_id or "", admin_credentials.client_secret or "")
    response = requests.post(f"{master}/token", data=data, verify=outputs.admin_tls_verify, timeout=oauth.TIMEOUT,
                             auth=credentials)  # fmt: skip
    assert oauth.oauth_error(response) == "unauthorized_client", (
        f"{master}/token: {ADMIN_CLIENT_ID}'s password grant got {oauth.oauth_error(response)!r}; "
        "it must be refused as unauthorized_client"
    )
