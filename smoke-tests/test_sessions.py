"""Session, refresh, offline and device-code lifetimes, as Keycloak states them in what it issues.

The automatic logoff (HIPAA 164.312(a)(2)(iii)) shows in every refresh token (its `exp`, and
`refresh_expires_in`) and in the SSO cookie Keycloak hands the browser (the identity token's
`exp`); offline tokens show their idle limit the same way; a device authorization response states
its code's lifetime and polling interval. Limits come from realm-config, never the live realm.
"""

from __future__ import annotations

from collections.abc import Callable

import jwt
import pytest
import requests

from idpkit.realm.loader import LoadedConfig
from idpkit.realm.model import RealmSettings
from idpkit.smoke import oauth
from idpkit.smoke.checks import check
from idpkit.smoke.codified import expected

SSO_COOKIE = "KEYCLOAK_IDENTITY"
CLIENT = "smoke-web"
OFFLINE_CLIENT = "smoke-spa"
DEVICE_CLIENT = "smoke-device"


def _limit(*values: int | None) -> int:
    """The tightest of the codified limits that are set (0 or None: not set, the other applies)."""
    set_values = [value for value in values if value]
    assert set_values, "realm-config codifies none of the limits this check compares with"
    return min(set_values)


@check(
    "SMOKE-SESSION-001",
    "Refresh tokens expire with the codified session idle timeout (automatic logoff)",
    requirements=("HIPAA-164.312(a)(2)(iii)", "RFC9700-4.14"),
    risk="A session that survives longer idle periods keeps PHI open on an unattended clinical workstation.",
    remediation="realm.ssoSessionIdleTimeout <= 900 (and clientSessionIdleTimeout no longer).",
    claims=("realm.ssoSessionIdleTimeout", "realm.clientSessionIdleTimeout"),
)
def test_refresh_token_expires_with_the_idle_timeout(
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    realm_settings: RealmSettings,
) -> None:
    tokens = oauth.sign_in(new_user_agent(), endpoints, clients[CLIENT], "openid").tokens
    limit = _limit(realm_settings.sso_session_idle_timeout, realm_settings.client_session_idle_timeout)
    refresh = oauth.unverified_claims(tokens["refresh_token"])
    assert refresh["exp"] - refresh["iat"] <= limit, (
        f"{CLIENT}: refresh token lives {refresh['exp'] - refresh['iat']} s; the session idle timeout is {limit} s"
    )
    assert 0 < tokens["refresh_expires_in"] <= limit, (
        f"{CLIENT}: refresh_expires_in {tokens['refresh_expires_in']} s; the session idle timeout is {limit} s"
    )


@check(
    "SMOKE-SESSION-002",
    "The SSO session the browser holds ends at the codified maximum session lifetime",
    requirements=("HIPAA-164.312(a)(2)(iii)",),
    risk="An SSO session without an absolute end lets an active browser stay signed in past a clinical shift.",
    remediation="realm.ssoSessionMaxLifespan <= 43200 (and clientSessionMaxLifespan no longer).",
    claims=("realm.ssoSessionMaxLifespan", "realm.clientSessionMaxLifespan"),
)
def test_sso_session_ends_at_the_maximum_lifetime(
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    realm_settings: RealmSettings,
) -> None:
    agent = new_user_agent()
    oauth.sign_in(agent, endpoints, clients[CLIENT], "openid")
    cookie = next((c.value for c in agent.session.cookies if c.name == SSO_COOKIE and c.value), None)
    assert cookie, f"{endpoints.authorization}: no {SSO_COOKIE} cookie after {CLIENT}'s login"
    identity = jwt.decode(cookie, options={"verify_signature": False})
    limit = _limit(realm_settings.sso_session_max_lifespan, realm_settings.client_session_max_lifespan)
    assert "exp" in identity and identity["exp"] - identity["iat"] <= limit, (
        f"{SSO_COOKIE}: the SSO session lasts {identity.get('exp', 0) - identity['iat']} s (no exp: forever); "
        f"realm-config's maximum is {limit} s"
    )


