"""A client's tokens may carry only the PHI roles of the scopes granted (RFC 9700 §2.3, least privilege).

Tokens of this realm carry SMART scopes, not roles; the roles Keycloak would put in a token (through any
role mapper added later) are read with the admin API's scope evaluation for the same request.
"""

from __future__ import annotations

import pytest

from idpkit.keycloak_admin import AdminApi, urls
from idpkit.realm import loader
from idpkit.smoke.checks import check

# smoke-tests' code-flow clients and a scope each requests (realm-config/fragments/smoke.yaml).
REQUESTS = {"smoke-spa": "openid patient/Observation.rs", "smoke-web": "openid patient/Patient.rs"}


@pytest.fixture(scope="module")
def roles_by_scope(stack_name: str) -> dict[str, set[str]]:
    """The codified scope → realm-role mappings of this stack's realm."""
    document = loader.load(stack_name).document
    return {mapping.client_scope: set(mapping.roles) for mapping in document.scope_mappings or []}


@check(
    "SMOKE-ROLES-001",
    "A client's tokens may carry only the PHI roles mapped by the scopes it was granted",
    requirements=("RFC9700-2.3", "SMART-2.2-SCOPES", "HIPAA-164.312(a)(1)"),
    risk="A token carrying all of the user's roles lets a client reach PHI categories the user never consented to.",
    remediation="Keep fullScopeAllowed false on every client; map each PHI role only through its SMART scope.",
    claims=("clients[*].fullScopeAllowed", "clientScopes[*].scopeMappings.realm"),
)
@pytest.mark.usefixtures("smoke_credentials")  # the smoke clients exist only where their credentials do
@pytest.mark.parametrize("client_id", sorted(REQUESTS))
def test_token_roles_are_only_those_of_granted_scopes(
    client_id: str, realm_admin: AdminApi, roles_by_scope: dict[str, set[str]]
) -> None:
    scope = REQUESTS[client_id]
    [client] = realm_admin.get(realm_admin.path(urls.CLIENTS), clientId=client_id)
    granted = realm_admin.get(realm_admin.path(urls.CLIENT_GRANTED_REALM_ROLES, id=client["id"]), scope=scope)
    phi_roles = set().union(*roles_by_scope.values())
    carried = {role["name"] for role in granted} & phi_roles
    allowed = set().union(*(roles_by_scope.get(name, set()) for name in scope.split()))
    assert carried, f"{client_id}: scope {scope!r} grants no PHI role (control: the scope mapping is missing)"
    assert carried <= allowed, f"{client_id}: scope {scope!r} also grants {sorted(carried - allowed)}"
