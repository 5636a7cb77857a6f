"""REALM-SMART-001 on SMART configurations advertising what the realm cannot honour, one per case (offline).

Cases come from the rule's own catalogues (refused grants, secret methods, unsupported capabilities,
capabilities needing a scope), so a catalogue entry the rule stops obeying fails here."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest

from idpkit.realm import loader
from idpkit.realm.model import RealmDocument, SmartConfiguration
from idpkit.realm.rules import smart
from idpkit.realm.rules.smart import _smart_configuration


def _shipped() -> SmartConfiguration:
    document = loader.load("prod").document
    assert document.realm is not None and document.realm.smart_configuration is not None, (
        "prod realm-config declares no realm.smartConfiguration"
    )
    return document.realm.smart_configuration


def _with(configuration: SmartConfiguration | None) -> loader.LoadedConfig:
    shipped = loader.load("prod")
    document: RealmDocument = shipped.document.model_copy(deep=True)
    assert document.realm is not None, "prod realm-config has no realm settings"
    document.realm.smart_configuration = configuration
    return dataclasses.replace(shipped, document=document)


def _changed(field: str, value: Any) -> SmartConfiguration:
    return _shipped().model_copy(update={field: value})


def _added(field: str, item: str) -> SmartConfiguration:
    return _changed(field, [*getattr(_shipped(), field), item])


def _advertised_without(capability: str, dropped: Callable[[str], bool]) -> SmartConfiguration:
    """`capability` advertised, and the scopes it needs (those `dropped` matches) not."""
    scopes = [scope for scope in _shipped().scopes_supported if not dropped(scope)]
    return _added("capabilities", capability).model_copy(update={"scopes_supported": scopes})


def _starting_with(prefix: str) -> Callable[[str], bool]:
    return lambda scope: scope.startswith(prefix)


UNHONOURED = {
    **{f"grant {grant}": _added("grant_types_supported", grant) for grant in sorted(smart.REFUSED_GRANTS)},
    **{
        f"method {method}": _added("token_endpoint_auth_methods_supported", method)
        for method in sorted(smart.SECRET_METHODS)
    },
    "capability client-confidential-symmetric": _added("capabilities", "client-confidential-symmetric"),
    **{f"capability {name}": _added("capabilities", name) for name in sorted(smart.UNSUPPORTED_CAPABILITIES)},
    **{
        f"capability {name} without {scope}": _advertised_without(name, scope.__eq__)
        for name, scope in sorted(smart.SCOPE_CAPABILITIES.items())
    },
    **{
        f"capability {name} without a {prefix}* scope": _advertised_without(name, _starting_with(prefix))
        for name, prefix in sorted(smart.SCOPE_PREFIX_CAPABILITIES.items())
    },
    "an undeclared scope": _added("scopes_supported", "user/Everything.cruds"),
}


def test_shipped_smart_configuration_passes() -> None:
    findings = list(_smart_configuration(loader.load("prod")))
    assert not findings, f"realm-config's own realm.smartConfiguration is refused by REALM-SMART-001: {findings}"


def test_missing_smart_configuration_is_refused() -> None:
    findings = list(_smart_configuration(_with(None)))
    assert findings, "REALM-SMART-001 accepts a realm without realm.smartConfiguration"


@pytest.mark.parametrize("case", sorted(UNHONOURED))
def test_unhonoured_advertisement_is_refused(case: str) -> None:
    findings = list(_smart_configuration(_with(UNHONOURED[case])))
    assert findings, f"REALM-SMART-001 accepts realm.smartConfiguration advertising {case}"


def _with_default_scope(scope: str) -> loader.LoadedConfig:
    shipped = loader.load("local")
    document: RealmDocument = shipped.document.model_copy(deep=True)
    client = next(c for c in document.clients or [] if c.client_id == "smoke-spa")
    client.default_client_scopes = [*(client.default_client_scopes or []), scope]
    return dataclasses.replace(shipped, document=document)


@pytest.mark.parametrize("scope", sorted(smart.ASK_ONLY_SCOPES))
def test_identity_scope_as_a_default_scope_is_refused(scope: str) -> None:
    findings = list(_smart_configuration(_with_default_scope(scope)))
    assert (
        "clients[smoke-spa].defaultClientScopes",
        f"makes {scope!r} a default scope: apps get the person's identity or patient unasked",
    ) in findings, f"REALM-SMART-001 accepts {scope} as smoke-spa's default scope"
