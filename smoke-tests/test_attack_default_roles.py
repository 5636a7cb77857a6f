"""Nothing is granted by default: a user given no role obtains no role-gated PHI scope.

A client scope with role scope mappings is granted only to users holding one of its roles. A role added
to the realm's default role, or a group made a default group, reaches every user, present and future,
and with it every scope that role gates: the check signs in a user created with no role through a
client registered at run time that may request every role-gated scope of realm-config.
"""

from __future__ import annotations

import pytest

from idpkit.keycloak_admin import AdminApi, urls
from idpkit.realm.loader import LoadedConfig
from idpkit.smoke import codified, oauth
from idpkit.smoke.checks import check
from idpkit.smoke.throwaway import Throwaway

REDIRECT_URI = "https://127.0.0.1:8765/callback"


@check(
    "SMOKE-ROLES-002",
    "A user given no role obtains none of the role-gated PHI scopes (no default role or group grants one)",
    requirements=("HIPAA-164.312(a)(1)", "RFC9700-2.3", "SMART-2.2-SCOPES"),
    risk="A PHI role in the realm's default role or in a default group reaches every user, present and future: "
    "anyone who can sign in obtains that PHI category.",
    remediation="Keep default-roles-<realm> to Keycloak's built-ins and no default group; `idpkit realm apply` "
    "revokes anything more (idpkit/realm/kinds/default_roles.py).",
    claims=("realm.defaultRoles",),
)
@pytest.mark.usefixtures("smoke_credentials")  # registers a client and a user: only where test data is allowed
def test_user_given_no_role_gets_no_gated_scope(
    runtime: Throwaway,
    realm_admin: AdminApi,
    realm_config: LoadedConfig,
    endpoints: oauth.Endpoints,
    tls_verify: str | bool,
) -> None:
    gated_scopes = codified.role_gated_scopes(realm_config)
    registration = runtime.register("default-grants", {
        "publicClient": True, "standardFlowEnabled": True, "directAccessGrantsEnabled": False,
        "fullScopeAllowed": False, "redirectUris": [REDIRECT_URI],
        "attributes": {"pkce.code.challenge.method": "S256"},
        "defaultClientScopes": ["basic"], "optionalClientScopes": sorted(gated_scopes),
    })  # fmt: skip
    assert registration.accepted, f"control: a public code-flow client was refused ({registration.refusal})"
    client = oauth.Client.public(registration.client_id, REDIRECT_URI)
    user = runtime.user("no-role")
    requested = " ".join(["openid", *sorted(gated_scopes)])

    def granted() -> set[str]:
        agent = oauth.UserAgent(tls_verify, user.username, user.password, user.codes)
        grant = oauth.sign_in(agent, endpoints, client, requested)
        assert grant.response.status_code == 200, f"{endpoints.token}: code redemption refused ({grant.response.text})"
        return oauth.scopes_of(oauth.unverified_claims(grant.tokens["access_token"])) & set(gated_scopes)

    leaked = granted()
    assert not leaked, (
        f"realm {realm_admin.realm}: {user.username}, given no role, obtained {sorted(leaked)} "
        "(a default role or default group grants a PHI role)"
    )
    # Control: the same request does show a gated scope once the user holds its role.
    scope, [role, *_] = next(iter(sorted(gated_scopes.items())))
    realm_admin.post(
        realm_admin.path(urls.USER_REALM_ROLES, id=user.id), [realm_admin.get(realm_admin.path(urls.ROLE, name=role))]
    )
    assert scope in granted(), f"control: {user.username} holding {role} did not obtain {scope}"
