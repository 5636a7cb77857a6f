"""Password guessing locks the account (HIPAA 164.312(d)), shown on a throwaway user so that no real or
shared smoke identity is ever locked. Non-production stacks only: it creates and deletes a user."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest

from idpkit.keycloak_admin import AdminApi, urls
from idpkit.realm.model import RealmSettings
from idpkit.smoke import oauth
from idpkit.smoke.checks import check
from idpkit.smoke.redaction import register_secret

# Production carries no smoke identities; the fixture skips there before any user is created.
pytestmark = pytest.mark.usefixtures("smoke_credentials")
CLIENT = "smoke-spa"
SCOPE = "openid patient/Observation.rs"


@pytest.fixture
def throwaway_user(realm_admin: AdminApi) -> Iterator[tuple[str, str, str]]:
    """(user id, username, password) of a fresh user, deleted afterwards (and so unlocked)."""
    username = f"smoke-lockout-{secrets.token_hex(4)}"
    password = secrets.token_urlsafe(24)
    register_secret(password)
    created = realm_admin.post(realm_admin.path(urls.USERS), {
        "username": username, "enabled": True, "email": f"{username}@example.invalid", "emailVerified": True,
        "firstName": "Smoke", "lastName": "Lockout",
        "credentials": [{"type": "password", "value": password, "temporary": False}],
    })  # fmt: skip
    user_id = realm_admin.created_id(created)
    yield user_id, username, password
    realm_admin.delete(realm_admin.path(urls.USER, id=user_id))


def _signs_in(agent: oauth.UserAgent, endpoints: oauth.Endpoints, client: oauth.Client) -> bool:
    params = oauth.authorization_params(CLIENT, client.redirect_uri or "", SCOPE, oauth.Pkce.generate())
    return agent.authorize(endpoints.authorization, params).code is not None


@check(
    "SMOKE-BRUTE-001",
    "Repeated wrong passwords lock the account, so the right password no longer signs in",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-5.1.1"),
    risk="Unlimited password guessing against clinician accounts.",
    remediation="Keep bruteForceProtected true with a low failureFactor (realm-config base/realm.yaml).",
)
def test_repeated_wrong_passwords_lock_the_account(
    throwaway_user: tuple[str, str, str],
    realm_admin: AdminApi,
    realm_settings: RealmSettings,
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    tls_verify: str | bool,
) -> None:
    user_id, username, password = throwaway_user
    client = clients[CLIENT]
    assert _signs_in(oauth.UserAgent(tls_verify, username, password), endpoints, client), (
        f"{endpoints.authorization}: {username} cannot sign in with the right password (control)"
    )
    failures = realm_settings.failure_factor or 0
    assert failures, "realm-config: no failureFactor codified"
    for _ in range(failures):
        wrong = oauth.UserAgent(tls_verify, username, secrets.token_urlsafe(16))
        assert not _signs_in(wrong, endpoints, client), f"{endpoints.authorization}: a wrong password signed in"
    locked = realm_admin.get(realm_admin.path(urls.USER_BRUTE_FORCE, id=user_id))
    assert locked.get("disabled") is True, (
        f"realm {realm_admin.realm}: {username} not locked after {failures} wrong passwords (brute-force protection)"
    )
    assert not _signs_in(oauth.UserAgent(tls_verify, username, password), endpoints, client), (
        f"{endpoints.authorization}: {username} signed in while locked out"
    )
