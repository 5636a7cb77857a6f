"""The master realm's own hardening: its settings (idpkit/realm/master_realm.py) and the kit's admin client.

The master realm is never served publicly (test_transport.py); here, on admin_url, the kit's admin
client obtains short-lived tokens through the client-credentials grant only, as `ADMIN_CLIENT`
codifies: its tokens live as long as codified, the password grant is refused, it logs in only with
an assertion signed by its own key (not with a client secret, not with another key), and its token
administers the PHI realm but none of master (users, clients, settings, its own roles) and cannot
impersonate. (It registers no redirect URI, so no browser flow can complete: those flags are config
reads, config_reads.py.) Master's users, clients and events are read as the break-glass account.

A person administering master is shown by a user created in master for one check and deleted after
it: a password alone signs it in neither on the command line nor in the console, a one-time code is
accepted once, wrong passwords lock it out, its failed login and its creation are recorded as events,
and its tokens and session live no longer than codified. Every number comes from the codified
settings (`master_settings`), never from the live realm.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from idpkit.keycloak_admin import ADMIN_REALM, AdminApi, assertion, urls
from idpkit.outputs import AdminCredentials, StackOutputs, load_admin_credentials
from idpkit.realm.bootstrap import ADMIN_CLIENT, ADMIN_CLIENT_ID
from idpkit.realm.loader import LoadedConfig
from idpkit.realm.master_authentication import BINDINGS
from idpkit.realm.master_realm import SHARED_WITH_PHI
from idpkit.realm.master_settings import MASTER_ADMIN, MASTER_ADMIN_ROLES, MASTER_REALM, master_settings
from idpkit.smoke import oauth
from idpkit.smoke.checks import check
from idpkit.smoke.enrolment import enrol_totp
from idpkit.smoke.events import find, latest
from idpkit.smoke.redaction import register_secret
from idpkit.smoke.throwaway import PREFIX as THROWAWAY
from idpkit.smoke.throwaway import SecondFactor, Throwaway, User, sweep

LIFESPAN = "access.token.lifespan"
PREFIX = f"master.clients[{ADMIN_CLIENT_ID}]"
# The client Keycloak ships in master for administrators' command-line logins (password grant).
ADMIN_CLI = "admin-cli"
# The client Keycloak ships in master for the admin console (a public client with PKCE).
ADMIN_CONSOLE = "security-admin-console"
# Keycloak's default quick-login window (not hardened in master): wrong passwords come slower than it, so the lock
# seen is the failure threshold's.
QUICK_LOGIN_CHECK_SECONDS = 1.0
# How long after the last wrong password the right one is tried: past a weakened wait, far inside the codified one.
RETRY_AFTER_SECONDS = 3.0
FORBIDDEN = 403


@pytest.fixture(scope="module")
def admin_credentials(outputs: StackOutputs, realm_admin: AdminApi) -> AdminCredentials:
    del realm_admin  # asked for its credential check (admin-api)
    found = load_admin_credentials(outputs)
    assert found.signs_assertions and found.client_id == ADMIN_CLIENT_ID, (
        f"admin credentials of {outputs.admin_url}: not the kit's key-authenticated service account "
        f"{ADMIN_CLIENT_ID}; run `idpkit realm apply` once to move onto it"
    )
    register_secret(found.private_key)
    return found


@pytest.fixture(scope="module")
def master(outputs: StackOutputs) -> str:
    return f"{outputs.admin_url.rstrip('/')}/realms/{ADMIN_REALM}/protocol/openid-connect"


@pytest.fixture(scope="module")
def master_issuer(outputs: StackOutputs) -> str:
    """The audience Keycloak accepts in master's client assertions."""
    return assertion.issuer(outputs.admin_url, ADMIN_REALM, outputs.admin_tls_verify)


def _token_request(master: str, outputs: StackOutputs, **form: str) -> requests.Response:
    data = {"grant_type": "client_credentials", **form}
    return requests.post(f"{master}/token", data=data, verify=outputs.admin_tls_verify, timeout=oauth.TIMEOUT)


def _kit_assertion(credentials: AdminCredentials, audience: str) -> dict[str, str]:
    return assertion.form(ADMIN_CLIENT_ID, credentials.private_key or "", credentials.key_id, audience)


