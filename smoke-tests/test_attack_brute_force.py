"""Password guessing (HIPAA 164.312(d)): the codified threshold locks the account, long enough, then for good.

Shown on users created at run time, so no shared smoke identity is ever locked. Every number comes
from realm-config, never from the live realm: a live realm quietly loosened must fail here. Wrong
passwords are spaced beyond Keycloak's quick-login window, so the lock seen is the failure
threshold's, not the quick-login one's.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

import pytest

from idpkit.keycloak_admin import AdminApi, urls
from idpkit.realm.loader import LoadedConfig
from idpkit.realm.model import RealmSettings
from idpkit.smoke import oauth
from idpkit.smoke.checks import check
from idpkit.smoke.codified import expected
from idpkit.smoke.throwaway import Throwaway, User

CLIENT = "smoke-spa"
# Keycloak's default where realm-config leaves it unset (not a hardened setting: the wait is).
QUICK_LOGIN_CHECK_MS = 1000
# How far before the codified lockout ends the account is tried again, and after it ends a guess follows.
MARGIN_SECONDS = 3


def _signs_in(agent: oauth.UserAgent, endpoints: oauth.Endpoints, client: oauth.Client) -> bool:
    params = oauth.authorization_params(CLIENT, client.redirect_uri or "", "openid", oauth.Pkce.generate())
    return agent.authorize(endpoints, client, params).code is not None


class Guesser:
    """Signs a run-time user in with the right password or a wrong one, never faster than Keycloak's quick-login
    window."""

    def __init__(self, user: User, endpoints: oauth.Endpoints, client: oauth.Client, verify: str | bool,
                 settings: RealmSettings) -> None:  # fmt: skip
        self.user, self.endpoints, self.client, self.verify = user, endpoints, client, verify
        self.spacing = (settings.quick_login_check_milli_seconds or QUICK_LOGIN_CHECK_MS) / 1000 + 0.2
        self.last = 0.0

    def _attempt(self, password: str) -> bool:
        time.sleep(max(0.0, self.last + self.spacing - time.monotonic()))
        signed_in = _signs_in(
            oauth.UserAgent(self.verify, self.user.username, password, self.user.codes), self.endpoints, self.client
        )
        self.last = time.monotonic()
        return signed_in

    def right(self) -> bool:
        return self._attempt(self.user.password)

    def wrong(self) -> None:
        assert not self._attempt(secrets.token_urlsafe(16)), (
            f"{self.endpoints.authorization}: a wrong password signed in"
        )


@pytest.fixture
def guesser(
    runtime: Throwaway,
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    tls_verify: str | bool,
    realm_settings: RealmSettings,
) -> Callable[[], Guesser]:
    return lambda: Guesser(runtime.user("lockout"), endpoints, clients[CLIENT], tls_verify, realm_settings)


@check(
    "SMOKE-BRUTE-001",
    "The codified number of wrong passwords locks the account, so the right password no longer signs in",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-5.1.1"),
    risk="Unlimited (or more than codified) password guessing against clinician accounts.",
    remediation="Keep bruteForceProtected true with failureFactor as codified (realm-config base/realm.yaml).",
    claims=("realm.bruteForceProtected", "realm.failureFactor"),
)
def test_codified_failures_lock_the_account(guesser: Callable[[], Guesser], realm_settings: RealmSettings) -> None:
    failures = realm_settings.failure_factor
    assert realm_settings.brute_force_protected and failures, "realm-config codifies no brute-force protection"
    guess = guesser()
    assert guess.right(), f"control: {guess.user.username} cannot sign in with the right password"
    for _ in range(failures):
        guess.wrong()
    assert not guess.right(), (
        f"{guess.endpoints.authorization}: {guess.user.username} still signs in after {failures} wrong passwords "
        "(realm-config's failureFactor)"
    )


@check(
    "SMOKE-BRUTE-002",
    "A lockout lasts the codified wait, and the lockout after the codified number of them is permanent",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-5.1.1"),
    risk="Short lockouts, or lockouts that never turn permanent, let guessing go on indefinitely at a steady pace.",
    remediation="realm: waitIncrementSeconds, maxFailureWaitSeconds, permanentLockout: true and maxTemporaryLockouts "
    "as codified (base/realm.yaml).",
    claims=(
        "realm.waitIncrementSeconds",
        "realm.maxFailureWaitSeconds",
        "realm.permanentLockout",
        "realm.maxTemporaryLockouts",
        # The failures are spread over minutes: they count together only while maxDeltaTimeSeconds remembers them.
        "realm.maxDeltaTimeSeconds",
    ),
)
@pytest.mark.expiry
def test_lockouts_last_and_turn_permanent(
    guesser: Callable[[], Guesser], realm_settings: RealmSettings, realm_admin: AdminApi
) -> None:
    settings = realm_settings
    failures, increment = settings.failure_factor or 0, settings.wait_increment_seconds or 0
    assert failures and increment, "realm-config codifies no failureFactor or waitIncrementSeconds"
    guess = guesser()
    for _ in range(failures):
        guess.wrong()
    lockouts = 1
    for _ in range(settings.max_temporary_lockouts or 0):
        # Keycloak's MULTIPLE strategy: every failure once the threshold is passed locks for this long.
        wait = min(settings.max_failure_wait_seconds or increment, increment * ((failures + lockouts - 1) // failures))
        time.sleep(max(0.0, wait - MARGIN_SECONDS - (time.monotonic() - guess.last)))
        assert not guess.right(), (
            f"{guess.endpoints.authorization}: {guess.user.username} signed in {MARGIN_SECONDS} s before lockout "
            f"{lockouts} should end ({wait} s from realm-config)"
        )
        time.sleep(2 * MARGIN_SECONDS)
        guess.wrong()
        lockouts += 1
    user = realm_admin.get(realm_admin.path(urls.USER, id=guess.user.id))
    if not settings.permanent_lockout:
        pytest.skip("realm-config codifies no permanentLockout: the lockout durations held; nothing is permanent")
    assert user.get("enabled") is False, (
        f"realm {realm_admin.realm}: {guess.user.username} is still enabled after {lockouts} lockouts; realm-config "
        f"makes the one after {settings.max_temporary_lockouts} temporary lockouts permanent"
    )
    assert not guess.right(), (
        f"{guess.endpoints.authorization}: {guess.user.username} signed in after a permanent lockout"
    )


@check(
    "SMOKE-BRUTE-003",
    "Wrong passwords in quick succession lock the account for the codified quick-login wait",
    requirements=("HIPAA-164.312(d)", "NIST-800-63B-5.1.1"),
    risk="Scripted guessing faster than a person types is held off for a second instead of a minute.",
    remediation="minimumQuickLoginWaitSeconds as codified (or its secure default, 60).",
    claims=("realm.minimumQuickLoginWaitSeconds",),
)
def test_quick_failures_lock_for_the_codified_wait(
    runtime: Throwaway,
    endpoints: oauth.Endpoints,
    clients: dict[str, oauth.Client],
    tls_verify: str | bool,
    realm_config: LoadedConfig,
) -> None:
    wait = int(expected(realm_config, "realm.minimumQuickLoginWaitSeconds"))
    user = runtime.user("quick-login")
    client = clients[CLIENT]
    for _ in range(2):  # the second failure, within the quick-login window, locks
        assert not _signs_in(
            oauth.UserAgent(tls_verify, user.username, secrets.token_urlsafe(16), user.codes), endpoints, client
        )
    time.sleep(min(MARGIN_SECONDS, wait / 2))
    assert not _signs_in(oauth.UserAgent(tls_verify, user.username, user.password, user.codes), endpoints, client), (
        f"{endpoints.authorization}: {user.username} signed in right after two quick wrong passwords; the codified "
        f"quick-login wait is {wait} s"
    )
