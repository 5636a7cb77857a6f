"""The traceability table is complete: every setting maps to a requirement through a rule, every rule
has metadata, and the hand-written tables hold no stale or redundant entry."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from idpkit.compliance import REQUIREMENTS
from idpkit.realm import codified_settings, loader
from idpkit.review import traceability
from idpkit.review.model import Family
from idpkit.review.render_html import render as render_html
from idpkit.review.render_md import render as render_md
from idpkit.smoke.checks import claimed, matches
from idpkit.smoke.config_reads import UNOBSERVABLE
from tests.review.reviews import review

# Security settings no rule checks yet; each needs a rule in idpkit/realm/rules.py. strict=True:
# once a rule enforces one, its test passes and pytest fails until the entry is removed here.
AWAITING_RULES: dict[str, str] = {}


@functools.cache
def traces(stack: str) -> tuple[traceability.Trace, ...]:
    return tuple(traceability.trace(review(stack)))


def _prod_settings() -> list[Any]:
    return [
        pytest.param(
            path,
            id=path,
            marks=[pytest.mark.xfail(strict=True, reason=f"needs {AWAITING_RULES[path]}")]
            if path in AWAITING_RULES
            else [],
        )
        for path in [s.path for s in review("prod").settings]
    ]


@pytest.mark.parametrize("path", _prod_settings())
def test_prod_setting_maps_to_a_requirement(path: str) -> None:
    (found,) = [t for t in traces("prod") if t.setting.path == path]
    assert found.setting.descriptive or ((found.rules or found.proofs) and found.requirements), (
        f"{path} = {found.setting.value!r} ({found.setting.source}) is enforced by no rule, proven by no smoke check "
        "and serves no requirement"
    )


def _realm_settings() -> list[Any]:
    return [
        pytest.param(stack, setting.path, id=f"{stack}-{setting.path}")
        for stack in ("local", "prod")
        for setting in review(stack).settings
        if setting.family is Family.REALM and not setting.descriptive
    ]


@pytest.mark.parametrize(("stack", "path"), _realm_settings())
def test_realm_setting_is_proven_by_a_smoke_check(stack: str, path: str) -> None:
    """Every realm setting in the review maps to a behavioural check or a config read marked as one."""
    (found,) = [t for t in traces(stack) if t.setting.path == path]
    assert found.proofs, f"{stack}: {path} is claimed by no smoke check (idpkit.smoke.checks claims)"
    for check in found.config_reads:
        assert check.config_read, f"{check.metadata.id}: a config read must say why no behaviour shows {path}"


def test_config_read_settings_are_the_unobservable_ones() -> None:
    """Config reads prove exactly the settings config_reads.py names, each with its reason."""
    for stack in ("local", "prod"):
        read = [t.setting.path for t in traces(stack) if t.proofs and not t.behavioural]
        stray = [path for path in read if not claimed(list(UNOBSERVABLE), path)]
        assert not stray, f"{stack}: settings proven only by config reads, not listed as unobservable: {stray}"


def _all_rules() -> list[Any]:
    return [pytest.param(rule, id=rule.metadata.id) for rule in review("prod").rules]


@pytest.mark.parametrize("rule", _all_rules())
def test_rule_has_complete_metadata(rule: Any) -> None:
    metadata = rule.metadata
    assert metadata.title and metadata.risk and metadata.remediation, f"{metadata.id}: title, risk or remediation empty"
    unknown = [ref for ref in metadata.requirements if ref not in REQUIREMENTS]
    assert metadata.requirements and not unknown, f"{metadata.id}: requirements {metadata.requirements!r}"


def test_smoke_checks_name_their_tests() -> None:
    checks = [rule for rule in review("prod").rules if rule.family is Family.SMOKE]
    assert checks, "no smoke check collected from smoke-tests/"
    assert all(rule.tests for rule in checks), [rule.metadata.id for rule in checks if not rule.tests]


@pytest.mark.parametrize("pattern", list(traceability.SUPPORTING))
def test_supporting_entry_configures_a_shipped_setting_no_rule_enforces(pattern: str) -> None:
    rule_id = traceability.SUPPORTING[pattern][0]
    settings = [s for s in review("prod").settings if matches(pattern, s.path)]
    assert settings, f"{pattern} matches no prod setting: remove the entry"
    enforced = [s.path for s in settings if s.enforced_by]
    assert len(enforced) < len(settings), f"{pattern}: every match is enforced by a rule already ({enforced})"
    assert rule_id in {r.metadata.id for r in review("prod").rules}, f"{pattern}: unknown rule {rule_id}"


@pytest.mark.parametrize("pattern", list(traceability.DESCRIPTIVE))
def test_descriptive_entry_names_an_unenforced_setting(pattern: str) -> None:
    matching = [s for s in review("prod").settings if matches(pattern, s.path)]
    assert matching, f"{pattern} matches no prod setting: remove the entry"
    assert not any(s.enforced_by for s in matching), f"{pattern} is enforced by a rule: it is not a mere label"


def _prod_report_paths() -> list[Any]:
    return [pytest.param(s.path, id=s.path) for s in review("prod").settings]


@pytest.mark.parametrize("path", _prod_report_paths())
def test_prod_report_lists_the_setting(path: str) -> None:
    assert f"`{path}`" in _reports()[0], f"{path} missing from the Markdown report"
    assert path.replace('"', "&quot;") in _reports()[1], f"{path} missing from the HTML report"


@functools.cache
def _reports() -> tuple[str, str]:
    return render_md(review("prod")), render_html(review("prod"))


def test_prod_report_covers_every_settings_family() -> None:
    families = {s.family for s in review("prod").settings}
    assert families == {Family.REALM, Family.AWS}, families
    expected = {s.path for s in codified_settings.settings(loader.load("prod"))}
    assert expected <= {s.path for s in review("prod").settings}