@pytest.fixture(scope="module")
def kit_token(master: str, master_issuer: str, admin_credentials: AdminCredentials, outputs: StackOutputs) -> str:
    response = _token_request(master, outputs, **_kit_assertion(admin_credentials, master_issuer))
    assert response.status_code == 200, f"control: {master}/token refused {ADMIN_CLIENT_ID}'s own assertion"
    token = str(response.json()["access_token"])
    register_secret(token)
    return token


@check(
    "SMOKE-MASTER-001",
    "The kit's administration client gets access tokens no longer-lived than codified",
    requirements=("HIPAA-164.312(a)(1)", "RFC9700-2.3"),
    risk="A long-lived token of the realm administrator, once leaked, controls the identity provider for long.",
    remediation=f"Keep {LIFESPAN} of {ADMIN_CLIENT_ID} as idpkit/realm/bootstrap.py codifies it.",
    claims=(f'{PREFIX}.attributes["{LIFESPAN}"]',),
)
def test_admin_token_is_short_lived(kit_token: str, realm_config: LoadedConfig) -> None:
    limit = int(master_settings(realm_config)[f'{MASTER_ADMIN}.attributes["{LIFESPAN}"]'])
    access = oauth.unverified_claims(kit_token)
    assert access["exp"] - access["iat"] <= limit, (
        f"{ADMIN_CLIENT_ID}: admin token lives {access['exp'] - access['iat']} s; codified {limit} s"
    )


@check(
    "SMOKE-MASTER-002",
    "The kit's administration client cannot use the password grant",
    requirements=("HIPAA-164.312(a)(1)", "RFC9700-2.4"),
    risk="A realm administrator reachable through a password grant is open to password guessing and bypasses the "
    "service-account design.",
    remediation=f"Keep {ADMIN_CLIENT_ID}'s directAccessGrantsEnabled false (idpkit/realm/bootstrap.py).",
    claims=(f"{PREFIX}.directAccessGrantsEnabled",),
)
def test_admin_client_password_grant_is_refused(
    master: str, master_issuer: str, admin_credentials: AdminCredentials, outputs: StackOutputs
) -> None:
    assert ADMIN_CLIENT["directAccessGrantsEnabled"] is False, f"bootstrap.py: {ADMIN_CLIENT_ID} allows password grants"
    # No user's password is needed: a grant switched off is refused before any user is looked up.
    form = {"grant_type": "password", "username": "nobody", "password": "not-a-password", "scope": "openid"}
    response = _token_request(master, outputs, **_kit_assertion(admin_credentials, master_issuer), **form)
    assert oauth.oauth_error(response) == "unauthorized_client", (
        f"{master}/token: {ADMIN_CLIENT_ID}'s password grant got {oauth.oauth_error(response)!r}; "
        "it must be refused as unauthorized_client"
    )


@check(
    "SMOKE-MASTER-008",
    "The kit's administration client administers the PHI realm and cannot administer the master realm or create a "
    "realm",
    requirements=("HIPAA-164.312(a)(1)", "HIPAA-164.312(a)(2)(ii)"),
    risk="A leaked kit credential that can change master can create administrators, reset the break-glass "
    "password and take over every realm, and its own privileges could be raised by itself; one that can create "
    "realms administers every realm it creates, a foothold outside the managed realm's audit trail.",
    remediation=f"Take every role beyond the managed realm's admin roles and reading master from {ADMIN_CLIENT_ID}'s "
    "service account: `idpkit realm apply --break-glass` (runbooks/break-glass-admin-access.md).",
    claims=(MASTER_ADMIN_ROLES,),
)
def test_kit_admin_cannot_administer_master(kit_token: str, outputs: StackOutputs, master_admin: AdminApi) -> None:
    admin = f"{outputs.admin_url.rstrip('/')}/admin/realms"
    headers = {"Authorization": f"Bearer {kit_token}"}

    def call(method: str, path: str, body: Any = None) -> requests.Response:
        return requests.request(method, f"{admin}{path}", json=body, headers=headers, verify=outputs.admin_tls_verify,
                                timeout=oauth.TIMEOUT)  # fmt: skip

    control = call("GET", f"/{outputs.realm}")
    assert control.status_code == 200, f"control: {ADMIN_CLIENT_ID} cannot read realm {outputs.realm}"
    person = _someone_in(outputs.realm, call)
    admin_role = master_admin.get(master_admin.path(urls.ROLE, name="admin"))
    service_account = oauth.unverified_claims(kit_token)["sub"]
    # Not a throwaway name: the sweep deletes master's clients by that prefix, and a realm's admin client is not its.
    realm = f"kit-admin-probe-{secrets.token_hex(4)}"
    attempts = {
        "list master's users": call("GET", "/master/users?max=1"),
        "list master's clients": call("GET", "/master/clients?max=1"),
        "change master's settings": call("PUT", "/master", {"realm": ADMIN_REALM}),
        "create a master user": call(
            "POST", "/master/users", {"username": f"{THROWAWAY}kit-admin-{secrets.token_hex(4)}"}
        ),
        "grant itself master's admin role": call(
            "POST", f"/master/users/{service_account}/role-mappings/realm", [admin_role]
        ),
        f"impersonate a user of {outputs.realm}": call("POST", f"/{outputs.realm}/users/{person}/impersonation"),
        "create a realm": call("POST", "", {"realm": realm, "enabled": False}),
    }
    if attempts["create a realm"].ok:
        master_admin.drop_realm(realm)
    sweep(master_admin)  # a user the attempt above created, should it have succeeded
    allowed = {name: response.status_code for name, response in attempts.items() if response.status_code != FORBIDDEN}
    assert not allowed, f"{ADMIN_CLIENT_ID}: its token was not refused (403) to {allowed}"


