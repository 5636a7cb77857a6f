"""Multi-factor authentication for every person (HIPAA 164.312(d), NIST 800-63B AAL2), observed through the
browser login of users created at run time: a password alone never finishes a login, a person without a
second factor enrols one before the login finishes, a TOTP code completes it and the token carries the
level reached (`acr`), and a code accepted once, or made minutes ago, is refused.
"""

from __future__ import annotations

import pytest

from idpkit.keycloak_admin import urls
from idpkit.realm.loader import LoadedConfig
from idpkit.realm.model import RealmSettings
from idpkit.realm.rules.step_up import MINIMUM_ACR
from idpkit.smoke import browser, codified, oauth
from idpkit.smoke.checks import check, claims
from idpkit.smoke.enrolment import enrol_totp
from idpkit.smoke.throwaway import SecondFactor, Throwaway, User

CLIENT = "smoke-spa"
SCOPE = "openid patient/Observation.rs"
FIRST_LEVEL = 1
"""The level every browser login reaches: password and a second factor (realm.acrLoaMap)."""
PHISHING_RESISTANT_LEVEL = 2
"""The level a passkey (WebAuthn with user verification) adds to it."""
_BROWSER_FLOW = ("realm.browserFlow",)
_STEPS = ("authenticationFlows[*].executions[*].requirement",)
"""The flows' steps: each one whose switching off the flow rules find weaker is a mutant (idpkit.smoke.mutants)."""
_LEVEL_CONDITION = "authenticationFlows[*].executions[conditional-level-of-authentication].config.loa-condition-level"
_ENROLMENT_CONDITION = "authenticationFlows[*].executions[conditional-sub-flow-executed].config.*"
_LEVELS = ("realm.acrLoaMap*", *_BROWSER_FLOW, *_STEPS, _LEVEL_CONDITION)
_CLIENT_LEVELS = 'clients[*].attributes["acr.loa.map"]'
"""A client's own acr map, which replaces the realm's for its logins (held empty)."""
RUNTIME_REDIRECT = "https://192.0.2.10/callback"
"""A documentation address (RFC 5737) for clients registered at run time: the code is read from the redirect."""


def _authorize(agent: oauth.UserAgent, endpoints: oauth.Endpoints, client: oauth.Client) -> oauth.AuthorizationResponse:
    params = oauth.authorization_params(CLIENT, client.redirect_uri or "", SCOPE, oauth.Pkce.generate())
    return agent.authorize(endpoints, client, params)


def _acr_of(level: int, settings: RealmSettings) -> str:
    names = [acr for acr, mapped in (settings.acr_loa_map or {}).items() if mapped == level]
    assert names, f"realm-config: realm.acrLoaMap names no acr for level {level}"
    return names[0]


@check(
    "SMOKE-MFA-001",
    "A password alone never finishes a login: the IdP asks for a second factor, or for one to be enrolled",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-4.2.1"),
    risk="A phished or guessed password alone opens a session with access to PHI.",
    remediation="Bind realm.browserFlow to the kit's MFA flow (realm-config/base/authentication.yaml), whose "
    "second-factor step is REQUIRED, with CONFIGURE_TOTP enabled for enrolment.",
    claims=(*_BROWSER_FLOW, *_STEPS, "requiredActions[*].enabled"),
)
@pytest.mark.parametrize(
    "enrolled",
    [
        pytest.param(True, id="with-a-second-factor", marks=claims(*_BROWSER_FLOW, *_STEPS)),
        pytest.param(False, id="before-enrolment", marks=claims(*_BROWSER_FLOW, *_STEPS, "requiredActions[*].enabled")),
    ],
)
def test_password_alone_does_not_finish_a_login(
    enrolled: bool,
    runtime: Throwaway,
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    tls_verify: str | bool,
) -> None:
    user = runtime.user("password-only", second_factor=enrolled)
    ended = _authorize(oauth.UserAgent(tls_verify, user.username, user.password), endpoints, clients[CLIENT])
    assert ended.code is None, (
        f"{endpoints.authorization}: {user.username} ({'with' if enrolled else 'without'} a second factor) got an "
        "authorization code with a password alone; realm.browserFlow must require a second factor"
    )
    asked = ended.asks_for_one_time_code if enrolled else oauth.TOTP_ENROLMENT_PAGE in ended.page
    assert asked, (
        f"{endpoints.authorization}: {user.username} was not asked for "
        f"{'a one-time code' if enrolled else 'to enrol a second factor'} after the password "
        f"(status {ended.status}, redirected {ended.redirected})"
    )


