"""The mutant catalogue is derived, complete and claimed: offline checks, no stack needed.

Every realm rule is refused by at least one mutant, every executor and option of the codified
client policies has its own, every mutant names one setting the live accessor can write, and every
mutant, like every codified setting, is claimed by a test of the smoke suite.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

from idpkit.realm import loader, master_rules, secure_defaults
from idpkit.realm.loader import child_path, item_path
from idpkit.realm.rules import rule_ids
from idpkit.review import traceability
from idpkit.smoke import codified, live
from idpkit.smoke.checks import claimed
from idpkit.smoke.mutants import NOT_SHOWN, Family, Mutant, mutants
from idpkit.smoke.mutations import suite_tests
from idpkit.smoke.runner import collect_catalog


@functools.cache
def catalogue() -> tuple[Mutant, ...]:
    return tuple(mutants())


@functools.cache
def suite_claims() -> tuple[str, ...]:
    """What the suite's tests claim (the settings mutants are judged on)."""
    return tuple(claim for test in suite_tests(collect_catalog("local")) for claim in test.claims)


@functools.cache
def class_claims() -> tuple[str, ...]:
    """What the suite's checks claim as classes of settings (what reviews map settings to)."""
    return tuple(claim for entry in collect_catalog("local").values() for claim in entry["claims"])


@pytest.mark.parametrize("rule_id", [*rule_ids(), *(metadata.id for metadata, _ in master_rules.MASTER_RULES)])
def test_every_rule_is_refused_by_a_mutant(rule_id: str) -> None:
    refusing = [m.name for m in catalogue() if rule_id in m.rules]
    assert refusing, f"{rule_id}: no mutant weakens a setting it refuses; add a weakening to idpkit/smoke/mutants.py"


def _executor_settings() -> list[Any]:
    document = loader.load("local").document
    applied = {name for policy in document.client_policies or [] if policy.enabled for name in policy.profiles}
    found = []
    for profile in document.client_profiles or []:
        for executor in profile.executors if profile.name in applied else []:
            path = item_path(f"{item_path('clientProfiles', profile.name)}.executors", executor.executor)
            found += [path, *(child_path(f"{path}.configuration", option) for option in executor.configuration)]
    return [pytest.param(path, id=path) for path in found]


@pytest.mark.parametrize("setting", _executor_settings())
def test_every_executor_and_option_has_a_mutant(setting: str) -> None:
    assert any(m.setting == setting for m in catalogue()), f"{setting}: no mutant weakens it"


def test_mutants_are_named_uniquely_and_change_something() -> None:
    names = [m.name for m in catalogue()]
    assert len(set(names)) == len(names), f"duplicate mutant names: {sorted(n for n in names if names.count(n) > 1)}"
    unchanged = [m.name for m in catalogue() if m.weakened == m.codified]
    assert not unchanged, f"mutants that write the codified value: {unchanged}"


@pytest.mark.parametrize("mutant", [pytest.param(m, id=m.name) for m in mutants()])
def test_mutant_names_one_live_setting_and_is_claimed(mutant: Mutant) -> None:
    if mutant.held is None:  # a held secure default is weakened by idpkit.realm.weakenings, undone by apply
        live.setting(mutant.setting)  # raises for a path no live setting answers to
    assert claimed(list(suite_claims()), mutant.setting), (
        f"{mutant.name}: no smoke test claims {mutant.setting}, so nothing could kill it"
    )


def test_rule_family_mutants_are_refused_by_a_rule() -> None:
    unrefused = [m.name for m in catalogue() if m.family is Family.RULE and not m.rules]
    assert not unrefused, f"realm-rule mutants no rule refuses: {unrefused}"


@pytest.mark.parametrize("stack", ["local", "prod"])
def test_every_codified_setting_is_claimed_by_a_smoke_test(stack: str) -> None:
    found = codified.settings(loader.load(stack))
    unclaimed = [p for p in found if not traceability.descriptive(p) and not claimed(list(class_claims()), p)]
    assert not unclaimed, f"{stack}: hardened settings no smoke test claims: {unclaimed}"


def test_every_weakenable_secure_default_is_shown_or_says_why_not() -> None:
    weakenable = {(e.kind, e.field) for e in secure_defaults.CATALOGUE if e.weakens and not e.guarded_by}
    shown = {(m.held.kind, m.held.field) for m in catalogue() if m.held is not None}
    unaccounted = sorted(weakenable - shown - set(NOT_SHOWN))
    assert not unaccounted, f"secure defaults neither weakened by a mutant nor listed in NOT_SHOWN: {unaccounted}"
    stale = sorted(set(NOT_SHOWN) - weakenable)
    assert not stale, f"NOT_SHOWN names entries the catalogue no longer has (or that are guarded): {stale}"
