"""Keep tokens, secrets and passwords out of anything the smoke suite prints or writes."""

from __future__ import annotations

import re

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL)
# A sensitive field as JSON (`"password": "…"`) or as a form/query parameter (`password=…`), never a
# word inside Python source such as `status_code == 200`.
_SENSITIVE_NAMES = (
    "access_token|refresh_token|id_token|device_code|code|client_secret|password|client_assertion|assertion|"
    "code_verifier|subject_token"
)
_SENSITIVE_JSON = re.compile(rf"""(["'](?:{_SENSITIVE_NAMES})["']\s*:\s*["'])([^"']+)""")
_SENSITIVE_FORM = re.compile(rf"""((?:^|[?&\s'"])(?:{_SENSITIVE_NAMES})=)([^&\s'"]+)""")
_registered: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret the suite loaded (a password, a client secret) so it is masked wherever it appears."""
    if value and len(value) >= 6:
        _registered.add(value)


def redact(text: str) -> str:
    text = _PRIVATE_KEY.sub("<private key redacted>", text)
    text = _JWT.sub("<jwt redacted>", text)
    text = _SENSITIVE_JSON.sub(lambda match: f"{match.group(1)}<redacted>", text)
    text = _SENSITIVE_FORM.sub(lambda match: f"{match.group(1)}<redacted>", text)
    for secret in sorted(_registered, key=len, reverse=True):
        text = text.replace(secret, "<secret redacted>")
    return text
