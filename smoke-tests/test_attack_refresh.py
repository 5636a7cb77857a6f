"""Refresh token attacks (RFC 9700 §4.14): reuse after rotation revokes the family; tokens stay with their client."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import requests

from idpkit.smoke import oauth
from idpkit.smoke.checks import check


@dataclass(frozen=True)
class Reuse:
    replayed: requests.Response
    """The first, already rotated refresh token presented again."""
    successor_after: requests.Response
    """The rotated (newest) refresh token presented after the replay."""


@pytest.fixture(scope="module")
def reuse(
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    tls_verify: str | bool,
) -> Reuse:
    """A session of its own: rotate once (control), replay the old token, then try the successor."""
    web = clients["smoke-web"]
    grant = oauth.sign_in(new_user_agent(), endpoints, web, "openid")
    rotated = oauth.refresh(endpoints, web, grant.tokens["refresh_token"], verify=tls_verify)
    assert rotated.status_code == 200, f"control: {endpoints.token} refused smoke-web's first refresh"
    replayed = oauth.refresh(endpoints, web, grant.tokens["refresh_token"], verify=tls_verify)
    return Reuse(replayed, oauth.refresh(endpoints, web, rotated.json()["refresh_token"], verify=tls_verify))


@check(
    "SMOKE-REFRESH-002",
    "A rotated-out refresh token is refused when presented again",
    requirements=("RFC9700-2.2.2", "RFC9700-4.14", "HIPAA-164.312(a)(1)"),
    risk="Reusable refresh tokens let a thief keep minting access tokens in parallel with the real app.",
    remediation="Realm: revokeRefreshToken true, refreshTokenMaxReuse 0.",
    claims=("realm.revokeRefreshToken", "realm.refreshTokenMaxReuse"),
)
def test_refresh_token_reuse_is_refused(reuse: Reuse, endpoints: oauth.Endpoints) -> None:
    assert (reuse.replayed.status_code, oauth.oauth_error(reuse.replayed)) == (400, "invalid_grant"), (
        f"{endpoints.token}: smoke-web replayed a rotated refresh token and got {reuse.replayed.status_code} "
        f"{oauth.oauth_error(reuse.replayed)}, expected 400 invalid_grant"
    )
    assert oauth.issued_tokens(reuse.replayed) == set(), f"{endpoints.token}: smoke-web's replay issued tokens"


@check(
    "SMOKE-REFRESH-003",
    "Refresh token reuse revokes the whole token family (the successor stops working)",
    requirements=("RFC9700-4.14", "RFC9700-2.2.2"),
    risk="Without family revocation the attacker, holding the newest token, keeps the session after reuse detection.",
    remediation="Keep Keycloak's reuse detection (revokeRefreshToken, refreshTokenMaxReuse 0): "
    "it ends the client session.",
    claims=("realm.revokeRefreshToken", "realm.refreshTokenMaxReuse"),
)
def test_refresh_token_reuse_revokes_the_family(reuse: Reuse, endpoints: oauth.Endpoints) -> None:
    assert (reuse.successor_after.status_code, oauth.oauth_error(reuse.successor_after)) == (400, "invalid_grant"), (
        f"{endpoints.token}: smoke-web's newest refresh token still accepted after reuse detection "
        f"({reuse.successor_after.status_code})"
    )
    assert oauth.issued_tokens(reuse.successor_after) == set(), f"{endpoints.token}: revoked family issued tokens"


@check(
    "SMOKE-REFRESH-004",
    "A refresh token is refused when presented by another client",
    requirements=("RFC9700-4.14", "HIPAA-164.312(d)"),
    risk="A refresh token usable by any client lets a malicious app turn a leaked token into its own access.",
    remediation="Keycloak binds refresh tokens to the client; keep confidential clients authenticated.",
)
def test_refresh_by_another_client_is_refused(
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    tls_verify: str | bool,
) -> None:
    grant = oauth.sign_in(new_user_agent(), endpoints, clients["smoke-web"], "openid")
    assert grant.response.status_code == 200, f"control: {endpoints.token} refused smoke-web's sign-in"
    # smoke-spa sends a valid proof of its own key: the refusal is the client binding's, not a missing proof's.
    response = oauth.refresh(endpoints, clients["smoke-spa"], grant.tokens["refresh_token"], verify=tls_verify)
    assert (response.status_code, oauth.oauth_error(response)) == (400, "invalid_grant"), (
        f"{endpoints.token}: smoke-spa presented smoke-web's refresh token and got {response.status_code} "
        f"{oauth.oauth_error(response)}, expected 400 invalid_grant"
    )
    assert oauth.issued_tokens(response) == set(), f"{endpoints.token}: smoke-spa refreshed smoke-web's token"
