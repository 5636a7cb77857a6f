"""SMOKE-TOKEN-003 fails when a protocol mapper is added by hand to a scope tokens pass through: a built-in scope
the kit does not declare, and one it declares (the mutation catalogue's mapper weakenings add role mappers, which
show in no token; this shows the check that sees a claim mapper has teeth)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from idpkit.keycloak_admin import AdminApi, connect, urls
from idpkit.outputs import StackOutputs, load_admin_credentials
from tests.conftest import idpkit

pytestmark = pytest.mark.local_stack
CHECK = "carry_only_the_claims_of_the_clients_scopes"


@pytest.fixture
def admin(applied_realm: StackOutputs) -> AdminApi:
    return AdminApi(connect(applied_realm, load_admin_credentials(applied_realm)), applied_realm.realm)


@pytest.fixture(params=["basic", "phi-api-audience"])
def leaking_mapper(request: pytest.FixtureRequest, admin: AdminApi) -> Iterator[str]:
    """A hardcoded-claim mapper added by hand to the scope: what a console user copying a PHI attribute adds."""
    scope = next(s for s in admin.get(admin.path(urls.CLIENT_SCOPES)) if s["name"] == request.param)
    claim = f"hand_made_{secrets.token_hex(3)}"
    created = admin.post(admin.path(urls.CLIENT_SCOPE_MAPPERS, id=scope["id"]), {
        "name": claim, "protocol": "openid-connect", "protocolMapper": "oidc-hardcoded-claim-mapper",
        "config": {"claim.name": claim, "claim.value": "MRN-0001", "jsonType.label": "String",
                   "access.token.claim": "true", "id.token.claim": "true", "userinfo.token.claim": "true"},
    })  # fmt: skip
    try:
        yield claim
    finally:
        admin.delete(admin.path(urls.CLIENT_SCOPE_MAPPER, id=scope["id"], mapper=admin.created_id(created)))


def test_a_claim_mapper_added_by_hand_fails_the_check(leaking_mapper: str) -> None:
    completed = idpkit("smoke", "--stack", "local", "-k", CHECK, check=False)
    assert completed.returncode == 1, f"SMOKE-TOKEN-003 passed with the hand-made claim {leaking_mapper} in tokens"
    assert leaking_mapper in completed.stdout, f"SMOKE-TOKEN-003 failed without naming {leaking_mapper}"
