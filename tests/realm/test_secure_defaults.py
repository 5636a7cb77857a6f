"""The secure-defaults catalogue is well-formed: every entry is declarable, traced and really a change."""

from __future__ import annotations

import json

import pytest

from idpkit.compliance import REQUIREMENTS
from idpkit.realm import loader, secure_defaults
from idpkit.realm.model import Client, ClientScope, KeycloakModel, RealmSettings
from idpkit.realm.secure_defaults import CATALOGUE, SecureDefault

_MODELS: dict[str, type[KeycloakModel]] = {"realm": RealmSettings, "client": Client, "clientScope": ClientScope}
# Fields a file cannot declare: the kit never puts protocol mappers on clients (only on client scopes);
# a scope's realm roles are declared in the top-level `scopeMappings` list.
_UNDECLARABLE = {
    ("client", "protocolMappers"),
    ("clientScope", "scopeMappings.realm"),
    ("realm", "attributes.parRequestUriLifespan"),  # a Keycloak realm attribute: the kit's own fields map to them
    ("realm", "webAuthnPolicyRpId"),  # held empty: passkeys scoped to the issuer's own host, never a parent domain
}


def _entries() -> list[object]:
    return [pytest.param(entry, id=f"{entry.kind}.{entry.field}") for entry in CATALOGUE]


@pytest.mark.parametrize("entry", _entries())
def test_entry_is_traced_to_requirements(entry: SecureDefault) -> None:
    unknown = [ref for ref in entry.requirements if ref not in REQUIREMENTS]
    assert entry.requirements and not unknown, f"{entry.kind}.{entry.field}: requirements {entry.requirements}"
    assert entry.reason.endswith("."), f"{entry.kind}.{entry.field}: reason must be a sentence"


@pytest.mark.parametrize("entry", _entries())
def test_weaker_value_differs_from_the_default(entry: SecureDefault) -> None:
    assert entry.weaker_value != entry.secure_default, f"{entry.kind}.{entry.field}: weakening changes nothing"


@pytest.mark.parametrize("entry", _entries())
def test_entry_can_be_declared_in_a_file(entry: SecureDefault) -> None:
    if (entry.kind, entry.field) in _UNDECLARABLE:
        return
    model = _MODELS[entry.kind]
    top = entry.path[0]
    aliases = {info.alias for info in model.model_fields.values()}
    assert top in aliases, f"{entry.kind}.{entry.field}: realm-config cannot declare {top!r} (add it to the model)"


def test_fields_are_unique() -> None:
    keys = [(entry.kind, entry.field) for entry in CATALOGUE]
    assert len(keys) == len(set(keys)), "a field is catalogued twice"


def test_lookup_by_field() -> None:
    assert secure_defaults.entry("client", "webOrigins").secure_default == []
    assert secure_defaults.entry("client", "attributes.access.token.lifespan").attribute == "access.token.lifespan"


def test_client_acr_map_weakening_lowers_a_codified_acr() -> None:
    entry = secure_defaults.entry("client", "attributes.acr.loa.map")
    realm = loader.load("local").document.realm
    codified = (realm.acr_loa_map if realm else None) or {}
    lowered = {name: level for name, level in json.loads(entry.weaker_value).items() if name in codified}
    assert any(level < codified[name] for name, level in lowered.items()), (
        f"client.attributes.acr.loa.map: the weaker value {entry.weaker_value} lowers no acr of realm.acrLoaMap "
        f"({codified}); name its highest acr"
    )
