"""The load's logins on the real local stack: password and TOTP for every login, and none waits for a code.

The realm takes each TOTP code once, so the load logs in people enrolled for it, in turn; past one OTP period
every person logs in again, with the next time step.
"""

from __future__ import annotations

import time
from pathlib import Path

from idpkit.chaos.load import Load, LoadProfile, StackClients, login_people
from idpkit.outputs import LOCAL_STACK, StackOutputs

LOGINS_PER_SECOND = 1.0
"""The short scenarios' login rate (idpkit/chaos/scenarios.py)."""
SECONDS = 40.0
"""Longer than one OTP period: every person logs in a second time."""
SLOWEST_LOGIN_SECONDS = 5.0
"""Far below a period: a login that waited for the next time step would take up to 30 s."""
HEALTHY_SECONDS = 12.0
"""Long enough for every worker to run a few times, refreshes included."""


def test_load_logins_pass_the_second_factor_without_waiting(applied_realm: StackOutputs, tmp_path: Path) -> None:
    profile = LoadProfile(logins=LOGINS_PER_SECOND, grants=0, refreshes=0, validations=0)
    with login_people(LOCAL_STACK, profile, tmp_path) as people:
        load = Load(StackClients.of(LOCAL_STACK, tmp_path, people), profile, SECONDS)
        with load.run():
            time.sleep(SECONDS)
    logins = [sample for sample in load.snapshot() if sample.kind == "login"]
    failed = sorted({sample.failure for sample in logins if sample.failure})
    assert logins and not failed, f"{applied_realm.issuer}: load logins failed: {failed}"
    assert len(logins) >= LOGINS_PER_SECOND * SECONDS * 0.9, (
        f"{applied_realm.issuer}: {len(logins)} logins in {SECONDS:.0f} s at {LOGINS_PER_SECOND:g}/s: some waited"
    )
    slowest = max(sample.seconds for sample in logins)
    assert slowest < SLOWEST_LOGIN_SECONDS, f"{applied_realm.issuer}: a load login took {slowest:.1f} s"


def test_every_worker_passes_on_a_healthy_stack(applied_realm: StackOutputs, tmp_path: Path) -> None:
    """Logins, grants, refreshes and resource-server validations of the clients' real tokens (DPoP-bound for the
    web client): on a stack nobody disturbs, no request of any kind fails."""
    profile = LoadProfile(logins=1.0, grants=1.0, refreshes=1.0, validations=2.0)
    with login_people(LOCAL_STACK, profile, tmp_path) as people:
        load = Load(StackClients.of(LOCAL_STACK, tmp_path, people), profile, HEALTHY_SECONDS)
        with load.run():
            time.sleep(HEALTHY_SECONDS)
    samples = load.snapshot()
    failed = sorted({f"{sample.kind}: {sample.failure}" for sample in samples if sample.failure})
    kinds = {sample.kind for sample in samples}
    assert not failed, f"{applied_realm.issuer}: the load failed on a healthy stack: {failed}"
    assert {"login", "client-credentials", "validation"} <= kinds, f"{applied_realm.issuer}: workers ran: {kinds}"
