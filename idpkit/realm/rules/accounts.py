"""Accounts: brute-force protection and lockout, password policy."""

from __future__ import annotations

import re
from collections.abc import Iterator

from idpkit.compliance import RuleMetadata, Severity
from idpkit.realm.limits import MAX_FAILURE_FACTOR, MIN_PASSWORD_HISTORY, MIN_PASSWORD_LENGTH
from idpkit.realm.located import LoadedConfig
from idpkit.realm.rules.common import realm_field, realm_settings
from idpkit.realm.rules.registry import rule


@rule(
    RuleMetadata(
        id="REALM-BRUTE-001",
        title="Brute-force protection locks accounts after at most 5 failures",
        requirements=("HIPAA-164.312(d)", "NIST-800-63B-5.1.1"),
        severity=Severity.HIGH,
        risk="Passwords can be guessed online.",
        remediation="Set realm.bruteForceProtected: true and realm.failureFactor <= 5.",
    )
)
def _brute_force(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    yield from realm_field(loaded, "bruteForceProtected", lambda v: v is True, "true")
    yield from realm_field(loaded, "failureFactor", lambda v: v <= MAX_FAILURE_FACTOR, f"<= {MAX_FAILURE_FACTOR}")


@rule(
    RuleMetadata(
        id="REALM-LOCKOUT-001",
        title="Repeated lockouts end in a permanent lockout that an administrator lifts",
        requirements=("HIPAA-164.312(d)", "NIST-800-63B-5.1.1"),
        severity=Severity.HIGH,
        risk="Temporary lockouts alone let an attacker keep guessing a password forever, a few tries per "
        "lockout period.",
        remediation="Set realm.permanentLockout: true (and maxTemporaryLockouts: the temporary lockouts before it).",
    )
)
def _permanent_lockout(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    yield from realm_field(loaded, "permanentLockout", lambda v: v is True, "true")


_POLICY_TERM = re.compile(r"(\w+)(?:\(([^)]*)\))?")


@rule(
    RuleMetadata(
        id="REALM-PWD-001",
        title="Password policy: length >= 12, argon2, history >= 5, not the user name or e-mail",
        requirements=("NIST-800-63B-5.1.1", "HIPAA-164.312(d)"),
        severity=Severity.HIGH,
        risk="Weak, reused or cheaply hashed passwords.",
        remediation="Set realm.passwordPolicy to include length(12) hashAlgorithm(argon2) passwordHistory(5) "
        "notUsername notEmail.",
    )
)
def _password(loaded: LoadedConfig) -> Iterator[tuple[str, str]]:
    policy = realm_settings(loaded).get("passwordPolicy") or ""
    terms = {name: argument for name, argument in _POLICY_TERM.findall(policy) if name != "and"}
    path = "realm.passwordPolicy"
    if not terms.get("length", "").isdigit() or int(terms["length"]) < MIN_PASSWORD_LENGTH:
        yield path, f"needs length({MIN_PASSWORD_LENGTH}) or more"
    if terms.get("hashAlgorithm") != "argon2":
        yield path, "needs hashAlgorithm(argon2)"
    if not terms.get("passwordHistory", "").isdigit() or int(terms["passwordHistory"]) < MIN_PASSWORD_HISTORY:
        yield path, f"needs passwordHistory({MIN_PASSWORD_HISTORY}) or more"
    for term in ("notUsername", "notEmail"):
        if term not in terms:
            yield path, f"needs {term}"
