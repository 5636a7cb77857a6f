"""Keep tokens, secrets and passwords out of anything the smoke suite prints or writes."""

from __future__ import annotations

import re

_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*")
_PRIVATE_KEY = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.DOTALL)
_SENSITIVE_FIELD = re.compile(
    r"""(["']?(?:access_token|refresh_token|id_token|device_code|code|client_secret|password|client_assertion|"""
    r"""assertion|code_verifier)["']?\s*[:=]\s*["']?)([^"'&,\s}]+)"""
)
_registered: set[str] = set()


def register_secret(value: str | None) -> None:
    """Remember a secret the suite loaded (a password, a client secret) so it is masked wherever it appears."""
    if value and len(value) >= 6:
        _registered.add(value)


def redact(text: str) -> str:
    text = _PRIVATE_KEY.sub("<private key redacted>", text)
    text = _JWT.sub("<jwt redacted>", text)
    text = _SENSITIVE_FIELD.sub(lambda match: f"{match.group(1)}<redacted>", text)
    for secret in sorted(_registered, key=len, reverse=True):
        text = text.replace(secret, "<secret redacted>")
    return text
