"""The numeric bounds realm rules enforce, shared with the secure-defaults catalogue (one owner each)."""

from __future__ import annotations

MAX_ACCESS_TOKEN_SECONDS = 300
MAX_CODE_SECONDS = 60
MAX_SSO_IDLE_SECONDS = 15 * 60
MAX_SSO_SECONDS = 12 * 3600
MAX_FAILURE_FACTOR = 5
MIN_PASSWORD_LENGTH = 12
MIN_PASSWORD_HISTORY = 5
MIN_EVENTS_RETENTION_SECONDS = 30 * 86400
MIN_HSTS_SECONDS = 365 * 86400
