"""Test identities only where realm-config puts them (REALM-TESTDATA-001): never a shared login in production.

The smoke clients (realm-config/fragments/smoke.yaml) are asked for by name at the authorization
endpoint, anonymously, so this runs on every stack, production included: they exist exactly where the
environment's overlay includes the fragment. And the realm holds no human user realm-config does
not declare, which only the admin API can list.
"""

from __future__ import annotations

import re
import secrets

import pytest
import requests

from idpkit.keycloak_admin import AdminApi, urls
from idpkit.outputs import StackOutputs
from idpkit.realm.loader import LoadedConfig
from idpkit.realm.model import SERVICE_ACCOUNT_PREFIX
from idpkit.smoke import oauth
from idpkit.smoke.checks import check
from idpkit.smoke.identities import fragment_client_ids, smoke_clients
from idpkit.smoke.throwaway import PREFIX as RUNTIME_PREFIX

REDIRECT_URI = "https://127.0.0.1:8765/callback"
_ERROR_MESSAGE = re.compile(r'id="kc-error-message">\s*<p class="instruction">(.*?)</p>', re.DOTALL)


def _authorization_answer(client_id: str, endpoints: oauth.Endpoints, http: requests.Session) -> tuple[int, str]:
    """The authorization endpoint's status and error message for an anonymous request naming `client_id`."""
    params = oauth.authorization_params(client_id, REDIRECT_URI, "openid", oauth.Pkce.generate())
    response = http.get(endpoints.authorization, params=params, allow_redirects=False, timeout=15)
    message = _ERROR_MESSAGE.search(response.text)
    return response.status_code, message.group(1).strip() if message else ""


@pytest.fixture(scope="module")
def unknown_client_answer(endpoints: oauth.Endpoints, http: requests.Session) -> tuple[int, str]:
    """The answer for a client that exists nowhere. It differs by realm: Keycloak says "Client not found",
    but a realm-wide client policy refuses first ("Invalid parameter: clientId"), so it is measured, not assumed."""
    return _authorization_answer(f"{RUNTIME_PREFIX}absent-{secrets.token_hex(6)}", endpoints, http)


@check(
    "SMOKE-TESTDATA-001",
    "Smoke-test clients exist exactly where the environment's realm-config includes them (never in production)",
    requirements=("HIPAA-164.312(a)(2)(i)", "HIPAA-164.312(d)"),
    risk="A test client with a generated key in production is a credential outside every owner's control.",
    remediation="Include fragments/smoke.yaml only from non-production overlays.",
    claims=("clients[*].kit.generatedJwk",),
)
@pytest.mark.parametrize("client_id", fragment_client_ids())
def test_smoke_client_exists_only_where_codified(
    client_id: str,
    realm_config: LoadedConfig,
    outputs: StackOutputs,
    endpoints: oauth.Endpoints,
    http: requests.Session,
    unknown_client_answer: tuple[int, str],
) -> None:
    codified = client_id in {client.client_id for client in smoke_clients(realm_config)}
    answer = _authorization_answer(client_id, endpoints, http)
    exists = answer != unknown_client_answer
    assert exists == codified, (
        f"{endpoints.authorization}: {client_id} {'answers' if exists else 'is unknown'} on {outputs.realm} "
        f"({answer}; an unknown client gets {unknown_client_answer}), but realm-config for "
        f"{realm_config.environment} {'declares' if codified else 'does not declare'} it"
    )


@check(
    "SMOKE-TESTDATA-002",
    "The realm holds no human user realm-config does not declare",
    requirements=("HIPAA-164.312(a)(2)(i)", "HIPAA-164.312(d)"),
    risk="A shared or forgotten login (made by hand for a test, a demo, a vendor) outside every review.",
    remediation="Declare test users in fragments/smoke.yaml (non-production only); delete the others.",
    claims=("users[*]",),
    config_read="who made an account shows in nothing the account does, only in the list of accounts",
)
def test_no_undeclared_user(realm_admin: AdminApi, realm_config: LoadedConfig) -> None:
    declared = {user.username for user in realm_config.document.users or [] if user.username}
    live = {user["username"] for user in realm_admin.get(realm_admin.path(urls.USERS), max="1000") or []}
    undeclared = sorted(
        name for name in live - declared if not name.startswith((SERVICE_ACCOUNT_PREFIX, RUNTIME_PREFIX))
    )
    assert not undeclared, f"realm {realm_admin.realm}: users realm-config does not declare: {undeclared}"