@check(
    "SMOKE-OFFLINE-002",
    "Offline tokens expire: within the codified offline idle timeout, capped when the cap is on",
    requirements=("RFC9700-4.14", "HIPAA-164.312(a)(2)(iii)"),
    risk="An offline token without expiry stays a standing credential for PHI until someone revokes it by hand.",
    remediation="realm.offlineSessionMaxLifespanEnabled true; offlineSessionIdleTimeout as codified.",
    claims=(
        "realm.offlineSessionIdleTimeout",
        "realm.offlineSessionMaxLifespanEnabled",
        "realm.clientOfflineSessionIdleTimeout",
        'clients[*].attributes["client.offline.session.idle.timeout"]',
    ),
)
def test_offline_token_expires(
    new_user_agent: Callable[[], oauth.UserAgent],
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    realm_settings: RealmSettings,
    realm_config: LoadedConfig,
) -> None:
    client = OFFLINE_CLIENT
    tokens = oauth.sign_in(new_user_agent(), endpoints, clients[client], "openid offline_access").tokens
    offline = oauth.unverified_claims(tokens["refresh_token"])
    assert offline.get("typ") == "Offline", f"control: {client} asked for offline_access and got {offline.get('typ')}"
    capped = (
        realm_settings.offline_session_max_lifespan if realm_settings.offline_session_max_lifespan_enabled else None
    )
    overrides = (
        expected(realm_config, "realm.clientOfflineSessionIdleTimeout"),
        expected(realm_config, f'clients[{client}].attributes["client.offline.session.idle.timeout"]'),
    )
    limit = _limit(realm_settings.offline_session_idle_timeout, capped, *(int(o) for o in overrides if o))
    assert "exp" in offline and offline["exp"] - offline["iat"] <= limit, (
        f"{client}: offline token lives {offline.get('exp', 0) - offline['iat']} s (no exp: forever); "
        f"realm-config allows {limit} s"
    )
    assert 0 < tokens["refresh_expires_in"] <= limit, (
        f"{client}: offline refresh_expires_in {tokens['refresh_expires_in']} (0: never); realm-config allows {limit} s"
    )


@check(
    "SMOKE-DEVICE-002",
    "A device code lives no longer, and may be polled no faster, than realm-config says",
    requirements=("RFC9700-2.1.1", "HIPAA-164.312(d)"),
    risk="A long-lived device code gives whoever reads it off a bedside screen a long window to approve it "
    "as someone else; fast polling turns the token endpoint into a guessing oracle.",
    remediation="realm.oauth2DeviceCodeLifespan <= 300 and oauth2DevicePollingInterval >= 5.",
    claims=(
        "realm.oauth2DeviceCodeLifespan",
        "realm.oauth2DevicePollingInterval",
        'clients[*].attributes["oauth2.device.code.lifespan"]',
    ),
)
@pytest.mark.usefixtures("smoke_credentials")  # smoke-device exists only where its credentials do
def test_device_code_lifetime_and_polling_interval(
    endpoints: oauth.Endpoints, http: requests.Session, realm_settings: RealmSettings, realm_config: LoadedConfig
) -> None:
    client = DEVICE_CLIENT
    pkce = oauth.Pkce.generate()
    response = http.post(
        endpoints.device_authorization, data={"client_id": client, "scope": "openid"} | pkce.authorization_params,
        timeout=15,
    )  # fmt: skip
    assert response.status_code == 200, f"{endpoints.device_authorization}: {client} refused ({response.status_code})"
    device = response.json()
    override = expected(realm_config, f'clients[{client}].attributes["oauth2.device.code.lifespan"]')
    lifespan = int(override) if override else realm_settings.oauth2_device_code_lifespan
    interval = realm_settings.oauth2_device_polling_interval
    assert lifespan and interval, "realm-config codifies no device code lifespan or polling interval"
    assert device["expires_in"] <= lifespan, f"{client}: device code lives {device['expires_in']} s, not <= {lifespan}"
    assert device.get("interval", 0) >= interval, (
        f"{client}: device may poll every {device.get('interval')} s; realm-config says at least {interval} s"
    )