@check(
    "SMOKE-MFA-002",
    "A person without a second factor enrols TOTP on first login, and the login then finishes at the MFA level",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-6.1"),
    risk="Without enrolment as a required action, accounts are provisioned without a second factor, or an "
    "administrator sets factors on people's behalf.",
    remediation="Keep requiredActions CONFIGURE_TOTP enabled; the second-factor sub-flow asks for it when a "
    "person has none.",
    claims=("requiredActions[*].enabled", "realm.otpPolicy*", "realm.acrLoaMap*", *_STEPS, _ENROLMENT_CONDITION),
)
def test_first_login_enrols_a_second_factor(
    runtime: Throwaway,
    second_factor: SecondFactor,
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    tls_verify: str | bool,
    realm_settings: RealmSettings,
) -> None:
    user = runtime.user("enrolment", second_factor=False)
    agent = oauth.UserAgent(tls_verify, user.username, user.password)
    asked = _authorize(agent, endpoints, clients[CLIENT])
    assert oauth.TOTP_ENROLMENT_PAGE in asked.page, f"{endpoints.authorization}: {user.username} was not asked to enrol"
    enrolled, codes = enrol_totp(agent, asked, second_factor)
    assert enrolled.code is not None, (
        f"{endpoints.authorization}: {user.username}'s TOTP enrolment with a code of the realm's OTP policy did not "
        f"finish the login (status {enrolled.status}, error {enrolled.error!r})"
    )
    again = oauth.UserAgent(tls_verify, user.username, user.password, codes)
    grant = oauth.sign_in(again, endpoints, clients[CLIENT], SCOPE)
    acr = oauth.unverified_claims(grant.tokens["access_token"]).get("acr")
    assert acr == _acr_of(FIRST_LEVEL, realm_settings), (
        f"token endpoint: {user.username}'s token after a login with the enrolled TOTP carries acr {acr!r}"
    )


@check(
    "SMOKE-MFA-003",
    "Password and TOTP code finish a login; the tokens carry the level of authentication reached (acr)",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-4.2.1", "RFC9470"),
    risk="A second factor that does not work pushes operators to switch it off; a token without acr lets no API "
    "tell an MFA login from a weaker one.",
    remediation="Keep the realm's OTP policy (realm.otpPolicy*), its acr map (realm.acrLoaMap) and the `acr` "
    "client scope on browser clients.",
    claims=("realm.otpPolicy*", "realm.acrLoaMap*", *_BROWSER_FLOW, *_STEPS, _LEVEL_CONDITION),
)
def test_totp_login_finishes_and_tokens_carry_acr(
    runtime: Throwaway,
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    tls_verify: str | bool,
    realm_settings: RealmSettings,
) -> None:
    user = runtime.user("totp-login")
    grant = oauth.sign_in(
        oauth.UserAgent(tls_verify, user.username, user.password, user.codes), endpoints, clients[CLIENT], SCOPE
    )
    wanted = _acr_of(FIRST_LEVEL, realm_settings)
    for kind in ("access_token", "id_token"):
        acr = oauth.unverified_claims(grant.tokens[kind]).get("acr")
        assert acr == wanted, f"token endpoint: {user.username}'s {kind} after password and TOTP has acr {acr!r}"


@check(
    "SMOKE-MFA-004",
    "A TOTP code accepted once is refused when replayed, even within its period",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-5.1.4.2"),
    risk="A code observed over a shoulder, by a phishing proxy or in a log can be replayed within its period.",
    remediation="realm.otpPolicyCodeReusable: false (its secure default).",
    claims=("realm.otpPolicyCodeReusable",),
)
def test_replayed_totp_code_is_refused(
    runtime: Throwaway, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client], tls_verify: str | bool
) -> None:
    user: User = runtime.user("totp-replay")
    first = oauth.UserAgent(tls_verify, user.username, user.password, user.codes)
    assert _authorize(first, endpoints, clients[CLIENT]).code is not None, f"control: {user.username} cannot log in"
    replayed = oauth.FixedCode(first.codes_sent[-1])
    ended = _authorize(oauth.UserAgent(tls_verify, user.username, user.password, replayed), endpoints, clients[CLIENT])
    assert ended.code is None and ended.asks_for_one_time_code, (
        f"{endpoints.authorization}: {user.username} logged in again with a TOTP code already used "
        f"(status {ended.status}); realm.otpPolicyCodeReusable must be false"
    )


