"""One-time codes for the smoke identities' TOTP second factor (RFC 6238, generated with pyotp).

The realm refuses a code it has accepted before (`otpPolicyCodeReusable: false`), so a suite that logs the
same user in several times within one period must not present a code twice: every code handed out is
recorded by its time step in a small ledger (a file per stack, shared by the suite's runs), and the next
login takes the next step the realm accepts (`otpPolicyLookAheadWindow`), or waits for a new period.
The ledger holds time steps only, never a secret or a code.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pyotp

from idpkit import paths
from idpkit.realm.model import RealmSettings
from idpkit.system.files import make_directory

_DIGESTS: dict[str, Callable[..., object]] = {
    "HmacSHA1": hashlib.sha1,
    "HmacSHA256": hashlib.sha256,
    "HmacSHA512": hashlib.sha512,
}


def code_ledger(stack: str) -> Path:
    """The stack's ledger of handed-out time steps."""
    return paths.stack_dir(stack) / "smoke" / "totp-steps.json"


def base32_secret(secret_text: str) -> str:
    """The base32 form authenticator apps take, of a Keycloak TOTP secret (its UTF-8 bytes are the key)."""
    return base64.b32encode(secret_text.encode()).decode()


STALE_MARGIN_STEPS = 2


@dataclass
class OneTimeCodes:
    """Codes of one TOTP credential, each time step handed out once."""

    secret_text: str = field(repr=False)
    ledger: Path
    """Where handed-out time steps are recorded (per stack; shared by runs that follow each other)."""
    period: int = 30
    digits: int = 6
    algorithm: str = "HmacSHA1"
    look_ahead: int = 1
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    @classmethod
    def for_realm(cls, secret_text: str, ledger: Path, settings: RealmSettings) -> OneTimeCodes:
        """Codes as the realm's codified OTP policy makes and accepts them."""
        return cls(
            secret_text, ledger,
            period=settings.otp_policy_period or 30, digits=settings.otp_policy_digits or 6,
            algorithm=settings.otp_policy_algorithm or "HmacSHA1",
            look_ahead=settings.otp_policy_look_ahead_window or 0,
        )  # fmt: skip

    @property
    def _totp(self) -> pyotp.TOTP:
        return pyotp.TOTP(
            base32_secret(self.secret_text), digits=self.digits, digest=_DIGESTS[self.algorithm], interval=self.period
        )

    @property
    def _key(self) -> str:
        return hashlib.sha256(self.secret_text.encode()).hexdigest()[:16]

    def code_at_step(self, step: int) -> str:
        return self._totp.at(step * self.period)

    def stale_code(self) -> str:
        """A code made `STALE_MARGIN_STEPS` periods before the oldest the codified look-ahead window accepts: clear of
        a second of clock skew, well inside a weakened window of minutes."""
        current = int(self.clock() // self.period)
        return self.code_at_step(current - self.look_ahead - STALE_MARGIN_STEPS)

    def next_code(self) -> str:
        """A code the realm accepts now and that was never handed out before (waits for a new period if none)."""
        while True:
            step = self._claim()
            if step is not None:
                return self.code_at_step(step)
            self.sleep(self.period - self.clock() % self.period + 0.1)

    def _claim(self) -> int | None:
        current = int(self.clock() // self.period)
        make_directory(self.ledger.parent, 0o700)
        with self.ledger.open("a+") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            handle.seek(0)
            text = handle.read()
            recorded: dict[str, int] = json.loads(text) if text.strip() else {}
            # A step behind the clock constrains no later claim: forgetting it keeps the ledger small though
            # every run-time person adds a credential of its own.
            used = {key: used_step for key, used_step in recorded.items() if used_step >= current}
            last = used.get(self._key, -1)
            # Steps ahead of the clock are accepted within the look-ahead window; a step is never used twice.
            step = max(current, last + 1)
            if step > current + self.look_ahead:
                return None
            used[self._key] = step
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(used))
        return step