def _someone_in(realm: str, call: Callable[[str, str], requests.Response]) -> str:
    """The id of a user of `realm`, read with the kit's token (the control that it administers the realm): a person,
    or where the realm has none (production) a machine client's service account."""
    people = call("GET", f"/{realm}/users?max=1&briefRepresentation=true")
    assert people.status_code == 200, f"control: {ADMIN_CLIENT_ID} cannot list the users of realm {realm}"
    if people.json():
        return str(people.json()[0]["id"])
    machines = [c for c in call("GET", f"/{realm}/clients").json() if c.get("serviceAccountsEnabled")]
    assert machines, f"control: realm {realm} has neither a user nor a service account to try impersonating"
    return str(call("GET", f"/{realm}/clients/{machines[0]['id']}/service-account-user").json()["id"])


@check(
    "SMOKE-MASTER-009",
    "The kit's administration client authenticates only with an assertion signed by its own key",
    requirements=("HIPAA-164.312(d)", "RFC9700-2.5"),
    risk="A client secret is a bearer credential: copied from a file, a log or a ticket it logs in anywhere; "
    "private_key_jwt proves possession of a key that never leaves the kit's credentials store.",
    remediation=f"Keep {ADMIN_CLIENT_ID}'s clientAuthenticatorType client-jwt (idpkit/realm/bootstrap.py); "
    "re-key it with `idpkit admin rotate-key` if the key may have leaked.",
    claims=(f"{PREFIX}.clientAuthenticatorType",),
)
def test_kit_admin_refuses_secrets_and_foreign_keys(
    master: str, master_issuer: str, kit_token: str, master_admin: AdminApi, outputs: StackOutputs
) -> None:
    del kit_token  # its own assertion logs in (the control)
    uuid = master_admin.get(master_admin.path(urls.CLIENTS), clientId=ADMIN_CLIENT_ID)[0]["id"]
    secret = (master_admin.get(master_admin.path(urls.CLIENT_SECRET, id=uuid)) or {}).get("value")
    if not secret:
        secret = master_admin.post(master_admin.path(urls.CLIENT_SECRET, id=uuid), None).json()["value"]
    register_secret(secret)
    with_secret = _token_request(master, outputs, client_id=ADMIN_CLIENT_ID, client_secret=secret)
    foreign_key = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    forged = AdminCredentials(client_id=ADMIN_CLIENT_ID, private_key=foreign_key.decode())
    with_foreign_key = _token_request(master, outputs, **_kit_assertion(forged, master_issuer))
    accepted = {
        name: response.status_code
        for name, response in (("its client secret", with_secret), ("another key's assertion", with_foreign_key))
        if response.status_code == 200
    }
    assert not accepted, f"{master}/token: {ADMIN_CLIENT_ID} got a token with {', '.join(accepted)}"


# --- a person administering master ------------------------------------------------------------------------------


@pytest.fixture
def administrators(master_admin: AdminApi, second_factor: SecondFactor) -> Iterator[Throwaway]:
    """Users of master created for one check (what an interrupted run left is swept first), deleted after it; each
    has a TOTP second factor made by the PHI realm's OTP policy, which master shares (`master_settings`)."""
    sweep(master_admin)
    created = Throwaway(master_admin, second_factor)
    yield created
    created.cleanup()


