"""Rehearsal networks are claimed slot by slot, so rehearsals from different state directories coexist."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from idpkit.rehearsal import network


@pytest.fixture(autouse=True)
def owners(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "owners"
    monkeypatch.setattr(network, "OWNERS", directory)
    return directory


def test_two_state_directories_rehearsing_one_stack_get_different_networks() -> None:
    first = network.claim("dev", Path("/var/lib/one"))
    second = network.claim("dev", Path("/var/lib/two"))
    assert first.slot != second.slot, f"both rehearsals of dev were given slot {first.slot}"
    assert {first.bridge, first.edge, first.prefix}.isdisjoint({second.bridge, second.edge, second.prefix})


def test_a_state_directory_keeps_its_network_across_claims() -> None:
    first = network.claim("staging", Path("/var/lib/one"))
    network.claim("staging", Path("/var/lib/two"))
    assert network.claim("staging", Path("/var/lib/one")) == first
    assert network.held("staging", Path("/var/lib/one")) == first


def test_a_released_slot_is_claimed_again() -> None:
    owner = Path("/var/lib/one")
    first = network.claim("dev", owner)
    network.release(first, owner)
    assert network.held("dev", owner) is None
    assert network.claim("prod", Path("/var/lib/two")).slot == first.slot


def test_release_by_another_state_directory_keeps_the_claim() -> None:
    first = network.claim("dev", Path("/var/lib/one"))
    network.release(first, Path("/var/lib/two"))
    assert network.held("dev", Path("/var/lib/one")) == first


def test_a_leftover_claim_without_a_network_is_reused(owners: Path) -> None:
    leftover = network.claim("dev", Path("/var/lib/gone"))
    record = owners / f"slot-{leftover.slot}"
    stale = time.time() - 2 * 3600
    os.utime(record, (stale, stale))
    assert network.claim("dev", Path("/var/lib/new")).slot == leftover.slot
    assert network.held("dev", Path("/var/lib/gone")) is None


def test_claim_records_are_private(owners: Path) -> None:
    topology = network.claim("dev", Path("/var/lib/one"))
    assert (owners / f"slot-{topology.slot}").stat().st_mode & 0o077 == 0
