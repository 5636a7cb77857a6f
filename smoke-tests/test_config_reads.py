"""Settings no protocol behaviour shows, read back through the admin API and compared with realm-config.

Each one is listed, with the reason nothing observable tells it apart, in
idpkit/smoke/config_reads.py; reviews and mutation reports show this check as a config read.
"""

from __future__ import annotations

from typing import Any

import pytest

from idpkit.keycloak_admin import AdminApi
from idpkit.outputs import load_outputs
from idpkit.realm import loader
from idpkit.realm.engine import Session
from idpkit.realm.loader import LoadedConfig
from idpkit.smoke import codified, live
from idpkit.smoke.checks import check, claimed, claims
from idpkit.smoke.config_reads import UNOBSERVABLE


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "path" in metafunc.fixturenames:
        found = codified.settings(loader.load(metafunc.config.getoption("--stack")))
        cases = sorted((path, value) for path, value in found.items() if claimed(list(UNOBSERVABLE), path))
        metafunc.parametrize(
            ("path", "value"), [pytest.param(path, value, id=path, marks=claims(path)) for path, value in cases]
        )


@pytest.fixture(scope="module")
def session(realm_admin: AdminApi, master_admin: AdminApi, stack_name: str) -> Session:
    """The admin API of both realms: the kit's service account, and master as the break-glass account (asked for
    their credential checks)."""
    del realm_admin, master_admin
    return Session.open(load_outputs(stack_name), break_glass=True)


@check(
    "SMOKE-CONFIG-001",
    "Settings no behaviour shows hold their codified values on the live realm",
    requirements=("HIPAA-164.312(e)(1)", "HIPAA-164.312(b)", "HIPAA-164.312(d)", "RFC8705"),
    risk="A setting nothing observable depends on today can be weakened unnoticed, and matter the day another "
    "layer changes (a plain-HTTP listener, a second trusted CA, a front-channel URL).",
    remediation="Re-apply realm-config (`idpkit realm apply`); investigate who changed the live realm.",
    claims=tuple(UNOBSERVABLE),
    config_read="idpkit/smoke/config_reads.py names, for each setting, why no behaviour shows it",
)
def test_unobservable_setting_holds_its_codified_value(
    path: str, value: Any, session: Session, realm_config: LoadedConfig
) -> None:
    found = live.setting(path).read(session)
    held = codified.held_entries(realm_config).get(path)
    if found is None and held is not None and held.unset is not None:
        found = held.unset  # absent: Keycloak assumes this value (idpkit/realm/secure_defaults.py)
    assert _same(found, value), f"{path}: live value {found!r}, realm-config {value!r} (reason: {_reason(path)})"


def _same(live_value: Any, codified_value: Any) -> bool:
    if isinstance(codified_value, list):
        return sorted(map(str, live_value or [])) == sorted(map(str, codified_value))
    return bool(live_value == codified_value or str(live_value) == str(codified_value))


def _reason(path: str) -> str:
    return next(reason for pattern, reason in UNOBSERVABLE.items() if claimed([pattern], path))