@check(
    "SMOKE-MFA-010",
    "A TOTP code from outside the realm's look-ahead window (one made minutes ago) is refused",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-5.1.4.2"),
    risk="A wide window accepts codes minutes old or minutes ahead: a code read over a shoulder, phished or found in "
    "a log stays good long after its period.",
    remediation="realm.otpPolicyLookAheadWindow: 1 (one period of clock skew either way; REALM-OTP-001).",
    claims=("realm.otpPolicyLookAheadWindow",),
)
def test_code_outside_the_look_ahead_window_is_refused(
    runtime: Throwaway, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client], tls_verify: str | bool
) -> None:
    user: User = runtime.user("totp-window")
    assert user.codes is not None, f"{user.username} has no TOTP credential"
    stale = oauth.FixedCode(user.codes.stale_code())
    ended = _authorize(oauth.UserAgent(tls_verify, user.username, user.password, stale), endpoints, clients[CLIENT])
    assert ended.code is None and ended.asks_for_one_time_code, (
        f"{endpoints.authorization}: {user.username} logged in with a code minutes old (status {ended.status}); "
        f"realm.otpPolicyLookAheadWindow accepts {user.codes.look_ahead} period(s) either way at most"
    )
    control = _authorize(oauth.UserAgent(tls_verify, user.username, user.password, user.codes), endpoints,
                         clients[CLIENT])  # fmt: skip
    assert control.code is not None, f"control: {user.username} cannot log in with a current code"


@check(
    "SMOKE-MFA-005",
    "A PHI-writing scope demands the phishing-resistant level: password and TOTP get no code for it",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-4.3.1"),
    risk="A phished password and one-time code would be enough to write into a patient's record.",
    remediation="Keep the browser flow's step-up sub-flow (conditional-client-scope on the PHI-writing scopes, "
    "then webauthn-authenticator) bound as realm.browserFlow.",
    claims=(*_BROWSER_FLOW, *_STEPS, "authenticationFlows[*].executions[conditional-client-scope].config.*"),
)
def test_phi_writing_scope_demands_a_webauthn_step_up(
    runtime: Throwaway, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client], realm_config: LoadedConfig,
    tls_verify: str | bool,
) -> None:  # fmt: skip
    scope, roles, client_id = codified.step_up_target(realm_config, clients)
    client = clients[client_id]
    user = runtime.user("step-up", realm_roles=roles)

    def authorize(requested: str) -> oauth.AuthorizationResponse:
        params = oauth.authorization_params(client_id, client.redirect_uri or "", requested, oauth.Pkce.generate())
        return oauth.UserAgent(tls_verify, user.username, user.password, user.codes).authorize(
            endpoints, client, params
        )

    control = authorize("openid")
    assert control.code is not None, f"control: {user.username} got no code without {scope} ({control.status})"
    stepped = authorize(f"openid {scope}")
    assert stepped.code is None, f"{endpoints.authorization}: password and TOTP got a code for {scope}"
    assert "webauthn" in stepped.page.lower(), (
        f"{endpoints.authorization}: the login for {scope} stopped, but not at a WebAuthn step ({stepped.status})"
    )