@pytest.fixture
def codified(realm_config: LoadedConfig) -> dict[str, Any]:
    """Master realm field -> its codified value."""
    prefix = f"{MASTER_REALM}."
    return {p.removeprefix(prefix): v for p, v in master_settings(realm_config).items() if p.startswith(prefix)}


def _password_grant(
    master: str, user: User, password: str, outputs: StackOutputs, code: str | None = None
) -> requests.Response:
    data = {"grant_type": "password", "client_id": ADMIN_CLI, "username": user.username, "password": password}
    if code is not None:
        data["totp"] = code  # how Keycloak's direct-grant flow takes a one-time code
    return requests.post(f"{master}/token", data=data, verify=outputs.admin_tls_verify, timeout=oauth.TIMEOUT)


def _next_code(user: User) -> str:
    assert user.codes is not None, f"{user.username}: created without a second factor"
    return user.codes.next_code()


def _signed_in(master: str, user: User, outputs: StackOutputs, code: str | None = None) -> dict[str, Any]:
    response = _password_grant(master, user, user.password, outputs, code or _next_code(user))
    assert response.status_code == 200, (
        f"control: {master}/token refused {user.username}'s right password and one-time code through {ADMIN_CLI} "
        f"({response.status_code} {oauth.oauth_error(response)})"
    )
    tokens: dict[str, Any] = response.json()
    return tokens


def _console_agent(outputs: StackOutputs, user: User) -> oauth.UserAgent:
    """A browser on the admin URL. Master's login pages and redirects name the public hostname, where the front door
    never serves master; a person reaches them through the admin URL (on AWS the Session Manager port forward), so
    the agent sends every request for the public origin there. The console's redirect URI is on the admin URL, so
    the walk ends on reaching it, as on any client's."""
    public, admin = oauth.origin(outputs.base_url), oauth.origin(outputs.admin_url)
    return oauth.UserAgent(outputs.admin_tls_verify, user.username, user.password, reached_at={public: admin})


def _console_login(agent: oauth.UserAgent, outputs: StackOutputs) -> oauth.AuthorizationResponse:
    """The admin console's login by `agent`: where Keycloak stops, or where it sends the authorization code."""
    console = f"{outputs.admin_url.rstrip('/')}/admin/{ADMIN_REALM}/console/"
    pkce = oauth.Pkce.generate()
    params = {"client_id": ADMIN_CONSOLE, "redirect_uri": console, "response_type": "code", "scope": "openid",
              "state": secrets.token_urlsafe(8), **pkce.authorization_params}  # fmt: skip
    # Named on the public origin, as Keycloak names its own pages: the walk follows that origin's redirects.
    authorization = f"{oauth.origin(outputs.base_url)}/realms/{ADMIN_REALM}/protocol/openid-connect/auth"
    return agent.authorize_unpushed(authorization, params)


@check(
    "SMOKE-MASTER-010",
    "A master administrator's password alone signs in neither on the command line nor in the admin console",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-4.2.1"),
    risk="One phished or guessed password of a person who administers master takes over every realm and its PHI.",
    remediation="Keep master's browserFlow and directGrantFlow bound to the kit's flows and its OTP policy as the "
    "PHI realm's: `idpkit realm apply --break-glass` (idpkit/realm/master_authentication.py).",
    claims=tuple(
        f"{MASTER_REALM}.{name}" for name in (*BINDINGS, *(n for n in SHARED_WITH_PHI if n.startswith("otpPolicy")))
    ),
)
def test_master_password_alone_never_signs_in(
    master: str, administrators: Throwaway, second_factor: SecondFactor, outputs: StackOutputs
) -> None:
    enrolled = administrators.user("master-mfa")
    _signed_in(master, enrolled, outputs)  # control: a password and a code do sign a person in
    newcomer = administrators.user("master-no-factor", second_factor=False)
    command_line = _password_grant(master, newcomer, newcomer.password, outputs)
    assert command_line.status_code != 200, (
        f"{master}/token: {newcomer.username}, who has no second factor, got a token with a password alone"
    )
    password_only = _password_grant(master, enrolled, enrolled.password, outputs)
    assert password_only.status_code != 200, f"{master}/token: {enrolled.username} signed in without a one-time code"
    agent = _console_agent(outputs, newcomer)
    console = _console_login(agent, outputs)
    assert console.code is None and oauth.TOTP_ENROLMENT_PAGE in console.page, (
        f"realm master: {newcomer.username}'s console login with a password alone "
        + (f"reached {console.location}" if console.redirected else "did not stop at enrolling a one-time code")
    )
    enrolled_now, _codes = enrol_totp(agent, console, second_factor)
    assert enrolled_now.code is not None, (
        f"realm master: {newcomer.username}'s TOTP enrolment with a code of the codified OTP policy did not finish "
        f"the console login (status {enrolled_now.status}, error {enrolled_now.error!r})"
    )


