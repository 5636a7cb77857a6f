"""The master realm's codified settings: the PHI realm's value where the same fact applies, a clear error without it."""

from __future__ import annotations

import dataclasses

import pytest

from idpkit.errors import IdpkitError
from idpkit.realm import loader, master_realm
from idpkit.realm.kinds.base import dump
from idpkit.realm.model import RealmSettings


@pytest.mark.parametrize("environment", loader.ENVIRONMENTS)
def test_shared_settings_are_the_phi_realms(environment: str) -> None:
    loaded = loader.load(environment)
    declared = dump(loaded.document.realm)
    found = master_realm.settings(loaded)
    differing = {f: (found[f], declared[f]) for f in master_realm.SHARED_WITH_PHI if found[f] != declared[f]}
    assert not differing, f"{environment}: master's shared settings differ from realm-config's realm: {differing}"


@pytest.mark.parametrize("field", master_realm.SHARED_WITH_PHI)
def test_realm_config_without_a_shared_field_is_refused_naming_it(field: str) -> None:
    loaded = loader.load("local")
    assert loaded.document.realm is not None
    realm = loaded.document.realm.model_copy(update={_attribute(field): None})
    broken = dataclasses.replace(loaded, document=loaded.document.model_copy(update={"realm": realm}))
    with pytest.raises(IdpkitError, match=field):
        master_realm.settings(broken)


def _attribute(alias: str) -> str:
    """The model attribute behind a camel-case field name."""
    return next(name for name, info in RealmSettings.model_fields.items() if (info.alias or name) == alias)
