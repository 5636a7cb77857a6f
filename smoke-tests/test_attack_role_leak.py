"""A client's tokens may carry only the PHI roles of the scopes granted (RFC 9700 §2.3, least privilege).

Tokens of this realm carry SMART scopes, not roles. Two views: the roles Keycloak would let any role
mapper put in a token, read with the admin API's scope evaluation for the request; and the tokens
themselves, signed in with every scope the client may ask for, in which no PHI role may appear as a
claim unless a granted scope maps it (a mapper added to a client or a scope by hand would put it there).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from idpkit.keycloak_admin import AdminApi, urls
from idpkit.realm import loader
from idpkit.smoke import oauth
from idpkit.smoke.checks import check
from idpkit.smoke.identities import SmokeClient

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


def _roles_in(claims_: Any, phi_roles: set[str]) -> set[str]:
    """PHI role names anywhere in a token's claims (realm_access, resource_access, or a mapper's own claim)."""
    if isinstance(claims_, dict):
        return set().union(*(_roles_in(value, phi_roles) for value in claims_.values()))
    if isinstance(claims_, list):
        return set().union(*(_roles_in(value, phi_roles) for value in claims_))
    return {claims_} & phi_roles if isinstance(claims_, str) else set()


@check(
    "SMOKE-ROLES-002",
    "A client's tokens, with every scope it may ask for, carry no PHI role its granted scopes do not map",
    requirements=("RFC9700-2.3", "SMART-2.2-SCOPES", "HIPAA-164.312(a)(1)"),
    risk="A protocol mapper added by hand to a client or a scope puts PHI roles in tokens outside every reviewed "
    "scope.",
    remediation="Keep mappers only on the scopes realm-config declares (clients and scopes hold no others).",
    claims=("clients[*].protocolMappers", "clientScopes[*].protocolMappers"),
)
@pytest.mark.parametrize("client_id", sorted(REQUESTS))
def test_tokens_carry_no_unmapped_role(
    client_id: str,
    roles_by_scope: dict[str, set[str]],
    smoke_identities: dict[str, SmokeClient],
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
) -> None:
    requested = [s for s in smoke_identities[client_id].declared.optional_client_scopes or [] if s != "offline_access"]
    tokens = oauth.sign_in(new_user_agent(), endpoints, clients[client_id], " ".join(["openid", *requested])).tokens
    phi_roles = set().union(*roles_by_scope.values())
    granted = set().union(
        *(roles_by_scope.get(s, set()) for s in oauth.scopes_of(oauth.unverified_claims(tokens["access_token"])))
    )
    for kind in ("access_token", "id_token"):
        carried = _roles_in(oauth.unverified_claims(tokens[kind]), phi_roles)
        assert carried <= granted, (
            f"{client_id}: its {kind} carries {sorted(carried - granted)}, mapped by no granted scope"
        )