@check(
    "SMOKE-MASTER-011",
    "A master administrator's one-time code signs in once; presented again it is refused",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-5.1.4.2"),
    risk="A code seen over a shoulder or in a proxy log signs an attacker in within its period.",
    remediation="Keep master's otpPolicyCodeReusable false (idpkit/realm/master_realm.py).",
    claims=(f"{MASTER_REALM}.otpPolicyCodeReusable",),
)
def test_master_code_is_accepted_once(master: str, administrators: Throwaway, outputs: StackOutputs) -> None:
    user = administrators.user("master-code-replay")
    code = _next_code(user)
    _signed_in(master, user, outputs, code)
    replayed = _password_grant(master, user, user.password, outputs, code)
    assert replayed.status_code != 200, f"{master}/token: {user.username}'s one-time code signed it in twice"


@check(
    "SMOKE-MASTER-012",
    "A master administrator's one-time code from outside the look-ahead window (made minutes ago) is refused",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-5.1.4.2"),
    risk="A wide window keeps a code read over a shoulder or in a proxy log good for minutes after its period.",
    remediation="Keep master's otpPolicyLookAheadWindow as the PHI realm's (realm-config base/authentication.yaml; "
    "idpkit/realm/master_realm.py): `idpkit realm apply --break-glass`.",
    claims=(f"{MASTER_REALM}.otpPolicyLookAheadWindow",),
)
def test_master_stale_code_is_refused(master: str, administrators: Throwaway, outputs: StackOutputs) -> None:
    user = administrators.user("master-stale-code")
    assert user.codes is not None, f"{user.username}: created without a second factor"
    stale = _password_grant(master, user, user.password, outputs, user.codes.stale_code())
    assert stale.status_code != 200, f"{master}/token: {user.username} signed in with a one-time code minutes old"
    _signed_in(master, user, outputs)  # control: a current code signs it in


@check(
    "SMOKE-MASTER-003",
    "The codified number of wrong passwords locks a master administrator out, for longer than a moment",
    requirements=("HIPAA-164.312(d)", "HIPAA-164.312(a)(1)", "NIST-800-63B-5.1.1"),
    risk="Unlimited password guessing against the accounts that administer the whole identity provider.",
    remediation="Keep master's bruteForceProtected, failureFactor and waitIncrementSeconds as the PHI realm "
    "codifies them (realm-config base/realm.yaml; idpkit/realm/master_realm.py); re-run `idpkit realm apply`.",
    claims=tuple(f"{MASTER_REALM}.{name}" for name in ("bruteForceProtected", "failureFactor", "waitIncrementSeconds")),
)
def test_wrong_passwords_lock_a_master_user(
    master: str, administrators: Throwaway, codified: dict[str, Any], outputs: StackOutputs
) -> None:
    failures = int(codified["failureFactor"])
    assert codified["bruteForceProtected"] and failures, "master: no brute-force protection codified"
    assert int(codified["waitIncrementSeconds"]) > RETRY_AFTER_SECONDS, "master: the codified wait is too short to see"
    user = administrators.user("master-lockout")
    _signed_in(master, user, outputs)
    last = 0.0
    for _ in range(failures):
        time.sleep(max(0.0, last + QUICK_LOGIN_CHECK_SECONDS + 0.2 - time.monotonic()))
        wrong = _password_grant(master, user, secrets.token_urlsafe(16), outputs)
        last = time.monotonic()
        assert wrong.status_code != 200, f"{master}/token: a wrong password signed {user.username} in"
    time.sleep(max(0.0, last + RETRY_AFTER_SECONDS - time.monotonic()))
    locked = _password_grant(master, user, user.password, outputs, _next_code(user))
    assert locked.status_code != 200, (
        f"{master}/token: {user.username} signs in with the right password {RETRY_AFTER_SECONDS:.0f} s after "
        f"{failures} wrong ones; master must lock it for {codified['waitIncrementSeconds']} s"
    )


