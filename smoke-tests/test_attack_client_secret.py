"""Shared secrets never authenticate a client (RFC 9700 §2.5, FAPI 2.0): not even the secret Keycloak holds.

Keycloak generates a secret for every confidential client whatever its authenticator; this attack
reads that very secret through the admin API and presents it (client_secret_post and
client_secret_basic) for each confidential smoke client. Only the registered asymmetric method may work.
"""

from __future__ import annotations

import pytest
import requests

from idpkit.keycloak_admin import AdminApi, urls
from idpkit.realm import loader
from idpkit.smoke import oauth
from idpkit.smoke.checks import check
from idpkit.smoke.identities import or_placeholder, smoke_clients
from idpkit.smoke.redaction import register_secret

# The clients are smoke identities: where the stack has none (production, as declared) the checks are not applicable.
pytestmark = pytest.mark.usefixtures("smoke_credentials")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "client_id" in metafunc.fixturenames:
        confidential = [c.client_id for c in smoke_clients(loader.load(metafunc.config.getoption("--stack")))
                        if c.confidential]  # fmt: skip
        metafunc.parametrize("client_id", or_placeholder(confidential))


def _stored_secret(admin: AdminApi, client_id: str) -> str:
    [client] = admin.get(admin.path(urls.CLIENTS), clientId=client_id)
    secret = str((admin.get(admin.path(urls.CLIENT_SECRET, id=client["id"])) or {}).get("value") or "no-secret")
    register_secret(secret)
    return secret


@check(
    "SMOKE-SECRET-001",
    "client_secret authentication is refused for every confidential client, even with its stored secret",
    requirements=("RFC9700-2.5", "FAPI2-SP-5.3.2", "HIPAA-164.312(d)"),
    risk="A client secret, copied from a config file or the admin console, would authenticate as the client.",
    remediation="clientAuthenticatorType client-jwt or client-x509 on every confidential client; the "
    "secure-client-authenticator executor allows nothing else.",
    claims=("clients[*].clientAuthenticatorType",),
)
@pytest.mark.parametrize("method", ["client_secret_post", "client_secret_basic"])
def test_client_secret_authentication_is_refused(
    client_id: str,
    method: str,
    realm_admin: AdminApi,
    endpoints: oauth.Endpoints,
    tls_verify: str | bool,
) -> None:
    secret = _stored_secret(realm_admin, client_id)
    data = {"grant_type": "client_credentials"}
    if method == "client_secret_post":
        response = oauth.post_form(endpoints.token, data | {"client_id": client_id, "client_secret": secret},
                                   verify=tls_verify)  # fmt: skip
    else:
        response = requests.post(endpoints.token, data=data, auth=(client_id, secret), verify=tls_verify,
                                 timeout=oauth.TIMEOUT)  # fmt: skip
    assert oauth.oauth_error(response) in {"invalid_client", "unauthorized_client"}, (
        f"{endpoints.token}: {client_id} with its stored secret ({method}) got {response.status_code} "
        f"{oauth.oauth_error(response)}, expected invalid_client"
    )
    assert oauth.issued_tokens(response) == set(), f"{endpoints.token}: {client_id} obtained tokens with a secret"


@check(
    "SMOKE-SECRET-002",
    "A confidential client that does not authenticate gets no token",
    requirements=("RFC9700-2.5", "HIPAA-164.312(d)"),
    risk="A confidential client turned public by hand obtains tokens on its name alone.",
    remediation="publicClient: false on every confidential client (declared, or held to its secure default).",
    claims=("clients[*].publicClient",),
)
def test_unauthenticated_confidential_client_is_refused(
    client_id: str, endpoints: oauth.Endpoints, tls_verify: str | bool
) -> None:
    response = oauth.post_form(endpoints.token, {"grant_type": "client_credentials", "client_id": client_id},
                               verify=tls_verify)  # fmt: skip
    assert oauth.oauth_error(response) in {"invalid_client", "unauthorized_client"}, (
        f"{endpoints.token}: {client_id} without authentication got {response.status_code} "
        f"{oauth.oauth_error(response)}, expected invalid_client"
    )
    assert oauth.issued_tokens(response) == set(), f"{endpoints.token}: {client_id} got tokens without authenticating"
