"""Signing key rotation against the real local Keycloak, validated as a resource server would (JWKS).

The stages run in order on one throwaway realm: a baseline kit key, a scheduled rotation, retire
after the (short) passive window, a rotation killed mid-stage and resumed, an emergency rotation,
and a restore after the active key's component is lost.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import jwt
import pytest

from idpkit.keycloak_admin import urls
from tests.keys.conftest import MARGIN_SECONDS, Probe

pytestmark = pytest.mark.local_stack


@dataclass
class Rotated:
    old_kid: str
    new_kid: str
    jwks_when_published: set[str]
    token_when_published: str
    token_before: str
    before_validates_after_rotation: bool
    token_after: str
    jwks: set[str]
    status: dict[str, Any]
    second: dict[str, Any]
    early_retire: Any


def refused_for_unknown_key(probe: Probe, token: str) -> bool:
    """True when JWKS no longer has the token's key (the reason, not expiry, makes it fail)."""
    try:
        probe.validate(token)
    except jwt.PyJWKClientError as error:
        return "Unable to find a signing key" in str(error)
    return False


@pytest.fixture(scope="module")
def baseline(probe: Probe) -> str:
    """A realm signed by one kit key only (Keycloak's fallback key retired), as after a first rollout."""
    probe.token()  # makes Keycloak create its fallback PS256 key, which the first rotation adopts
    probe.rotate_fully()
    probe.keys("retire", "--force")
    return probe.signing_kid()


@pytest.fixture(scope="module")
def rotated(probe: Probe, baseline: str) -> Rotated:
    token_before = probe.token()
    probe.keys("rotate")
    jwks_when_published, token_when_published = probe.jwks_kids(), probe.token()
    time.sleep(float(MARGIN_SECONDS) + 0.2)
    probe.keys("rotate")
    # Checked at once: the token must still be inside its 10 s lifetime.
    before_validates = bool(probe.validate(token_before))
    token_after = probe.token()
    jwks = probe.jwks_kids()
    status = probe.keys_json("status")
    second = probe.keys_json("rotate")
    early_retire = probe.keys("retire", check=False)
    new_kid = probe.signing_kid()
    return Rotated(
        baseline,
        new_kid,
        jwks_when_published,
        token_when_published,
        token_before,
        before_validates,
        token_after,
        jwks,
        status,
        second,
        early_retire,
    )


def test_new_key_is_in_jwks_before_it_signs(rotated: Rotated) -> None:
    assert rotated.new_kid in rotated.jwks_when_published, f"kid {rotated.new_kid}: must be published before it signs"


def test_published_key_does_not_sign_before_the_margin(rotated: Rotated) -> None:
    kid = jwt.get_unverified_header(rotated.token_when_published)["kid"]
    assert kid == rotated.old_kid, f"tokens must stay signed by {rotated.old_kid} until the new key is activated"


def test_token_issued_before_rotation_still_validates(rotated: Rotated) -> None:
    assert rotated.before_validates_after_rotation, f"token signed by {rotated.old_kid} must validate after rotate"


def test_new_tokens_carry_the_new_kid(rotated: Rotated) -> None:
    kid = jwt.get_unverified_header(rotated.token_after)["kid"]
    assert (kid != rotated.old_kid, kid) == (True, rotated.new_kid), "tokens after rotate must be signed by the new key"


def test_both_keys_are_in_jwks_during_the_passive_window(rotated: Rotated) -> None:
    missing = {rotated.old_kid, rotated.new_kid} - rotated.jwks
    assert not missing, f"JWKS during the passive window lacks {missing}"


def test_previous_key_is_passive_during_the_window(rotated: Rotated) -> None:
    statuses = {key["kid"]: key["status"] for key in rotated.status["keys"]}
    assert statuses[rotated.old_kid] == "PASSIVE", f"kid {rotated.old_kid}: must verify but never sign after rotate"


def test_rotating_twice_in_a_row_changes_nothing(rotated: Rotated) -> None:
    assert (rotated.second["changed"], rotated.second["writes"]) == (False, 0), (
        f"second `keys rotate` during the passive window must make no admin API write: {rotated.second['actions']}"
    )


def test_retire_is_refused_before_the_passive_window_ends(rotated: Rotated) -> None:
    assert (rotated.early_retire.returncode, "passive window has not elapsed" in rotated.early_retire.stderr) == (
        1,
        True,
    ), f"`keys retire` inside the window must exit 1 and say why: {rotated.early_retire.stderr}"


@pytest.fixture(scope="module")
def retired(probe: Probe, rotated: Rotated) -> dict[str, Any]:
    wait = probe.keys_json("status")["rotation"]["retire_due_in_seconds"]
    time.sleep(wait + 1)
    outcome = probe.keys_json("retire")
    return {"outcome": outcome, "jwks": probe.jwks_kids(), "new_token": probe.token()}


def test_retire_takes_the_old_key_out_of_jwks(rotated: Rotated, retired: dict[str, Any]) -> None:
    assert rotated.old_kid not in retired["jwks"], f"kid {rotated.old_kid}: still published after retire"


def test_old_key_tokens_are_refused_after_retire(probe: Probe, rotated: Rotated, retired: dict[str, Any]) -> None:
    assert refused_for_unknown_key(probe, rotated.token_before), (
        f"token signed by retired kid {rotated.old_kid} must fail JWKS lookup"
    )