@check(
    "SMOKE-MFA-006",
    "In real Chromium, a person registers a passkey at the step-up a PHI-writing scope demands, and a later "
    "login with it reaches the phishing-resistant level",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-4.3.1", "RFC9470"),
    risk="A step-up no real browser can complete pushes operators to remove it; a passkey login that does not "
    "raise the level lets no API tell it from a phishable one.",
    remediation="Keep realm.browserFlow bound to the kit's flow (its WebAuthn step-up and level-2 sub-flow), "
    "webauthn-register enabled, and the phishing-resistant acr in realm.acrLoaMap.",
    claims=_BROWSER_FLOW,
)
def test_passkey_registered_and_used_in_chromium(
    runtime: Throwaway, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client], realm_config: LoadedConfig,
    realm_settings: RealmSettings, tls_verify: str | bool,
) -> None:  # fmt: skip
    scope, roles, client_id = codified.step_up_target(realm_config, clients)
    client = clients[client_id]
    user = runtime.user("passkey", realm_roles=roles)
    assert user.codes is not None and client.redirect_uri is not None
    strongest = _acr_of(PHISHING_RESISTANT_LEVEL, realm_settings)

    def tokens(login: browser.BrowserLogin, pkce: oauth.Pkce) -> dict[str, str]:
        code = login.redirect.params.get("code") if login.redirect else None
        assert code, (
            f"{endpoints.authorization}: {user.username}'s login in Chromium ended without a code "
            f"after {login.steps} ({login.page[:200]!r})"
        )
        data = {"grant_type": "authorization_code", "code": code, "redirect_uri": client.redirect_uri or "",
                "code_verifier": pkce.verifier}  # fmt: skip
        response = oauth.token_request(endpoints, client, data, verify=tls_verify)
        assert response.status_code == 200, f"token endpoint: {client_id}'s code exchange failed ({response.text})"
        issued: dict[str, str] = response.json()
        return issued

    with browser.Browser.launched(endpoints.issuer, client.redirect_uri) as chromium:
        pkce = oauth.Pkce.generate()
        params = oauth.authorization_params(client_id, client.redirect_uri, f"openid {scope}", pkce)
        url = oauth.pushed_authorization_url(endpoints, client, params, verify=tls_verify)
        first = browser.log_in(chromium, url, user.username, user.password, user.codes)
        tokens(first, pkce)
        assert "passkey registration" in first.steps, (
            f"{endpoints.authorization}: {user.username} asked for {scope} without a passkey and was never asked to "
            f"register one ({first.steps}); the WebAuthn step-up must stand between them and the scope"
        )
        assert len(chromium.credentials()) == 1, f"{user.username}: the passkey did not reach the authenticator"

        chromium.send("Network.clearBrowserCookies")
        pkce = oauth.Pkce.generate()
        params = oauth.authorization_params(client_id, client.redirect_uri, f"openid {scope}", pkce)
        url = oauth.pushed_authorization_url(endpoints, client, params | {"acr_values": strongest}, verify=tls_verify)
        again = browser.log_in(chromium, url, user.username, user.password, user.codes)
        issued = tokens(again, pkce)
    assert "passkey" in again.steps, (
        f"{endpoints.authorization}: {user.username}'s second login for {scope} at acr {strongest} finished "
        f"without using the passkey ({again.steps})"
    )
    for kind in ("access_token", "id_token"):
        acr = oauth.unverified_claims(issued[kind]).get("acr")
        assert acr == strongest, f"token endpoint: {user.username}'s {kind} after a passkey login has acr {acr!r}"


@check(
    "SMOKE-MFA-007",
    "An authenticator that cannot verify its user (no PIN, no biometric) registers no passkey",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-5.1.8.1"),
    risk="A passkey without user verification is a possession factor only: whoever holds a stolen security key "
    "passes the phishing-resistant step-up.",
    remediation="realm.webAuthnPolicyUserVerificationRequirement: required (REALM-WEBAUTHN-001).",
    claims=("realm.webAuthnPolicyUserVerificationRequirement",),
)
def test_authenticator_without_user_verification_registers_no_passkey(
    runtime: Throwaway, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client], realm_config: LoadedConfig,
    tls_verify: str | bool,
) -> None:  # fmt: skip
    scope, roles, client_id = codified.step_up_target(realm_config, clients)
    client = clients[client_id]
    user = runtime.user("no-user-verification", realm_roles=roles)
    assert user.codes is not None and client.redirect_uri is not None
    params = oauth.authorization_params(client_id, client.redirect_uri, f"openid {scope}", oauth.Pkce.generate())
    with browser.Browser.launched(endpoints.issuer, client.redirect_uri, browser.WITHOUT_USER_VERIFICATION) as chromium:
        url = oauth.pushed_authorization_url(endpoints, client, params, verify=tls_verify)
        login = browser.log_in(chromium, url, user.username, user.password, user.codes)
    assert "passkey registration" in login.steps, (
        f"control: {user.username} asked for {scope} was not asked to register a passkey ({login.steps})"
    )
    held = runtime.admin.get(runtime.admin.path(urls.USER_CREDENTIALS, id=user.id)) or []
    registered = [credential["type"] for credential in held if credential["type"].startswith("webauthn")]
    assert login.redirect is None and not registered, (
        f"{endpoints.authorization}: an authenticator without user verification registered a passkey for "
        f"{user.username} ({registered}) and the login {'finished' if login.redirect else 'stopped'}; "
        "realm.webAuthnPolicyUserVerificationRequirement must be required"
    )


