"""REALM-STEPUP-001 and REALM-ACR-001 refuse every weakening of step-up the catalogues generate: each
phishing-resistant step of the bound browser flow switched off, each acr lowered, a PHI-writing scope added
without a step-up, a client minimum naming no acr; and SMART's scope grammar decides what writes PHI."""

from __future__ import annotations

import copy
import dataclasses
import itertools
from collections.abc import Callable
from typing import Any

import pytest

from idpkit.realm import loader
from idpkit.realm.loader import LoadedConfig
from idpkit.realm.model import RealmDocument
from idpkit.realm.rules import RULES
from idpkit.realm.rules.step_up import CLIENT_ACR_LOA_MAP, MINIMUM_ACR, PHISHING_RESISTANT, writes_phi

STEP_UP, ACR, LOA = "REALM-STEPUP-001", "REALM-ACR-001", "REALM-LOA-001"
Edit = Callable[[dict[str, Any]], None]


def _findings(loaded: LoadedConfig) -> dict[str, set[tuple[str, str]]]:
    return {metadata.id: set(check(loaded)) for metadata, check in RULES if metadata.id in (STEP_UP, ACR, LOA)}


def _edited(edit: Edit) -> LoadedConfig:
    loaded = loader.load("prod")
    raw = copy.deepcopy(loaded.document.model_dump(by_alias=True, exclude_none=True, mode="json"))
    edit(raw)
    return dataclasses.replace(loaded, document=RealmDocument.model_validate(raw))


def _new_findings(edit: Edit) -> dict[str, set[tuple[str, str]]]:
    before, after = _findings(loader.load("prod")), _findings(_edited(edit))
    return {rule_id: found - before[rule_id] for rule_id, found in after.items() if found - before[rule_id]}


def test_the_shipped_configuration_steps_up() -> None:
    assert not any(_findings(loader.load("prod")).values())


SMART_PERMISSIONS = ["".join(p) for n in range(1, 6) for p in itertools.combinations("cruds", n)]


@pytest.mark.parametrize(
    ("scope", "writes"),
    [
        *(
            (f"{context}/Observation.{p}", context != "system" and bool(set(p) & set("cud")))
            for context in ("patient", "user", "system")
            for p in SMART_PERMISSIONS
        ),
        ("patient/Observation.read", False),
        ("patient/Observation.write", True),
        ("user/*.*", True),
        ("openid", False),
        ("launch/patient", False),
        ("phi-api-audience", False),
    ],
)
def test_smart_grammar_decides_what_writes_phi(scope: str, writes: bool) -> None:
    assert writes_phi(scope) is writes, f"{scope}: writes PHI is {writes}"


def _phishing_resistant_steps() -> list[Any]:
    document = loader.load("prod").document
    return [
        pytest.param(flow.alias, position, id=f"{flow.alias}[{position}]")
        for flow in document.authentication_flows or []
        for position, step in enumerate(flow.executions)
        if step.authenticator in PHISHING_RESISTANT and step.requirement == "REQUIRED"
    ]


@pytest.mark.parametrize(("alias", "position"), _phishing_resistant_steps())
@pytest.mark.parametrize(
    ("requirement", "beside"),
    [("DISABLED", None), ("ALTERNATIVE", "auth-otp-form"), ("ALTERNATIVE", "auth-cookie")],
    ids=["disabled", "or-a-one-time-code", "or-the-sso-cookie"],
)
def test_a_phishing_resistant_step_made_avoidable_is_refused(
    alias: str, position: int, requirement: str, beside: str | None
) -> None:
    def edit(raw: dict[str, Any]) -> None:
        flow = next(f for f in raw["authenticationFlows"] if f["alias"] == alias)
        flow["executions"][position]["requirement"] = requirement
        if beside:
            flow["executions"].append({"authenticator": beside, "requirement": "ALTERNATIVE"})

    assert _new_findings(edit), f"{alias}[{position}] made {requirement}: no step-up or level rule refuses it"


@pytest.mark.parametrize("scope", ["user/Observation.cu", "patient/MedicationRequest.c", "user/*.cruds"])
def test_a_new_phi_writing_scope_without_a_step_up_is_refused(scope: str) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["clientScopes"].append({"name": scope, "protocol": "openid-connect"})

    assert STEP_UP in _new_findings(edit), f"{scope}: declared without a step-up, not refused"


def _acr_weakenings() -> list[Any]:
    mapping = loader.load("prod").document.realm.acr_loa_map or {}  # type: ignore[union-attr]
    return [pytest.param(acr, level - 1, id=f"{acr}-{level}-to-{level - 1}") for acr, level in mapping.items()]


@pytest.mark.parametrize(("acr", "lowered"), _acr_weakenings())
def test_an_acr_lowered_by_a_level_is_refused(acr: str, lowered: int) -> None:
    assert ACR in _new_findings(lambda raw: raw["realm"]["acrLoaMap"].__setitem__(acr, lowered)), acr


def test_a_client_minimum_naming_no_acr_is_refused() -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["clients"][0].setdefault("attributes", {})[MINIMUM_ACR] = "phishing_resistant"

    assert ACR in _new_findings(edit)


@pytest.mark.parametrize("own", ['{"phishing-resistant": 1}', '{"mfa": 0}', "not json", '{"mfa": "1"}'])
def test_a_client_map_lowering_an_acr_is_refused(own: str) -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["clients"][0].setdefault("attributes", {})[CLIENT_ACR_LOA_MAP] = own

    assert ACR in _new_findings(edit), own


def test_a_client_map_raising_an_acr_is_accepted() -> None:
    def edit(raw: dict[str, Any]) -> None:
        raw["clients"][0].setdefault("attributes", {})[CLIENT_ACR_LOA_MAP] = '{"mfa": 2, "phishing-resistant": 3}'

    assert ACR not in _new_findings(edit)


def _level_one_steps() -> list[Any]:
    """The lowest level's steps that identify the person or take a second factor (its condition aside)."""
    flow = next(f for f in loader.load("prod").document.authentication_flows or [] if f.alias.endswith("level-1"))
    return [
        pytest.param(flow.alias, position, id=step.authenticator or step.flow)
        for position, step in enumerate(flow.executions)
        if not (step.authenticator or "").startswith("conditional-")
    ]


@pytest.mark.parametrize(("alias", "position"), _level_one_steps())
def test_the_lowest_level_without_one_of_its_factors_is_refused(alias: str, position: int) -> None:
    def edit(raw: dict[str, Any]) -> None:
        next(f for f in raw["authenticationFlows"] if f["alias"] == alias)["executions"][position]["requirement"] = (
            "DISABLED"
        )

    assert LOA in _new_findings(edit), f"{alias}[{position}] switched off: {LOA} does not refuse it"


def _level_ages() -> list[Any]:
    return [
        pytest.param(flow.alias, age, id=f"{flow.alias}-{age}")
        for flow in loader.load("prod").document.authentication_flows or []
        for step in flow.executions
        if step.authenticator == "conditional-level-of-authentication"
        for age in ("86400", "", "forever")
    ]


@pytest.mark.parametrize(("alias", "age"), _level_ages())
def test_a_level_kept_valid_longer_is_refused(alias: str, age: str) -> None:
    def edit(raw: dict[str, Any]) -> None:
        flow = next(f for f in raw["authenticationFlows"] if f["alias"] == alias)
        next(e for e in flow["executions"] if e.get("config"))["config"]["loa-max-age"] = age

    assert LOA in _new_findings(edit), f"{alias}: loa-max-age {age!r} not refused"
