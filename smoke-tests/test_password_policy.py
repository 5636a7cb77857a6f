"""The password policy refuses weak passwords (NIST 800-63B 5.1.1): one case per codified policy term.

Each case sets passwords for a user created at run time through the admin API's reset-password,
which Keycloak checks against the realm's policy as it checks a user's own change. The terms
come from realm-config's `passwordPolicy`, so a new term is a new case, failing until it has a probe.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable

import pytest

from idpkit.keycloak_admin import AdminApi, ApiError, urls
from idpkit.realm import loader
from idpkit.smoke.checks import check
from idpkit.smoke.redaction import register_secret
from idpkit.smoke.throwaway import Throwaway, User

_TERM = re.compile(r"(\w+)(?:\(([^)]*)\))?")
SETTING = "realm.passwordPolicy"


def policy_terms(policy: str) -> dict[str, str]:
    """`length(12) and notUsername` -> {"length": "12", "notUsername": ""}."""
    return {name: argument for name, argument in _TERM.findall(policy) if name != "and"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "term" in metafunc.fixturenames:
        settings = loader.load(metafunc.config.getoption("--stack")).document.realm
        terms = policy_terms((settings.password_policy if settings else None) or "")
        metafunc.parametrize(("term", "argument"), sorted(terms.items()), ids=sorted(terms))


def _password(length: int) -> str:
    value = secrets.token_urlsafe(length)[:length]
    register_secret(value)
    return value


def _set(admin: AdminApi, user: User, password: str) -> str | None:
    """Set the user's password; the policy's refusal message, or None when accepted."""
    try:
        admin.put(admin.path(urls.USER_PASSWORD, id=user.id), {"type": "password", "value": password,
                                                                "temporary": False})  # fmt: skip
    except ApiError as error:
        if error.status != 400:
            raise
        return str(error)
    return None


def _refused(admin: AdminApi, user: User, password: str, what: str, term: str) -> None:
    refusal = _set(admin, user, password)
    assert refusal is not None, (
        f"realm {admin.realm}: {what} was accepted as a password; the policy term {term} refuses it"
    )


def _accepted(admin: AdminApi, user: User, password: str, what: str) -> None:
    refusal = _set(admin, user, password)
    assert refusal is None, f"control: realm {admin.realm} refused {what}: {refusal}"


def _length(admin: AdminApi, user: User, argument: str) -> None:
    minimum = int(argument)
    _refused(admin, user, _password(minimum - 1), f"a {minimum - 1}-character password", f"length({minimum})")
    _accepted(admin, user, _password(minimum), f"a {minimum}-character password")


def _max_length(admin: AdminApi, user: User, argument: str) -> None:
    maximum = int(argument)
    _refused(admin, user, _password(maximum + 1), f"a {maximum + 1}-character password", f"maxLength({maximum})")


def _not_username(admin: AdminApi, user: User, _argument: str) -> None:
    _refused(admin, user, user.username, "the user name", "notUsername")


def _not_email(admin: AdminApi, user: User, _argument: str) -> None:
    _refused(admin, user, user.email, "the e-mail address", "notEmail")


def _history(admin: AdminApi, user: User, argument: str) -> None:
    remembered = int(argument)
    first = _password(24)
    _accepted(admin, user, first, "a fresh password")
    for _ in range(remembered - 1):
        _accepted(admin, user, _password(24), "a fresh password")
    _refused(admin, user, first, f"a password used {remembered - 1} changes ago", f"passwordHistory({remembered})")


def _hash_algorithm(admin: AdminApi, user: User, argument: str) -> None:
    """The hash shows in what Keycloak stores: the credential's metadata (never the hash itself)."""
    _accepted(admin, user, _password(24), "a fresh password")
    stored = admin.get(admin.path(urls.USER, id=user.id) + "/credentials") or []
    password = next((c for c in stored if c.get("type") == "password"), None)
    assert password is not None, f"realm {admin.realm}: {user.username} holds no password credential"
    algorithm = json.loads(password.get("credentialData") or "{}").get("algorithm")
    assert algorithm == argument, f"realm {admin.realm}: the new password was hashed with {algorithm}, not {argument}"


PROBES: dict[str, Callable[[AdminApi, User, str], None]] = {
    "length": _length,
    "maxLength": _max_length,
    "notUsername": _not_username,
    "notEmail": _not_email,
    "passwordHistory": _history,
    "hashAlgorithm": _hash_algorithm,
}


@check(
    "SMOKE-PWD-001",
    "Each term of the password policy refuses the passwords it exists to stop",
    requirements=("NIST-800-63B-5.1.1", "HIPAA-164.312(d)"),
    risk="Short, reused or guessable (user name, e-mail) passwords, or cheap hashes, make clinician accounts "
    "easy to take over online and offline.",
    remediation="realm.passwordPolicy: length(12) hashAlgorithm(argon2) passwordHistory(5) notUsername notEmail.",
    claims=(SETTING,),
)
def test_password_policy_term_refuses_weak_passwords(
    term: str, argument: str, runtime: Throwaway, realm_admin: AdminApi
) -> None:
    probe = PROBES.get(term)
    assert probe is not None, f"{SETTING}: no probe for the term {term}; add one to {__name__}"
    probe(realm_admin, runtime.user("password"), argument)
