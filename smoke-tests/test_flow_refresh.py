"""Refresh: a rotated refresh token and a fresh, valid access token (RFC 9700 §4.14)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from jwt import PyJWKClient

from idpkit.smoke import oauth
from idpkit.smoke.checks import check


@pytest.fixture(scope="module")
def rotation(
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    http: requests.Session,
) -> tuple[oauth.CodeGrant, requests.Response]:
    """A session of its own: after rotation the shared session's refresh token would count as reused."""
    web = clients["smoke-web"]
    grant = oauth.sign_in(new_user_agent(), endpoints, web, "openid patient/Patient.rs")
    assert grant.response.status_code == 200, f"{endpoints.token}: smoke-web sign-in failed"
    return grant, oauth.refresh(endpoints, web, grant.tokens["refresh_token"], verify=http.verify)


@check(
    "SMOKE-REFRESH-001",
    "Refresh rotates the refresh token and issues a valid access token",
    requirements=("RFC9700-2.2.2", "RFC9700-4.14", "HIPAA-164.312(d)"),
    risk="A non-rotating refresh token stolen once stays valid for the whole session.",
    remediation="Realm: revokeRefreshToken true, refreshTokenMaxReuse 0.",
    claims=("realm.revokeRefreshToken",),
)
def test_refresh_rotates_and_issues_a_valid_token(
    rotation: tuple[oauth.CodeGrant, requests.Response],
    endpoints: oauth.Endpoints,
    jwks_client: PyJWKClient,
    expect: Callable[..., oauth.TokenExpectations],
) -> None:
    grant, refreshed = rotation
    assert refreshed.status_code == 200, (
        f"{endpoints.token}: smoke-web's refresh refused ({oauth.oauth_error(refreshed)})"
    )
    assert refreshed.json()["refresh_token"] != grant.tokens["refresh_token"], (
        f"{endpoints.token}: smoke-web's refresh token was not rotated"
    )
    expectations = expect("smoke-web", scopes=frozenset({"patient/Patient.rs"}))
    oauth.validate_token(refreshed.json()["access_token"], jwks_client, expectations)
