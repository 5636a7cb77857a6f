"""requirements.lock pins the venv and the hosts' wheelhouse: it must satisfy pyproject.toml, with hashes."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from idpkit.host.wheelhouse import LOCK_FILE, read_lock

PROJECT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((PROJECT / "pyproject.toml").read_text())["project"]
DECLARED = [
    Requirement(line)
    for line in (*PYPROJECT["dependencies"], *PYPROJECT["optional-dependencies"]["dev"])
    if not line.startswith("idpkit")
]
LOCK = read_lock(PROJECT / LOCK_FILE)


@pytest.mark.parametrize("requirement", DECLARED, ids=str)
def test_lock_pins_a_version_pyproject_allows(requirement: Requirement) -> None:
    locked = LOCK.get(canonicalize_name(requirement.name))
    assert locked, f"{LOCK_FILE} does not pin {requirement.name} (run `make lock`)"
    assert requirement.specifier.contains(Version(locked.version), prereleases=True), (
        f"{LOCK_FILE} pins {requirement.name}=={locked.version}, outside pyproject.toml's {requirement.specifier}"
    )


def test_every_locked_package_carries_hashes() -> None:
    unhashed = sorted(name for name, package in LOCK.items() if not package.hashes)
    assert not unhashed, f"{LOCK_FILE}: no hashes for {unhashed}; pip checks them on install and on the hosts"
