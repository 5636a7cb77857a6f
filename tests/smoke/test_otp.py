"""The one-time code ledger: no time step is handed out twice, and no claim reaches past the look-ahead window."""

from __future__ import annotations

import json
from pathlib import Path

import pyotp
import pytest

from idpkit.smoke.otp import OneTimeCodes, base32_secret

PERIOD = 30
START = 1_000_000 * PERIOD + 5.0
SHARED = "shared-person-secret-text"


class Clock:
    """A clock the test moves; sleeping moves it too."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.slept: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def _codes(secret: str, ledger: Path, clock: Clock, look_ahead: int = 1) -> OneTimeCodes:
    return OneTimeCodes(secret, ledger, period=PERIOD, look_ahead=look_ahead, clock=clock.time, sleep=clock.sleep)


def _accepted_steps(secret: str, now: float, look_around: int) -> dict[str, int]:
    """The codes a server with `look_around` accepts at `now`, by their time step."""
    totp = pyotp.TOTP(base32_secret(secret), interval=PERIOD)
    current = int(now // PERIOD)
    return {totp.at(step * PERIOD): step for step in range(current - look_around, current + look_around + 1)}


@pytest.mark.parametrize("look_ahead", [0, 1, 2])
def test_codes_of_one_secret_are_never_repeated_and_stay_in_the_window(tmp_path: Path, look_ahead: int) -> None:
    clock = Clock(START)
    codes = _codes(SHARED, tmp_path / "ledger.json", clock, look_ahead)
    handed_out = []
    for claim in range(3 * (look_ahead + 1)):
        code = codes.next_code()
        accepted = _accepted_steps(SHARED, clock.now, look_ahead)
        assert code in accepted, f"look-ahead {look_ahead}: code {claim} handed out outside the realm's window"
        handed_out.append(accepted[code])
        if claim == look_ahead:
            assert clock.slept == [], f"look-ahead {look_ahead}: waited within the first window's {claim + 1} codes"
    assert len(set(handed_out)) == len(handed_out), f"look-ahead {look_ahead}: a time step was handed out twice"


def test_another_secret_never_waits_for_the_first(tmp_path: Path) -> None:
    clock = Clock(START)
    ledger = tmp_path / "ledger.json"
    first = _codes("first-person-secret-text", ledger, clock)
    first.next_code(), first.next_code()
    _codes("second-person-secret-text", ledger, clock).next_code()
    assert clock.slept == [], "a second person's code waited for the first person's exhausted window"


def test_a_second_run_continues_where_the_first_stopped(tmp_path: Path) -> None:
    clock = Clock(START)
    ledger = tmp_path / "ledger.json"
    earlier = _codes(SHARED, ledger, clock).next_code()
    assert _codes(SHARED, ledger, clock).next_code() != earlier, "a new run handed out the same code again"


def test_steps_behind_the_clock_are_forgotten(tmp_path: Path) -> None:
    clock = Clock(START)
    ledger = tmp_path / "ledger.json"
    for person in range(5):
        _codes(f"person-{person}-secret-text", ledger, clock).next_code()
    clock.now += 3 * PERIOD
    _codes("latest-person-secret-text", ledger, clock).next_code()
    assert len(json.loads(ledger.read_text())) == 1, "the ledger kept steps that can constrain no later claim"


@pytest.mark.parametrize("look_ahead", [0, 1, 2])
def test_a_stale_code_lies_outside_the_window_and_inside_one_of_minutes(tmp_path: Path, look_ahead: int) -> None:
    codes = _codes(SHARED, tmp_path / "ledger.json", Clock(START), look_ahead)
    stale = codes.stale_code()
    assert stale not in _accepted_steps(SHARED, START, look_ahead), f"look-ahead {look_ahead}: stale code accepted"
    assert stale in _accepted_steps(SHARED, START, look_ahead + 3), f"look-ahead {look_ahead}: stale code too old"