def test_new_key_tokens_validate_after_retire(probe: Probe, retired: dict[str, Any]) -> None:
    assert probe.validate(retired["new_token"]), "tokens of the remaining key must validate after retire"


@pytest.fixture(scope="module")
def interrupted(probe: Probe, retired: dict[str, Any]) -> dict[str, Any]:
    old_kid = probe.signing_kid()
    # Killed right after Keycloak accepted the new component and before the key store recorded it.
    killed = probe.keys_killed_after(1, "rotate")
    after_kill = probe.keys_json("status")
    between = probe.keys_json("rotate", "--stage", "add")
    time.sleep(float(MARGIN_SECONDS) + 0.2)
    resumed = probe.keys_json("rotate")
    return {"old_kid": old_kid, "killed": killed, "after_kill": after_kill, "between": between, "resumed": resumed}


def test_killed_rotation_stops_inside_the_add_stage(interrupted: dict[str, Any]) -> None:
    assert (interrupted["killed"].returncode, interrupted["after_kill"]["rotation"]["stage"]) == (-9, "add"), (
        "`keys rotate` killed after its first write must leave the rotation at stage 'add'"
    )


def test_resumed_rotation_creates_no_duplicate_key(interrupted: dict[str, Any]) -> None:
    generation = interrupted["resumed"]["rotation"]["generation"]
    copies = [key for key in interrupted["resumed"]["keys"] if key["generation"] == generation]
    assert len(copies) == 1, f"generation {generation}: resuming must reuse the component made before the kill"


def test_rotation_stopped_between_stages_keeps_the_old_key_active(interrupted: dict[str, Any]) -> None:
    statuses = {key["kid"]: key["status"] for key in interrupted["between"]["keys"]}
    assert statuses[interrupted["old_kid"]] == "ACTIVE", "after `--stage add` only, the old key is not demoted yet"


def test_resumed_rotation_demotes_the_old_key(interrupted: dict[str, Any]) -> None:
    statuses = {key["kid"]: key["status"] for key in interrupted["resumed"]["keys"]}
    assert (statuses[interrupted["old_kid"]], interrupted["resumed"]["rotation"]["stage"]) == ("PASSIVE", "wait"), (
        "the resumed rotation must finish the demote stage and wait for the passive window"
    )


@pytest.fixture(scope="module")
def emergency(probe: Probe, interrupted: dict[str, Any]) -> dict[str, Any]:
    enabled = {
        key["kid"]
        for key in probe.keys_json("status")["keys"]
        if key["generation"] and key["status"] in ("ACTIVE", "PASSIVE")
    }
    service_token = probe.token()
    session = probe.login()
    outcome = probe.keys_json("emergency-rotate", "--yes")
    return {
        "compromised": enabled,
        "service_token": service_token,
        "refused": refused_for_unknown_key(probe, service_token),
        "refresh": probe.refresh(session["refresh_token"]),
        "outcome": outcome,
        "jwks": probe.jwks_kids(),
        "new_token": probe.token(),
    }


def test_emergency_rotation_fails_old_tokens_at_once(emergency: dict[str, Any]) -> None:
    assert emergency["refused"], "a token of a compromised key must fail JWKS validation right after emergency-rotate"


def test_emergency_rotation_removes_every_compromised_kid_from_jwks(emergency: dict[str, Any]) -> None:
    left = emergency["compromised"] & emergency["jwks"]
    assert not left, f"compromised kids {left} still published after emergency-rotate"


def test_emergency_rotation_ends_user_sessions(emergency: dict[str, Any]) -> None:
    assert emergency["refresh"].status_code == 400, (
        f"refresh after emergency-rotate must fail (session ended), got HTTP {emergency['refresh'].status_code}"
    )


def test_emergency_rotation_reports_the_blast_radius(emergency: dict[str, Any]) -> None:
    radius = emergency["outcome"]["rotation"]["blast_radius"]
    assert radius["sessions"] >= 1 and radius["users"] >= 1, f"blast radius must count the open session: {radius}"


def test_tokens_after_emergency_carry_a_new_kid(emergency: dict[str, Any]) -> None:
    kid = jwt.get_unverified_header(emergency["new_token"])["kid"]
    assert kid in emergency["jwks"] - emergency["compromised"], f"kid {kid}: must be the emergency key"


def test_restore_brings_back_the_same_key_after_it_is_lost(probe: Probe, emergency: dict[str, Any]) -> None:
    kid = probe.signing_kid()
    status = probe.keys_json("status")
    component = next(key["component_id"] for key in status["keys"] if key["kid"] == kid)
    probe.admin.delete(probe.admin.path(urls.COMPONENT, id=component))  # a rebuilt cluster
    probe.keys("restore")
    assert jwt.get_unverified_header(probe.token())["kid"] == kid, f"kid {kid}: restore must re-import the same key"


def test_es256_rotation_signs_with_the_imported_key(es256_probe: Probe) -> None:
    es256_probe.rotate_fully()
    token = es256_probe.token()
    header = jwt.get_unverified_header(token)
    assert (header["alg"], header["kid"], bool(es256_probe.validate(token))) == (
        "ES256",
        es256_probe.signing_kid(),
        True,
    ), f"realm {es256_probe.realm}: tokens must be ES256-signed by the kit's imported key and validate"