@check(
    "SMOKE-MASTER-004",
    "A failed login to the master realm is recorded as a LOGIN_ERROR event of master",
    requirements=("HIPAA-164.312(b)", "HIPAA-164.312(d)"),
    risk="Password guessing against the identity provider's administrators leaves no trace to investigate.",
    remediation="Keep master's eventsEnabled and enabledEventTypes as the PHI realm codifies them "
    "(realm-config base/events.yaml; idpkit/realm/master_realm.py).",
    claims=(f"{MASTER_REALM}.eventsEnabled", f"{MASTER_REALM}.enabledEventTypes"),
)
def test_failed_master_login_is_recorded(
    master: str, administrators: Throwaway, master_admin: AdminApi, outputs: StackOutputs
) -> None:
    user = administrators.user("master-login-error")
    since = latest(master_admin, urls.EVENTS, type="LOGIN_ERROR")
    refused = _password_grant(master, user, secrets.token_urlsafe(16), outputs)
    assert refused.status_code != 200, f"{master}/token: a wrong password signed {user.username} in"
    event = find(master_admin, urls.EVENTS, since, lambda e: e.get("userId") == user.id, type="LOGIN_ERROR")
    assert event is not None, f"realm master: no LOGIN_ERROR event for {user.username}'s wrong password"


@check(
    "SMOKE-MASTER-005",
    "An administrator's change in master is recorded as a master admin event, with the representation sent",
    requirements=("HIPAA-164.312(b)",),
    risk="Administrators created or changed in master (who can do anything) leave no trace of who did what.",
    remediation="Keep master's adminEventsEnabled and adminEventsDetailsEnabled true (idpkit/realm/master_realm.py).",
    claims=(f"{MASTER_REALM}.adminEventsEnabled", f"{MASTER_REALM}.adminEventsDetailsEnabled"),
)
def test_master_admin_action_is_recorded(administrators: Throwaway, master_admin: AdminApi) -> None:
    since = latest(master_admin, urls.ADMIN_EVENTS)
    user = administrators.user("master-admin-event")
    event = find(master_admin, urls.ADMIN_EVENTS, since, lambda e: e.get("resourcePath") == f"users/{user.id}",
                 operationTypes="CREATE")  # fmt: skip
    assert event is not None, f"realm master: no admin event for creating user {user.username}"
    assert user.username in (event.get("representation") or ""), (
        f"realm master: the admin event for creating {user.username} carries no representation"
    )


@check(
    "SMOKE-MASTER-006",
    "A master administrator's access token lives no longer than codified",
    requirements=("HIPAA-164.312(a)(1)", "RFC9700-2.3"),
    risk="A leaked token of an administrator controls the identity provider for as long as it lives.",
    remediation="Keep master's accessTokenLifespan as idpkit/realm/master_realm.py codifies it.",
    claims=(f"{MASTER_REALM}.accessTokenLifespan",),
)
def test_master_access_token_is_short_lived(
    master: str, administrators: Throwaway, codified: dict[str, Any], outputs: StackOutputs
) -> None:
    user = administrators.user("master-token")
    access = oauth.unverified_claims(_signed_in(master, user, outputs)["access_token"])
    limit = int(codified["accessTokenLifespan"])
    assert access["exp"] - access["iat"] <= limit, (
        f"realm master: {user.username}'s access token lives {access['exp'] - access['iat']} s; codified {limit} s"
    )


@check(
    "SMOKE-MASTER-007",
    "A master administrator's session idles out after the codified automatic logoff",
    requirements=("HIPAA-164.312(a)(2)(iii)", "HIPAA-164.312(a)(1)"),
    risk="An administrator's forgotten session keeps the power to change the identity provider for hours.",
    remediation="Keep master's ssoSessionIdleTimeout as the PHI realm codifies it (realm-config base/realm.yaml).",
    claims=(f"{MASTER_REALM}.ssoSessionIdleTimeout",),
)
def test_master_session_idles_out(
    master: str, administrators: Throwaway, codified: dict[str, Any], outputs: StackOutputs
) -> None:
    user = administrators.user("master-session")
    refresh = oauth.unverified_claims(_signed_in(master, user, outputs)["refresh_token"])
    limit = int(codified["ssoSessionIdleTimeout"])
    assert refresh["exp"] - refresh["iat"] <= limit, (
        f"realm master: {user.username}'s session stays usable {refresh['exp'] - refresh['iat']} s idle "
        f"(its refresh token); codified automatic logoff {limit} s"
    )