def _stops_at_webauthn(ended: oauth.AuthorizationResponse) -> bool:
    return ended.code is None and "webauthn" in ended.page.lower()


@check(
    "SMOKE-MFA-008",
    "Asking for the phishing-resistant acr (acr_values) gets no code for a password and a TOTP code: the login "
    "stops at WebAuthn",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-4.3.1", "RFC9470"),
    risk="An API that demands the phishing-resistant level gets tokens claiming it from a phishable login.",
    remediation="Keep realm.acrLoaMap's levels distinct and the browser flow's level-2 sub-flow "
    "(conditional-level-of-authentication, then a REQUIRED webauthn-authenticator) enabled (REALM-ACR-001), and "
    'no acr map of a client\'s own (attributes["acr.loa.map"] held empty).',
    claims=(*_LEVELS, _CLIENT_LEVELS),
)
def test_phishing_resistant_acr_demands_webauthn(
    runtime: Throwaway, endpoints: oauth.Endpoints, clients: dict[str, oauth.Client], realm_settings: RealmSettings,
    tls_verify: str | bool,
) -> None:  # fmt: skip
    client = clients[CLIENT]
    user = runtime.user("acr-request")
    strongest = _acr_of(PHISHING_RESISTANT_LEVEL, realm_settings)

    def authorize(**extra: str) -> oauth.AuthorizationResponse:
        params = oauth.authorization_params(CLIENT, client.redirect_uri or "", SCOPE, oauth.Pkce.generate(), **extra)
        return oauth.UserAgent(tls_verify, user.username, user.password, user.codes).authorize(
            endpoints, client, params
        )

    control = authorize()
    assert control.code is not None, f"control: {user.username} got no code without acr_values ({control.status})"
    asked = authorize(acr_values=strongest)
    assert _stops_at_webauthn(asked), (
        f"{endpoints.authorization}: {user.username} asked acr {strongest} and "
        f"{'got a code' if asked.code else 'stopped, but not at WebAuthn'} with a password and a TOTP code "
        f"(status {asked.status})"
    )


@check(
    "SMOKE-MFA-009",
    "A client that requires the phishing-resistant level (minimum.acr.value) gets no code for a password and a "
    "TOTP code, though it asks for no level",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-4.3.1", "RFC9470"),
    risk="A clinical app that writes PHI cannot hold its users to a passkey; it depends on every request asking.",
    remediation="Set the client's minimum.acr.value attribute to an acr of realm.acrLoaMap (REALM-ACR-001); keep "
    "the level it names implemented by the browser flow.",
    claims=_LEVELS,
)
def test_client_minimum_acr_demands_webauthn(
    runtime: Throwaway, endpoints: oauth.Endpoints, realm_settings: RealmSettings, tls_verify: str | bool,
) -> None:  # fmt: skip
    user = runtime.user("acr-minimum")
    strongest = _acr_of(PHISHING_RESISTANT_LEVEL, realm_settings)

    def authorize(purpose: str, attributes: dict[str, str]) -> oauth.AuthorizationResponse:
        registration = runtime.register(purpose, {
            "publicClient": True, "standardFlowEnabled": True, "implicitFlowEnabled": False,
            "directAccessGrantsEnabled": False, "serviceAccountsEnabled": False, "redirectUris": [RUNTIME_REDIRECT],
            "attributes": {"pkce.code.challenge.method": "S256", **attributes},
        })  # fmt: skip
        assert registration.accepted, f"control: {purpose} client refused at registration ({registration.refusal})"
        client = oauth.Client.public(registration.client_id, RUNTIME_REDIRECT)
        params = oauth.authorization_params(client.client_id, RUNTIME_REDIRECT, "openid", oauth.Pkce.generate())
        return oauth.UserAgent(tls_verify, user.username, user.password, user.codes).authorize(
            endpoints, client, params
        )

    control = authorize("no-minimum", {})
    assert control.code is not None, f"control: {user.username} got no code from a client without a minimum"
    held = authorize("minimum-acr", {MINIMUM_ACR: strongest})
    assert _stops_at_webauthn(held), (
        f"{endpoints.authorization}: a client with {MINIMUM_ACR}={strongest} "
        f"{'got a code' if held.code else 'stopped, but not at WebAuthn'} for {user.username}'s password and TOTP "
        f"code (status {held.status})"
    )
