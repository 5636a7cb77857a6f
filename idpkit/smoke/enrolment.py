"""TOTP enrolment on Keycloak's required-action page, as a person with an authenticator app does it."""

from __future__ import annotations

import html
import re

from idpkit.smoke import oauth
from idpkit.smoke.otp import OneTimeCodes
from idpkit.smoke.redaction import register_secret
from idpkit.smoke.throwaway import SecondFactor

_ENROLMENT_FORM = re.compile(r'<form[^>]*id="kc-totp-settings-form"[^>]*>', re.DOTALL)
_ACTION = re.compile(r'action="([^"]+)"')
_ENROLMENT_SECRET = re.compile(r'<input[^>]*name="totpSecret"[^>]*value="([^"]+)"')


def enrol_totp(
    agent: oauth.UserAgent, page: oauth.AuthorizationResponse, second_factor: SecondFactor
) -> tuple[oauth.AuthorizationResponse, OneTimeCodes]:
    """Read the secret from the enrolment page `agent` stopped at, send a code of the codified OTP policy; returns
    where the login went on to, and the person's codes from now on."""
    form, secret = _ENROLMENT_FORM.search(page.page), _ENROLMENT_SECRET.search(page.page)
    action = _ACTION.search(form.group(0)) if form else None
    assert action and secret, "the TOTP enrolment page has no form with its secret"
    secret_text = html.unescape(secret.group(1))
    register_secret(secret_text)
    codes = OneTimeCodes.for_realm(secret_text, second_factor.ledger, second_factor.settings)
    form_data = {"totpSecret": secret_text, "totp": codes.next_code(), "userLabel": "smoke enrolment", "mode": ""}
    return agent.submit(html.unescape(action.group(1)), form_data), codes
