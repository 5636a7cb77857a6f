"""offline_access (RFC 9700 §4.14): granted only when asked for, and only to clients allowed to ask.

Cases: each code-flow smoke client, asking and not asking, expected from its codified scopes; and a
client registered at run time with nothing but the realm's defaults for clients created later,
which must neither receive offline tokens unasked nor be allowed to ask.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from idpkit.realm import loader
from idpkit.realm.loader import LoadedConfig
from idpkit.smoke import oauth
from idpkit.smoke.checks import check, claims
from idpkit.smoke.identities import Grant, SmokeClient, smoke_clients
from idpkit.smoke.throwaway import Throwaway

OFFLINE = "offline_access"
RUNTIME = "runtime-client"
REDIRECT = "https://192.0.2.10/callback"


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "subject" not in metafunc.fixturenames:
        return
    loaded = loader.load(metafunc.config.getoption("--stack"))
    code_clients = [c.client_id for c in smoke_clients(loaded) if c.grant is Grant.CODE]
    cases = []
    for subject in [*code_clients, RUNTIME]:
        settings = (
            ("realm.defaultDefaultClientScopes", "realm.defaultOptionalClientScopes")
            if subject == RUNTIME
            else (f"clients[{subject}].defaultClientScopes", f"clients[{subject}].optionalClientScopes")
        )
        cases += [
            pytest.param(subject, asked, id=f"{subject}-{'asking' if asked else 'not-asking'}", marks=claims(*settings))
            for asked in (False, True)
        ]
    metafunc.parametrize(("subject", "asked"), cases)


def _allowed(realm_config: LoadedConfig, client: SmokeClient | None) -> tuple[bool, bool]:
    """(granted unasked, may ask) as realm-config codifies it."""
    if client is None:
        realm = realm_config.document.realm
        assert realm is not None, f"realm-config for {realm_config.environment}: no realm settings"
        default, optional = (realm.default_default_client_scopes or []), (realm.default_optional_client_scopes or [])
    else:
        default = client.declared.default_client_scopes or []
        optional = client.declared.optional_client_scopes or []
    return OFFLINE in default, OFFLINE in (*default, *optional)


@check(
    "SMOKE-OFFLINE-001",
    "offline_access is granted only when asked for, and only to clients allowed to ask (later clients never)",
    requirements=("RFC9700-4.14", "HIPAA-164.312(a)(1)"),
    risk="Offline tokens outlive the SSO session and the automatic logoff: every client holding one unasked, or any "
    "client added later, keeps standing access to PHI.",
    remediation="Keep offline_access out of realm.defaultDefaultClientScopes/defaultOptionalClientScopes and out "
    "of every client's default scopes; list it as optional only where offline use is approved.",
    claims=(
        "clients[*].defaultClientScopes",
        "clients[*].optionalClientScopes",
        "realm.defaultDefaultClientScopes",
        "realm.defaultOptionalClientScopes",
    ),
)
def test_offline_access_only_when_asked_and_allowed(
    subject: str,
    asked: bool,
    request: pytest.FixtureRequest,
    realm_config: LoadedConfig,
    endpoints: oauth.Endpoints,
    tls_verify: str | bool,
    new_user_agent: Callable[[], oauth.UserAgent],
    smoke_identities: dict[str, SmokeClient],
) -> None:
    granted_unasked, may_ask = _allowed(realm_config, smoke_identities.get(subject))
    if subject == RUNTIME:
        runtime: Throwaway = request.getfixturevalue("runtime")
        registration = runtime.register("offline", {
            "publicClient": True, "standardFlowEnabled": True, "implicitFlowEnabled": False,
            "directAccessGrantsEnabled": False, "serviceAccountsEnabled": False, "redirectUris": [REDIRECT],
        })  # fmt: skip
        assert registration.accepted, f"control: a plain runtime client was refused ({registration.refusal})"
        user = runtime.user("offline")
        agent, client = (
            oauth.UserAgent(tls_verify, user.username, user.password, user.codes),
            oauth.Client.public(registration.client_id, REDIRECT),
        )
    else:
        agent, client = new_user_agent(), request.getfixturevalue("clients")[subject]
    scope = f"openid {OFFLINE}" if asked else "openid"
    params = oauth.authorization_params(
        client.client_id, client.redirect_uri or "", scope, pkce := oauth.Pkce.generate()
    )
    authorization = agent.authorize(endpoints, client, params)
    if asked and not may_ask:
        assert oauth.refused_with(authorization, oauth.SCOPE_REFUSALS), (
            f"{endpoints.authorization}: {client.client_id} may not ask for {OFFLINE} but got error "
            f"{authorization.error!r} (a code: {authorization.code is not None})"
        )
        return
    assert authorization.code, f"control: {client.client_id} got no code ({authorization.error})"
    data = {"grant_type": "authorization_code", "code": authorization.code, "redirect_uri": client.redirect_uri or "",
            "code_verifier": pkce.verifier}  # fmt: skip
    response = oauth.token_request(endpoints, client, data, verify=tls_verify)
    assert response.status_code == 200, f"control: {client.client_id}'s code redemption refused"
    offline = oauth.unverified_claims(response.json()["refresh_token"]).get("typ") == "Offline"
    expected = asked or granted_unasked
    assert offline == expected, (
        f"{endpoints.token}: {client.client_id} {'asking' if asked else 'not asking'} for {OFFLINE} got "
        f"{'an offline' if offline else 'a session'} refresh token; realm-config says "
        f"{'offline' if expected else 'not offline'}"
    )
