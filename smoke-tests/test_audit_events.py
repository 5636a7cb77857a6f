"""Audit controls: a real login through the login form is recorded as a LOGIN event of the realm.

Logs in the smoke-test user with the smoke-spa client (authorization code + PKCE, consent granted
if asked), then finds the LOGIN event of that very user session through the admin events API.
Production carries no smoke-test identities, so this check skips there (smoke-tests/README.md).
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import secrets
import time
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from conftest import VerifyingSession

from idpkit.keycloak_admin import AdminApi
from idpkit.smoke.checks import check

CLIENT = "smoke-spa"
REDIRECT_URI = "https://127.0.0.1:8765/callback"
USER = "smoke-clinician"
EVENTS = "admin/realms/{realm}/events"
# Keycloak's LOGIN event detail: granted on this login, or remembered from an earlier one.
CONSENT_GIVEN = ("consent_granted", "persistent_consent")
# Keycloak writes the event in the login's transaction; a short wait covers a replica's lag.
EVENT_WAIT_SECONDS = 5.0
_FORM = re.compile(r'<form[^>]*\bid="(kc-form-login|kc-oauth)"[^>]*\baction="([^"]+)"', re.DOTALL)
_HIDDEN = re.compile(r'<input[^>]*type="hidden"[^>]*name="([^"]+)"[^>]*value="([^"]*)"')


def _form(page: requests.Response, form_id: str) -> str:
    match = next((m for m in _FORM.finditer(page.text) if m.group(1) == form_id), None)
    assert match, f"{page.url.split('?')[0]}: no {form_id} form in the page ({page.status_code})"
    return html.unescape(match.group(2))


def _log_in(browser: requests.Session, authorization_endpoint: str, password: str) -> str:
    """Log in through the form, accepting consent if asked; returns the user session id (`session_state`)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    params = {
        "client_id": CLIENT, "redirect_uri": REDIRECT_URI, "response_type": "code", "scope": "openid",
        "state": secrets.token_urlsafe(16), "code_challenge": challenge, "code_challenge_method": "S256",
    }  # fmt: skip
    page = browser.get(authorization_endpoint, params=params, timeout=15)
    answer = browser.post(
        _form(page, "kc-form-login"), data={"username": USER, "password": password}, timeout=15, allow_redirects=False
    )
    if answer.status_code == 200:  # the consent screen of a first login
        hidden = dict(_HIDDEN.findall(answer.text))
        answer = browser.post(
            _form(answer, "kc-oauth"), data={**hidden, "accept": "Yes"}, timeout=15, allow_redirects=False
        )
    location = answer.headers.get("Location", "")
    assert location.startswith(REDIRECT_URI), (
        f"{CLIENT} login of {USER}: expected a redirect to {REDIRECT_URI}, got {answer.status_code} {location[:80]!r}"
    )
    query = parse_qs(urlsplit(location).query)
    assert "code" in query and "session_state" in query, f"{CLIENT} login of {USER}: no code in the redirect"
    return query["session_state"][0]


def _login_event(admin: AdminApi, session_id: str) -> dict[str, Any] | None:
    deadline = time.monotonic() + EVENT_WAIT_SECONDS
    while True:
        events = admin.get(admin.path(EVENTS), type="LOGIN", client=CLIENT, max="50") or []
        found = next((event for event in events if event.get("sessionId") == session_id), None)
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


@pytest.fixture(scope="module")
def login(
    tls_verify: str | bool, discovery: dict[str, Any], smoke_credentials: dict[str, Any], realm_admin: AdminApi
) -> tuple[str, dict[str, Any] | None]:
    """One real login of the test user (own cookie jar), and the LOGIN event found for its session."""
    browser = VerifyingSession(tls_verify)
    password = smoke_credentials["users"][USER]["password"]
    session_id = _log_in(browser, discovery["authorization_endpoint"], password)
    return session_id, _login_event(realm_admin, session_id)


@check("SMOKE-AUDIT-001", "A login is recorded as a LOGIN event of the realm",
       requirements=("HIPAA-164.312(b)", "HIPAA-164.316(b)(2)"),
       risk="Without login events nobody can reconstruct who accessed PHI, or notice credential abuse.",
       remediation="Realm events: eventsEnabled true, LOGIN in enabledEventTypes, jboss-logging listener.")  # fmt: skip
def test_login_is_recorded_as_event(login: tuple[str, dict[str, Any] | None], realm_admin: AdminApi) -> None:
    session_id, event = login
    assert event is not None, (
        f"realm {realm_admin.realm}: no LOGIN event for {USER}'s session via {CLIENT} within "
        f"{EVENT_WAIT_SECONDS:.0f} s; login events must be recorded"
    )
    assert event.get("details", {}).get("username") == USER, (
        f"realm {realm_admin.realm}: LOGIN event of session {session_id} names {event.get('details')}, not {USER}"
    )


@check("SMOKE-AUDIT-002", "A third-party app's login rests on the user's recorded consent",
       requirements=("HIPAA-164.312(b)", "SMART-2.2-SCOPES"),
       risk="Without consent a third-party app receives PHI scopes the patient never approved, and no record shows it.",
       remediation="consentRequired: true on third-party (public SMART) clients such as phi-patient-app.")  # fmt: skip
def test_third_party_login_records_consent(login: tuple[str, dict[str, Any] | None], realm_admin: AdminApi) -> None:
    session_id, event = login
    assert event is not None, f"realm {realm_admin.realm}: no LOGIN event for session {session_id} to read consent from"
    consent = event.get("details", {}).get("consent")
    assert consent in CONSENT_GIVEN, (
        f"realm {realm_admin.realm}: {CLIENT} login of {USER} records consent {consent!r}; "
        f"a third-party app needs the user's consent ({' or '.join(CONSENT_GIVEN)})"
    )
