"""The login benchmark's own logic: how it names a stored password's hashing, and how its user pool rations logins
(one login a TOTP period per user). The logins themselves run against the real stack in test_quick_forms.py."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from idpkit import paths

sys.path.insert(0, str(paths.project_root() / "benchmarks"))  # the benchmarks are scripts, not a package
import benchlib
import login_load

# credentialData as Keycloak 26.7.3 stored them at partial import (read back from the running server).
ARGON2 = (
    '{"hashIterations":5,"algorithm":"argon2","additionalParameters":{"hashLength":["32"],"memory":["7168"],'
    '"type":["id"],"version":["1.3"],"parallelism":["1"]}}'
)
PBKDF2 = '{"hashIterations":210000,"algorithm":"pbkdf2-sha512","additionalParameters":{}}'


@pytest.mark.parametrize(
    ("credential_data", "described"),
    [
        (ARGON2, "argon2, 5 iterations, 7 MiB (type id, version 1.3, parallelism 1, hashLength 32)"),
        (PBKDF2, "pbkdf2-sha512, 210000 iterations"),
    ],
    ids=["argon2", "pbkdf2-sha512"],
)
def test_hashing_parameters_name_algorithm_cost_and_memory(credential_data: str, described: str) -> None:
    assert login_load.hashing_parameters(credential_data) == described


def _people(count: int) -> list[login_load.Person]:
    return [login_load.Person(f"user-{index}", "not-a-real-password") for index in range(count)]


def test_pool_without_rest_hands_users_out_in_turn_forever() -> None:
    pool = login_load.Pool(_people(2), rest=0.0)
    taken = [pool.take() for _ in range(5)]
    assert [person.username if person else None for person in taken] == [f"user-{i % 2}" for i in range(5)]


def test_pool_with_rest_refuses_a_user_again_within_the_period() -> None:
    pool = login_load.Pool(_people(2), rest=3600.0)
    first, second = pool.take(), pool.take()
    assert first is not None and second is not None and first is not second
    assert pool.take() is None, "a user was handed out twice within one TOTP period: the realm would refuse the code"


def test_a_stack_running_nowhere_here_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("IDPKIT_STATE_DIR", str(tmp_path))
    with pytest.raises(SystemExit, match=r"no running local stack or kept rehearsal named 'staging'"):
        benchlib.stack_processes("staging")
