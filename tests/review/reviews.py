"""Reviews shared by the tests of this directory: the AWS graphs are captured once per session."""

from __future__ import annotations

import datetime as dt
import functools

from idpkit.review.collect import collect
from idpkit.review.model import Review

# Before every shipped exception's expiry, so the shipped configuration passes its rules.
TODAY = dt.date(2026, 1, 15)


@functools.cache
def review(stack: str) -> Review:
    return collect(stack, today=TODAY)
