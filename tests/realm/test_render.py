"""Plan and drift output reads like a diff that fits an 80-column terminal, secrets masked."""

from __future__ import annotations

import pytest

from idpkit.realm.changes import PASSWORD, Change, generated
from idpkit.realm.diff import MASK, FieldChange
from idpkit.realm.render import WIDTH, diff_lines
from idpkit.realm.secrets import PENDING

LONG = "https://" + "very-long-host-name." * 10 + "example.org/callback"
CHANGES = {
    "one field": Change("client", "smoke-spa", "update", [FieldChange("webOrigins", [], ["*"])]),
    "absent attribute": Change(
        "client", "smoke-backend", "update", [FieldChange("attributes.access.token.lifespan", "3600", None)]
    ),
    "long values": Change("client", "phi-clinician-web", "update", [FieldChange("redirectUris", [LONG], [LONG, LONG])]),
    "many fields": Change(
        "realm",
        "phi",
        "update",
        [FieldChange("rememberMe", True, False), FieldChange("accessTokenLifespan", 3600, 300)],
    ),
    "create": Change("client", "bench-0001", "create", [FieldChange("redirectUris", None, [LONG])]),
    "delete": Change("clientScope", "old-scope", "delete", []),
    "secret": Change("user", "smoke-clinician", "create", [FieldChange("password", None, generated(PASSWORD, "x"))]),
}


@pytest.mark.parametrize("case", sorted(CHANGES))
def test_every_line_fits_80_columns(case: str) -> None:
    lines = diff_lines([CHANGES[case]])
    assert lines and all(len(line) <= WIDTH for line in lines), f"{case}: {lines}"


def test_one_changed_field_is_one_line() -> None:
    assert diff_lines([CHANGES["one field"]]) == ['~ client smoke-spa  webOrigins: [] → ["*"]']


def test_absent_value_and_signs_read_like_a_diff() -> None:
    assert diff_lines([CHANGES["absent attribute"]])[0].endswith('"3600" → (absent)')
    assert diff_lines([CHANGES["create"]])[0] == "+ client bench-0001"
    assert diff_lines([CHANGES["delete"]]) == ["- clientScope old-scope"]


def test_secret_fields_are_masked() -> None:
    assert diff_lines([CHANGES["secret"]]) == ["+ user smoke-clinician", f"    password: {MASK}"]


def test_generated_values_are_named_not_shown() -> None:
    change = Change(
        "client", "smoke-web", "update", [FieldChange("attributes.jwks.string", "{}", generated("jwks", "x"))]
    )
    assert diff_lines([change]) == [f'~ client smoke-web  attributes.jwks.string: "{{}}" → {PENDING}']
