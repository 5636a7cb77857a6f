"""A missing smoke credential fails a check, unless realm-config declares it not applicable there."""

from __future__ import annotations

from typing import get_args

import pytest

from idpkit.realm.model import SmokeCredential
from idpkit.smoke import credentials


def test_every_credential_is_described() -> None:
    assert set(credentials.CREDENTIALS) == set(get_args(SmokeCredential))


def test_declared_credential_makes_the_check_not_applicable() -> None:
    with pytest.raises(pytest.skip.Exception) as skipped:
        credentials.missing("prod", "smoke-identities", "no smoke-test credentials")
    assert str(skipped.value).startswith(credentials.NOT_APPLICABLE)
    assert "identity-team" in str(skipped.value), "the declaration's owner is named"


@pytest.mark.parametrize("stack", ["dev", "staging", "local"])
def test_undeclared_missing_credential_fails_the_check(stack: str) -> None:
    with pytest.raises(pytest.fail.Exception) as failed:
        credentials.missing(stack, "client-certificates", "no client certificate")
    assert f"realm-config/overlays/{stack}.yaml" in str(failed.value), "the failure says how to declare it"
